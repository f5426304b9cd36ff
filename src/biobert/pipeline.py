"""Inference API: ``Tagger.load(x)(text) -> Document``.

    from biobert import Tagger
    tagger = Tagger.load()                      # the bundled multi-type default
    doc = tagger("BRCA1 mutations cause breast cancer.")
    [(s.start, s.end, s.label, s.text) for s in doc.spans]
    docs = tagger(["text one", "text two"])     # batched, length-sorted

Any directory written by ``biobert finetune ner`` or any Hugging Face
token-classification checkpoint (directory or hub id) loads the same way.
Offsets always index the input string; long inputs are sentence-split and
windowed, never truncated.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence, overload

import torch

from biobert.errors import ModelLoadError
from biobert.modeldir import read_meta
from biobert.tasks.ner import NERPredictor
from biobert.types import Document

__all__ = ["Tagger", "default_tagger_path"]

log = logging.getLogger(__name__)

DEFAULT_TAGGER = "ner-default"


def default_tagger_path() -> Path:
    """Directory of the bundled default tagger (inside the package)."""
    return Path(str(resources.files("biobert"))) / "models" / DEFAULT_TAGGER


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers (CPU). Check F1 before trusting it."""
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


class Tagger:
    """Named-entity tagger over raw text or :class:`Document` objects."""

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str], *, max_length: int = 128, stride: int = 32,
                 batch_tokens: int = 8192, source: str = "", meta: dict[str, Any] | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.source = source
        self.meta = meta or {}
        self.predictor = NERPredictor(model, tokenizer, self.labels, max_length, stride, batch_tokens)
        #: counters of the last call (windows, words without subwords, ...)
        self.last_stats: Counter = Counter()

    @property
    def types(self) -> list[str]:
        """Entity types the model predicts."""
        return sorted({l.split("-", 1)[1] if "-" in l else "" for l in self.labels if l != "O"})

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str] | None = None, *, quantize: str | None = None,
             backend: str = "torch", batch_tokens: int = 8192, max_length: int | None = None,
             stride: int | None = None) -> "Tagger":
        """Load a tagger.

        Args:
            name_or_path: a model directory, a hub id, or ``None`` for the bundled default.
            quantize: ``"int8"``: dynamic int8 quantisation (faster on CPU; see ``biobert export onnx``
                for the accuracy check that gates it).
            backend: ``"torch"`` or ``"onnx"`` (onnxruntime; needs ``biobert export onnx`` first).
            batch_tokens: padded-token budget per forward pass.
            max_length, stride: override the window settings saved with the model.
        """
        from transformers import AutoModelForTokenClassification

        from biobert.encoders import _from_pretrained, load_tokenizer, resolve_encoder

        if quantize not in (None, "none", "int8"):
            raise ModelLoadError(f"E307 unknown quantize={quantize!r}; expected 'int8' or None")
        if name_or_path is None:
            path = default_tagger_path()
            if not (path / "config.json").exists():
                raise ModelLoadError(
                    f"E306 the bundled default tagger is missing at {path}; rebuild it with "
                    "`bash scripts/build_default_tagger.sh`"
                )
            ref = str(path)
        else:
            ref = resolve_encoder(name_or_path)
        meta = read_meta(ref) if Path(ref).is_dir() else {}
        tokenizer = load_tokenizer(ref)
        model = _from_pretrained(AutoModelForTokenClassification, ref, dtype=torch.float32)
        model.eval()
        labels = meta.get("labels") or [model.config.id2label[i] for i in range(model.config.num_labels)]
        if backend == "onnx":
            from biobert.export import OnnxTokenClassifier, check_int8_allowed, onnx_paths

            paths = onnx_paths(ref)
            onnx_file = paths["int8" if quantize == "int8" else "fp32"]
            if not onnx_file.exists():
                raise ModelLoadError(f"E309 {onnx_file} does not exist; run `biobert export onnx --model {ref}` first")
            if quantize == "int8":
                check_int8_allowed(ref)
            model = OnnxTokenClassifier(onnx_file)
        elif backend != "torch":
            raise ModelLoadError(f"E310 unknown backend={backend!r}; expected 'torch' or 'onnx'")
        elif quantize == "int8":
            model = _quantize_int8(model)
        return cls(
            model, tokenizer, labels,
            max_length=max_length or int(meta.get("max_length", 128)),
            stride=stride if stride is not None else int(meta.get("stride", 32)),
            batch_tokens=batch_tokens, source=ref, meta=meta,
        )

    @overload
    def __call__(self, inputs: str | Document) -> Document: ...
    @overload
    def __call__(self, inputs: Iterable[str | Document]) -> list[Document]: ...

    def __call__(self, inputs: Any) -> Any:
        """Tag one text/Document (returns a Document) or an iterable of them (returns a list)."""
        single = isinstance(inputs, (str, Document))
        items = [inputs] if single else list(inputs)
        docs = [x if isinstance(x, Document) else Document(id=str(i), text=x) for i, x in enumerate(items)]
        for x in items:
            if not isinstance(x, (str, Document)):
                raise TypeError(f"Tagger accepts str or Document, got {type(x).__name__}")
        self.last_stats = Counter()
        out = self.predictor.predict_documents(docs, stats=self.last_stats)
        # keep the input's own annotations other than spans (relations refer to old spans, so they are dropped)
        return out[0] if single else out
