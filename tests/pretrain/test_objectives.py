"""Masking and the objectives' forward passes (no training loop)."""

from __future__ import annotations

import pytest
import torch

from biobert.pretrain.corpus import PretrainStream
from biobert.pretrain.masking import continuation_table, mask_tokens
from biobert.pretrain.models import build_models
from biobert.pretrain.objectives import ElectraObjective, MLMObjective, SOPObjective, make_mask_spec

from .conftest import TINY_MODEL


def _batch_ids(corpus_file, tokenizer, n=16, length=64):
    from biobert.pretrain.masking import collate

    s = PretrainStream([corpus_file], tokenizer, max_length=length, seed=0, shuffle_buffer=1)
    return collate(s.take(n), tokenizer.pad_token_id).input_ids


def test_mask_rate_and_specials(corpus_file, tokenizer):
    ids = _batch_ids(corpus_file, tokenizer, n=64)
    spec = make_mask_spec(tokenizer, prob=0.15)
    g = torch.Generator().manual_seed(0)
    corrupted, pos, targets = mask_tokens(ids, spec, g)
    special = torch.isin(ids, torch.tensor(spec.special_ids))
    assert not (pos & special).any()
    rate = pos.sum().item() / (~special).sum().item()
    assert 0.12 < rate < 0.18
    assert torch.equal(targets, ids[pos])
    assert torch.equal(corrupted[~pos], ids[~pos])
    frac_mask = (corrupted[pos] == spec.mask_id).float().mean().item()
    assert 0.7 < frac_mask < 0.9
    # the same generator seed gives the same masks
    again = mask_tokens(ids, spec, torch.Generator().manual_seed(0))
    assert torch.equal(again[1], pos)


def test_whole_word_masking_masks_every_piece(corpus_file, tokenizer):
    ids = _batch_ids(corpus_file, tokenizer, n=64)
    table = continuation_table(tokenizer)
    assert table.any()  # the fixture vocabulary splits some words
    spec = make_mask_spec(tokenizer, prob=0.2, whole_word=True)
    _, pos, _ = mask_tokens(ids, spec, torch.Generator().manual_seed(1))
    cont = table[ids]
    # a continuation piece is masked exactly when the piece before it is
    assert torch.equal(pos[:, 1:][cont[:, 1:]], pos[:, :-1][cont[:, 1:]])
    words_split = cont[:, 1:] & pos[:, :-1]
    assert words_split.any()


