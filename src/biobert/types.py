"""The core data model: every reader produces, and every writer consumes, these types.

Offsets are Python string indices (code points) into ``Document.text``, the
original text: ``doc.text[span.start:span.end] == span.text`` always holds.
Byte offsets, whitespace-normalised text and similar conventions are converted
at the I/O boundary and never leak in here.

All types are frozen dataclasses with tuple fields so they hash, pickle and
move across processes; ``to_dict`` / ``from_dict`` round-trip them through JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from biobert.errors import OffsetError

__all__ = ["Span", "Relation", "Document", "Offsets"]

Offsets = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Span:
    """A labelled character range of a document.

    Args:
        start: first character (inclusive).
        end: last character (exclusive).
        label: entity type, e.g. ``"Disease"``.
        score: model confidence in [0, 1]; ``None`` for gold annotations.
        ids: normalised identifiers as ``(db, id)`` pairs, e.g. ``("MESH", "D003920")``.
        text: the mention; filled from the document when ``None`` is passed to
            :meth:`Document.add_spans`.
    """

    start: int
    end: int
    label: str
    score: float | None = None
    ids: tuple[tuple[str, str], ...] = ()
    text: str | None = None

    def __post_init__(self) -> None:
        if not (0 <= self.start <= self.end):
            raise OffsetError(f"E101 span offsets must satisfy 0 <= start <= end, got ({self.start}, {self.end})")

    @property
    def key(self) -> tuple[int, int, str]:
        """Identity used by metrics and relations: (start, end, label)."""
        return (self.start, self.end, self.label)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"start": self.start, "end": self.end, "label": self.label, "text": self.text}
        if self.score is not None:
            d["score"] = self.score
        if self.ids:
            d["ids"] = [list(i) for i in self.ids]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Span":
        return cls(
            start=int(d["start"]),
            end=int(d["end"]),
            label=str(d["label"]),
            score=None if d.get("score") is None else float(d["score"]),
            ids=tuple((str(a), str(b)) for a, b in d.get("ids", ())),
            text=d.get("text"),
        )


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed, directed relation between two spans of the same document."""

    head: Span
    tail: Span
    label: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"head": self.head.to_dict(), "tail": self.tail.to_dict(), "label": self.label}
        if self.score is not None:
            d["score"] = self.score
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Relation":
        return cls(
            head=Span.from_dict(d["head"]),
            tail=Span.from_dict(d["tail"]),
            label=str(d["label"]),
            score=None if d.get("score") is None else float(d["score"]),
        )


@dataclass(frozen=True, slots=True)
class Document:
    """A text with its annotations.

    Args:
        id: document identifier (PMID, file name, running number).
        text: the original text; offsets of everything below index into it.
        spans: entity mentions, sorted by (start, end) by the constructors in this package.
        relations: relations between spans.
        metadata: free-form JSON-able information from the source format
            (passage offsets of PubTator title/abstract, BioC infons, ...).
        sentences: sentence character ranges, if known.
        tokens: word character ranges, if known (CoNLL input, or tagger output).
    """

    id: str
    text: str
    spans: tuple[Span, ...] = ()
    relations: tuple[Relation, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    sentences: tuple[Offsets, ...] = ()
    tokens: tuple[Offsets, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.text)
        for s in self.spans:
            if s.end > n:
                raise OffsetError(f"E102 span ({s.start}, {s.end}) lies beyond the end of document {self.id!r} (length {n})")
            if s.text is not None and self.text[s.start : s.end] != s.text:
                raise OffsetError(
                    f"E103 span ({s.start}, {s.end}) of document {self.id!r} covers "
                    f"{self.text[s.start:s.end]!r} but its mention is {s.text!r}"
                )
        for a, b in (*self.sentences, *self.tokens):
            if not (0 <= a <= b <= n):
                raise OffsetError(f"E104 range ({a}, {b}) outside document {self.id!r} (length {n})")

    # -- construction helpers -------------------------------------------------
    def with_spans(self, spans: Iterable[Span]) -> "Document":
        """Return a copy whose spans are ``spans`` (sorted, mention text filled in)."""
        filled = [s if s.text is not None else replace(s, text=self.text[s.start : s.end]) for s in spans]
        filled.sort(key=lambda s: (s.start, s.end, s.label))
        return replace(self, spans=tuple(filled))

    def with_relations(self, relations: Iterable[Relation]) -> "Document":
        return replace(self, relations=tuple(relations))

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    # -- JSON -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "spans": [s.to_dict() for s in self.spans],
            "relations": [r.to_dict() for r in self.relations],
            "metadata": dict(self.metadata),
            "sentences": [list(x) for x in self.sentences],
            "tokens": [list(x) for x in self.tokens],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Document":
        return cls(
            id=str(d.get("id", "")),
            text=d["text"],
            spans=tuple(Span.from_dict(s) for s in d.get("spans", ())),
            relations=tuple(Relation.from_dict(r) for r in d.get("relations", ())),
            metadata=dict(d.get("metadata", {})),
            sentences=tuple((int(a), int(b)) for a, b in d.get("sentences", ())),
            tokens=tuple((int(a), int(b)) for a, b in d.get("tokens", ())),
        )
