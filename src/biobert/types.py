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

from biobert.errors import DataFormatError, OffsetError

__all__ = ["Span", "Relation", "Document", "Offsets"]

Offsets = tuple[int, int]

#: ``DataFormatError.path`` of errors raised by ``from_dict`` (readers re-raise them naming their file and line)
FROM_DICT = "<dict>"

_MISSING = object()


def _get(d: Any, key: str, kind: str, where: str, default: Any = _MISSING) -> Any:
    """``d[key]`` checked against ``kind`` (``"int"``, ``"number"``, ``"str"``, ``"list"``, ``"object"``).

    ``from_dict`` reads JSON written by ``to_dict``, which never holds a float offset or a null label: converting
    such values (``int(0.7)``, ``str(None)``) would silently change the data, so they raise E232 naming the field.
    ``bool`` is refused where a number is expected although Python counts it as an ``int``.
    """
    if not isinstance(d, Mapping):
        raise DataFormatError("E232", FROM_DICT, None, f"{where or 'the document'}: a JSON object", found=repr(d)[:60])
    field_name = f"{where}.{key}" if where else key
    if key not in d:
        if default is _MISSING:
            # E231 "not a document", as the JSON readers say for any object that lacks what a document needs
            raise DataFormatError("E231", FROM_DICT, None, f"a field {field_name!r}", found="no such field")
        return default
    value = d[key]
    ok = {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "str": lambda v: isinstance(v, str),
        "list": lambda v: isinstance(v, (list, tuple)),
        "object": lambda v: isinstance(v, Mapping),
    }[kind](value)
    if not ok:
        names = {"int": "an integer", "number": "a number", "str": "a string", "list": "a list", "object": "a JSON object"}
        raise DataFormatError("E232", FROM_DICT, None, f"{field_name!r}: {names[kind]}", found=repr(value)[:60])
    return value


def _offsets(d: Mapping[str, Any], key: str) -> tuple[Offsets, ...]:
    """The list of ``[start, end]`` integer pairs ``d[key]`` (``sentences``, ``tokens``); ``()`` when missing."""
    out = []
    for i, pair in enumerate(_get(d, key, "list", "", ())):
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in pair)):
            raise DataFormatError("E232", FROM_DICT, None, f"'{key}[{i}]': a pair of integers [start, end]", found=repr(pair)[:60])
        out.append((pair[0], pair[1]))
    return tuple(out)


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
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "span") -> "Span":
        """Inverse of :meth:`to_dict`. ``text`` may be missing or null (the document fills it in).

        Args:
            where: the span's place, named in errors (``"spans[3]"``).

        Raises:
            DataFormatError: E231 a missing field, E232 one of the wrong type (a float or bool offset, a null label).
            OffsetError: E101 offsets out of order.
        """
        ids = []
        for i, pair in enumerate(_get(d, "ids", "list", where, ())):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(x, str) for x in pair)):
                raise DataFormatError("E232", FROM_DICT, None, f"'{where}.ids[{i}]': a pair of strings [db, id]", found=repr(pair)[:60])
            ids.append((pair[0], pair[1]))
        score = d.get("score") if isinstance(d, Mapping) else None
        text = d.get("text") if isinstance(d, Mapping) else None
        return cls(
            start=_get(d, "start", "int", where),
            end=_get(d, "end", "int", where),
            label=_get(d, "label", "str", where),
            score=None if score is None else float(_get(d, "score", "number", where)),
            ids=tuple(ids),
            text=None if text is None else _get(d, "text", "str", where),
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
    def from_dict(cls, d: Mapping[str, Any], *, where: str = "relation") -> "Relation":
        """Inverse of :meth:`to_dict`; raises E232 (:class:`~biobert.errors.DataFormatError`) like :meth:`Span.from_dict`."""
        score = d.get("score") if isinstance(d, Mapping) else None
        return cls(
            head=Span.from_dict(_get(d, "head", "object", where), where=f"{where}.head"),
            tail=Span.from_dict(_get(d, "tail", "object", where), where=f"{where}.tail"),
            label=_get(d, "label", "str", where),
            score=None if score is None else float(_get(d, "score", "number", where)),
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
        # relation arguments index the same text as the spans, whether or not they are among them
        for s in (*self.spans, *(x for r in self.relations for x in (r.head, r.tail))):
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
        """Inverse of :meth:`to_dict`, built the way :meth:`with_spans` builds documents: spans sorted, and the
        mention ``text`` of spans and relation arguments filled in from the document where it is missing or null.

        Raises:
            DataFormatError: E231 a missing required field (``text``, a span's ``start`` ...), E232 a field of
                the wrong type or null (``"label": null``, ``"id": null``, ``"start": 0.7``), naming the field
                (``spans[1].label``); ``path`` is ``"<dict>"``.
            OffsetError: E101-E104 offsets that do not fit the text (relation arguments included).
        """
        text = _get(d, "text", "str", "")

        def filled(s: Span) -> Span:
            # only in range: an offset beyond the text is reported by __post_init__ (E102), not hidden by slicing
            return replace(s, text=text[s.start : s.end]) if s.text is None and s.end <= len(text) else s

        spans = [Span.from_dict(s, where=f"spans[{i}]") for i, s in enumerate(_get(d, "spans", "list", "", ()))]
        relations = []
        for i, r in enumerate(_get(d, "relations", "list", "", ())):
            rel = Relation.from_dict(r, where=f"relations[{i}]")
            relations.append(replace(rel, head=filled(rel.head), tail=filled(rel.tail)))
        doc_id = d.get("id", "")
        if not (isinstance(doc_id, int) and not isinstance(doc_id, bool)):
            doc_id = _get(d, "id", "str", "", "")  # null, a float, a list: E232
        doc = cls(
            # an integer id (a PMID written as a JSON number, as PubMed exports do) is kept digit for digit
            id=str(doc_id),
            text=text,
            spans=tuple(spans),
            relations=tuple(relations),
            metadata=dict(_get(d, "metadata", "object", "", {})),
            sentences=_offsets(d, "sentences"),
            tokens=_offsets(d, "tokens"),
        )
        return doc.with_spans(doc.spans)
