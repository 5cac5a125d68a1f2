"""Data parallelism with torch.distributed: two processes started by torchrun (gloo, CPU) train the same model on
halves of every global batch and end with the parameters of one process trained on the whole batches."""
import os
import signal
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402

from companion.torch.distributed import rank_slice, train_single  # noqa: E402

pytestmark = pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(),
                                reason="this torch build has no gloo backend")


def torchrun(args, timeout=120):
    """Run torchrun in its own process group; on a timeout kill the whole group, so no worker outlives the test."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, out


def test_two_processes_give_the_parameters_of_one(tmp_path):
    out = tmp_path / "ddp.pt"
    code, log = torchrun(["-m", "companion.torch.distributed", "--steps", "12", "--global-batch", "32",
                          "--out", str(out)])
    assert code == 0, log
    saved = torch.load(out)
    assert saved["world_size"] == 2
    assert saved["all_reduce"] == [3.0, 30.0]                       # (1 + 2, 10 + 20) on both ranks
    reference = train_single(steps=12, global_batch=32)
    for name, value in reference.items():
        assert torch.allclose(saved["state"][name], value, rtol=0, atol=1e-12), name
    # the comparison can tell: one step more moves the parameters far beyond that tolerance
    further = train_single(steps=13, global_batch=32)
    assert max((further[k] - reference[k]).abs().max().item() for k in reference) > 1e-4


def test_fully_sharded_data_parallel_gives_the_same_parameters_holding_half(tmp_path):
    out = tmp_path / "fsdp.pt"
    code, log = torchrun(["-m", "companion.torch.distributed", "--fsdp", "--steps", "12", "--global-batch", "32",
                          "--out", str(out)])
    assert code == 0, log
    saved = torch.load(out)
    reference = train_single(steps=12, global_batch=32)
    for name, value in reference.items():
        assert torch.allclose(saved["state"][name], value, rtol=0, atol=1e-12), name
    total = sum(value.numel() for value in reference.values())
    assert saved["values_held"] == total // 2          # every tensor's first axis splits evenly over the two ranks


def test_the_script_says_how_to_start_it():
    proc = subprocess.run([sys.executable, "-m", "companion.torch.distributed"], capture_output=True, text=True,
                          timeout=60, env={k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE")})
    assert proc.returncode != 0
    assert "start this script with torchrun" in proc.stderr


def test_rank_slice():
    assert [rank_slice(8, r, 2) for r in (0, 1)] == [slice(0, 4), slice(4, 8)]
    with pytest.raises(ValueError, match="does not split evenly over 3 processes"):
        rank_slice(8, 0, 3)
