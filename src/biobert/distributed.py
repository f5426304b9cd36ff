"""Data-parallel fine-tuning: the same config, several processes, launched with ``torchrun``.

    torchrun --nproc_per_node 4 -m biobert.cli finetune ner --config configs/ner/ncbi_disease.yaml

``torchrun`` sets ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``; :func:`setup` then joins the process group
(NCCL on CUDA GPUs, one GPU per process; gloo on CPUs) and the :class:`~biobert.train.Trainer` wraps the model
in ``DistributedDataParallel``. Nothing else changes, and the hyper-parameters keep their meaning:

* ``train.batch_size`` stays the *global* batch. Every process draws the same batch order (a function of the
  seed and the epoch) and takes every ``world``-th example of each batch, so the optimizer sees the same
  batches as a single process does. Each shard's loss is weighted by its share of the batch, which makes the
  all-reduced gradient the gradient of the whole batch's mean loss (exactly so for per-example losses).
* Results do not depend on the process count only without dropout (``train.dropout=0``): with it, each process
  draws its own dropout masks (seeded by its rank), so 1 and N processes reach different weights. Every
  process's random state is checkpointed, so a run resumed with the same process count equals an uninterrupted
  one; with another count the processes are reseeded (the summary's ``resume_rng`` says so).
* Process 0 evaluates on dev, keeps the best weights, writes checkpoints, tests and saves the model; the
  others wait for its decision (early stopping) at a broadcast. Output is printed once.

The trainer owns the sharding instead of handing the data to ``accelerate`` (which the pre-training loop uses)
because exact resume needs the batch order to be a pure function of (seed, epoch) whatever the process count.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from typing import Any, Sequence

import torch

from biobert.errors import ConfigError

__all__ = ["Dist", "launched", "setup", "rank", "is_main", "barrier", "broadcast", "shard", "wait_for_report"]


@dataclass(frozen=True)
class Dist:
    """This process's place in a data-parallel run."""

    rank: int
    world: int
    local_rank: int
    device: torch.device
    backend: str


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (or another launcher) as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device: str = "auto") -> Dist | None:
    """Join the process group when launched as one of several processes; ``None`` for a single process.

    ``device`` is the trainer's setting: ``auto`` or ``cuda`` put process ``LOCAL_RANK`` on GPU
    ``LOCAL_RANK`` (NCCL) when CUDA is present, else on the CPU (gloo); ``cpu`` forces gloo.

    Raises:
        ConfigError: E562 a fixed GPU (``cuda:N``) or MPS was asked for in a multi-process run; E563 more
            processes on this node than it has GPUs.
    """
    if not launched():
        return None
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device not in ("auto", "cpu", "cuda", "", None):
        raise ConfigError(
            f"E562 device {device!r} cannot be shared by {os.environ['WORLD_SIZE']} processes; use auto, cuda or cpu "
            "(process N then runs on GPU N, or on the CPU)")
    use_cuda = device != "cpu" and torch.cuda.is_available()
    if device == "cuda" and not use_cuda:
        raise ConfigError("E560 device 'cuda' asked for, but this machine has no CUDA device")
    if use_cuda and local >= torch.cuda.device_count():
        # torch.cuda.set_device would fail with a bare "invalid device ordinal"
        raise ConfigError(
            f"E563 process {local} of this node needs GPU {local}, but the node has {torch.cuda.device_count()}; "
            "start at most one process per GPU (torchrun --nproc_per_node) or use --set train.device=cpu")
    if use_cuda:
        torch.cuda.set_device(local)
    backend = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend)
        atexit.register(_teardown)
    return Dist(dist.get_rank(), dist.get_world_size(), local, torch.device("cuda", local) if use_cuda else torch.device("cpu"), backend)


def _teardown() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized()


def rank() -> int:
    """This process's rank (0 outside a multi-process run)."""
    import torch.distributed as dist

    return dist.get_rank() if _active() else 0


def is_main() -> bool:
    """True for the process that writes files and prints (rank 0, or the only process)."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process (a no-op for a single process)."""
    if _active():
        import torch.distributed as dist

        dist.barrier()


def broadcast(obj: Any) -> Any:
    """Process 0's ``obj`` on every process (pickled; for small decisions, not tensors)."""
    if not _active():
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def shard(batch: Sequence[int], rank: int, world: int, units: Sequence[int] | None = None) -> tuple[list[int], float]:
    """This process's examples of a global ``batch`` and the weight of its loss.

    ``units[i]``: how many terms example ``i`` adds to the mean its loss takes (labelled tokens for a token-level
    loss such as NER's cross-entropy; ``None``: one per example). The weight ``world * units(mine) /
    units(batch)`` makes DDP's gradient average equal the gradient of the batch's mean loss: weighting a
    token-mean by sentences gave another gradient whenever the shards held different numbers of tokens. A process
    left with nothing (a last batch smaller than ``world``) still has to take part in the all-reduce, so it gets
    the batch's first example with weight 0.
    """
    mine = list(batch[rank::world])
    if not mine:
        return [batch[0]], 0.0
    if units is None:
        return mine, world * len(mine) / len(batch)
    total = sum(units[i] for i in batch)
    return mine, (world * sum(units[i] for i in mine) / total) if total else 0.0


def wait_for_report(path: Any) -> dict[str, Any]:
    """For processes other than 0 after training: wait until process 0 has tested the model and written its
    run report (it calls :func:`barrier` right after), then return that report, so that every process returns
    the same result."""
    import json
    from pathlib import Path

    barrier()
    return json.loads(Path(path).read_text(encoding="utf-8"))
