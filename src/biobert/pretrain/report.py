"""``report.json`` and ``curve.png`` of a pre-training run."""

from __future__ import annotations

import json
import math
import platform
import sys
from pathlib import Path
from typing import Any

__all__ = ["versions", "write_report", "plot_curve", "model_card", "write_model_card", "corpus_table"]


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


def corpus_table(files: list[dict[str, Any]]) -> list[str]:
    """Markdown lines of a model card's corpus table (path, bytes, the first 16 hex digits of the file hash) from
    :func:`biobert.pretrain.corpus.file_fingerprints` records, whichever hash each file has."""
    lines = ["| file | bytes | sha256 |", "|---|---|---|"]
    for f in files:
        digest = f.get("sha256") or f.get("sha256-head-tail-1MiB") or ""
        lines.append(f"| {f.get('path')} | {f.get('bytes')} | `{digest[:16]}` |")
    return lines


def model_card(report: dict[str, Any], command: str | None = None) -> str:
    """A short ``README.md`` for a pre-training output directory, from its :func:`write_report` report: the
    objective, the start point, the corpus (files, hashes, what was left out), the steps and the last losses,
    and the command (``report.json`` has everything else)."""
    sp = report.get("start_point", {})
    data = report.get("data", {})
    settings = report.get("settings", {})
    start = "a new model (from scratch)" if sp.get("from_scratch") else f"`{sp.get('source')}`"
    lines = [
        f"# {Path(str(settings.get('output', 'biobert encoder'))).name}",
        "",
        f"Encoder pre-trained with `biobert pretrain` ({report.get('objective')}"
        f"{', whole-word masking' if report.get('whole_word_mask') else ''}); loads with `AutoModel` / `AutoTokenizer`.",
        "",
        f"* Start point: {start}; model type {report.get('model_type')}, {report.get('parameters', 0):,} parameters",
    ]
    if report.get("objective") == "electra":
        gen = sp.get("generator")
        lines.append(f"* ELECTRA generator: {'new (random)' if gen in (None, 'new') else f'continued from `{gen}`'}; saved in `generator/`")
    if sp.get("created_head"):
        lines.append(f"* Newly initialised head parameters: {len(sp['created_head'])}")
    lines += [
        f"* Vocabulary: {report.get('vocab_size')} tokens, sha256 `{str(report.get('vocab_sha256'))[:16]}`",
        f"* Steps: {report.get('step')} of {report.get('max_steps')} ({'finished' if report.get('final') else 'not finished'}); "
        f"{report.get('tokens_seen', 0):,} tokens seen; effective batch {report.get('effective_batch_sequences')} sequences "
        f"of up to {settings.get('max_length')} tokens; lr {settings.get('lr')}",
    ]
    curve = report.get("curve") or []
    if curve:
        lines.append(f"* Final training loss: {curve[-1]['loss']:.4f} (step {curve[-1]['step']})")
    ev = report.get("last_eval")
    if ev:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in ev.items() if k != "step" and isinstance(v, (int, float)))
        lines.append(f"* Last validation (step {ev.get('step')}): {shown}")
    lines += ["", "## Corpus", "", *corpus_table(data.get("files", []))]
    skipped = data.get("skipped_records") or {}
    lines += [
        "",
        f"Validation: {data.get('val_examples', 0)} held-out sequences (val_fraction {data.get('val_fraction')}). "
        f"Left out: {skipped.get('records', 0)} record(s) with no text, "
        f"{(data.get('invalid_utf8') or {}).get('replacements', 0)} invalid UTF-8 sequence(s) replaced, "
        f"{data.get('tokens_truncated', 0)} token(s) in no example.",
        "",
        "## Reproduce",
        "",
        "```",
        command or "biobert pretrain --config <config.yaml>  # settings in pretrain_config.json",
        "```",
        "",
        "`report.json` has the versions, all settings, the loss curve and the validation results.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(out_dir: str | Path, report: dict[str, Any], command: str | None = None) -> Path:
    """Write :func:`model_card` to ``out_dir/README.md`` (atomically: it is refreshed at every checkpoint)."""
    path = Path(out_dir) / "README.md"
    tmp = path.with_name("README.md.tmp")
    tmp.write_text(model_card(report, command), encoding="utf-8")
    tmp.replace(path)
    return path
