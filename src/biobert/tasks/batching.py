"""Dynamic padding shared by the task collators: every batch is as wide as its longest feature."""

from __future__ import annotations

from typing import Any, Sequence

import torch

__all__ = ["pad_field", "pad_inputs"]


def pad_field(features: Sequence[dict[str, Any]], key: str, value: int, width: int | None = None) -> torch.Tensor:
    """``[batch, width]`` long tensor of ``feature[key]`` lists, right-padded with ``value``.

    ``width`` defaults to the longest ``input_ids`` of the batch, so that every per-token field
    lines up with the inputs; a feature without ``key`` is all ``value``.
    """
    if width is None:
        width = max(len(f["input_ids"]) for f in features)
    out = torch.full((len(features), width), value, dtype=torch.long)
    for i, f in enumerate(features):
        seq = f.get(key)
        if seq:
            out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
    return out


def pad_inputs(features: Sequence[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """``input_ids`` padded with ``pad_id`` and the matching ``attention_mask`` (1 on real tokens)."""
    width = max(len(f["input_ids"]) for f in features)
    mask = torch.zeros((len(features), width), dtype=torch.long)
    for i, f in enumerate(features):
        mask[i, : len(f["input_ids"])] = 1
    return {"input_ids": pad_field(features, "input_ids", pad_id, width), "attention_mask": mask}
