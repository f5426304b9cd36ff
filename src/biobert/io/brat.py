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
  -> ``[[start, end], ...]``) and written back by :func:`write_brat`; BioC gets one
  annotation with a location per fragment (:func:`biobert.io.write`), other formats
  the hull (counted: ``discontinuous_spans_written_as_hull``);
* ``N`` lines become ``Span.ids`` as the other readers would hold the id
  (:func:`biobert.io._common.parse_ids`): ``HGNC:1100`` -> ``("HGNC", "HGNC:1100")``,
  so PubTator, BioC and JSONL write ``HGNC:1100``, not a bare ``1100``;
  ``MESH:D001943`` -> ``("MESH", "D001943")``, PubTator's own spelling. The
  writer writes an id that starts with its db as it is (``("OMIM", "OMIM:608089")``
  -> ``OMIM:608089``) and prefixes a bare one (``("MESH", "D001943")`` ->
  ``MESH:D001943``, read back bare); an id that reads back spelled otherwise
  (``("NCBIGene", "672")`` as ``NCBIGene:672``, ``("MESH", "MESH:D002945")`` as
  ``D002945``) is counted as ``ids_respelled``;
* lines the core types cannot hold (attributes, events, equivalences, notes)
  are kept verbatim in ``metadata["brat_other"]`` and written back; their
  number is logged. So is a relation with an event argument
  (``R1<TAB>Cause Arg1:E1 Arg2:T3``): a :class:`Relation` joins two spans and an
  event is none, so the line is kept in ``metadata["brat_other"]`` (in file
  order among the kept lines) rather than refused;
* the annotation ids of the file are kept, because those lines refer to them
  (``A1<TAB>Negated T5``): ``metadata["brat_ids"]`` maps ``"start end label"``
  to the ``T`` ids of such spans and ``metadata["brat_relation_ids"]`` maps
  ``"label start end label start end label"`` (relation label, then head and
  tail) to ``R`` ids, in file order. The writer gives every span and relation
  its id back, and new ones ids that no kept id uses (nor the id of a kept
  line, such as a kept ``R`` line), so that a kept line never comes to point
  at another annotation.

