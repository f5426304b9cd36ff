"""Pre-training models: new heads are initialised reproducibly."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertForPreTraining

from biobert.pretrain.models import _init_head


def test_new_head_weights_do_not_depend_on_the_order_of_their_names():
    """`pretrain --objective mlm+sop --init X` gave other weights under the same seed from one process to the next:
    the new head tensors were drawn in the order of a set of strings (per-process hash order)."""
    cfg = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    model = BertForPreTraining(cfg)
    names = [n for n, _ in model.named_parameters() if n.startswith("cls.") and "LayerNorm" not in n]
    assert len([n for n in names if n.endswith("weight")]) >= 2  # two random matrices: their order matters

    def init(order):
        torch.manual_seed(0)
        _init_head(model, order)
        return {n: p.detach().clone() for n, p in model.named_parameters() if n in names}

    forward, backward = init(list(names)), init(list(reversed(names)))
    assert all(torch.equal(forward[n], backward[n]) for n in names)


def test_a_save_that_fails_half_way_leaves_the_previous_encoder_whole(tokenizer, tmp_path, monkeypatch):
    """The interim encoder is rewritten at every checkpoint; a kill while model.safetensors was being written left a
    truncated file where `--encoder OUT` loads it. Files are now written aside and renamed into place."""
    from transformers import AutoModel

    from biobert.pretrain import models
    from biobert.pretrain.models import build_models, save_encoder

    from .conftest import TINY_MODEL

    bundle = build_models("mlm", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    out = save_encoder(bundle, tokenizer, tmp_path / "run")
    before = (out / "model.safetensors").read_bytes()
    with torch.no_grad():
        next(bundle.model.parameters()).add_(1.0)  # the next checkpoint's weights differ

    def dies(*a, **k):
        raise KeyboardInterrupt  # the process stops after the weights, before the rest is written

    monkeypatch.setattr(models, "write_wordpiece_vocab", dies)
    try:
        save_encoder(bundle, tokenizer, out)
    except KeyboardInterrupt:
        pass
    assert (out / "model.safetensors").read_bytes() == before
    AutoModel.from_pretrained(out)  # loads
    monkeypatch.undo()
    save_encoder(bundle, tokenizer, out)  # the next save clears the leftovers and replaces the files
    assert (out / "model.safetensors").read_bytes() != before and not (out / ".encoder.tmp").exists()
