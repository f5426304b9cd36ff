"""Where models run and in what precision: one place for the device and autocast rules.

Every trainer and predictor asks this module instead of assuming a CPU:

* ``device``: ``"auto"`` (the first CUDA GPU when there is one, else Apple's MPS, else the CPU), or any torch
  device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
* ``precision``: ``"fp32"`` (default), ``"bf16"`` (autocast to bfloat16: CUDA GPUs from Ampere on, and CPUs,
  where it is usually *slower* than fp32) or ``"fp16"`` (autocast to float16 with dynamic loss scaling; CUDA
  only). Weights and optimizer state stay fp32 in every case, so checkpoints do not depend on the precision.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Mapping

import torch

from biobert.errors import ConfigError

__all__ = ["PRECISIONS", "resolve_device", "model_device", "to_device", "autocast", "grad_scaler", "place"]

PRECISIONS = ("fp32", "bf16", "fp16")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``spec`` (``None`` and ``"auto"`` pick the best one present).

    Raises:
        ConfigError: E560 an unknown device string, or a device this machine does not have.
    """
    if isinstance(spec, torch.device):
        return spec
    if spec in (None, "", "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(spec)
    except (RuntimeError, TypeError):
        raise ConfigError(f"E560 unknown device {spec!r}; expected auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and (not torch.cuda.is_available() or (dev.index or 0) >= torch.cuda.device_count()):
        raise ConfigError(f"E560 device {spec!r} asked for, but this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"E560 device {spec!r} asked for, but MPS is not available here")
    return dev


def model_device(model: Any) -> torch.device:
    """The device of a module's first parameter (the CPU for parameter-free or non-torch models, e.g. ONNX)."""
    params = getattr(model, "parameters", None)
    if callable(params):
        for p in params():
            return p.device
    return torch.device("cpu")


def to_device(batch: Mapping[str, Any], device: torch.device) -> dict[str, Any]:
    """Move every tensor of a batch to ``device`` (a no-op when it is already there)."""
    return {k: (v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}


def _check(precision: str, device: torch.device) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"E561 precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(f"E561 fp16 needs a CUDA device (loss scaling); on {device.type} use bf16 or fp32")


def half_precision_attention(device: torch.device) -> None:
    """Keep half-precision attention off cuDNN on CUDA (a process-wide torch switch; idempotent).

    PyTorch's scaled-dot-product attention picks its cuDNN backend for bf16/fp16 on recent GPUs, and that backend
    builds a new cuDNN graph for every new input shape: on an H200 a MiniLM training step with an unseen
    sequence length cost 212 ms in bf16 against 15 ms in fp32, and length-grouped batches make most shapes new,
    so bf16 fine-tuning ran 4.6x slower than fp32 (BENCHMARKS.md, "GPU"). The memory-efficient and flash
    backends need no per-shape setup."""
    if device.type == "cuda" and hasattr(torch.backends.cuda, "enable_cudnn_sdp"):
        torch.backends.cuda.enable_cudnn_sdp(False)


@contextlib.contextmanager
def autocast(device: torch.device, precision: str = "fp32") -> Iterator[None]:
    """Mixed-precision context for forward passes (and their losses) on ``device``; fp32 does nothing."""
    _check(precision, device)
    if precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    half_precision_attention(device)
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler | None:
    """A dynamic loss scaler for fp16 (small gradients would underflow in float16); ``None`` otherwise."""
    _check(precision, device)
    return torch.amp.GradScaler(device.type) if precision == "fp16" else None


def place(model: torch.nn.Module, device: str | torch.device | None = "auto", precision: str = "fp32") -> torch.nn.Module:
    """Move an inference model to ``device`` and, for ``bf16`` / ``fp16``, cast its weights (predictors score
    in fp32 after the forward pass). Returns the model."""
    dev = resolve_device(device)
    if precision not in PRECISIONS:
        raise ConfigError(f"E561 precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "fp16" and dev.type == "cpu":
        raise ConfigError("E561 fp16 inference needs a GPU; on the CPU use fp32 (or bf16)")
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    if precision != "fp32":
        half_precision_attention(dev)
    return model.to(device=dev, dtype=dtype)
