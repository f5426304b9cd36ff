"""Readers and writers: every format converts to and from :class:`~biobert.types.Document`.

>>> from biobert import io
>>> docs = io.read("CDR_TrainingSet.PubTator.txt")          # format from the extension
>>> io.write(docs, "train.conll", "conll", scheme="IOBES")   # returns a small report dict

Formats (``FORMATS``):

========  =================================================  =====================================
name      extensions                                          module
========  =================================================  =====================================
conll     .conll .tsv .iob .iob2 .bio .bioes .iobes           :mod:`biobert.io.conll`
pubtator  .pubtator .pubtator.txt                             :mod:`biobert.io.pubtator`
bioc      .xml                                                :mod:`biobert.io.bioc`
biocjson  .bioc.json .biocjson                                :mod:`biobert.io.bioc`
json      .json (documents, or BioC JSON: read either way)    :mod:`biobert.io.jsonl`
jsonl     .jsonl                                              :mod:`biobert.io.jsonl`
text      .txt                                                :mod:`biobert.io.text`
brat      .ann (or a directory of .txt + .ann pairs)          :mod:`biobert.io.brat`
========  =================================================  =====================================

A ``.txt`` file whose first non-blank line looks like ``PMID|t|...`` is read as
PubTator (the NCBI-disease release is named ``*_corpus.txt``).

Error codes (:class:`~biobert.errors.DataFormatError` unless noted):
E200 not UTF-8; E201-E204 CoNLL (missing tag column, invalid tag, bad token,
typed/untyped mix); E210-E212 PubTator (unexpected line, mention text
mismatch, PMID mismatch), E217 PubTator writer (a label or id its column cannot hold); E220-E224 BioC (annotation text mismatch, bad
offsets, no type, bad XML, no location), E225 BioC JSON (not JSON, or a
required field missing), E227 BioC writer (an id with '|' or spaces at the ends); E230-E231 JSONL (bad JSON, not a
document); E240-E243 brat (bad line, annotation text mismatch, unknown
annotation id, missing .txt); :class:`~biobert.errors.OffsetError` E110-E113
when writing (span not on token boundaries, unwritable token, relation
argument missing, span of line breaks only).
"""

from __future__ import annotations

import io as _stdio
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from biobert.errors import ConfigError
from biobert.io._common import PathOrStream
from biobert.io._common import open_bytes as _open_bytes
from biobert.io._common import without_compression as _without_compression
from biobert.io.bioc import read_bioc, read_bioc_json, write_bioc, write_bioc_json
from biobert.io.brat import read_brat, write_brat
from biobert.io.conll import read_conll, write_conll
from biobert.io.jsonl import iter_jsonl, read_json, read_jsonl, write_json, write_jsonl
from biobert.io.pubtator import iter_pubtator, read_pubtator, write_pubtator
from biobert.io.text import iter_text_lines, read_text, write_text
from biobert.types import Document

_log = logging.getLogger(__name__)

__all__ = [
    "changes",
    "Format",
    "FORMATS",
    "guess_format",
    "guess_annotated_format",
    "read",
    "iterate",
    "streams",
    "write",
    "reads",
    "writes",
    "read_conll",
    "write_conll",
    "read_pubtator",
    "write_pubtator",
    "read_bioc",
    "read_bioc_json",
    "write_bioc_json",
    "write_bioc",
    "read_jsonl",
    "read_json",
    "write_json",
    "write_jsonl",
    "read_text",
    "write_text",
    "read_brat",
    "write_brat",
]


@dataclass(frozen=True)
class Format:
    """A file format: its name, file name endings, reader and writer."""

    name: str
    extensions: tuple[str, ...]
    reader: Callable[..., list[Document]]
    writer: Callable[..., dict[str, Any]]


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("conll", (".conll", ".tsv", ".iob", ".iob2", ".bio", ".bioes", ".iobes"), read_conll, write_conll),
        Format("pubtator", (".pubtator", ".pubtator.txt"), read_pubtator, write_pubtator),
        Format("bioc", (".xml",), read_bioc, write_bioc),
        Format("biocjson", (".bioc.json", ".biocjson"), read_bioc_json, write_bioc_json),
        Format("json", (".json",), read_json, write_json),
        Format("jsonl", (".jsonl",), read_jsonl, write_jsonl),
        Format("text", (".txt",), read_text, write_text),
        Format("brat", (".ann",), read_brat, write_brat),
    )
}

_PUBTATOR_HEAD = re.compile(rb"[^|\t\r\n]+\|[ta]\|")


def _accepted() -> str:
    return ", ".join(f"{f.name} ({' '.join(f.extensions)})" for f in FORMATS.values())


def _get(fmt: str) -> Format:
    try:
        return FORMATS[fmt]
    except KeyError:
        raise ConfigError(f"E420 unknown format {fmt!r}; accepted formats: {_accepted()}") from None


