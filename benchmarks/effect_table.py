"""The BioBERT-effect table (issue 4, part 3): general encoder against domain-adapted encoders, paired by seed.

    python benchmarks/effect_table.py [--spec benchmarks/effect_table.json] [--json OUT]

The spec names, for every encoder column and every task, the run(s) of ``runs/bench`` that hold its results:
``ner_accuracy.py`` run names (``<config>[-<tag>]``, seeds found as ``<name>-s<N>/report.json``) for the NER sets,
``re_bench.py`` output folders (``<out>/seed-<N>/report.json``) for ChemProt. For each task the table gives every
encoder's test F1 mean ± sd over its seeds and, for each adapted encoder, the *paired* difference to the baseline
over the seeds both have (mean ± sd of the per-seed differences, and in how many seeds it is better).

Reports are read from ``runs/bench`` and, where a run folder is gone (``runs/`` is not part of the repository),
from the copies committed under ``benchmarks/results/<date>/<name>-s<N>.report.json`` (``aliases`` in the spec maps a
run name to the name its copies were given), so the table rebuilds from a fresh clone.

Only runs with the same fine-tuning settings belong in one cell pair: the script compares the saved configs of
the two sides (everything but the encoder, the output folder and the seed; a report without ``decode`` was made
before Viterbi decoding existed and decoded with argmax) and prints every difference it finds, so a mismatched
pair cannot pass unnoticed. A seed whose report is missing is listed as missing, never filled in, unless the spec's
``recorded`` section gives the figure that BENCHMARKS.md recorded for it when it ran (session 1's general-encoder
runs, whose reports were not kept): such figures are marked with a dagger, and their settings cannot be checked
(a warning says so).

The ``ncbi_disease_trdev`` row (train + dev, BioBERT's own NER protocol) is shown but not counted among the six
tasks of issue 4's target.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
from pathlib import Path
from typing import Any

BENCH = Path("runs/bench")
RESULTS = Path(__file__).with_name("results")
PAPER = {  # task: (name, BioBERT v1.1, BERT-base), PROTOCOLS.md
    "ncbi_disease": ("NCBI-disease", 89.71, 85.63),
    "ncbi_disease_trdev": ("NCBI-disease, train + dev", 89.71, 85.63),
    "bc5cdr_chem": ("BC5CDR-chem", 93.47, 91.16),
    "bc5cdr_disease": ("BC5CDR-disease", 87.15, 82.41),
    "bc2gm": ("BC2GM", 84.72, 81.79),
    "jnlpba": ("JNLPBA", 77.49, 74.94),
    "chemprot": ("ChemProt", 76.46, 73.74),
}
#: the tasks of issue 4's target ("better on at least 5 of the 6")
COUNTED = ("ncbi_disease", "bc5cdr_chem", "bc5cdr_disease", "bc2gm", "jnlpba", "chemprot")
# Config fields that may differ between the two sides of a comparison.
_FREE = {"encoder", "out", "name"}


def _reports(task: str, runs: str | list[str], aliases: dict[str, str] | None = None) -> dict[int, dict[str, Any]]:
    """Seed -> report.json of every finished seed of the named run(s): the run folder, else its committed copy."""
    found: dict[int, dict[str, Any]] = {}
    for run in [runs] if isinstance(runs, str) else runs:
        paths = BENCH.glob(f"{run}/seed-*/report.json") if task == "chemprot" else BENCH.glob(f"{run}-s*/report.json")
        for p in paths:
            tail = p.parent.name.split("seed-")[-1] if task == "chemprot" else p.parent.name[len(run) + 2:]
            if not tail.isdigit():
                continue  # e.g. "ncbi_disease-s" matching "ncbi_disease-mlm2k-s1"
            found[int(tail)] = json.loads(p.read_text())
        name = (aliases or {}).get(run, run)
        for p in sorted(RESULTS.glob(f"*/{name}-s*.report.json")):  # sorted: the latest session's copy wins
            tail = p.name[len(name) + 2 : -len(".report.json")]
            if tail.isdigit() and int(tail) not in found:
                rep = json.loads(p.read_text())
                # a ChemProt run folder holds one seed; its copy must be that seed's, not another run's
                if task != "chemprot" or rep.get("seed", int(tail)) == int(tail):
                    found[int(tail)] = rep
    return found


def _f1(report: dict[str, Any]) -> float:
    test = report["test"]
    if "f1" in test:  # RE reports: micro scores at the top level of "test"
        return 100 * test["f1"]
    (only,) = test.values()  # NER: one corpus per benchmark run
    return 100 * only["f1"]


def _defaults(cls: type) -> dict[str, Any]:
    """Default value of every field of a config dataclass that has one (nested dataclasses as dicts)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
            v = f.default_factory()  # type: ignore[misc]
            out[f.name] = dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
    return out


def _settings(report: dict[str, Any]) -> dict[str, Any]:
    """The fine-tuning settings of a run, flattened; fields added to the config after the run was made take
    their default value (what the code did before the field existed), so old and new reports compare."""
    from biobert.recipes.ner import NERConfig
    from biobert.recipes.re import REConfig

    defaults = _defaults(REConfig if report.get("task") == "re" else NERConfig)
    cfg = {**defaults, **report["config"]}
    cfg["train"] = {**defaults.get("train", {}), **report["config"].get("train", {})}
    for k in _FREE:
        cfg.pop(k, None)
    train = dict(cfg.pop("train", {}))
    train.pop("seed", None)
    if report.get("task") != "re" and "decode" not in report["config"]:
        cfg["decode"] = "argmax"  # reports made before Viterbi decoding existed
    if report.get("task") != "re" and isinstance(cfg.get("corpora"), list):
        # corpora read with format "auto" (the default since session 13) compare by the format it chose
        from biobert.recipes.ner import CorpusConfig, corpus_format

        cfg["corpora"] = [
            {**c, "format": corpus_format(CorpusConfig(**c), c.get("train") or c.get("test") or "")} if c.get("format") == "auto" else c
            for c in cfg["corpora"]
        ]
    flat = {f"train.{k}": v for k, v in train.items()}
    flat.update(cfg)
    return flat


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [f"{k}: {a.get(k, '<unset>')!r} vs {b.get(k, '<unset>')!r}" for k in keys if a.get(k) != b.get(k)]


