"""Render NER accuracy tables (Markdown) from the runs/bench/<config>[-tag].json files of ner_accuracy.py.

    python benchmarks/ner_table.py [--tag TAG]                        # one encoder against the paper
    python benchmarks/ner_table.py --compare "" mlm700 green          # the BioBERT-effect table (issue 4)

``--compare`` puts one column per tag (``""`` = the general encoder with the configs' settings) and the
difference of each adapted encoder to the first column; only runs with the same fine-tuning settings
(the same ``--set`` overrides) belong in one table. ChemProt comes from runs/bench/chemprot[-tag]/bench.json
(re_bench.py). Paper figures (test F1, %): BioBERT v1.1 (+PubMed) and BERT-base, PROTOCOLS.md 1.1/1.2.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from pathlib import Path

PAPER = {  # config stem: (dataset, BioBERT v1.1, BERT-base)
    "ncbi_disease": ("NCBI-disease", 89.71, 85.63),
    "bc5cdr_chem": ("BC5CDR-chem", 93.47, 91.16),
    "bc5cdr_disease": ("BC5CDR-disease", 87.15, 82.41),
    "bc2gm": ("BC2GM", 84.72, 81.79),
    "jnlpba": ("JNLPBA", 77.49, 74.94),
}
CHEMPROT = ("ChemProt", 76.46, 73.74)


def _ner(stem: str, tag: str) -> dict | None:
    """Test F1 per seed, from the summary JSON of the last invocation and from every per-seed run directory
    (``runs/bench/<name>-s<N>/report.json``), so seeds run by separate invocations are combined."""
    name = f"{stem}{'-' + tag if tag else ''}"
    f = Path("runs/bench") / f"{name}.json"
    seeds: dict[int, float] = {}
    overrides: list = []
    if f.exists():
        r = json.loads(f.read_text())
        seeds.update({int(x["seed"]): 100 * x["f1"] for x in r["runs"]})
        overrides = r.get("overrides", [])
    for d in Path("runs/bench").glob(f"{name}-s*"):
        m = re.fullmatch(rf"{re.escape(name)}-s(\d+)", d.name)
        rep = d / "report.json"
        if m and rep.exists():
            test = json.loads(rep.read_text()).get("test", {})
            if len(test) == 1:
                seeds[int(m.group(1))] = 100 * next(iter(test.values()))["f1"]
    if not seeds:
        return None
    f1s = [seeds[k] for k in sorted(seeds)]
    sd = statistics.stdev(f1s) if len(f1s) > 1 else 0.0
    return {"mean": statistics.mean(f1s), "sd": sd, "runs": f1s, "seeds": sorted(seeds), "overrides": overrides}


def _chemprot(tag: str) -> dict | None:
    f = Path("runs/bench") / f"chemprot{'-' + tag if tag else ''}" / "bench.json"
    if not f.exists():
        return None
    r = json.loads(f.read_text())
    f1s = [100 * x["f1"] for x in r["runs"].values()]
    m = r["mean"]["f1"]
    if m["mean"] is None:  # no run has a test score
        return None
    return {"mean": 100 * m["mean"], "sd": 100 * m["sd"], "runs": f1s, "overrides": r.get("overrides", [])}


def _cell(r: dict | None) -> str:
    if r is None:
        return "not run"
    return f"{r['mean']:.2f} ± {r['sd']:.2f} (n={len(r['runs'])})"


def single(tag: str) -> None:
    print("| dataset | ours: MiniLM-L6 test F1, mean ± sd | seeds | per-seed F1 | BioBERT v1.1 | BERT-base |")
    print("|---|---|---|---|---|---|")
    for stem, (name, bio, bert) in PAPER.items():
        r = _ner(stem, tag)
        if r is None:
            print(f"| {name} | not run | | | {bio} | {bert} |")
            continue
        per = ", ".join(f"{x:.2f}" for x in r["runs"])
        print(f"| {name} | {r['mean']:.2f} ± {r['sd']:.2f} | {len(r['runs'])} | {per} | {bio} | {bert} |")


def compare(tags: list[str]) -> None:
    names = [t or "general" for t in tags]
    print("| dataset | " + " | ".join(names) + " | " + " | ".join(f"Δ {n}" for n in names[1:]) + " | BioBERT v1.1 | BERT-base |")
    print("|---|" + "---|" * (2 * len(tags) - 1) + "---|---|")
    rows = [(name, bio, bert, [_ner(stem, t) for t in tags]) for stem, (name, bio, bert) in PAPER.items()]
    rows.append((*CHEMPROT, [_chemprot(t) for t in tags]))
    for name, bio, bert, rs in rows:
        base = rs[0]
        deltas = [f"{r['mean'] - base['mean']:+.2f}" if r and base else "" for r in rs[1:]]
        print(f"| {name} | " + " | ".join(_cell(r) for r in rs) + " | " + " | ".join(deltas) + f" | {bio} | {bert} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tag", default="")
    ap.add_argument("--compare", nargs="+", default=None, metavar="TAG")
    args = ap.parse_args()
    if args.compare:
        compare(args.compare)
    else:
        single(args.tag)


if __name__ == "__main__":
    main()
