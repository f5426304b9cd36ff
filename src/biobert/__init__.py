"""biobert: biomedical text mining with BERT-family encoders."""

from biobert.errors import BiobertError, DataFormatError, ModelLoadError, OffsetError
from biobert.types import Document, Relation, Span

__version__ = "0.1.0"

__all__ = [
    "Document",
    "Span",
    "Relation",
    "BiobertError",
    "DataFormatError",
    "ModelLoadError",
    "OffsetError",
    "Tagger",
    "read",
    "write",
    "__version__",
]


def __getattr__(name: str):
    # Heavy imports (torch, transformers) happen only when the API that needs them is used.
    if name == "Tagger":
        from biobert.pipeline import Tagger

        return Tagger
    if name in ("read", "write"):
        from biobert import io

        return getattr(io, name)
    if name in ("Extractor", "Reader"):
        from biobert import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
