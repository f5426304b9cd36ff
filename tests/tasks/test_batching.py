"""Dynamic padding shared by the NER, RE and QA collators."""

from __future__ import annotations

import torch

from biobert.tasks.batching import pad_field, pad_inputs


def test_pad_inputs_masks_only_real_tokens():
    feats = [{"input_ids": [5, 6, 7], "labels": [-100, 1, -100]}, {"input_ids": [8]}]
    batch = pad_inputs(feats, pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    # per-token fields line up with the inputs; a feature without the field is all padding
    assert pad_field(feats, "labels", -100).tolist() == [[-100, 1, -100], [-100, -100, -100]]
    assert pad_field(feats, "input_ids", 3, width=4).dtype == torch.long
    assert pad_field(feats, "input_ids", 3, width=4).tolist() == [[5, 6, 7, 3], [8, 3, 3, 3]]
