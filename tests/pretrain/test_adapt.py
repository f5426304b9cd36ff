"""GreenBioBERT-style vocabulary adaptation on the tiny corpus."""

from __future__ import annotations

import json

import numpy as np
import torch

from biobert.pretrain.adapt import AdaptConfig, adapt_vocab


def test_adapt_vocab_adds_mapped_whole_word_tokens(corpus_file, headless_bert, tmp_path):
    from transformers import AutoModel, AutoTokenizer

    before_tok = AutoTokenizer.from_pretrained(headless_bert)
    out = tmp_path / "adapted"
    report = adapt_vocab(
        AdaptConfig(corpus=[str(corpus_file)], output=str(out), init=str(headless_bert), num_new_tokens=15, min_count=3, w2v_dim=16, w2v_epochs=2),
        log=lambda m: None,
    )
    assert report["new_tokens"] == 15
    assert report["vocab_size_after"] == report["vocab_size_before"] + 15
    assert report["pieces_per_word_after"] < report["pieces_per_word_before"]
    new = [w for w, _ in report["new_tokens_head"]]
    assert all(len(before_tok.tokenize(w)) > 1 for w in new)  # they were split before

    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModel.from_pretrained(out)
    assert len(tok) == model.config.vocab_size == report["vocab_size_after"]
    for w in new:
        pieces = tok.tokenize(w)
        assert pieces == [w]  # a whole-word WordPiece entry, used inside running text too
        assert w in tok.tokenize(f"levels of {w}, in cells")
    ids = tok.convert_tokens_to_ids(new)
    assert min(ids) >= report["vocab_size_before"]
    # old rows untouched, new rows set (not the resize default) and finite
    old = AutoModel.from_pretrained(headless_bert).get_input_embeddings().weight
    emb = model.get_input_embeddings().weight
    assert torch.equal(emb[: old.shape[0]], old)
    new_rows = emb[ids]
    assert torch.isfinite(new_rows).all() and new_rows.norm(dim=-1).min() > 0
    assert not torch.allclose(new_rows[0], new_rows[1])
    # the model runs on text with the new tokens
    enc = tok(f"{new[0]} and {new[1]}", return_tensors="pt")
    assert model(**enc).last_hidden_state.shape[1] == enc["input_ids"].shape[1] == 5
    saved = json.loads((out / "adapt_report.json").read_text())
    assert saved["shared_words"] > 20 and np.isfinite(saved["map_r2"])
    assert (out / "vocab.txt").read_text().split("\n")[ids[0]] == new[0]