def _mean_sd(xs: list[float]) -> tuple[float, float]:
    return statistics.mean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def build(spec: dict[str, Any]) -> dict[str, Any]:
    """Collect every cell of the table; returns a JSON-able dict (tasks x encoders, paired deltas, warnings)."""
    base = spec["baseline"]
    encoders = list(spec["encoders"])
    aliases = spec.get("aliases", {})
    recorded = spec.get("recorded", {})
    out: dict[str, Any] = {"baseline": base, "encoders": encoders, "tasks": {}, "warnings": []}
    for task in PAPER:
        row: dict[str, Any] = {}
        reps = {e: _reports(task, spec["encoders"][e][task], aliases) for e in encoders if task in spec["encoders"][e]}
        f1s: dict[str, dict[int, float]] = {}
        for e, r in reps.items():
            f1 = {s: _f1(x) for s, x in r.items()}
            rec = {int(k): float(v) for k, v in recorded.get(e, {}).get(task, {}).items() if int(k) not in f1}
            f1s[e] = dict(sorted({**f1, **rec}.items()))
            row[e] = {"runs": spec["encoders"][e][task], "f1": f1s[e], "recorded": sorted(rec)}
            if f1s[e]:
                row[e]["mean"], row[e]["sd"] = _mean_sd(list(f1s[e].values()))
        for e, r in reps.items():
            if e == base or base not in reps:
                continue
            common = sorted(set(f1s[e]) & set(f1s[base]))
            d = [f1s[e][s] - f1s[base][s] for s in common]
            if d:
                m, sd = _mean_sd(d)
                row[e]["delta"] = {"seeds": common, "mean": m, "sd": sd, "better": sum(x > 0 for x in d)}
            for s in common:
                if s not in r or s not in reps[base]:
                    out["warnings"].append(f"{task} seed {s}: {e} vs {base}: a recorded figure (no report); settings not checked")
                    continue
                diff = _differences(_settings(reps[base][s]), _settings(r[s]))
                if diff:
                    out["warnings"].append(f"{task} seed {s}: {e} vs {base}: settings differ: " + "; ".join(diff))
        out["tasks"][task] = row
    return out


def markdown(t: dict[str, Any]) -> str:
    base, encs = t["baseline"], t["encoders"]
    others = [e for e in encs if e != base]
    head = ["task", *[f"{e} F1" for e in encs], *[f"Δ {e} (paired)" for e in others], "BioBERT v1.1", "BERT-base"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    wins = {e: 0 for e in others}
    for task, row in t["tasks"].items():
        name, bio, bert = PAPER[task]
        cells = []
        for e in encs:
            c = row.get(e)
            if not c:
                cells.append("")
                continue
            if not c["f1"]:
                cells.append("no report")  # not run yet, or its run folder did not survive
                continue
            seeds = ", ".join(f"s{s} {v:.2f}" + ("†" if s in c["recorded"] else "") for s, v in c["f1"].items())
            spread = f" ± {c['sd']:.2f}" if len(c["f1"]) > 1 else ""  # one seed has no sd; do not print ± 0.00
            cells.append(f"{c['mean']:.2f}{spread} ({seeds})")
        for e in others:
            d = (row.get(e) or {}).get("delta")
            if d is None:
                cells.append("")
                continue
            wins[e] += d["mean"] > 0 and task in COUNTED
            spread = f" ± {d['sd']:.2f}" if len(d["seeds"]) > 1 else ""
            cells.append(f"{d['mean']:+.2f}{spread} ({d['better']} of {len(d['seeds'])} seeds better)")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {bio} | {bert} |")
    lines.append("")
    if any(c.get("recorded") for row in t["tasks"].values() for c in row.values()):
        lines.append("† recorded in BENCHMARKS.md when the run was made; its report was not kept.")
    counted = {e: sum(1 for task, r in t["tasks"].items() if task in COUNTED and (r.get(e) or {}).get("delta")) for e in others}
    lines.append("Of the six tasks of issue 4 (train + dev row not counted), those where the adapted encoder's paired "
                 "mean is higher: " + ", ".join(f"{e} {wins[e]} of {counted[e]}" for e in others))
    # the issue asks for three seeds per cell: what is still to run, per encoder (every cell the spec names a run for,
    # started or not)
    todo = []
    for e in encs:
        for task, row in t["tasks"].items():
            c = row.get(e)
            if task in COUNTED and c is not None:
                missing = [s for s in ("1", "2", "3") if s not in {str(k) for k in c["f1"]}]
                if missing:
                    todo.append(f"{e} {PAPER[task][0]} " + "/".join(f"s{m}" for m in missing))
    lines.append("Seeds still to measure (three per cell): " + ("; ".join(todo) if todo else "none"))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", default=str(Path(__file__).with_name("effect_table.json")))
    ap.add_argument("--json", default=None, help="also write the collected table as JSON here")
    args = ap.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    t = build(spec)
    print(markdown(t))
    for w in t["warnings"]:
        print(f"WARNING {w}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(t, indent=1))


if __name__ == "__main__":
    main()