def _looks_like_pubtator(path: Path) -> bool:
    try:
        with _open_bytes(path) as f:
            for _, line in zip(range(50), f):
                if line.strip():
                    return bool(_PUBTATOR_HEAD.match(line))
    except OSError:
        pass
    return False


def guess_format(path: str | os.PathLike[str], *, sniff: bool = True) -> str:
    """Format name for ``path`` from its file name ending (longest match, case-insensitive).

    A ``.gz``, ``.bz2`` or ``.xz`` ending is looked through (``train.tsv.gz`` is CoNLL; the readers
    decompress). With ``sniff``, an existing ``.txt`` file that starts like a PubTator
    record is reported as ``"pubtator"``, and a directory that holds ``.ann``
    files as ``"brat"``.

    Raises:
        ConfigError: the ending belongs to no format; the message names the
            file and the accepted formats.
    """
    p = Path(path)
    if sniff and p.is_dir() and next(p.rglob("*.ann"), None) is not None:
        return "brat"
    lower = _without_compression(p).name.lower()  # the readers decompress: name the format underneath
    matches = [(len(ext), f.name) for f in FORMATS.values() for ext in f.extensions if lower.endswith(ext)]
    if not matches:
        raise ConfigError(f"E421 cannot tell the format of {str(p)!r} from its name; name it (CLI: --input-format, "
                          f"--output-format, or convert's --from/--to; Python: fmt=), accepted formats: {_accepted()}")
    name = max(matches)[1]
    if name == "text" and sniff and p.is_file() and _looks_like_pubtator(p):
        return "pubtator"
    return name


def guess_annotated_format(path: str | os.PathLike[str]) -> str:
    """Format of a file of *annotated* documents (training or gold data) from its name: as :func:`guess_format`,
    but a name that says raw text (``.txt``), or nothing, means CoNLL: annotations cannot be raw text, and CoNLL
    files come under any name (CoNLL-2003's own are ``.txt``). A ``.txt`` that starts like PubTator is PubTator.
    """
    try:
        fmt = guess_format(path)
    except ConfigError:
        return "conll"
    return "conll" if fmt == "text" else fmt


def read(path: PathOrStream, fmt: str | None = None, **kw: Any) -> list[Document]:
    """Read documents from a file (or stream, with ``fmt`` given).

    Args:
        path: input path or text stream.
        fmt: format name (see ``FORMATS``); guessed from the file name when ``None``.
        **kw: passed to the format's reader (``scheme=``, ``lines=``, ...).
    """
    if fmt is None:
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"E422 fmt is required when reading from a stream; accepted formats: {_accepted()}")
        fmt = guess_format(path)
    return _get(fmt).reader(path, **kw)


def streams(fmt: str, **kw: Any) -> bool:
    """Whether :func:`iterate` reads format ``fmt`` (with reader options ``kw``) one document at a time."""
    return fmt in ("pubtator", "jsonl") or (fmt == "text" and bool(kw.get("lines")))


def iterate(path: PathOrStream, fmt: str | None = None, **kw: Any) -> Iterator[Document]:
    """Yield the documents of a file one at a time, so that files of any size can be processed.

    PubTator, JSONL and text with ``lines=True`` are read record by record
    (memory does not grow with the file); whole-file formats (BioC XML and JSON, CoNLL,
    text as one document) are read first and then yielded. The documents are
    those :func:`read` returns.
    """
    if fmt is None:
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"E422 fmt is required when reading from a stream; accepted formats: {_accepted()}")
        fmt = guess_format(path)
    if fmt == "pubtator":
        return iter_pubtator(path)
    if fmt == "jsonl":
        return iter_jsonl(path)
    if fmt == "text" and kw.get("lines"):
        return iter_text_lines(path, doc_id=kw.get("doc_id"))
    return iter(read(path, fmt=fmt, **kw))


