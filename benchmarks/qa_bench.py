"""QA benchmark: cross-validation by question (BioASQ factoid, PubMedQA) for several seeds; print mean ± sd.

    python benchmarks/qa_bench.py --config configs/qa/pubmedqa_cv.yaml --seeds 1 [--folds 0 1] [--set train.epochs=3]

One torch thread. The score of a seed is the mean over its folds; the sd is over
folds for one seed, over seeds for several. Writes ``<out>/bench.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import shlex
import sys
import time
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[1])
    ap.add_argument("--folds", type=int, nargs="*", default=None, help="only these folds (default: all)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value (repeatable)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from biobert.config import load_config
    from biobert.metrics import mean_sd
    from biobert.recipes.qa import QAConfig, cv_qa

    cfg0 = load_config(QAConfig, args.config, args.overrides)
    root = Path(args.out or (cfg0.out + "-bench"))
    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    t0 = time.time()
    runs = {}
    keys = None
    for seed in args.seeds:
        cfg = copy.deepcopy(cfg0)
        cfg.train.seed = seed
        cfg.out = str(root / f"seed-{seed}")
        s = cv_qa(cfg, command=command, progress=True, only_folds=args.folds)
        keys = list(s["mean"])
        runs[seed] = {"mean_over_folds": {m: s["mean"][m] for m in keys}, "per_fold": s["per_fold"]}
        print(json.dumps({"seed": seed, **runs[seed]["mean_over_folds"]}), flush=True)
    summary = {
        "command": command, "config": args.config, "overrides": args.overrides, "threads": args.threads,
        "seeds": args.seeds, "folds": args.folds, "runs": runs,
        "mean_over_seeds": {m: mean_sd([r["mean_over_folds"][m]["mean"] for r in runs.values()]) for m in keys or []},
        "wall_seconds": round(time.time() - t0, 1),
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["mean_over_seeds"], indent=2))


if __name__ == "__main__":
    from biobert.errors import BiobertError

    try:
        main()
    except BiobertError as exc:  # a typed error (bad data, E505 after SIGTERM: resume with the same command) is a message, not a crash
        sys.exit(f"error: {exc}")
