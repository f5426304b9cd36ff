"""Abbreviation-consistent tagging: test F1 of fine-tuned NER models with and without it, on whole documents.

    python benchmarks/ner_abbreviations.py --data ../shared/data/ner/NCBI-disease/original/NCBItestset_corpus.txt \
        --models runs/bench/ncbi_disease-ctx16-s1 runs/bench/ncbi_disease-ctx16-s2 --ignore-types --threads 1

Abbreviations are defined once per abstract ("Cowden disease (CD) ... CD"), so this needs documents with their
boundaries (PubTator, BioC or JSONL), not BioBERT's sentence files. Each model tags every document once; the
same predictions are scored as they are and after :func:`biobert.text.abbreviations.propagate_abbreviations`, so
the difference is the post-processing alone. Strict entity-level micro P/R/F1 on character offsets; with
``--ignore-types`` boundaries only (for BioBERT's untyped models), with ``--types`` only those gold types are
scored (a one-type model on a two-type corpus). Prints one JSON object per model and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter

from biobert import Tagger, io
from biobert.metrics import entity_scores, percent
from biobert.text.abbreviations import propagate_abbreviations


def _prf(gold, pred) -> dict[str, float]:
    return percent(entity_scores(gold, pred))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="gold documents (PubTator, BioC, JSONL)")
    ap.add_argument("--format", default=None, help="input format (default: from the file)")
    ap.add_argument("--models", nargs="+", required=True)
    ap.add_argument("--ignore-types", action="store_true", help="score boundaries only")
    ap.add_argument("--types", default=None, help="comma-separated gold types to score (others are ignored)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    docs = io.read(args.data, fmt=args.format or io.guess_format(args.data))
    keep = set(args.types.split(",")) if args.types else None

    def tuples(ds, gold: bool):
        return [(i, s.start, s.end, "E" if args.ignore_types else s.label) for i, d in enumerate(ds) for s in d.spans
                if not gold or keep is None or s.label in keep]

    gold = tuples(docs, True)
    rows = []
    for model in args.models:
        tagger = Tagger.load(model, abbreviations=False)  # raw predictions; propagated below
        t0 = time.time()
        pred = tagger(docs)
        if keep is not None and not args.ignore_types:
            pred = [d.with_spans(s for s in d.spans if s.label in keep) for d in pred]
        tag_seconds = time.time() - t0
        counts: Counter = Counter()
        t1 = time.perf_counter()
        fixed = [propagate_abbreviations(d, counts) for d in pred]
        propagate_seconds = time.perf_counter() - t1
        row = {"model": model, "data": args.data, "documents": len(docs), "gold_spans": len(gold),
               "off": _prf(gold, tuples(pred, False)), "on": _prf(gold, tuples(fixed, False)),
               "counts": dict(counts), "tag_seconds": round(tag_seconds, 2),
               "propagate_seconds": round(propagate_seconds, 3)}
        row["delta_f1"] = round(row["on"]["f1"] - row["off"]["f1"], 2)
        rows.append(row)
        print(json.dumps(row), flush=True)
    print("\n| model | off P / R / F1 | on P / R / F1 | Δ F1 | spans added / removed |\n|---|---|---|---|---|")
    for r in rows:
        f = lambda m: f"{m['precision']:.2f} / {m['recall']:.2f} / **{m['f1']:.2f}**"  # noqa: E731
        c = r["counts"]
        print(f"| {r['model']} | {f(r['off'])} | {f(r['on'])} | {r['delta_f1']:+.2f} | "
              f"{c.get('abbreviation_spans_added', 0)} / {c.get('abbreviation_spans_removed', 0)} |")
    if len(rows) > 1:
        d = [r["delta_f1"] for r in rows]
        print(f"\nΔ F1 mean {statistics.mean(d):+.2f} ± {statistics.stdev(d):.2f} over {len(d)} models")


if __name__ == "__main__":
    main()