def write(docs: Iterable[Document], path: PathOrStream, fmt: str | None = None, **kw: Any) -> dict[str, Any]:
    """Write documents to a file or stream and return the writer's report (counts of what was written).

    Args:
        docs: documents to write.
        path: output path or text stream.
        fmt: format name; guessed from the file name when ``None``.
        **kw: passed to the format's writer.
    """
    if fmt is None:
        if not isinstance(path, (str, os.PathLike)):
            raise ConfigError(f"E422 fmt is required when writing to a stream; accepted formats: {_accepted()}")
        fmt = guess_format(path, sniff=False)
    if fmt == "brat":
        return _get(fmt).writer(docs, path, **kw)
    lost = {"discontinuous_spans_written_as_hull": 0, "ids_not_written": 0, "spans_not_written": 0,
            "relations_not_written": 0, "document_relations_not_written": 0, "composite_names_not_written": 0}
    no_ids = fmt in ("conll", "text")  # formats with no place for a concept id, a relation or a composite's parts

    def counted(ds: Iterable[Document]) -> Iterable[Document]:
        # a discontinuous brat annotation is one span over its fragments' hull (biobert.io.brat); brat writes the
        # fragments, BioC one annotation with a location per fragment; elsewhere the mention covers the words
        # between them: counted and said
        for d in ds:
            if fmt in ("bioc", "biocjson") and d.metadata.get("brat_fragments"):
                d = _fragments_as_locations(d)
            frags = d.metadata.get("brat_fragments") or {}
            lost["discontinuous_spans_written_as_hull"] += sum(f"{s.start} {s.end} {s.label}" in frags for s in d.spans)
            if no_ids:  # "-1" placeholders (db "") are no ids
                lost["ids_not_written"] += sum(1 for s in d.spans for db, _ in s.ids if db)
                lost["relations_not_written"] += len(d.relations)
                # PubTator/BioC concept-level relations (CID D008750 D007022) and composite mentions' part names
                lost["document_relations_not_written"] += len(d.metadata.get("relations", ()))
                lost["composite_names_not_written"] += len(d.metadata.get("composite_names", ()))
            if fmt == "text":  # plain text has no annotations at all
                lost["spans_not_written"] += len(d.spans)
            yield d

    report = _get(fmt).writer(counted(docs), path, **kw)
    for key, n in lost.items():
        if n:
            _log.warning("%s: %d %s", fmt, n, key.replace("_", " "))
            report = {**(report or {}), key: n}
    return report


#: writer-report keys (besides every ``*_not_written``) that count what a format changed or could not hold
CHANGED_KEYS = ("replaced_characters", "dropped_scores", "relation_arguments_named_by_text",
                "discontinuous_spans_written_as_hull", "dropped_overlapping_spans", "merged_sentence_breaks", "ids_respelled",
                "empty_abstracts_added", "spans_trimmed_at_line_breaks",
                "whitespace_outside_passages_changed", "leading_feff_read_as_bom")


def changes(report: dict[str, Any] | None) -> dict[str, int]:
    """The non-zero counts of a writer's report that say what the output does not hold as the documents did
    (characters replaced, scores, ids, relations or spans not written, ...), for callers that pass them on."""
    return {k: v for k, v in (report or {}).items()
            if v and isinstance(v, int) and (k.endswith("_not_written") or k in CHANGED_KEYS)}


def _fragments_as_locations(doc: Document) -> Document:
    """A brat-read document with its discontinuous spans in BioC's shape: each hull span (``brat_fragments``) is
    replaced by one span per fragment and listed in ``discontinuous_groups``, which the BioC writer writes as one
    annotation with several locations (and the BioC reader reads back the same way); relations that pointed at
    the hull point at the first fragment, the span a multi-location annotation's relations name."""
    from dataclasses import replace

    frags: dict[str, list[list[int]]] = dict(doc.metadata.get("brat_fragments") or {})
    spans, groups, moved = [], list(doc.metadata.get("discontinuous_groups", ())), {}
    for s in doc.spans:
        locs = frags.pop(f"{s.start} {s.end} {s.label}", None)
        if not locs or len(locs) < 2:
            spans.append(s)
            continue
        parts = [replace(s, start=a, end=b, text=doc.text[a:b]) for a, b in locs]
        spans.extend(parts)
        groups.append([s.label, [[a, b] for a, b in locs]])
        moved[s.key] = parts[0]
    rels = [replace(r, head=moved.get(r.head.key, r.head), tail=moved.get(r.tail.key, r.tail)) for r in doc.relations]
    meta = {k: v for k, v in doc.metadata.items() if k != "brat_fragments"}
    if frags:  # fragments of no span here (edited since reading): left for the hull count
        meta["brat_fragments"] = frags
    if groups:
        meta["discontinuous_groups"] = groups
    return replace(doc, metadata=meta).with_spans(spans).with_relations(rels)


def reads(string: str, fmt: str, *, name: str | None = None, **kw: Any) -> list[Document]:
    """Read documents from a string holding the content of a file in format ``fmt``.

    Args:
        name: what error messages call the string (``<string>`` by default), e.g. ``"request field 'pubtator'"``.
    """
    buf = _stdio.StringIO(string)
    if name:
        buf.name = name  # type: ignore[misc]  # describe() names a stream by its .name
    return _get(fmt).reader(buf, **kw)


def writes(docs: Iterable[Document], fmt: str, **kw: Any) -> str:
    """Return the file content that :func:`write` would produce (its counts are logged as :func:`write` logs them)."""
    buf = _stdio.StringIO()
    write(docs, buf, fmt=fmt, **kw)
    return buf.getvalue()
