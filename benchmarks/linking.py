"""Dictionary linking on a normalised corpus: a dictionary built from the training annotations, scored on test.

    python benchmarks/linking.py \\
        --train ../shared/data/ner/BC5CDR/original/CDR_TrainingSet.PubTator.txt \\
                ../shared/data/ner/BC5CDR/original/CDR_DevelopmentSet.PubTator.txt \\
        --test ../shared/data/ner/BC5CDR/original/CDR_TestSet.PubTator.txt --model bundled --threads 1

No outside vocabulary (MeSH, CTD) is available offline, so the dictionary is every (mention -> ids) pair of the
training documents' gold annotations: the weakest dictionary a user would have. Two measurements:

1. **Gold mentions** (linking alone): the test gold spans, stripped of their ids, are linked; a mention is right
   when its id set equals the gold one. Reported per match level, with and without the short-form rule.
2. **End to end** (``--model``): the NER model tags the test texts, the linker links its spans, and the
   document-level concept ids are scored as in the BioCreative V CDR disease-normalisation task (DNER): per
   document, the set of (type, id) pairs, micro P/R/F1 over documents.

``--fuzzy 0.9 0.8 ...`` adds rows for the opt-in trigram-similarity level at those thresholds; choose the
threshold on a development file (pass it as ``--test``), then report the test file.

Ids are compared after dropping a ``MESH:`` prefix (the corpora write both ``D001943`` and ``MESH:D001943``);
``-1`` (not normalisable) gold ids are left out. Prints one JSON object per measurement.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from biobert import io
from biobert.linking import DictionaryLinker
from biobert.metrics import percent, prf
from biobert.types import Document, Span


def _key(ident: str) -> str:
    return ident.split(":", 1)[1] if ident.upper().startswith("MESH:") else ident


def _ids(span: Span) -> frozenset[str]:
    return frozenset(_key(i) for _, i in span.ids)


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    return percent(prf(tp, n_pred, n_gold))


def build_names(docs: list[Document], types: set[str] | None) -> dict[str, set[tuple[str, str]]]:
    names: dict[str, set[tuple[str, str]]] = {}
    for d in docs:
        for s in d.spans:
            if s.ids and (types is None or s.label in types):
                names.setdefault(d.text[s.start:s.end], set()).update(s.ids)
    return names


def gold_mentions(test: list[Document], names, types, labels, fuzzies=()) -> list[dict]:
    out = []
    for abbrev, fuzzy in [(False, None), (True, None), *((True, f) for f in fuzzies)]:
        lk = DictionaryLinker(names, labels=labels, abbreviations=abbrev, fuzzy=fuzzy)
        stripped = [d.with_spans([Span(s.start, s.end, s.label) for s in d.spans]) for d in test]
        linked = lk(stripped)
        right = Counter()
        total = linked_n = 0
        for g, p in zip(test, linked):
            for gs, ps in zip(g.spans, p.spans):
                if not gs.ids or (types is not None and gs.label not in types):
                    continue
                total += 1
                linked_n += bool(ps.ids)
                right["all"] += _ids(ps) == _ids(gs)
        out.append({"measurement": "gold mentions", "abbreviations": abbrev, "fuzzy": fuzzy, "mentions": total,
                    "accuracy": round(100 * right["all"] / total, 2), "linked": round(100 * linked_n / total, 2),
                    "precision_of_linked": round(100 * right["all"] / max(linked_n, 1), 2), "counts": dict(lk.last_stats)})
    return out


def end_to_end(test: list[Document], names, types, labels, model: str, fuzzies=()) -> list[dict]:
    from biobert import Tagger

    tagger = Tagger.load(None if model == "bundled" else model)
    t0 = time.perf_counter()
    tagged = tagger([Document(d.id, d.text) for d in test])
    t1 = time.perf_counter()
    rows = []
    for fuzzy in (None, *fuzzies):  # one tagging pass, linked once per setting
        lk = DictionaryLinker(names, labels=labels, fuzzy=fuzzy)
        t2 = time.perf_counter()
        linked = lk(tagged)
        t3 = time.perf_counter()
        tp = n_pred = n_gold = 0
        for g, p in zip(test, linked):
            gold = {(s.label, i) for s in g.spans if types is None or s.label in types for i in _ids(s) if i != "-1"}
            pred = {(s.label, i) for s in p.spans if types is None or s.label in types for i in _ids(s)}
            tp += len(gold & pred)
            n_pred += len(pred)
            n_gold += len(gold)
        rows.append({"measurement": "end to end, document-level concept ids (CDR DNER style)", "model": model, "fuzzy": fuzzy,
                     **_prf(tp, n_pred, n_gold), "gold_pairs": n_gold, "predicted_pairs": n_pred,
                     "tagging_seconds": round(t1 - t0, 1), "linking_seconds": round(t3 - t2, 3), "counts": dict(lk.last_stats)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", nargs="+", required=True, help="documents whose gold (mention, ids) pairs form the dictionary")
    ap.add_argument("--test", required=True)
    ap.add_argument("--types", default=None, help="comma-separated types to link and score (default: all)")
    ap.add_argument("--model", default=None, help="NER model for the end-to-end measurement ('bundled': the default tagger)")
    ap.add_argument("--fuzzy", type=float, nargs="*", default=[], help="also score these trigram-similarity thresholds")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    types = set(args.types.split(",")) if args.types else None
    labels = sorted(types) if types else None
    train = [d for p in args.train for d in io.read(p)]
    test = io.read(args.test)
    names = build_names(train, types)
    print(json.dumps({"dictionary_names": len(names), "train_documents": len(train), "test_documents": len(test)}), flush=True)
    for row in gold_mentions(test, names, types, labels, args.fuzzy):
        print(json.dumps(row), flush=True)
    if args.model:
        for row in end_to_end(test, names, types, labels, args.model, args.fuzzy):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