def test_masked_only_projection_equals_full_head(corpus_file, tokenizer):
    """Gathering masked positions before the head gives HF's full-sequence MLM loss."""
    bundle = build_models("mlm", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    obj = MLMObjective(bundle.model, make_mask_spec(tokenizer), tokenizer.pad_token_id).eval()
    s = PretrainStream([corpus_file], tokenizer, max_length=64, seed=0, shuffle_buffer=4)
    batch = obj.prepare(s.take(8), torch.Generator().manual_seed(0))
    ours = obj(**batch)["loss"]
    labels = torch.full_like(batch["input_ids"], -100)
    labels[batch["positions"]] = batch["targets"]
    theirs = bundle.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"], labels=labels).loss
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_head_created_for_headless_checkpoint(headless_bert, tokenizer):
    from safetensors.torch import load_file

    bundle = build_models("mlm", tokenizer, init=str(headless_bert))
    m = bundle.model
    assert any(k.startswith("cls.predictions") for k in bundle.created_head)
    assert m.cls.predictions.decoder.weight is m.bert.embeddings.word_embeddings.weight
    # initialised like BERT: LayerNorm 1/0, zero bias, N(0, 0.02) dense
    t = m.cls.predictions.transform
    assert torch.all(t.LayerNorm.weight == 1) and torch.all(m.cls.predictions.bias == 0)
    assert 0.01 < t.dense.weight.std().item() < 0.03
    # the encoder weights are the checkpoint's, and its pooler is kept for the output
    saved = load_file(str(headless_bert / "model.safetensors"))
    assert torch.equal(m.bert.encoder.layer[0].attention.self.query.weight, saved["encoder.layer.0.attention.self.query.weight"])
    assert set(bundle.extra_state) == {"bert.pooler.dense.weight", "bert.pooler.dense.bias"}


def test_sop_and_electra_forward(corpus_file, tokenizer):
    sop = build_models("sop", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    assert sop.model.config.model_type == "albert"
    obj = SOPObjective(sop.model, make_mask_spec(tokenizer), tokenizer.pad_token_id)
    s = PretrainStream([corpus_file], tokenizer, max_length=64, kind="sop", seed=0, shuffle_buffer=4)
    out = obj(**obj.prepare(s.take(8)))
    assert out["loss"].requires_grad and out["n_pairs"].item() == 8

    el = build_models("electra", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    gen, disc = el.generator, el.model
    assert gen.config.hidden_size == disc.config.hidden_size // 2  # 1/4 rounded to whole heads (2 heads -> 1)
    obj = ElectraObjective(gen, disc, make_mask_spec(tokenizer, mask_frac=1.0, random_frac=0.0), tokenizer.pad_token_id)
    assert gen.electra.embeddings is disc.electra.embeddings
    assert gen.generator_lm_head.weight is disc.electra.embeddings.word_embeddings.weight
    s = PretrainStream([corpus_file], tokenizer, max_length=64, seed=0, shuffle_buffer=4)
    out = obj(**obj.prepare(s.take(8)))
    assert out["loss"].item() == pytest.approx(out["mlm_loss"].item() + 50 * out["disc_loss"].item(), rel=1e-5)
    out["loss"].backward()
    assert disc.electra.embeddings.word_embeddings.weight.grad is not None


def test_model_config_keys_are_checked(tokenizer, headless_bert):
    """A misspelt model_config key (num_hidden_layer) was kept as a stray attribute and the preset size built
    without a word; with --init, model_config was ignored without a word."""
    from biobert.errors import ConfigError
    from biobert.pretrain.models import build_models

    with pytest.raises(ConfigError, match=r"E401 .*'num_hidden_layer' \(did you mean 'num_hidden_layers'"):
        build_models("mlm", tokenizer, from_scratch=True, model_size="tiny", model_config={"num_hidden_layer": 1})
    with pytest.raises(ConfigError, match=r"E401 model_config.generator: .*'hiden_size'"):
        build_models("electra", tokenizer, from_scratch=True, model_size="tiny", model_config={"generator": {"hiden_size": 8}})
    with pytest.raises(ConfigError, match="E470 model_config .*--init"):
        build_models("mlm", tokenizer, init=str(headless_bert), model_config={"hidden_size": 64})
    # known keys (attribute-map aliases and constructor arguments included) are taken
    b = build_models("mlm", tokenizer, from_scratch=True, model_size="tiny",
                     model_config={"num_hidden_layers": 1, "hidden_dropout_prob": 0.0, "tie_word_embeddings": True})
    assert b.model.config.num_hidden_layers == 1


def test_chosen_positions_split_80_10_10_with_random_ids_really_drawn(corpus_file, tokenizer):
    ids = _batch_ids(corpus_file, tokenizer, n=64)
    spec = make_mask_spec(tokenizer, prob=0.3)
    masked = rand = kept = 0
    for seed in range(20):
        corrupted, pos, targets = mask_tokens(ids, spec, torch.Generator().manual_seed(seed))
        got = corrupted[pos]
        is_mask = got == spec.mask_id
        masked += int(is_mask.sum())
        rand += int((~is_mask & (got != targets)).sum())
        kept += int((got == targets).sum())
    n = masked + rand + kept
    # BERT's recipe: 80 % [MASK], 10 % a random id (a few equal the original by chance), 10 % left as they were
    assert 0.77 < masked / n < 0.83 and 0.08 < rand / n < 0.11 and 0.09 < kept / n < 0.12


def test_segment_b_has_token_type_1_and_the_sop_label_says_swapped(tokenizer):
    import numpy as np

    from biobert.pretrain.corpus import Example
    from biobert.pretrain.masking import collate

    ex = Example(np.array([2, 10, 11, 3, 20, 21, 22, 3], dtype=np.int32), n_first=4, label=1)
    c = collate([ex, Example(np.array([2, 10, 3, 20, 3], dtype=np.int32), n_first=3, label=0)], pad_id=0)
    assert c.token_type_ids[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert c.token_type_ids[1].tolist() == [0, 0, 0, 1, 1, 0, 0, 0]  # padding is type 0
    assert c.sop_labels.tolist() == [1, 0]


def test_sop_pairs_in_order_are_label_0_and_swapped_are_label_1(tokenizer):
    import random

    from biobert.pretrain.corpus import ExampleBuilder

    b = ExampleBuilder(tokenizer, max_length=64, kind="sop")
    sents = ["BRCA1 mutations cause breast cancer.", "TP53 is mutated in many tumours too."]
    a_ids, b_ids = (tokenizer(s, add_special_tokens=False)["input_ids"] for s in sents)
    seen = set()
    for seed in range(40):
        out = b._make_pair([list(a_ids), list(b_ids)], random.Random(seed), 62)
        first = out.input_ids[1:out.n_first - 1].tolist()
        assert (first == a_ids) == (out.label == 0), seed  # label 1 exactly when B comes first
        seen.add(out.label)
    assert seen == {0, 1}


def _electra_batch(tokenizer, objective):
    """Two rows of different lengths (the shorter is padded), every non-special token masked."""
    import numpy as np

    from biobert.pretrain.corpus import Example

    rows = [tokenizer(s)["input_ids"] for s in ("Mutations in BRCA1 were associated with breast cancer in patients.",
                                                "Aspirin reduced the risk.")]
    batch = objective.prepare([Example(np.array(r, dtype=np.int32), n_first=len(r)) for r in rows], torch.Generator().manual_seed(0))
    assert not batch["attention_mask"].bool().all()  # there is padding
    return batch


def test_electra_labels_a_sample_equal_to_the_original_as_original_and_ignores_padding(tokenizer):
    """Survivors P2/P6: a masked position where the generator happens to sample the original token is labelled
    original (0), not replaced; padding positions are left out of the discriminator loss."""
    import torch.nn.functional as F

    el = build_models("electra", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    spec = make_mask_spec(tokenizer, prob=1.0, mask_frac=1.0, random_frac=0.0)
    obj = ElectraObjective(el.generator, el.model, spec, tokenizer.pad_token_id).eval()
    with torch.no_grad():  # a discriminator leaning to "replaced": labels 0 and 1 cost very differently
        el.model.discriminator_predictions.dense_prediction.bias.fill_(3.0)
    batch = _electra_batch(tokenizer, obj)
    pos, targets = batch["positions"], batch["targets"]
    n = targets.numel()
    assert n >= 6
    # a generator whose sample is certain: the original token at even masked positions, another one at odd ones
    other = (targets + 1) % len(tokenizer)
    want = torch.where(torch.arange(n) % 2 == 0, targets, other)
    logits = torch.full((n, len(tokenizer)), -1e4)
    logits[torch.arange(n), want] = 1e4
    object.__setattr__(obj, "_head", lambda h: logits)
    out = obj(**batch)
    labels = torch.zeros_like(batch["input_ids"], dtype=torch.float)
    labels[pos] = (want != targets).float()
    assert out["n_replaced"].item() == labels.sum().item() == n // 2
    disc_ids = batch["input_ids"].clone()
    disc_ids[pos] = want
    real = batch["attention_mask"].bool()
    with torch.no_grad():
        d = el.model(input_ids=disc_ids, attention_mask=batch["attention_mask"], token_type_ids=batch["token_type_ids"]).logits
    assert out["n_tokens"].item() == real.sum().item()
    expected = F.binary_cross_entropy_with_logits(d[real], labels[real])
    assert out["disc_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
    # the same loss over every position, padding included, is not what is trained
    assert F.binary_cross_entropy_with_logits(d, labels).item() != pytest.approx(expected.item(), rel=1e-3)


def test_sop_head_reads_the_pooled_cls_representation(corpus_file, tokenizer):
    """Survivor P9: the sentence-order head is fed the pooler output (dense + tanh on [CLS]), not a raw hidden state."""
    import torch.nn.functional as F

    sop = build_models("sop", tokenizer, from_scratch=True, model_config=TINY_MODEL)
    obj = SOPObjective(sop.model, make_mask_spec(tokenizer), tokenizer.pad_token_id).eval()
    s = PretrainStream([corpus_file], tokenizer, max_length=64, kind="sop", seed=0, shuffle_buffer=4)
    batch = obj.prepare(s.take(8), torch.Generator().manual_seed(0))
    fed = []
    hook = sop.model.sop_classifier.register_forward_hook(lambda m, args, out: fed.append(args[0].detach()))
    try:
        out = obj(**batch)
    finally:
        hook.remove()
    with torch.no_grad():
        enc = sop.model.albert(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                               token_type_ids=batch["token_type_ids"])
        expected = F.cross_entropy(sop.model.sop_classifier(enc.pooler_output), batch["sop_labels"])
    assert len(fed) == 1 and torch.allclose(fed[0], enc.pooler_output, atol=1e-6)
    assert not torch.allclose(enc.pooler_output, enc.last_hidden_state[:, 0], atol=1e-3)
    assert out["sop_loss"].item() == pytest.approx(expected.item(), rel=1e-5)
