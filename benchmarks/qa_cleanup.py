"""BioASQ answer clean-up, measured: re-score the fold models of a finished QA cross-validation run with
``answer_cleanup: none`` and ``biobert`` (BioBERT's ``textrip``), paired on the same model outputs.

    python benchmarks/qa_cleanup.py --config configs/qa/bioasq7b_factoid_cv.yaml --run runs/bench/bioasq7b-s2/seed-2

The folds are rebuilt exactly as ``cv_qa`` built them (same file, same ``data.cv_seed``); each fold's model
(``<run>/fold-<j>``) answers its test questions once, and the same per-passage n-best lists are pooled both
ways. Prints a JSON line per fold and writes ``<run>/cleanup.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="the config the CV run used")
    ap.add_argument("--run", required=True, help="the run directory holding fold-<j>/ (e.g. <bench out>/seed-<n>)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], help="the run's config overrides")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from biobert.config import load_config
    from biobert.metrics import mean_sd
    from biobert.pipeline import Reader
    from biobert.recipes.qa import QAConfig, cv_folds_by_question, read_qa, score_answers

    cfg = load_config(QAConfig, args.config, args.overrides)
    types = cfg.data.types or [cfg.task]
    examples = [e for e in read_qa(cfg.data.format, cfg.data.train, types) if e.qtype in types]
    folds = cv_folds_by_question(examples, cfg.data.cv_folds, cfg.data.cv_seed)
    run = Path(args.run)
    per_fold, t0 = {}, time.time()
    for j, test_q in enumerate(folds):
        fold_dir = run / f"fold-{j}"
        if not (fold_dir / "biobert.json").exists():
            raise SystemExit(f"{fold_dir} holds no finished model: finish the CV run first")
        tq = set(test_q)
        test = [e for e in examples if e.question_id in tq]
        reader = Reader.load(fold_dir)
        pred = reader.predictor
        outputs = pred.run(test)
        row = {}
        for how in ("none", "biobert"):
            pred.spec.answer_cleanup = how
            stats: Counter = Counter()
            answers = pred.answer(test, stats, runs=outputs)
            scores = score_answers(test, answers, cfg.task, pred.spec.class_labels)
            row[how] = {k: scores[k] for k in ("strict_accuracy", "lenient_accuracy", "mrr")}
            row[how].update({k: v for k, v in stats.items() if k.startswith("answers_")})
        row["n_questions"] = len(tq)
        per_fold[str(j)] = row
        print(json.dumps({"fold": j, **row}), flush=True)
    summary = {
        "config": args.config, "run": str(run), "overrides": args.overrides, "per_fold": per_fold,
        "mean": {how: {m: mean_sd([f[how][m] for f in per_fold.values()]) for m in ("strict_accuracy", "lenient_accuracy", "mrr")}
                 for how in ("none", "biobert")},
        "wall_seconds": round(time.time() - t0, 1),
    }
    (run / "cleanup.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary["mean"], indent=2))


if __name__ == "__main__":
    main()
