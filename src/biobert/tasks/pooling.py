"""Sequence pooling shared by the task heads that classify a whole input (RE, the QA yes/no head)."""

from __future__ import annotations

import torch

__all__ = ["masked_mean"]


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` [batch, seq, dim] over the positions ``attention_mask`` [batch, seq] marks; padding is left out."""
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
