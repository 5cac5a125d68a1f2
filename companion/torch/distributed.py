"""Data-parallel training with ``torch.distributed`` (chapter 11): the same model and the same global batch as one
process, split over ``world_size`` processes by ``DistributedDataParallel``, which averages the gradients with an
all-reduce after every backward pass.

Run it with torchrun, which starts the processes and tells each its rank::

    torchrun --standalone --nproc_per_node=2 -m companion.torch.distributed --steps 20 --out ddp.pt

On several machines the same script runs with ``torchrun --nnodes=N --nproc_per_node=G --rdzv_id=JOB
--rdzv_backend=c10d --rdzv_endpoint=HOST:PORT``, started once on every machine with the same id and endpoint. Its
tensors stay on the CPU in float64, so it uses the gloo backend everywhere, also on a machine with GPUs; a GPU script
calls ``torch.cuda.set_device(local_rank)``, moves the model there and uses NCCL. ``train_single`` is the one-process reference: after the same number of steps,
both give the same parameters (up to the rounding of summing in another order). With ``--fsdp`` the model is sharded
instead of replicated (``fully_shard``, PyTorch's FSDP2): each process keeps only its part of every weight, gradient
and optimizer state, and gathers a layer's full weights just before it computes with them.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["all_reduce_demo", "make_data", "make_model", "rank_slice", "train_data_parallel", "train_fully_sharded",
           "train_single"]


def make_data(n: int = 512, features: int = 20, classes: int = 4, seed: int = 0):
    """A fixed synthetic classification set (float64): the same on every rank, without any file."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g, dtype=torch.float64)
    w = torch.randn(features, classes, generator=g, dtype=torch.float64)
    return x, (x @ w).argmax(dim=1)


def make_model(features: int = 20, classes: int = 4, hidden: int = 32, seed: int = 0) -> nn.Module:
    """A small MLP in float64, initialised from ``seed`` (every rank builds the same one)."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, classes)).double()


def rank_slice(global_batch: int, rank: int, world_size: int) -> slice:
    """This rank's share of a global batch: contiguous, equal parts (the global batch must divide evenly)."""
    if global_batch % world_size:
        raise ValueError(f"the global batch of {global_batch} does not split evenly over {world_size} processes; "
                         f"choose a multiple of {world_size}")
    size = global_batch // world_size
    return slice(rank * size, (rank + 1) * size)


def _batches(n: int, global_batch: int, steps: int, seed: int):
    """The global batches' indices, one per step, drawn from a seeded generator (the same on every rank)."""
    g = torch.Generator().manual_seed(seed + 1)
    return [torch.randint(0, n, (global_batch,), generator=g) for _step in range(steps)]


def train_single(steps: int = 20, global_batch: int = 64, lr: float = 0.1, seed: int = 0) -> dict:
    """One process, the whole global batch per step: the reference for ``train_data_parallel``."""
    x, y = make_data(seed=seed)
    model = make_model(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for idx in _batches(len(x), global_batch, steps, seed):
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def train_data_parallel(steps: int = 20, global_batch: int = 64, lr: float = 0.1, seed: int = 0) -> dict:
    """The same training on this process's share of every global batch, inside an initialised process group."""
    rank, world_size = dist.get_rank(), dist.get_world_size()
    x, y = make_data(seed=seed)
    model = nn.parallel.DistributedDataParallel(make_model(seed=seed))   # broadcasts rank 0's weights
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    share = rank_slice(global_batch, rank, world_size)
    for idx in _batches(len(x), global_batch, steps, seed):
        mine = idx[share]
        loss = nn.functional.cross_entropy(model(x[mine]), y[mine])   # the mean over this rank's share
        optimizer.zero_grad()
        loss.backward()                                                # all-reduce: gradients averaged over ranks
        optimizer.step()
    return {name: value.detach().clone() for name, value in model.module.state_dict().items()}


def train_fully_sharded(steps: int = 20, global_batch: int = 64, lr: float = 0.1, seed: int = 0) -> tuple[dict, int]:
    """The same training with the model sharded over the ranks (FSDP2's ``fully_shard``, on every Linear and on the
    whole model). Returns the full parameters, gathered, and how many parameter values this rank holds."""
    from torch.distributed.fsdp import fully_shard

    rank, world_size = dist.get_rank(), dist.get_world_size()
    x, y = make_data(seed=seed)
    model = make_model(seed=seed)
    for layer in model:
        if isinstance(layer, nn.Linear):
            fully_shard(layer)
    fully_shard(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    share = rank_slice(global_batch, rank, world_size)
    for idx in _batches(len(x), global_batch, steps, seed):
        mine = idx[share]
        loss = nn.functional.cross_entropy(model(x[mine]), y[mine])
        optimizer.zero_grad()
        loss.backward()                                   # reduce-scatter: each rank gets its part of the gradient
        optimizer.step()                                  # and updates only its part of the weights
    held = sum(p.to_local().numel() for p in model.parameters())
    return {name: p.full_tensor().detach().clone() for name, p in model.named_parameters()}, held


def all_reduce_demo() -> list[float]:
    """Every rank contributes the tensor [rank + 1, 10 * (rank + 1)]; after all_reduce(SUM) every rank holds the sum."""
    rank = dist.get_rank()
    t = torch.tensor([rank + 1.0, 10.0 * (rank + 1)], dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fsdp", action="store_true", help="shard the model (FSDP2) instead of replicating it (DDP)")
    parser.add_argument("--out", help="where rank 0 saves the trained parameters and the all-reduce result")
    args = parser.parse_args(argv)
    if "RANK" not in os.environ:
        parser.error("start this script with torchrun (e.g. torchrun --standalone --nproc_per_node=2 -m "
                     "companion.torch.distributed), which sets RANK, WORLD_SIZE and the rendezvous address")
    backend = "gloo"   # this script's tensors stay on the CPU (float64); a GPU script would pin a device and use NCCL
    dist.init_process_group(backend)
    try:
        reduced = all_reduce_demo()
        held = None
        if args.fsdp:
            state, held = train_fully_sharded(args.steps, args.global_batch, args.lr, args.seed)
        else:
            state = train_data_parallel(args.steps, args.global_batch, args.lr, args.seed)
        if dist.get_rank() == 0:
            kind = "FSDP, sharded" if args.fsdp else "DDP, replicated"
            print(f"rank 0 of {dist.get_world_size()} ({backend}, {kind}): all_reduce gave {reduced}; "
                  f"trained {args.steps} steps on a global batch of {args.global_batch}")
            if args.out:
                torch.save({"state": state, "all_reduce": reduced, "world_size": dist.get_world_size(),
                            "values_held": held}, args.out)
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
