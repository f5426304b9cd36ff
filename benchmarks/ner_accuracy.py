"""NER accuracy benchmark: one paper Table 6 row, fine-tuned over several seeds, mean ± sd of test F1.

    python benchmarks/ner_accuracy.py --config configs/ner/ncbi_disease.yaml --seeds 1 2 3 [--set train.lr=2e-4]

Each seed is an ordinary resumable `finetune_ner` run in runs/bench/<config>-s<seed>; re-running the
command skips finished seeds (their report.json is read back). Prints one Markdown row and writes
runs/bench/<config>.json with every seed's P/R/F1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from biobert.config import load_config
from biobert.recipes.ner import NERConfig, finetune_ner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    ap.add_argument("--tag", default="", help="suffix for the run directory (e.g. the encoder name)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: library default)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    name = Path(args.config).stem + (f"-{args.tag}" if args.tag else "")
    results = []
    for seed in args.seeds:
        out = Path("runs/bench") / f"{name}-s{seed}"
        cfg = load_config(NERConfig, args.config, [*args.overrides, f"train.seed={seed}", f"out={out}"])
        cmd = f"python benchmarks/ner_accuracy.py --config {args.config} --seeds {seed}" + "".join(f" --set {o}" for o in args.overrides)
        t0 = time.time()
        report = finetune_ner(cfg, command=cmd)
        corpus = cfg.corpora[0].name
        m = report["test"][corpus]
        results.append({"seed": seed, "precision": m["precision"], "recall": m["recall"], "f1": m["f1"],
                        "dev_f1": report["dev_f1"], "seconds": round(time.time() - t0, 1),
                        "tokens_per_second": report["train"]["tokens_per_second"], "steps": report["train"]["steps"]})
        print(json.dumps(results[-1]), flush=True)
    f1s = [100 * r["f1"] for r in results]
    mean = statistics.mean(f1s)
    sd = statistics.stdev(f1s) if len(f1s) > 1 else 0.0
    summary = {"config": args.config, "overrides": args.overrides, "seeds": args.seeds, "runs": results,
               "f1_mean": round(mean, 2), "f1_sd": round(sd, 2)}
    Path("runs/bench").mkdir(parents=True, exist_ok=True)
    Path(f"runs/bench/{name}.json").write_text(json.dumps(summary, indent=2))
    print(f"| {name} | {mean:.2f} ± {sd:.2f} (n={len(f1s)}) | " + ", ".join(f"{x:.2f}" for x in f1s) + " |")


if __name__ == "__main__":
    from biobert.errors import BiobertError

    try:
        main()
    except BiobertError as exc:  # a typed error (bad data, E505 after SIGTERM: resume with the same command) is a message, not a crash
        sys.exit(f"error: {exc}")
