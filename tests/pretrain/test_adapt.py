"""GreenBioBERT-style vocabulary adaptation on the tiny corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest
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
    card = (out / "README.md").read_text()  # a model directory has a model card, as pretrain's has
    assert "15 new" in card and f"R² {saved['map_r2']}" in card and str(headless_bert) in card


def test_pieces_init_is_the_mean_of_the_old_pieces(corpus_file, headless_bert, tmp_path):
    """new_init="pieces" (fast vocabulary transfer): no word2vec; each new row is the mean of the rows of
    the pieces the old tokenizer used, and the same words are chosen as with word2vec's frequency order."""
    from transformers import AutoModel, AutoTokenizer

    kw = dict(corpus=[str(corpus_file)], init=str(headless_bert), num_new_tokens=15, min_count=3)
    rep = adapt_vocab(AdaptConfig(output=str(tmp_path / "p"), new_init="pieces", **kw), log=lambda m: None)
    assert rep["map_r2"] is None and rep["w2v_vocab"] is None and rep["new_tokens"] == 15
    before_tok = AutoTokenizer.from_pretrained(headless_bert)
    old = AutoModel.from_pretrained(headless_bert).get_input_embeddings().weight
    tok = AutoTokenizer.from_pretrained(tmp_path / "p")
    emb = AutoModel.from_pretrained(tmp_path / "p").get_input_embeddings().weight
    for w, _ in rep["new_tokens_head"]:
        pieces = before_tok.convert_tokens_to_ids(before_tok.tokenize(w))
        assert len(pieces) > 1
        assert torch.allclose(emb[tok.convert_tokens_to_ids(w)], old[pieces].mean(0), atol=1e-6)
    w2v = adapt_vocab(AdaptConfig(output=str(tmp_path / "w"), w2v_dim=16, w2v_epochs=1, **kw), log=lambda m: None)
    # both take the most frequent split words (ties at the cut may be broken differently)
    assert sorted(c for _, c in w2v["new_tokens_head"]) == sorted(c for _, c in rep["new_tokens_head"])


def test_a_map_with_too_few_words_and_bad_settings_are_refused(corpus_file, headless_bert, tmp_path):
    """The guard used `and`: a 300-dimensional map was fitted on a few dozen shared words (exactly: R^2 1.0)
    and mapped new words to noise. w2v_dim / w2v_epochs 0 and val_fraction 0.9 were taken; now E470 as in
    vocab and pretrain, before anything is written."""
    from typer.testing import CliRunner

    from biobert.cli import app
    from biobert.errors import ConfigError, TrainingError

    kw = dict(corpus=[str(corpus_file)], init=str(headless_bert), num_new_tokens=5, min_count=3, w2v_epochs=1)
    with pytest.raises(TrainingError, match="E554 .*needs at least 600"):
        adapt_vocab(AdaptConfig(output=str(tmp_path / "a"), w2v_dim=300, **kw), log=lambda m: None)
    for bad in (dict(w2v_dim=0), dict(w2v_epochs=0), dict(val_fraction=0.9)):
        with pytest.raises(ConfigError, match="E470"):
            adapt_vocab(AdaptConfig(output=str(tmp_path / "b"), **{**kw, **bad}), log=lambda m: None)
    assert not (tmp_path / "b").exists()
    for opt in (["--w2v-dim", "0"], ["--w2v-epochs", "0"], ["--val-fraction", "0.9"]):
        res = CliRunner().invoke(app, ["adapt-vocab", "--corpus", str(corpus_file), "-o", str(tmp_path / "c"),
                                       "--init", str(headless_bert), *opt])
        assert res.exit_code == 2 and "E470" in res.output, res.output
