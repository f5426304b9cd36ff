"""Sentence splitters compared: test F1 and tagging time of one NER model on whole documents, per splitter.

    python benchmarks/sentence_splitters.py --data ../shared/data/ner/BC5CDR/original/CDR_TestSet.PubTator.txt \
        --types Chemical,Disease --splitters rules pysbd lines none --threads 1

Each splitter (``biobert.text.sentences.get_splitter``) cuts the same documents; the model (default: the bundled
tagger) tags them with abbreviation propagation off, so the difference is the sentence boundaries alone. Strict
entity-level micro P/R/F1 on character offsets (per type with ``--types``). Prints one JSON object per splitter
and a Markdown table; tagging time is relative within the run (the first splitter also pays for warm-up, so it
is run once untimed first).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time

from biobert import Tagger, io
from biobert.metrics import entity_scores, percent


def _prf(gold, pred) -> dict[str, float]:
    return percent(entity_scores(gold, pred))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="gold documents (PubTator, BioC, JSONL)")
    ap.add_argument("--model", default=None, help="tagger directory or hub id (default: the bundled tagger)")
    ap.add_argument("--types", default=None, help="comma-separated gold types to score (others are ignored)")
    ap.add_argument("--splitters", nargs="+", default=["rules", "pysbd", "lines", "none"])
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    docs = io.read(args.data)
    # the documents' own sentences (if the format has any) would bypass the splitter
    docs = [dataclasses.replace(d, sentences=(), tokens=()) for d in docs]
    keep = set(args.types.split(",")) if args.types else None

    def tuples(ds, gold: bool):
        return [(i, s.start, s.end, s.label) for i, d in enumerate(ds) for s in d.spans if keep is None or s.label in keep]

    gold = tuples(docs, True)
    Tagger.load(args.model, abbreviations=False)(docs[:20])  # warm-up
    rows = []
    for name in args.splitters:
        tagger = Tagger.load(args.model, abbreviations=False, splitter=name)
        t0 = time.perf_counter()
        pred = tagger(docs)
        secs = time.perf_counter() - t0
        n_sent = [len(d.sentences) for d in pred]
        row = {"splitter": name, "model": tagger.source, "data": args.data, "documents": len(docs), "gold_spans": len(gold),
               "sentences": sum(n_sent), "sentences_per_doc": round(statistics.mean(n_sent), 2),
               "sentences_windowed": tagger.last_stats.get("sentences_windowed", 0), "scores": _prf(gold, tuples(pred, False)),
               "per_type": {t: _prf([g for g in gold if g[3] == t], [p for p in tuples(pred, False) if p[3] == t]) for t in sorted(keep or [])},
               "tag_seconds": round(secs, 2)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]
    print(f"\n| splitter | sentences | P / R / F1 | Δ F1 vs {base['splitter']} | "
          + " | ".join(f"{t} F1" for t in sorted(keep or [])) + " | time (x first) |")
    print("|---|---|---|---|" + "---|" * len(keep or []) + "---|")
    for r in rows:
        s = r["scores"]
        per = " | ".join(f"{r['per_type'][t]['f1']:.2f}" for t in sorted(keep or []))
        print(f"| {r['splitter']} | {r['sentences']} | {s['precision']:.2f} / {s['recall']:.2f} / **{s['f1']:.2f}** | "
              f"{s['f1'] - base['scores']['f1']:+.2f} | {per} | {r['tag_seconds'] / base['tag_seconds']:.2f} |")


if __name__ == "__main__":
    main()
