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
import logging
import shutil
from pathlib import Path
from typing import Any

from biobert.errors import ModelLoadError

log = logging.getLogger(__name__)

__all__ = ["save_model_dir", "read_meta", "load_meta", "local_model_dir", "META_FILE"]

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
    stale = out / "onnx"
    if stale.is_dir():
        # exported from the weights about to be replaced: left in place, `--backend onnx` would serve the old model
        shutil.rmtree(stale)
        log.warning("W307 removed %s: it was exported from the previous weights; run `biobert export onnx` again", stale)
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


def load_meta(ref: str) -> dict[str, Any]:
    """``biobert.json`` of a model directory or of a hub repository (``{}`` when it has none).

    For a hub id the file is fetched with ``huggingface_hub`` (or taken from its
    cache when offline). A repository that cannot be reached is treated as
    having no ``biobert.json``: loading its weights, which follows, raises the
    real error (E301) with the offline hint.
    """
    if Path(ref).is_dir():
        return read_meta(ref)
    from huggingface_hub import hf_hub_download

    from biobert.hub import hub_kwargs
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    try:
        path = hf_hub_download(ref, META_FILE, **hub_kwargs(ref))
    except (EntryNotFoundError, HfHubHTTPError, OSError, ValueError):
        # no such file (a plain HF checkpoint), no such repo, or offline and not cached
        return {}
    return read_meta(Path(path).parent)


#: files a biobert model directory consists of (what a hub snapshot needs to fetch)
_MODEL_DIR_PATTERNS = ["*.json", "*.safetensors", "*.txt", "*.md", "onnx/*"]


def local_model_dir(ref: str) -> str:
    """A local directory for ``ref``: itself when it is one, else the snapshot of hub repository ``ref``.

    Used for biobert model directories, whose task heads (``re_head.safetensors``,
    ``qa_cls_head.safetensors``) and ONNX files sit beside the Hugging Face
    weights and are not loaded by ``from_pretrained``.

    Raises:
        ModelLoadError: E301 when the repository cannot be downloaded or found in the cache.
    """
    if Path(ref).is_dir():
        return ref
    from huggingface_hub import snapshot_download

    from biobert.hub import hub_kwargs, no_local_dir_note
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return snapshot_download(ref, allow_patterns=_MODEL_DIR_PATTERNS, **hub_kwargs(ref))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as exc:
        raise ModelLoadError(
            f"E301 could not download {ref!r} from the Hugging Face hub ({type(exc).__name__}: {exc}). "
            "Offline, pass a local directory instead." + no_local_dir_note(ref)
        ) from exc
