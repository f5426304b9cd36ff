"""Model directories: plain Hugging Face format plus two small biobert files.

A fine-tuned model directory holds

* ``model.safetensors`` and ``config.json`` (with ``id2label``), loadable by
  ``AutoModelFor*.from_pretrained`` without biobert;
* the tokenizer files;
* ``biobert.json``: task, label list, window settings, entity types per corpus;
* ``report.json``: the run report (versions, data hashes, settings, metrics);
* ``README.md``: a model card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from biobert.errors import ModelLoadError

__all__ = ["save_model_dir", "read_meta", "META_FILE"]

META_FILE = "biobert.json"


def save_model_dir(
    out: str | Path,
    model: Any,
    tokenizer: Any,
    meta: dict[str, Any],
    card: str | None = None,
    half: bool = False,
) -> Path:
    """Save ``model`` + ``tokenizer`` + ``meta`` (+ model card) to ``out``.

    With ``half``, weights are stored as fp16 (halves the size; they are cast
    back to fp32 at load time for CPU inference).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if half:
        import copy

        model = copy.deepcopy(model).half()
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if card is not None:
        (out / "README.md").write_text(card, encoding="utf-8")
    return out


def read_meta(path: str | Path) -> dict[str, Any]:
    """Read ``biobert.json`` of a model directory (``{}`` for a plain HF checkpoint)."""
    p = Path(path) / META_FILE
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelLoadError(f"E305 {p}: not valid JSON ({exc})") from exc
