"""The WordPiece vocabulary is a pure function of the corpus and the settings (tokenizers' trainer
breaks merge ties by hash-map order unless the continuation characters get fixed ids)."""

from __future__ import annotations

import hashlib
import json

import pytest

from biobert.pretrain.vocab import SPECIAL_TOKENS, train_wordpiece, vocab_sha256


@pytest.mark.parametrize("limit_alphabet", [1000, 15])
def test_vocab_is_reproducible_and_hashed(corpus_file, tmp_path, limit_alphabet):
    digests = set()
    for i in range(5):
        out = tmp_path / f"v{i}"
        tok = train_wordpiece([corpus_file], out, vocab_size=200, min_frequency=1, limit_alphabet=limit_alphabet)
        digest = hashlib.sha256((out / "vocab.txt").read_bytes()).hexdigest()
        digests.add(digest)
        report = json.loads((out / "vocab_report.json").read_text())
        assert report["vocab_sha256"] == digest == vocab_sha256(out) == tok.vocab_sha256
    assert len(digests) == 1
    # only the five real special tokens are special (the ##x ids were fixed through the trainer)
    added = [a["content"] for a in json.loads((out / "tokenizer.json").read_text())["added_tokens"]]
    assert added == SPECIAL_TOKENS
    assert tok.convert_ids_to_tokens(list(range(5))) == SPECIAL_TOKENS
    assert len(tok) == 200
    if limit_alphabet == 1000:  # a tiny alphabet maps most characters to [UNK]
        assert tok.decode(tok("mutations in brca1")["input_ids"], skip_special_tokens=True) == "mutations in brca1"


def test_a_vocabulary_short_of_the_requested_size_says_so(corpus_file, tmp_path, caplog):
    """A tiny corpus cannot fill --size 30522: the vocabulary came out a fraction of that without a word."""
    import logging

    with caplog.at_level(logging.WARNING, logger="biobert.pretrain.vocab"):
        tok = train_wordpiece([corpus_file], tmp_path / "v", vocab_size=5000, min_frequency=2)
    assert len(tok) < 5000
    assert any("W498" in r.getMessage() and "5000" in r.getMessage() for r in caplog.records)
    rep = json.loads((tmp_path / "v" / "vocab_report.json").read_text())
    assert rep["vocab_size_requested"] == 5000 and rep["vocab_size"] == len(tok)
