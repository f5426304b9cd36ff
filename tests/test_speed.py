"""Tagging-speed measurement: counts, best-of-N timing, ratios within one run, and the CLI."""

from __future__ import annotations

import json
import time

import pytest

from biobert.speed import measure_tagging
from biobert.types import Document, Span


class _Tok:
    def __call__(self, texts, add_special_tokens=False, verbose=True):
        return {"input_ids": [t.split() + ["x"] for t in texts]}  # one more "subword" than words per text


class _Enc:
    tok = _Tok()


class _Pred:
    encoder = _Enc()


class FakeTagger:
    def __init__(self, delay: float):
        self.delay, self.predictor, self.seen = delay, _Pred(), []

    def __call__(self, docs):
        self.seen.append([d.spans for d in docs])
        time.sleep(self.delay)
        return [d.with_spans([Span(0, 1, "X")]) for d in docs]


def test_best_of_repeats_counts_and_ratios():
    docs = [Document("a", "BRCA1 binds TP53", spans=()), Document("b", "Tamoxifen", spans=())]
    docs[0] = docs[0].with_spans([Span(0, 5, "Gene")])  # the input's own spans are not passed to the tagger
    fast, slow = FakeTagger(0.0), FakeTagger(0.05)
    r = measure_tagging({"fast": fast, "slow": slow}, docs, repeat=2)
    assert (r["documents"], r["words"], r["subwords"], r["characters"]) == (2, 4, 6, 25)
    assert len(fast.seen) == len(slow.seen) == 2 and all(s == () for run in fast.seen for s in run)
    v = r["variants"]
    assert v["fast"]["ratio_to_fast"] == 1.0 and v["slow"]["ratio_to_fast"] < 0.5 and v["slow"]["seconds"] >= 0.05
    assert v["slow"]["words_per_second"] == pytest.approx(4 / v["slow"]["seconds"], rel=0.01) and v["fast"]["spans"] == 2
    with pytest.raises(ValueError):
        measure_tagging({}, docs)
    with pytest.raises(ValueError):
        measure_tagging({"fast": fast}, docs, repeat=0)


def test_benchmark_cli(tagger_dir, tmp_path):
    from tests.cli.test_cli import PUBTATOR, ok

    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    r = json.loads(ok("benchmark", "--input", src, "--model", tagger_dir, "--repeat", "1", "--limit", "1").stdout)
    assert r["documents"] == 1 and r["variants"]["fp32"]["documents_per_second"] > 0 and r["machine"]["torch"]


def test_benchmark_cli_times_half_precision_against_fp32(tagger_dir, tmp_path):
    from tests.cli.test_cli import PUBTATOR, ok, run

    src = tmp_path / "x.PubTator.txt"
    src.write_text(PUBTATOR, encoding="utf-8")
    r = json.loads(ok("benchmark", "--input", src, "--model", tagger_dir, "--repeat", "1", "--device", "cpu",
                      "--precision", "bf16").stdout)
    assert set(r["variants"]) == {"fp32", "bf16"} and r["variants"]["bf16"]["ratio_to_fp32"] > 0
    assert r["variants"]["bf16"]["device"] == "cpu"
    bad = run("benchmark", "--input", src, "--model", tagger_dir, "--device", "cpu", "--precision", "fp16")
    assert bad.exit_code != 0 and "E561" in bad.stderr  # fp16 needs a GPU
