"""Argmax against constrained Viterbi decoding: F1 of already fine-tuned NER models, same predictions, two decoders.

    python benchmarks/ner_decoding.py --data ../shared/data/ner/NCBI-disease/biobert/test.tsv \
        --models runs/bench/ncbi_disease-s1 runs/bench/ncbi_disease-s2 --ignore-types --threads 1

``argmax`` reads each word's likeliest tag and lets conlleval repair invalid sequences (an ``I`` after ``O``
starts an entity); ``viterbi`` picks the likeliest tag sequence in which every ``I-X`` continues a ``B-X``/``I-X``
(:func:`biobert.labels.viterbi_decode` over the per-word log-probabilities). No retraining: the model, windows
and data are identical, only the decoding differs, so the difference is the decoder alone. Scores are strict
entity-level micro P/R/F1 (:func:`biobert.recipes.ner.evaluate_ner`, the scorer of ``biobert evaluate ner``).
Prints one JSON object per model (with each decoder's evaluation time and their ratio), then the mean ± sd of the
paired differences and a Markdown table.

A model trained with a CRF head (``crf: true``) decodes ``viterbi`` with its learned transition scores; it is also
scored as ``viterbi_fixed`` (the same emissions, the learned scores dropped: the untrained constrained Viterbi), and
a second table gives what the learned scores add.
"""

from __future__ import annotations

import argparse
import json
import time

from _paired import print_paired

from biobert import Tagger, io
from biobert.metrics import percent
from biobert.recipes.ner import evaluate_ner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="gold file (CoNLL, PubTator, BioC, JSONL)")
    ap.add_argument("--format", default=None, help="input format (default: from the file)")
    ap.add_argument("--untyped-label", default=None, help="type of untyped B/I tags (default: the model's only type)")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--ignore-types", action="store_true", help="score boundaries only (BioBERT's untyped protocol)")
    ap.add_argument("--types", default=None, help="comma-separated gold types to score (others are ignored)")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="time each decoder this many times, interleaved; keep the best")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    fmt = args.format or io.guess_format(args.data)
    keep = set(args.types.split(",")) if args.types else None
    rows = []
    for model in args.models:
        tagger = Tagger.load(model, abbreviations=False)
        kw = {}
        if fmt == "conll":
            kw["untyped_label"] = args.untyped_label or (tagger.types[0] if len(tagger.types) == 1 else "ENTITY")
        docs = io.read(args.data, fmt=fmt, **kw)
        row = {"model": model}
        crf = tagger.predictor.crf
        decoders = ("argmax", "viterbi") + (("viterbi_fixed",) if crf is not None else ())
        for rep in range(args.repeat):  # interleaved, best time kept: load from other jobs falls on both
            for decode in decoders:
                tagger.predictor.decode = "viterbi" if decode == "viterbi_fixed" else decode
                tagger.predictor.crf = None if decode == "viterbi_fixed" else crf
                t0 = time.perf_counter()
                m, _ = evaluate_ner(tagger.predictor, docs, keep, ignore_types=args.ignore_types)
                seconds = time.perf_counter() - t0
                if rep == 0:
                    row[decode] = {**percent(m), "seconds": round(seconds, 2)}
                    if len(m["per_type"]) > 1:
                        row[decode]["per_type"] = {t: percent(v) for t, v in m["per_type"].items()}
                else:
                    assert percent(m) == {k: row[decode][k] for k in ("precision", "recall", "f1")}  # deterministic
                    row[decode]["seconds"] = round(min(seconds, row[decode]["seconds"]), 2)
        row["viterbi_time_ratio"] = round(row["viterbi"]["seconds"] / row["argmax"]["seconds"], 3)
        row["delta_f1"] = round(row["viterbi"]["f1"] - row["argmax"]["f1"], 2)
        if crf is not None:
            row["crf_delta_f1"] = round(row["viterbi"]["f1"] - row["viterbi_fixed"]["f1"], 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print_paired(rows, args.data, "argmax", "viterbi", "argmax", "viterbi")
    with_crf = [{**r, "delta_f1": r["crf_delta_f1"]} for r in rows if "crf_delta_f1" in r]
    if with_crf:  # what the learned transition scores add over the fixed constraints, on the same emissions
        print()
        print_paired(with_crf, args.data, "viterbi_fixed", "viterbi", "viterbi without the CRF scores", "viterbi with them")


if __name__ == "__main__":
    main()
