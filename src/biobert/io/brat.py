"""brat standoff annotation: one ``NAME.txt`` + ``NAME.ann`` pair per document.

An ``.ann`` file holds, one per line (tab-separated)::

    T1<TAB>Disease 10 23<TAB>breast cancer          text-bound annotation (entity)
    T2<TAB>Gene 30 34;40 45<TAB>BRCA 1              discontinuous: fragments joined by one space
    R1<TAB>Association Arg1:T2 Arg2:T1              binary relation
    N1<TAB>Reference T1 MESH:D001943<TAB>breast ... normalisation (an id of T1)
    A1 / M1 / E1 / * / #1 ...                       attributes, events, equivalences, notes

``Document.text`` is the ``.txt`` file exactly as it is on disk (read with
``newline=""``: a ``\\r\\n`` stays two characters, as brat counts them), and
offsets are used unchanged. The document id is the file stem.

Nothing is dropped without a trace:

* a discontinuous annotation becomes one span over the hull of its fragments;
  the fragments are kept in ``metadata["brat_fragments"]`` (``"start end label"``
  -> ``[[start, end], ...]``) and written back by :func:`write_brat`;
* ``N`` lines become ``Span.ids`` (``MESH:D001943`` -> ``("MESH", "D001943")``; an id
  that already starts with its db, as PubTator's ``OMIM:608089``, is written once);
* lines the core types cannot hold (attributes, events, equivalences, notes)
  are kept verbatim in ``metadata["brat_other"]`` and written back; their
  number is logged.

Error codes (:class:`~biobert.errors.DataFormatError`): E240 malformed line,
E241 annotation text differs from the text at its offsets, E242 reference to
an unknown annotation id, E243 ``.ann`` without its ``.txt`` (or a directory
without ``.ann`` files); E429 (:class:`~biobert.errors.ConfigError`) brat
needs files, not a stream.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Iterable

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io._common import PathOrStream, iter_lines, read_all
from biobert.types import Document, Relation, Span

__all__ = ["read_brat", "write_brat", "brat_files"]

logger = logging.getLogger(__name__)

_TEXTBOUND = re.compile(r"^(\S+) (\d+ \d+(?:;\d+ \d+)*)$")
_RELATION = re.compile(r"^(\S+) Arg1:(\S+) Arg2:(\S+)$")
_NORM = re.compile(r"^(\S+) (T\S+) ([^:\s]+):(\S+)$")
_SAFE_ID = re.compile(r"^[^/\\\x00]+$")
_BREAK = re.compile(r"[\r\n]+")


def _split_at_breaks(text: str, start: int, end: int) -> list[list[int]]:
    """``[start, end)`` cut around its line breaks into non-empty fragments."""
    out, a = [], start
    for m in _BREAK.finditer(text, start, end):
        if m.start() > a:
            out.append([a, m.start()])
        a = m.end()
    if end > a:
        out.append([a, end])
    return out


def _no_stream(path: Any) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError("E429 brat annotation is a pair of files (NAME.txt + NAME.ann); give a directory or a .ann file, not a stream")
    return Path(path)


def brat_files(path: PathOrStream) -> list[Path]:
    """The ``.ann`` files that ``path`` names: the file itself, or every ``*.ann`` under a directory (sorted)."""
    p = _no_stream(path)
    if p.is_dir():
        anns = sorted(p.rglob("*.ann"))
        if not anns:
            raise DataFormatError("E243", p, None, "a directory with NAME.ann + NAME.txt pairs", found="no .ann file")
        return anns
    if p.suffix == ".txt":
        p = p.with_suffix(".ann")
    return [p]


def read_brat(path: PathOrStream) -> list[Document]:
    """Read brat standoff documents from a directory (every ``*.ann`` below it), a ``.ann`` or a ``.txt`` file.

    Raises:
        DataFormatError: E240-E243 (see the module docstring); the error names
            the ``.ann`` file and the line.
    """
    return [_read_pair(ann) for ann in brat_files(path)]


def _read_pair(ann: Path) -> Document:
    txt = ann.with_suffix(".txt")
    if not txt.is_file():
        raise DataFormatError("E243", ann, None, f"the document text in {txt.name} next to it", found="no such file")
    try:  # exactly as on disk: brat counts a byte-order mark or a \r as characters too
        text = txt.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        read_all(txt)  # raises the typed E200 that names the line
        raise
    spans: dict[str, Span] = {}
    fragments: dict[str, list[list[int]]] = {}
    rel_lines: list[tuple[int, str, str, str, str]] = []
    norms: list[tuple[int, str, str, str]] = []
    other: list[str] = []
    for lineno, line in iter_lines(ann):  # UTF-8 errors are typed (E200) and name the line
        if not line.strip():
            continue
        cols = line.split("\t")
        kind = cols[0][:1]
        if kind == "T":
            m = _TEXTBOUND.match(cols[1]) if len(cols) >= 3 else None
            if m is None:
                raise DataFormatError("E240", ann, lineno, "'T<id><TAB><type> <start> <end>[;<start> <end>...]<TAB><text>'", found=line)
            label = m.group(1)
            frags = [[int(a), int(b)] for a, b in (x.split(" ") for x in m.group(2).split(";"))]
            mention = "\t".join(cols[2:])
            if any(not (0 <= a <= b <= len(text)) for a, b in frags):
                raise DataFormatError("E241", ann, lineno, f"offsets within the {len(text)} characters of {txt.name}", found=m.group(2))
            joined = " ".join(text[a:b] for a, b in frags)
            if joined != mention:
                raise DataFormatError("E241", ann, lineno, f"{mention!r} at {m.group(2)} of {txt.name}", found=joined)
            start, end = min(a for a, _ in frags), max(b for _, b in frags)
            span = Span(start, end, label, text=text[start:end])
            spans[cols[0]] = span
            if len(frags) > 1:
                fragments[f"{start} {end} {label}"] = frags
        elif kind == "R":
            m = _RELATION.match(cols[1]) if len(cols) >= 2 else None
            if m is None:
                raise DataFormatError("E240", ann, lineno, "'R<id><TAB><type> Arg1:<id> Arg2:<id>'", found=line)
            rel_lines.append((lineno, cols[0], m.group(1), m.group(2), m.group(3)))
        elif kind == "N":
            m = _NORM.match(cols[1]) if len(cols) >= 2 else None
            if m is None:
                raise DataFormatError("E240", ann, lineno, "'N<id><TAB>Reference <T id> <db>:<id>[<TAB><name>]'", found=line)
            norms.append((lineno, m.group(2), m.group(3), m.group(4)))
        elif kind in ("A", "M", "E", "*", "#"):
            other.append(line)
        else:
            raise DataFormatError("E240", ann, lineno, "a line starting with T, R, N, A, M, E, * or #", found=line)

    def ref(lineno: int, key: str) -> Span:
        if key not in spans:
            raise DataFormatError("E242", ann, lineno, f"a text-bound annotation id defined in {ann.name}", found=key)
        return spans[key]

    ids: dict[str, list[tuple[str, str]]] = {}
    for lineno, key, db, ident in norms:
        ref(lineno, key)
        ids.setdefault(key, []).append((db, ident))
    for key, pairs in ids.items():
        s = spans[key]
        spans[key] = Span(s.start, s.end, s.label, s.score, tuple(pairs), text=s.text)
    relations = [Relation(ref(n, a1), ref(n, a2), label) for n, _, label, a1, a2 in rel_lines]
    meta: dict[str, Any] = {"source": str(ann)}
    if fragments:
        meta["brat_fragments"] = fragments
    if other:
        meta["brat_other"] = other
        logger.info("%s: %d attribute/event/equivalence/note line(s) kept verbatim in metadata['brat_other']", ann, len(other))
    return Document(id=ann.stem, text=text, metadata=meta).with_spans(list(spans.values())).with_relations(relations)


def write_brat(docs: Iterable[Document], path: PathOrStream) -> dict[str, int]:
    """Write each document as ``<dir>/<id>.txt`` + ``<id>.ann``; returns counts of what was written.

    Spans become ``T`` lines (with their fragments when ``metadata["brat_fragments"]``
    has them), ids ``N`` lines, relations ``R`` lines, and ``metadata["brat_other"]``
    is written back verbatim.

    Raises:
        ConfigError: E429 for a stream; E426 for a document id that is not a file name.
        OffsetError: E112 a relation argument is not one of the document's spans;
            E113 a span holds nothing but line breaks.

    A span that crosses a line break is written as fragments around it (brat's
    own convention; counted in ``spans_split_at_line_breaks``); reading it back
    gives the same span.
    """
    out = _no_stream(path)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"documents": 0, "spans": 0, "relations": 0, "ids": 0, "fragmented_spans": 0, "spans_split_at_line_breaks": 0,
              "other_lines": 0}
    for doc in docs:
        if not _SAFE_ID.match(doc.id) or doc.id in (".", ".."):
            raise ConfigError(f"E426 document id {doc.id!r} cannot be a brat file name")
        frags = doc.metadata.get("brat_fragments", {})
        lines: list[str] = []
        tid: dict[tuple[int, int, str], str] = {}
        n_norm = 0
        for i, s in enumerate(doc.spans, 1):
            key = f"T{i}"
            tid[s.key] = key
            fr = frags.get(f"{s.start} {s.end} {s.label}") or [[s.start, s.end]]
            if any(_BREAK.search(doc.text, a, b) for a, b in fr):
                # brat's own rule: an annotation that crosses a line break is stored as fragments around it
                fr = [piece for a, b in fr for piece in _split_at_breaks(doc.text, a, b)]
                counts["spans_split_at_line_breaks"] += 1
                if not fr:
                    raise OffsetError(f"E113 span {s.start}-{s.end} of {doc.id!r} holds only line breaks; brat cannot store it")
            offs = ";".join(f"{a} {b}" for a, b in fr)
            mention = " ".join(doc.text[a:b] for a, b in fr)
            lines.append(f"{key}\t{s.label} {offs}\t{mention}")
            counts["fragmented_spans"] += len(fr) > 1
            for db, ident in s.ids:
                n_norm += 1
                ref = ident if ident.startswith(f"{db}:") else f"{db}:{ident}"  # PubTator keeps "OMIM:608089" whole
                lines.append(f"N{n_norm}\tReference {key} {ref}\t{mention}")
        for j, r in enumerate(doc.relations, 1):
            if r.head.key not in tid or r.tail.key not in tid:
                raise OffsetError(f"E112 relation {r.label!r} of {doc.id!r} has an argument that is not one of its spans")
            lines.append(f"R{j}\t{r.label} Arg1:{tid[r.head.key]} Arg2:{tid[r.tail.key]}")
        other = list(doc.metadata.get("brat_other", []))
        lines += other
        (out / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8", newline="")
        (out / f"{doc.id}.ann").write_text("".join(l + "\n" for l in lines), encoding="utf-8", newline="")
        counts["documents"] += 1
        counts["spans"] += len(doc.spans)
        counts["relations"] += len(doc.relations)
        counts["ids"] += n_norm
        counts["other_lines"] += len(other)
    return counts
