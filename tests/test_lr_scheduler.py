"""Tests of the learning-rate schedules in companion.optim: the same lr sequence as torch.optim.lr_scheduler,
step by step, and the same parameters when a schedule drives an optimizer."""
import math

import numpy as np
import pytest
import torch

from companion.nn import Parameter
from companion.optim import (SGD, Adam, CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR, StepLR)

BASE_LR = 0.1


def lr_sequences(make_ours, make_theirs, steps=100):
    """The lr at steps 0..steps of our schedule and of torch's, each on a fresh optimizer with lr BASE_LR."""
    opt = SGD([Parameter(np.zeros(2))], lr=BASE_LR)
    opt_t = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=BASE_LR)
    ours, theirs = make_ours(opt), make_theirs(opt_t)
    seq, seq_t = [opt.lr], [opt_t.param_groups[0]["lr"]]
    for _step in range(steps):
        opt.step()
        opt_t.step()  # no gradients: a no-op that keeps torch from warning about the order of the calls
        ours.step()
        theirs.step()
        seq.append(opt.lr)
        seq_t.append(opt_t.param_groups[0]["lr"])
    assert ours.get_last_lr() == [opt.lr]
    return np.array(seq), np.array(seq_t)


def warmup_cosine(module, opt, warmup=10, total=100):
    return module.SequentialLR(opt, [module.LinearLR(opt, start_factor=0.01, total_iters=warmup),
                                     module.CosineAnnealingLR(opt, T_max=total - warmup)], milestones=[warmup])


class Ours:
    StepLR, LinearLR, CosineAnnealingLR, LambdaLR, SequentialLR = StepLR, LinearLR, CosineAnnealingLR, LambdaLR, SequentialLR


CASES = {
    "step": lambda m, o: m.StepLR(o, step_size=30, gamma=0.1),
    "step-7-0.5": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "linear-warmup": lambda m, o: m.LinearLR(o, start_factor=0.1, total_iters=20),
    "linear-decay": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=100),
    "linear-defaults": lambda m, o: m.LinearLR(o),
    "cosine": lambda m, o: m.CosineAnnealingLR(o, T_max=100),
    "cosine-eta-min-past-T": lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=0.001),  # goes up after 30
    "lambda": lambda m, o: m.LambdaLR(o, lambda t: 1.0 / (1.0 + 0.1 * t)),
    "warmup-cosine": warmup_cosine,
    "three-phases": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.5, total_iters=5),
                                                    m.StepLR(o, step_size=10, gamma=0.5),
                                                    m.CosineAnnealingLR(o, T_max=40)], milestones=[5, 50]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_schedule_matches_torch(name):
    ours, theirs = lr_sequences(lambda o: CASES[name](Ours, o), lambda o: CASES[name](torch.optim.lr_scheduler, o))
    assert len(set(np.round(ours, 12))) > 2  # the schedule does change the rate
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-13)


def test_closed_forms():
    seq, _t = lr_sequences(lambda o: CosineAnnealingLR(o, T_max=100), lambda o: torch.optim.lr_scheduler.StepLR(o, 1))
    assert seq[0] == BASE_LR and abs(seq[50] - BASE_LR / 2) < 1e-15 and abs(seq[100]) < 1e-15
    seq, _t = lr_sequences(lambda o: StepLR(o, step_size=30), lambda o: torch.optim.lr_scheduler.StepLR(o, 1))
    assert seq[29] == BASE_LR and math.isclose(seq[30], BASE_LR * 0.1) and math.isclose(seq[90], BASE_LR * 1e-3)


def test_warmup_then_cosine_drives_adam_like_torch():
    rng = np.random.default_rng(0)
    init = rng.standard_normal((3, 4))
    p, pt = Parameter(init), torch.tensor(init, requires_grad=True)
    opt, opt_t = Adam([p], lr=0.05), torch.optim.Adam([pt], lr=0.05)
    sched, sched_t = warmup_cosine(Ours, opt, 5, 60), warmup_cosine(torch.optim.lr_scheduler, opt_t, 5, 60)
    for _step in range(60):
        g = rng.standard_normal((3, 4))
        p.grad[...] = g
        pt.grad = torch.from_numpy(g.copy())
        opt.step()
        opt_t.step()
        sched.step()
        sched_t.step()
    np.testing.assert_allclose(p.data, pt.detach().numpy(), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("make, error, match", [
    (lambda o: StepLR(o, step_size=0), ValueError, "step_size"),
    (lambda o: StepLR(o, step_size=10, gamma=-1.0), ValueError, "gamma"),
    (lambda o: LinearLR(o, start_factor=0.0), ValueError, "start_factor"),
    (lambda o: LinearLR(o, end_factor=1.5), ValueError, "end_factor"),
    (lambda o: CosineAnnealingLR(o, T_max=0), ValueError, "T_max"),
    (lambda o: LambdaLR(o, 0.5), TypeError, "function"),
    (lambda o: SequentialLR(o, [StepLR(o, 5)], milestones=[3]), ValueError, "milestone"),
    (lambda o: SequentialLR(o, [], milestones=[]), ValueError, "at least one"),
    (lambda o: StepLR(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), 5), TypeError, "optimizer"),
])
def test_invalid_arguments_raise(make, error, match):
    with pytest.raises(error, match=match):
        make(SGD([Parameter(np.zeros(2))], lr=0.1))


def test_sequential_needs_the_same_optimizer():
    opt, other = SGD([Parameter(np.zeros(2))], lr=0.1), SGD([Parameter(np.zeros(2))], lr=0.1)
    with pytest.raises(ValueError, match="optimizer"):
        SequentialLR(opt, [StepLR(opt, 5), StepLR(other, 5)], milestones=[3])
