"""torchrun integration: process group from the environment, rank helpers, reductions.

Single node, 4 GPUs:
    torchrun --standalone --nproc_per_node 4 -m ssltk.bin.pretrain --config C --exp-dir E
Two nodes x 8 GPUs (run on each node; NODE_RANK 0 on the host of MASTER):
    torchrun --nnodes 2 --nproc_per_node 8 --node_rank $NODE_RANK \\
        --rdzv_backend c10d --rdzv_endpoint $MASTER:29400 --rdzv_id pretrain1 \\
        -m ssltk.bin.pretrain --config C --exp-dir E
CPU (gloo), e.g. for tests: torchrun --standalone --nproc_per_node 2 -m ssltk.bin.pretrain ... train.device=cpu
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device: str = "auto") -> World:
    """Join the torchrun process group if WORLD_SIZE > 1 (NCCL on CUDA, gloo on CPU)."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("train.device=cuda but no CUDA device is visible; use train.device=cpu")
    size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if use_cuda else "gloo", rank=rank, world_size=size)
    return World(rank=rank, size=size, local_rank=local_rank, device=dev)


def all_reduce_sum(values: list[float], world: World) -> list[float]:
    """Sum a few scalars over ranks (one collective)."""
    if not world.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=world.device)
    dist.all_reduce(t)
    return t.tolist()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def shutdown(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()
