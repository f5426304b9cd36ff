"""Resume refuses a corpus rewritten in place (E495) and changed optimizer hyper-parameters (E472);
invalid UTF-8 in a corpus is counted, warned about (W496) and reported; the report carries the
vocabulary's sha256."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch

from biobert.errors import ConfigError
from biobert.pretrain.corpus import PretrainStream, scan_encoding
from biobert.pretrain.loop import pretrain

from .test_loop import _cfg, _one_thread  # noqa: F401  (autouse fixture)


def _copy(corpus_file, tmp_path):
    p = tmp_path / "data" / "c.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus_file, p)
    return p


def test_stream_position_rejects_rewritten_file(corpus_file, tokenizer, tmp_path):
    p = _copy(corpus_file, tmp_path)
    s = PretrainStream([p], tokenizer, 48, shuffle_buffer=4)
    s.take(5)
    state = s.state_dict()
    PretrainStream([p], tokenizer, 48, shuffle_buffer=4).load_state_dict(state)  # unchanged: fine
    text = p.read_text()
    p.write_text(text.replace("cancer", "tumour"))  # same path, new content
    with pytest.raises(ConfigError, match="E495.*c.txt"):
        PretrainStream([p], tokenizer, 48, shuffle_buffer=4).load_state_dict(state)
    legacy = {k: v for k, v in state.items() if k != "fingerprints"}  # positions saved before hashes
    PretrainStream([p], tokenizer, 48, shuffle_buffer=4).load_state_dict(legacy)


def test_pretrain_resume_guards_data_and_optimizer(corpus_file, vocab_dir, tmp_path):
    p = _copy(corpus_file, tmp_path)
    kw = dict(tokenizer=str(vocab_dir), max_steps=4, save_every=2)
    r = pretrain(_cfg(p, tmp_path / "r", halt_after=2, **kw))
    digest = hashlib.sha256((vocab_dir / "vocab.txt").read_bytes()).hexdigest()
    assert r["vocab_sha256"] == digest
    with pytest.raises(ConfigError, match="E472.*adam_beta1"):
        pretrain(_cfg(p, tmp_path / "r", adam_beta1=0.1, **kw), resume=True)
    with pytest.raises(ConfigError, match="E472.*adam_eps"):
        pretrain(_cfg(p, tmp_path / "r", adam_eps=1e-8, **kw), resume=True)
    p.write_text(p.read_text().replace("patients", "subjects"))
    with pytest.raises(ConfigError, match="E495"):
        pretrain(_cfg(p, tmp_path / "r", **kw), resume=True)


def test_invalid_utf8_is_counted_warned_and_reported(corpus_file, vocab_dir, tmp_path, capsys):
    p = _copy(corpus_file, tmp_path)
    lines = p.read_bytes().split(b"\n")
    lines[3] = lines[3] + b" caf\xe9 \xff\xfe ok \xef\xbf\xbd"  # three invalid bytes + a genuine U+FFFD
    p.write_bytes(b"\n".join(lines))
    scan = scan_encoding([p])
    assert scan["replacements"] == 3 and scan["lines"] == 1 and scan["first"] == f"{p}:4"
    assert scan_encoding([corpus_file])["replacements"] == 0
    r = pretrain(_cfg(p, tmp_path / "u", tokenizer=str(vocab_dir), max_steps=2, save_every=2))
    assert r["data"]["invalid_utf8"]["replacements"] == 3
    assert json.loads((tmp_path / "u" / "report.json").read_text())["data"]["invalid_utf8"]["first"] == f"{p}:4"
    err = capsys.readouterr().err
    assert "W496" in err and f"{p}:4" in err


def test_vocab_report_counts_invalid_utf8(tmp_path, caplog):
    from biobert.pretrain.vocab import train_wordpiece

    p = tmp_path / "c.txt"
    p.write_bytes(b"alpha beta gamma\nalpha \xff beta\n" * 5)
    with caplog.at_level("WARNING"):
        train_wordpiece([p], tmp_path / "v", vocab_size=60, min_frequency=1)
    rep = json.loads((tmp_path / "v" / "vocab_report.json").read_text())
    assert rep["invalid_utf8"]["replacements"] == 5 and rep["invalid_utf8"]["first"] == f"{p}:2"
    assert "W496" in caplog.text


def test_resume_refuses_a_vocabulary_rewritten_in_place_and_overwrite_retrains_the_runs_own(corpus_file, vocab_dir, tmp_path):
    """The tokenizer path is a saved setting, but its content was not: a vocabulary retrained at the same path
    resumed silently (same size: every id now another word) or died in load_state_dict (another size)."""
    from biobert.pretrain.vocab import train_wordpiece

    p = _copy(corpus_file, tmp_path)
    v = tmp_path / "v"
    shutil.copytree(vocab_dir, v)
    kw = dict(tokenizer=str(v), max_steps=4, save_every=2)
    pretrain(_cfg(p, tmp_path / "r", halt_after=2, **kw))
    other = tmp_path / "other.txt"
    other.write_text(p.read_text().replace("a", "q").replace("e", "z"), encoding="utf-8")
    shutil.rmtree(v)
    train_wordpiece([other], v, vocab_size=300, lowercase=True, min_frequency=1)
    with pytest.raises(ConfigError, match="E558.*another vocabulary"):
        pretrain(_cfg(p, tmp_path / "r", **kw), resume=True)
    shutil.rmtree(v)
    shutil.copytree(vocab_dir, v)  # the original back: resumes
    assert pretrain(_cfg(p, tmp_path / "r", **kw), resume=True)["step"] == 4

    # a from-scratch run's own vocabulary (out/vocab) is an output: --overwrite trains it again
    out = tmp_path / "s"
    first = pretrain(_cfg(p, out, max_steps=2, vocab_size=300))
    again = pretrain(_cfg(p, out, max_steps=2, vocab_size=200), overwrite=True)
    assert first["vocab_size"] > 200 >= again["vocab_size"]


def test_skipped_records_survive_a_resume(documents, vocab_dir, tmp_path):
    """The counts of records skipped for holding no text live in the process that read the file to its end:
    a resumed run (a new process) that did not reach the end again reported none. They are saved with the
    checkpoint and taken back on resume; the SOP truncation count is reported too."""
    from biobert.pretrain import corpus

    p = tmp_path / "c.jsonl"
    p.write_text(json.dumps({"text": ""}) + "\n" + "".join(json.dumps({"text": d}) + "\n" for d in documents[:4]))
    kw = dict(tokenizer=str(vocab_dir), max_steps=2, save_every=1, val_fraction=0.0, objective="sop")
    first = pretrain(_cfg(p, tmp_path / "s", **kw))
    assert first["data"]["skipped_records"]["records"] == 1
    assert first["data"]["tokens_truncated"] >= 0
    corpus._SKIPPED.clear()  # what a new process starts with
    again = pretrain(_cfg(p, tmp_path / "s", **kw), resume=True)
    assert again["data"]["skipped_records"]["records"] == 1
    assert json.loads((tmp_path / "s" / "report.json").read_text())["data"]["skipped_records"]["records"] == 1
