"""Render the NER accuracy table (Markdown) from runs/bench/<config>[-tag].json files written by ner_accuracy.py.

    python benchmarks/ner_table.py [--tag TAG]

Paper figures (test F1, %): BioBERT v1.1 (+PubMed) and BERT-base, PROTOCOLS.md section 1.1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

PAPER = {  # config stem: (dataset, BioBERT v1.1, BERT-base)
    "ncbi_disease": ("NCBI-disease", 89.71, 85.63),
    "bc5cdr_chem": ("BC5CDR-chem", 93.47, 91.16),
    "bc5cdr_disease": ("BC5CDR-disease", 87.15, 82.41),
    "bc2gm": ("BC2GM", 84.72, 81.79),
    "jnlpba": ("JNLPBA", 77.49, 74.94),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    print("| dataset | ours: MiniLM-L6 test F1, mean ± sd | seeds | per-seed F1 | BioBERT v1.1 | BERT-base |")
    print("|---|---|---|---|---|---|")
    for stem, (name, bio, bert) in PAPER.items():
        f = Path("runs/bench") / f"{stem}{'-' + args.tag if args.tag else ''}.json"
        if not f.exists():
            print(f"| {name} | not run | | | {bio} | {bert} |")
            continue
        r = json.loads(f.read_text())
        per = ", ".join(f"{100 * x['f1']:.2f}" for x in r["runs"])
        print(f"| {name} | {r['f1_mean']:.2f} ± {r['f1_sd']:.2f} | {len(r['runs'])} | {per} | {bio} | {bert} |")


if __name__ == "__main__":
    main()
