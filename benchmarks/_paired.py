"""Shared by the paired NER benchmarks (ner_decoding.py, ner_averaging.py): the summary of paired F1 differences
(same models, same test file, one change) and its Markdown table."""

from __future__ import annotations

import json
import statistics
from typing import Any


def print_paired(rows: list[dict[str, Any]], data: str, base: str, new: str, base_title: str, new_title: str,
                 name: Any = lambda r: r["model"]) -> None:
    """Print the mean ± sd of ``row["delta_f1"]`` (``new`` minus ``base``) as JSON, then one table row per model.

    Args:
        rows: one dict per model with the P/R/F1 percentages under ``base`` and ``new`` and their ``delta_f1``.
        data: the scored file, echoed in the summary.
        base, new: keys of the two scorings in each row.
        base_title, new_title: their column headings.
        name: the model column of a row.
    """
    deltas = [r["delta_f1"] for r in rows]
    sd = statistics.stdev(deltas) if len(deltas) > 1 else 0.0
    print(json.dumps({"data": data, "models": len(rows), "delta_f1_mean": round(statistics.mean(deltas), 2),
                      "delta_f1_sd": round(sd, 2), "better": sum(d > 0 for d in deltas), "worse": sum(d < 0 for d in deltas)}))
    print(f"\n| model | {base_title} P / R / F1 | {new_title} P / R / F1 | ΔF1 |\n|---|---|---|---|")
    for r in rows:
        a, v = r[base], r[new]
        print(f"| {name(r)} | {a['precision']:.2f} / {a['recall']:.2f} / {a['f1']:.2f} | "
              f"{v['precision']:.2f} / {v['recall']:.2f} / **{v['f1']:.2f}** | {r['delta_f1']:+.2f} |")
