"""RE benchmark: run an RE config (all CV folds, or train/dev/test) for several seeds; print mean ± sd.

    python benchmarks/re_bench.py --config configs/re/euadr.yaml --seeds 1 2 3 [--set train.epochs=3]

One torch thread (the benchmark machine is a shared 2-core CPU). For CV configs
(GAD / EU-ADR) the score of a seed is the mean over its folds (BioBERT's protocol);
the reported sd is over seeds, and the sd over the folds of each seed is kept too.
Writes ``<out>/bench.json`` (keeping the seeds an earlier command with the same config and overrides wrote there).
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
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="config override key=value (repeatable)")
    ap.add_argument("--out", default=None, help="output root (default: the config's out + '-bench')")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from biobert.config import load_config
    from biobert.metrics import mean_sd
    from biobert.recipes.re import REConfig, cv_re, finetune_re

    cfg0 = load_config(REConfig, args.config, args.overrides)
    root = Path(args.out or (cfg0.out + "-bench"))
    command = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    t0 = time.time()
    runs = {}
    for seed in args.seeds:
        cfg = copy.deepcopy(cfg0)
        cfg.train.seed = seed
        cfg.out = str(root / f"seed-{seed}")
        if cfg.data.folds:
            s = cv_re(cfg, command=command, progress=False)
            runs[seed] = {m: s["mean"][m]["mean"] for m in ("precision", "recall", "f1")}
            runs[seed]["fold_sd"] = {m: s["mean"][m]["sd"] for m in ("precision", "recall", "f1")}
            runs[seed]["train_seconds"] = sum(v["train_seconds"] for v in s["per_fold"].values())
            runs[seed]["tokens_per_second"] = [v["tokens_per_second"] for v in s["per_fold"].values()]
        else:
            r = finetune_re(cfg, command=command, progress=True)
            runs[seed] = {m: r["test"][m] for m in ("precision", "recall", "f1")}
            runs[seed].update(dev=r["dev_f1"], train_seconds=r["train"]["train_seconds"], tokens_per_second=r["train"]["tokens_per_second"])
        print(json.dumps({"seed": seed, **runs[seed]}), flush=True)
    # seeds run earlier into the same --out with the same config and overrides are kept (seeds are often run
    # one at a time, in separate lanes or sessions); other settings replace the file
    prev = root / "bench.json"
    if prev.exists():
        p = json.loads(prev.read_text())
        if p.get("config") == args.config and p.get("overrides") == args.overrides and p.get("threads") == args.threads:
            runs = {**{int(k): v for k, v in p.get("runs", {}).items()}, **runs}
    runs = dict(sorted(runs.items()))
    summary = {
        "command": command,
        "config": args.config,
        "overrides": args.overrides,
        "threads": args.threads,
        "seeds": sorted(runs),
        "seeds_this_command": args.seeds,
        "runs": runs,
        "mean": {m: mean_sd([r[m] for r in runs.values()]) for m in ("precision", "recall", "f1")},
        "wall_seconds": round(time.time() - t0, 1),
    }
    root.mkdir(parents=True, exist_ok=True)
    (root / "bench.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["mean"], indent=2))


if __name__ == "__main__":
    from biobert.errors import BiobertError

    try:
        main()
    except BiobertError as exc:  # a typed error (bad data, E505 after SIGTERM: resume with the same command) is a message, not a crash
        sys.exit(f"error: {exc}")
