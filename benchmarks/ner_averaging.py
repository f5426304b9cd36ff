"""Weight averaging against the last epoch: test F1 of NER models trained with ``train.average_last=K``.

    python benchmarks/ner_averaging.py --data ../shared/data/ner/NCBI-disease/biobert/test.tsv \
        --models runs/bench/ncbi_disease-mlm4k-trdev-avg3-s1 --ignore-types --threads 1

A run with ``average_last`` saves the average of its last K epoch-end weights as the model and keeps the last
epoch's own weights in ``checkpoints/last/model.safetensors`` (the resumable checkpoint). Both come from the same
training trajectory (averaging does not change what is trained), so scoring the two on the same file is a paired
comparison of the averaging alone. Decoding is the model's own (``decode`` in its biobert.json). Prints one JSON
object per model, the mean ± sd of the paired differences and a Markdown table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _paired import print_paired

from biobert import Tagger, io
from biobert.metrics import percent
from biobert.recipes.ner import evaluate_ner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="gold file (CoNLL, PubTator, BioC, JSONL)")
    ap.add_argument("--format", default=None, help="input format (default: from the file)")
    ap.add_argument("--untyped-label", default=None, help="type of untyped B/I tags (default: the model's only type)")
    ap.add_argument("--models", nargs="+", required=True, help="model directories trained with train.average_last")
    ap.add_argument("--ignore-types", action="store_true", help="score boundaries only (BioBERT's untyped protocol)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()
    import torch
    from safetensors.torch import load_file

    if args.threads:
        torch.set_num_threads(args.threads)
    fmt = args.format or io.guess_format(args.data)
    rows = []
    for model in args.models:
        report = json.loads((Path(model) / "report.json").read_text())
        k = report["config"]["train"].get("average_last", 0)
        last_file = Path(model) / "checkpoints" / "last" / "model.safetensors"
        if not k or not report["train"].get("best_is_average") or not last_file.exists():
            raise SystemExit(f"{model}: not an averaged model with its last-epoch checkpoint (average_last={k}, "
                             f"best_is_average={report['train'].get('best_is_average')}, {last_file} exists: {last_file.exists()})")
        tagger = Tagger.load(model, abbreviations=False)
        kw = {}
        if fmt == "conll":
            kw["untyped_label"] = args.untyped_label or (tagger.types[0] if len(tagger.types) == 1 else "ENTITY")
        docs = io.read(args.data, fmt=fmt, **kw)
        row = {"model": model, "average_last": k, "decode": tagger.predictor.decode}
        m, _ = evaluate_ner(tagger.predictor, docs, None, ignore_types=args.ignore_types)
        row["average"] = percent(m)
        net = tagger.predictor.model
        state = load_file(str(last_file))
        # the same parameters, the last epoch's values (cast to the saved model's dtype, e.g. fp16)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or [n for n in missing if not n.endswith("position_ids")]:
            raise SystemExit(f"{model}: {last_file} does not match the model (missing {missing}, unexpected {unexpected})")
        m, _ = evaluate_ner(tagger.predictor, docs, None, ignore_types=args.ignore_types)
        row["last_epoch"] = percent(m)
        row["delta_f1"] = round(row["average"]["f1"] - row["last_epoch"]["f1"], 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print_paired(rows, args.data, "last_epoch", "average", "last epoch", "average of last K",
                 name=lambda r: f"{r['model']} (K={r['average_last']})")


if __name__ == "__main__":
    main()
