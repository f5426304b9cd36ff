"""``report.json`` and ``curve.png`` of a pre-training run."""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["versions", "write_report", "plot_curve"]


def versions() -> dict[str, str]:
    """Python, platform, CPU model and the versions of the libraries a pre-training result depends on."""
    from biobert.report import cpu_model

    out = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu": cpu_model()}
    for name in ("biobert", "torch", "transformers", "tokenizers", "accelerate", "numpy", "gensim"):
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "?")
        except ImportError:
            continue
    return out


def write_report(path: str | Path, report: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=str))
    tmp.replace(path)


def plot_curve(path: str | Path, curve: list[dict[str, Any]], evals: list[dict[str, Any]], title: str = "") -> None:
    """Training loss (left) and validation perplexity (right) against the optimizer step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    if curve:
        ax1.plot([c["step"] for c in curve], [c["loss"] for c in curve], lw=1)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.grid(alpha=0.3)
    pts = [(e["step"], e["val_ppl"]) for e in evals if e.get("val_ppl") is not None and math.isfinite(e["val_ppl"])]
    if pts:
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", lw=1)
        if max(p[1] for p in pts) / max(1e-9, min(p[1] for p in pts)) > 20:
            ax2.set_yscale("log")
    ax2.set_xlabel("step")
    ax2.set_ylabel("validation MLM perplexity")
    ax2.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