Error codes (:class:`~biobert.errors.DataFormatError`): E240 malformed line,
E241 annotation text differs from the text at its offsets, E242 reference to
an annotation id defined nowhere in the file (a relation argument may be a
``T`` or an ``E`` id, an ``N`` line's target a ``T`` id), E243 ``.ann``
without its ``.txt`` (or a directory without ``.ann`` files), E244 an annotation id defined twice in one ``.ann``;
when writing (the error names the ``.ann`` file that would be written, which is
not written, nor is any other): E245 a span or relation label, or an id's db or
id, that a ``.ann`` line cannot hold (empty, whitespace; a db with ``:``),
E246 two documents with the same id (they would share one file pair), E229 a text,
label or id that UTF-8 cannot encode (a lone surrogate);
E429 (:class:`~biobert.errors.ConfigError`) brat needs files, not a stream.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io._common import PathOrStream, iter_lines, parse_ids, read_all
from biobert.types import Document, Relation, Span

__all__ = ["read_brat", "write_brat", "brat_files"]

logger = logging.getLogger(__name__)

_TEXTBOUND = re.compile(r"^(\S+) (\d+ \d+(?:;\d+ \d+)*)$")
_RELATION = re.compile(r"^(\S+) Arg1:(\S+) Arg2:(\S+)$")
_NORM = re.compile(r"^(\S+) (T\S+) ([^:\s]+):(\S+)$")
_SAFE_ID = re.compile(r"^[^/\\\x00]+$")
# what the reader's patterns accept for a type (label) and for the two halves of an N line's reference
_TYPE = re.compile(r"^\S+$")
_DB = re.compile(r"^[^:\s]+$")
_BREAK = re.compile(r"[\r\n]+")


def _reference_id(db: str, ident: str) -> tuple[str, str]:
    """``Span.ids`` pair of an N line's ``db:ident``, as :func:`biobert.io._common.parse_ids` would give it.

    A bare id from which parse_ids infers this db stays bare (``MESH:D001943`` -> ``("MESH", "D001943")``,
    ``ID:672`` -> ``("ID", "672")``: PubTator's ids come back as they were); any other keeps its prefix
    (``HGNC:1100`` -> ``("HGNC", "HGNC:1100")``, which PubTator and BioC then write whole; the bare ``1100``
    lost its database). ``OMIM:OMIM:608089``, as older versions wrote a prefixed id, reads as ``OMIM:608089``.
    """
    if db == "ID":  # biobert's "no database" (parse_ids' fallback): ID:672 is the bare 672, never "ID:672"
        return (db, ident)
    inferred = parse_ids(ident)
    return (db, ident) if inferred and inferred[0][0] == db else (db, f"{db}:{ident}")


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
    rel_lines: list[tuple[int, str, str, str, str, str]] = []
    norms: list[tuple[int, str, str, str]] = []
    other: list[tuple[int, str]] = []  # (line number, line): kept verbatim, in file order
    events: set[str] = set()  # E ids: a relation may name an event, which no Span can stand for
    defined: dict[str, int] = {}  # T id -> the line that defines it
    # the ids of the file, for the writer: attribute, note, equivalence and event lines refer to them
    t_ids: dict[str, list[str]] = {}
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
            if cols[0] in defined:
                # the second definition would silently replace the first span, and relations/N lines are ambiguous
                raise DataFormatError("E244", ann, lineno, f"an annotation id not used before (line {defined[cols[0]]} defines {cols[0]})",
                                      found=line)
            defined[cols[0]] = lineno
            start, end = min(a for a, _ in frags), max(b for _, b in frags)
            span = Span(start, end, label, text=text[start:end])
            spans[cols[0]] = span
            t_ids.setdefault(_span_key(span), []).append(cols[0])
            if len(frags) > 1:
                fragments[f"{start} {end} {label}"] = frags
        elif kind == "R":
            m = _RELATION.match(cols[1]) if len(cols) >= 2 else None
            if m is None:
                raise DataFormatError("E240", ann, lineno, "'R<id><TAB><type> Arg1:<id> Arg2:<id>'", found=line)
            rel_lines.append((lineno, cols[0], m.group(1), m.group(2), m.group(3), line))
        elif kind == "N":
            m = _NORM.match(cols[1]) if len(cols) >= 2 else None
            if m is not None and "|" in m.group(4):
                # one N line names one entry; "D001|D002" would be one id here and two in every other format
                raise DataFormatError("E240", ann, lineno, "one 'db:id' per N line (no '|': write one N line per id)", found=line)
            if m is None:
                raise DataFormatError("E240", ann, lineno, "'N<id><TAB>Reference <T id> <db>:<id>[<TAB><name>]'", found=line)
            norms.append((lineno, m.group(2), m.group(3), m.group(4)))
        elif kind in ("A", "M", "E", "*", "#"):
            if kind == "E":
                events.add(cols[0])
            other.append((lineno, line))
        else:
            raise DataFormatError("E240", ann, lineno, "a line starting with T, R, N, A, M, E, * or #", found=line)

    def ref(lineno: int, key: str) -> Span:
        if key not in spans:
            raise DataFormatError("E242", ann, lineno, f"a text-bound annotation id defined in {ann.name}", found=key)
        return spans[key]

    ids: dict[str, list[tuple[str, str]]] = {}
    for lineno, key, db, ident in norms:
        ref(lineno, key)
        ids.setdefault(key, []).append(_reference_id(db, ident))
    for key, pairs in ids.items():
        s = spans[key]
        spans[key] = Span(s.start, s.end, s.label, s.score, tuple(pairs), text=s.text)
    relations: list[Relation] = []
    r_ids: dict[str, list[str]] = {}
    n_event_relations = 0
    for n, rid, label, a1, a2, line in rel_lines:
        if a1 in spans and a2 in spans:
            r = Relation(spans[a1], spans[a2], label)
            relations.append(r)
            r_ids.setdefault(_relation_key(r), []).append(rid)
            continue
        for arg in (a1, a2):
            if arg not in spans and arg not in events:
                raise DataFormatError("E242", ann, n, f"an annotation id (text-bound or event) defined in {ann.name}", found=arg)
        # an event argument (brat's own event-relation form): no Relation can hold it, so the line is kept
        # verbatim and written back, like the event line it refers to
        other.append((n, line))
        n_event_relations += 1
    other.sort()  # file order, the relation lines kept above among the rest
    meta: dict[str, Any] = {"source": str(ann)}
    if t_ids:
        meta["brat_ids"] = t_ids
    if r_ids:
        meta["brat_relation_ids"] = r_ids
    if fragments:
        meta["brat_fragments"] = fragments
    if other:
        meta["brat_other"] = [line for _, line in other]
        logger.info("%s: %d attribute/event/equivalence/note line(s) kept verbatim in metadata['brat_other']", ann,
                    len(other) - n_event_relations)
    if n_event_relations:
        logger.info("%s: %d relation(s) with an event argument kept verbatim in metadata['brat_other']", ann, n_event_relations)
    return Document(id=ann.stem, text=text, metadata=meta).with_spans(list(spans.values())).with_relations(relations)


def _span_key(s: Span) -> str:
    """Key of a span in ``metadata["brat_fragments"]`` and ``metadata["brat_ids"]``."""
    return f"{s.start} {s.end} {s.label}"


def _relation_key(r: Relation) -> str:
    """Key of a relation in ``metadata["brat_relation_ids"]``: its label, then the keys of head and tail."""
    return f"{r.label} {_span_key(r.head)} {_span_key(r.tail)}"


def _id_source(kept: Any, prefix: str, reserved: Iterable[str] = ()) -> Callable[[str], str]:
    """Ids for one kind of annotation (``T`` or ``R``) of a document: for a key, the next id it had in the ``.ann``
    file it was read from (``kept``: key -> ids in file order), else a new ``<prefix><n>`` that no kept id uses
    (a kept line such as ``A1<TAB>Negated T5`` must not come to name another annotation), nor any of
    ``reserved`` (the ids of the verbatim lines written too, such as a kept ``R1<TAB>Cause Arg1:E1 Arg2:T3``)."""
    pools: dict[str, list[str]] = {}
    for key, ids in (kept.items() if isinstance(kept, dict) else ()):
        # only ids a line can hold and that name this kind (metadata edited by hand must not break the file)
        pools[key] = [i for i in ids if isinstance(i, str) and i.startswith(prefix) and _TYPE.fullmatch(i)]
    taken = {i for ids in pools.values() for i in ids} | set(reserved)
    n = 0

    def next_id(key: str) -> str:
        nonlocal n
        if pools.get(key):
            return pools[key].pop(0)
        n += 1
        while f"{prefix}{n}" in taken:
            n += 1
        taken.add(f"{prefix}{n}")
        return f"{prefix}{n}"

    return next_id


def write_brat(docs: Iterable[Document], path: PathOrStream) -> dict[str, int]:
    """Write each document as ``<dir>/<id>.txt`` + ``<id>.ann``; returns counts of what was written.

    Spans become ``T`` lines (with their fragments when ``metadata["brat_fragments"]``
    has them), ids ``N`` lines (``db:id``), relations ``R`` lines, and ``metadata["brat_other"]``
    is written back verbatim. Spans and relations read from brat keep their ids (``metadata["brat_ids"]``,
    ``metadata["brat_relation_ids"]``), to which those lines refer; others get new ids. Placeholders of
    missing ids (db ``""``, the ``-1`` of ``D002544|-1``) have no ``N`` form; they are counted in
    ``missing_id_placeholders_not_written``. An id that will read back spelled otherwise (``NCBIGene`` ``672`` as
    ``NCBIGene:672``, ``MESH:D002945`` as ``D002945``) is counted in ``ids_respelled``. Every document is checked before any file is written,
    so an error leaves no half-written corpus behind.

    Labels are not rewritten: a label with a space ("Gene or gene product") is refused
    (E245) rather than mapped to brat's ``Gene_or_gene_product``, which would read back
    as a different label and no longer match the labels it came with; rename such
    labels before writing if brat output is wanted.

    Raises:
        ConfigError: E429 for a stream; E426 for a document id that is not a file name.
        DataFormatError: E245 a label, db or id that a ``.ann`` line cannot hold;
            E246 two documents with the same id; E229 a text, line or id that UTF-8 cannot encode (a lone surrogate).
        OffsetError: E112 a relation argument is not one of the document's spans;
            E113 a span holds nothing but line breaks.

    A span that crosses a line break is written as fragments around it (brat's
    own convention; counted in ``spans_split_at_line_breaks``); reading it back
    gives the same span, unless it starts or ends with line breaks: a fragment
    cannot hold one, so those are not written and the span reads back without
    them (``"ab\\n"`` as ``"ab"``; counted in ``spans_trimmed_at_line_breaks``).
    """
    out = _no_stream(path)
    counts = {"documents": 0, "spans": 0, "relations": 0, "ids": 0, "ids_respelled": 0, "fragmented_spans": 0, "spans_split_at_line_breaks": 0,
              "spans_trimmed_at_line_breaks": 0,
              "other_lines": 0, "missing_id_placeholders_not_written": 0, "document_relations_not_written": 0,
              "composite_names_not_written": 0}
    rendered: list[tuple[Document, list[str]]] = []
    seen: dict[str, int] = {}  # document id -> its position in docs
    for n, doc in enumerate(docs):
        if not _SAFE_ID.match(doc.id) or doc.id in (".", ".."):
            raise ConfigError(f"E426 document id {doc.id!r} cannot be a brat file name")
        ann = out / f"{doc.id}.ann"
        if doc.id in seen:
            # the second pair of files would replace the first while the counts claim both were written
            raise DataFormatError("E246", ann, None, "each document id once (a document is written to <id>.txt + <id>.ann)",
                                  found=f"document {doc.id!r} at positions {seen[doc.id]} and {n}")
        seen[doc.id] = n
        lines = _ann_lines(doc, ann, counts)
        # a lone surrogate ("\ud83d", from a broken decoder or a JSON escape) cannot be written as UTF-8: found
        # here, before any file is written, rather than as a bare UnicodeEncodeError half way through the corpus
        for file, value in ((out / f"{doc.id}.txt", doc.text), (ann, "\n".join(lines)), (ann, doc.id)):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                raise DataFormatError("E229", file, None, "text that UTF-8 can encode (no lone surrogate characters)",
                                      found=f"document {doc.id!r}: {value[max(0, e.start - 30) : e.end + 30]!r}") from None
        rendered.append((doc, lines))
        counts["documents"] += 1
        counts["spans"] += len(doc.spans)
        counts["relations"] += len(doc.relations)
        # brat relations join two T annotations; PubTator/BioC document-level relations join concept ids (CID
        # D008750 D007022), and composite-mention part names have no .ann form either: counted, not written
        counts["document_relations_not_written"] += len(doc.metadata.get("relations", ()))
        counts["composite_names_not_written"] += len(doc.metadata.get("composite_names", ()))
    for key in ("document_relations_not_written", "composite_names_not_written"):
        if counts[key]:
            logger.warning("brat output: %d %s (no brat form)", counts[key], key.replace("_", " "))
    if counts["missing_id_placeholders_not_written"]:
        logger.warning("%d placeholder(s) of missing ids ('-1' parts of composite mentions) have no brat form and were not written",
                       counts["missing_id_placeholders_not_written"])
    out.mkdir(parents=True, exist_ok=True)
    for doc, lines in rendered:
        (out / f"{doc.id}.txt").write_text(doc.text, encoding="utf-8", newline="")
        (out / f"{doc.id}.ann").write_text("".join(l + "\n" for l in lines), encoding="utf-8", newline="")
    return counts


def _unwritable(ann: Path, doc: Document, what: str, value: str, expected: str) -> DataFormatError:
    return DataFormatError("E245", ann, None, expected, found=f"document {doc.id!r}: {what} {value!r}")


def _ann_lines(doc: Document, ann: Path, counts: dict[str, int]) -> list[str]:
    """The ``.ann`` lines of ``doc`` (to be written to ``ann``); adds to ``counts`` what it splits, ids and kept lines."""
    frags = doc.metadata.get("brat_fragments", {})
    lines: list[str] = []
    tid: dict[tuple[int, int, str], str] = {}
    other = list(doc.metadata.get("brat_other", []))
    # a kept line's own id (R1 of a kept event relation) must not be given to a new annotation as well
    reserved = {line.split("\t", 1)[0] for line in other if isinstance(line, str)}
    t_ids = _id_source(doc.metadata.get("brat_ids"), "T", reserved)
    r_ids = _id_source(doc.metadata.get("brat_relation_ids"), "R", reserved)
    n_norm = 0
    for s in doc.spans:
        if not _TYPE.fullmatch(s.label):
            raise _unwritable(ann, doc, f"span ({s.start}, {s.end}) label", s.label,
                              "a span label without whitespace (brat types are one word; e.g. Gene_or_gene_product)")
        key = t_ids(_span_key(s))
        tid[s.key] = key
        fr = frags.get(_span_key(s)) or [[s.start, s.end]]
        if any(_BREAK.search(doc.text, a, b) for a, b in fr):
            # brat's own rule: an annotation that crosses a line break is stored as fragments around it
            fr = [piece for a, b in fr for piece in _split_at_breaks(doc.text, a, b)]
            counts["spans_split_at_line_breaks"] += 1
            if not fr:
                raise OffsetError(f"E113 span {s.start}-{s.end} of {doc.id!r} holds only line breaks; brat cannot store it")
            if (fr[0][0], fr[-1][1]) != (s.start, s.end):
                # a fragment holds no line break, so breaks at the ends of the span are not written and the span
                # reads back as its trimmed hull ("ab\n" as "ab"): the data changed, so it is counted
                counts["spans_trimmed_at_line_breaks"] += 1
        offs = ";".join(f"{a} {b}" for a, b in fr)
        mention = " ".join(doc.text[a:b] for a, b in fr)
        lines.append(f"{key}\t{s.label} {offs}\t{mention}")
        counts["fragmented_spans"] += len(fr) > 1
        for db, ident in s.ids:
            if not db:
                # PubTator/BioC keep a "-1" part of "D002544|-1" as ("", "-1") (biobert.io._common.MISSING_DB) to align
                # ids with composite parts; an N line names an entry and cannot say "no id", so it is counted, not written
                counts["missing_id_placeholders_not_written"] += 1
                continue
            if not _DB.fullmatch(db) or not _TYPE.fullmatch(ident) or "|" in ident:
                # "|" joins ids in every other format: one N line holding "D001|D002" would read back as two ids there
                raise _unwritable(ann, doc, f"span ({s.start}, {s.end}) id", f"{db}:{ident}",
                                  "an id whose db has no ':' or whitespace and whose id has no whitespace or '|' (N line 'db:id')")
            n_norm += 1
            # an N line names "db:id": an id that starts with its db ("OMIM:608089", a linker's "MESH:D001943")
            # is written as it is, a bare one ("D001943") with the prefix. The reader gives PubTator's spelling
            # back (bare where the db follows from the id), so an id may read back spelled otherwise: counted
            ref = ident if ident.startswith(f"{db}:") else f"{db}:{ident}"
            if _reference_id(*ref.split(":", 1)) != (db, ident):
                counts["ids_respelled"] += 1
            ident = ref
            lines.append(f"N{n_norm}\tReference {key} {ident}\t{mention}")
    for r in doc.relations:
        if r.head.key not in tid or r.tail.key not in tid:
            raise OffsetError(f"E112 relation {r.label!r} of {doc.id!r} has an argument that is not one of its spans")
        if not _TYPE.fullmatch(r.label):
            raise _unwritable(ann, doc, "relation label", r.label, "a relation label without whitespace (brat types are one word)")
        lines.append(f"{r_ids(_relation_key(r))}\t{r.label} Arg1:{tid[r.head.key]} Arg2:{tid[r.tail.key]}")
    lines += other
    counts["ids"] += n_norm
    counts["other_lines"] += len(other)
    return lines
