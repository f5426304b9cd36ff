"""PubTator files (NCBI-disease, BC5CDR, PubTator exports).

A record is::

    PMID|t|title
    PMID|a|abstract
    PMID<TAB>start<TAB>end<TAB>mention<TAB>type<TAB>ids[<TAB>individual names]
    PMID<TAB>CID<TAB>id1<TAB>id2

Offsets index ``title + " " + abstract``, which becomes ``Document.text``
unchanged, so PubTator offsets are used as they are. Records are separated by
blank lines (also accepted: a new ``|t|`` line right after the previous record).

Identifiers are ``|``-joined (composite mentions carry one per part); each
becomes an ``(db, raw id)`` pair, see :func:`biobert.io._common.parse_ids`.
A lone ``-1`` (not normalisable) gives no id; inside a composite field
(``D002544|-1``) a ``-1`` part is kept as ``("", "-1")`` so that the pairs stay
aligned with the parts and their names (the optional 7th column), and the
field is written back exactly. A mention without an id whose id column is
something else than ``-1`` (empty, as in
``PMID<TAB>0<TAB>5<TAB>text<TAB>Disease<TAB>``, blank, or missing: a 5-column
line) gives the same ``()``; its column is kept in ``metadata["id_columns"]``
and written back as it was, not as ``-1``. Relation lines refer to concept
ids, not to mentions, so they are kept as lists in ``metadata["relations"]``
(``["CID", "D008750", "D007022"]``).

Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (old Mac files; PubTator text
cannot hold a line break, so a ``\\r`` inside a line can only be one).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Iterator

from biobert.errors import ConfigError, DataFormatError
from biobert.io._common import MISSING_DB, PathOrStream, describe, format_ids, iter_lines, open_out, parse_ids
from biobert.text.words import replace_surrogates
from biobert.types import Document, Span

__all__ = ["read_pubtator", "iter_pubtator", "write_pubtator"]

logger = logging.getLogger(__name__)

_HEAD = re.compile(r"([^|\t]+)\|([ta])\|")
#: an offset as PubTator writes it; str.isdigit() would also accept "²" or "٣", which int() refuses or misreads
_OFFSET = re.compile(r"[0-9]+")


def _numeric(col: str) -> bool:
    """Whether a column is meant as a number (``-1``, ``+5``, ``²``, ``1.5``), as opposed to a word such as ``CID``."""
    t = col[1:] if col[:1] in "+-" else col
    return t[:1].isnumeric()


def _lines(path: PathOrStream) -> Iterator[tuple[int, str]]:
    """:func:`iter_lines`, with a lone ``\\r`` also ending a line (CR-only files); numbered as an editor would."""
    n = 0
    for _, line in iter_lines(path):
        for piece in line.split("\r"):
            n += 1
            yield n, piece


class _Record:
    def __init__(self, pmid: str, title: str, line: int):
        self.pmid = pmid
        self.title = title
        self.line = line
        self.abstract: str | None = None
        self.mentions: list[tuple[int, list[str]]] = []
        self.relations: list[list[str]] = []


def iter_pubtator(path: PathOrStream) -> Iterator[Document]:
    """Yield the documents of a PubTator file one record at a time (see :func:`read_pubtator`)."""
    name, _ = describe(path)
    rec: _Record | None = None
    first_line: dict[str, int] = {}  # PMID -> the line of its first record (ids only: memory stays small)
    for lineno, line in _lines(path):
        if not line.strip():
            if rec is not None:
                yield _finish(rec, name)
                rec = None
            continue
        head = _HEAD.match(line)
        if head:
            pmid, kind, body = head.group(1), head.group(2), line[head.end() :]
            if kind == "t":
                if rec is not None:
                    yield _finish(rec, name)
                if pmid in first_line:
                    # two documents with one id: kept (a file may hold a document twice on purpose), but said,
                    # since writers and evaluations that key on the id would merge or overwrite them
                    logger.warning("%s:%d: PMID %s opens a second record (the first at line %d): two documents "
                                   "with the same id", name, lineno, pmid, first_line[pmid])
                first_line.setdefault(pmid, lineno)
                rec = _Record(pmid, body, lineno)
                continue
            if rec is None or rec.pmid != pmid or rec.abstract is not None or rec.mentions:
                raise DataFormatError("E210", name, lineno, "an abstract line right after the title line of the same PMID", found=line)
            rec.abstract = body
            continue
        cols = line.split("\t")
        if rec is None:
            raise DataFormatError("E210", name, lineno, "a title line 'PMID|t|title' to open the record", found=line)
        if cols[0] != rec.pmid:
            raise DataFormatError("E212", name, lineno, f"PMID {rec.pmid} of the current record", found=cols[0])
        if len(cols) >= 3 and _OFFSET.fullmatch(cols[1]) and _OFFSET.fullmatch(cols[2]):
            if len(cols) not in (5, 6, 7):
                raise DataFormatError(
                    "E210", name, lineno, "a mention line PMID, start, end, mention, type, ids[, names] (6 or 7 columns)", found=line
                )
            rec.mentions.append((lineno, cols))
        elif len(cols) >= 2 and _numeric(cols[1]):
            # Relation types are words (CID, Association, ...); a number here ("-1", "²") is the start of a
            # mention line with a bad offset. Reading it as a relation would lose the mention without a word.
            _bad_offsets(cols, name, lineno, line)
        elif len(cols) >= 4:
            rec.relations.append(cols[1:])
        else:
            raise DataFormatError("E210", name, lineno, "a mention line or a relation line 'PMID<TAB>REL<TAB>id1<TAB>id2'", found=line)
    if rec is not None:
        yield _finish(rec, name)


def _bad_offsets(cols: list[str], name: str, lineno: int, line: str) -> None:
    """Raise the error that fits a mention line whose offsets are not both plain non-negative numbers."""
    for col in cols[1:3]:
        if _OFFSET.fullmatch(col):
            continue
        if col[:1] == "-" and _OFFSET.fullmatch(col[1:]):
            raise DataFormatError("E213", name, lineno, "non-negative mention offsets", found=line)
        if _numeric(col):
            raise DataFormatError("E214", name, lineno, "mention offsets written in the ASCII digits 0-9", found=line)
        break
    raise DataFormatError("E210", name, lineno, "a mention line with numeric start and end offsets", found=line)


def read_pubtator(path: PathOrStream) -> list[Document]:
    """Read a PubTator file.

    Returns:
        One document per record, id = PMID, ``text = title + " " + abstract``
        (just the title when the record has no ``|a|`` line). ``metadata``:
        ``passages`` (``[{"type": "title", "offset": 0, "length": ...}, {"type": "abstract", ...}]``),
        and when present ``relations`` (lists of the columns after the PMID),
        ``composite_names`` (``[start, end, label, "name1|name2"]`` from
        the 7th column of composite mentions, in the order of the span's
        ids), ``id_columns`` (``[start, end, label, column]`` for mentions
        without an id whose id column is not ``-1``: ``""`` or blanks, or
        ``None`` for a line without the column; the writer writes it back),
        and ``padded_mentions``: the
        number of mention columns that matched the text only after removing
        surrounding spaces (accepted, since the offsets are right, and logged).

    Raises:
        DataFormatError: E210 unexpected line, E211 mention offsets do not
            cover the mention text, E212 PMID differs from its record's,
            E213 negative mention offset, E214 offset not in ASCII digits.
    """
    return list(iter_pubtator(path))


def _finish(rec: _Record, name: str) -> Document:
    title = rec.title
    passages: list[dict[str, Any]] = [{"type": "title", "offset": 0, "length": len(title)}]
    if rec.abstract is None:
        text = title
    else:
        text = f"{title} {rec.abstract}"
        passages.append({"type": "abstract", "offset": len(title) + 1, "length": len(rec.abstract)})
    spans: list[Span] = []
    composite: list[list[Any]] = []
    id_columns: list[list[Any]] = []
    padded = 0
    for lineno, cols in rec.mentions:
        start, end, mention, label = int(cols[1]), int(cols[2]), cols[3], cols[4]
        if start <= end <= len(text) and text[start:end] != mention and text[start:end] == mention.strip():
            # the offsets are right but the mention column carries stray spaces (one NCBI-disease train line)
            padded += 1
            mention = mention.strip()
        if not (start <= end <= len(text)) or text[start:end] != mention:
            raise DataFormatError(
                "E211", name, lineno,
                f"mention {mention!r} at {start}-{end} of the text of PMID {rec.pmid} (title + ' ' + abstract)",
                found=text[start:end] if start <= end else f"start {start} > end {end}",
            )
        ids = parse_ids(cols[5], keep_missing=True) if len(cols) > 5 else ()
        raw_ids = cols[5] if len(cols) > 5 else None
        if not ids and raw_ids != "-1":
            # "", blanks or no column mean "no id" as "-1" does, and a Span cannot tell them apart: the column is
            # kept so that the writer gives it back instead of a "-1"
            id_columns.append([start, end, label, raw_ids])
        spans.append(Span(start, end, label, ids=ids, text=mention))
        if len(cols) == 7:
            composite.append([start, end, label, cols[6]])
    meta: dict[str, Any] = {"passages": passages}
    if rec.relations:
        meta["relations"] = rec.relations
    if composite:
        meta["composite_names"] = composite
    if id_columns:
        meta["id_columns"] = id_columns
    if padded:
        logger.warning("%s: PMID %s: %d mention(s) with surrounding spaces in the mention column", name, rec.pmid, padded)
        meta["padded_mentions"] = padded
    return Document(id=rec.pmid, text=text, metadata=meta).with_spans(spans)


# -- writing ------------------------------------------------------------------

_UNSAFE = re.compile(r"[\t\r\n]")


def _title_end(doc: Document) -> int | None:
    """Length of the title: ``text[:n]`` is written as the title, ``text[n + 1:]`` as the abstract.

    ``None`` when the title is the whole text and no ``|a|`` line should be written.
    """
    text = doc.text
    passages = doc.metadata.get("passages") or []
    if passages and passages[0].get("offset") == 0:
        n = int(passages[0]["length"])
        return None if n >= len(text) and len(passages) == 1 else n
    if "\n" in text:
        return text.index("\n")
    # no structure known: all text is the title, plus an empty abstract (so it reads back with a trailing space)
    return len(text)


def check_pmid(pmid: str) -> None:
    """Raise unless ``pmid`` can open a PubTator record (``PMID|t|...``): not empty, no ``|``, no tab or line
    break, no spaces at the ends.

    Raises:
        ConfigError: E215 naming the id.
    """
    if not pmid or _UNSAFE.search(pmid) or "|" in pmid or pmid != pmid.strip():
        raise ConfigError(f"E215 document id {pmid!r} cannot be written as a PubTator PMID (no '|', tabs, line breaks "
                          "or spaces at the ends)")


def _check_columns(doc: Document, name: str) -> None:
    """Raise unless every span label and id (and relation label) of ``doc`` fits its column of a PubTator line.

    A tab would start another column (label ``"a\\tb"`` reads back as label ``"a"`` with id ``"b"``), a line break
    another line (an unreadable file), a ``|`` in an id another id (the reader splits the id column at ``|``), and
    spaces at the ends of an id are removed by the reader; replacing any of them would change the data unseen.

    Raises:
        DataFormatError: E217 naming the document, the span and the value.
    """
    for s in doc.spans:
        if _UNSAFE.search(s.label):
            raise DataFormatError("E217", name, None, "a span label without tabs or line breaks (a PubTator column)",
                                  found=f"document {doc.id!r}: span ({s.start}, {s.end}) label {s.label!r}")
        for db, ident in s.ids:
            if db != MISSING_DB and (_UNSAFE.search(ident) or "|" in ident or ident != ident.strip()):
                raise DataFormatError("E217", name, None, "an id without '|' (it joins ids), tabs, line breaks or spaces at the ends",
                                      found=f"document {doc.id!r}: span ({s.start}, {s.end}) id {ident!r}")
    for r in doc.relations:
        if _UNSAFE.search(r.label):
            raise DataFormatError("E217", name, None, "a relation label without tabs or line breaks (a PubTator column)",
                                  found=f"document {doc.id!r}: relation label {r.label!r}")


def write_pubtator(docs: Iterable[Document], path_or_stream: PathOrStream) -> dict[str, int]:
    """Write documents as PubTator records.

    Title and abstract come from ``metadata["passages"]`` (else the text is
    split at its first line break, else it all becomes the title, followed by
    an empty ``|a|`` line). The character between them is written as the
    PubTator space (another whitespace character there, such as ``"\\xa0"``, is
    counted in ``replaced_characters``). Tabs and line breaks inside title or abstract cannot be
    represented; they are written as spaces (offsets are unchanged) and
    counted, as are lone surrogates, written as U+FFFD. Span relations
    (``doc.relations``) are written as ``PMID<TAB>label<TAB>head<TAB>tail``
    using the first id of each span, or its mention text when it has none
    (a ``-1`` placeholder is not an id); they read back into
    ``metadata["relations"]``. Spans without ids get ``-1``, unless
    ``metadata["id_columns"]`` holds the column they were read with (empty,
    blank or missing), which is written back. PubTator has no
    place for confidence scores: spans and relations with a ``score`` are
    written without it and counted in ``dropped_scores``.

    Returns:
        ``{"docs", "mentions", "relations", "replaced_characters", "dropped_scores", "relation_arguments_named_by_text"}``;
        the last counts relation arguments without an id, which a relation line can only name by their mention
        text (PubTator's columns are concept ids: such a line is ambiguous and reads back as no span). Also
        ``relation_argument_ids_not_written`` (a relation line names one id per argument: the first of a
        composite) and ``ids_database_not_written`` (a bare id whose database the reader cannot infer, e.g.
        ``("NCBIGene", "672")``, which reads back as ``("ID", "672")``), and ``empty_abstracts_added``
        (a text with no passages and no line break is all title plus an empty ``|a|`` line, which reads back
        with one more character: the separator space).

    Raises:
        ConfigError: E215 a document id that cannot be a PMID; E216 a title not followed by a space.
        DataFormatError: E217 a span label, relation label or id that its column cannot hold (tab, line break;
            in an id also ``|`` or spaces at the ends), raised before any line of that document is written.
    """
    report = {"docs": 0, "mentions": 0, "relations": 0, "replaced_characters": 0, "dropped_scores": 0,
              "relation_arguments_named_by_text": 0, "relation_argument_ids_not_written": 0, "ids_database_not_written": 0,
              "empty_abstracts_added": 0}
    name, _ = describe(path_or_stream)
    with open_out(path_or_stream) as f:
        for doc in docs:
            pmid = doc.id
            check_pmid(pmid)
            _check_columns(doc, name)  # before any line of the record is written
            n = _title_end(doc)
            if n is not None and n < len(doc.text) and not doc.text[n].isspace():
                # PubTator puts exactly one separator character between title and abstract
                raise ConfigError(
                    f"E216 document {pmid!r}: the title ends at {n} but the next character {doc.text[n]!r} is not a space; "
                    "it cannot be written as PubTator without shifting offsets"
                )
            text, replaced = _UNSAFE.subn(" ", doc.text)
            if n is not None and n < len(doc.text) and _UNSAFE.match(doc.text, n):
                replaced -= 1  # the title/abstract separator is meant to become the space
            elif n is not None and n < len(doc.text) and text[n] != " ":
                # another whitespace separator ("\xa0", "\u2028"): the reader puts " " there, so the mentions
                # written must hold " " too (else they no longer match the text read back); a change, counted
                text = f"{text[:n]} {text[n + 1:]}"
                replaced += 1
            # one character for one, so that offsets stay right; the output file could not hold them at all
            text, bad = replace_surrogates(text)
            report["replaced_characters"] += replaced + bad
            if n == len(doc.text) and not doc.metadata.get("passages"):
                # no title/abstract structure: PubTator's empty abstract line reads back as title + " " + ""
                report["empty_abstracts_added"] += 1
            if n is None:
                f.write(f"{pmid}|t|{text}\n")
            else:
                f.write(f"{pmid}|t|{text[:n]}\n{pmid}|a|{text[n + 1:]}\n")
            names = {(s, e, lab): nm for s, e, lab, nm in doc.metadata.get("composite_names", ())}
            id_columns = {(s, e, lab): raw for s, e, lab, raw in doc.metadata.get("id_columns", ())}
            for s in doc.spans:
                key = (s.start, s.end, s.label)
                cols = [pmid, str(s.start), str(s.end), text[s.start : s.end], s.label, format_ids(s.ids)]
                if not s.ids and key in id_columns:
                    # the column the mention was read with ("" or blanks; None: it had none), not the "-1"
                    # format_ids writes for "no id"; a span given ids since then gets those instead
                    raw = id_columns[key]
                    if raw is None and key not in names:
                        cols.pop()
                    elif raw is not None and not _UNSAFE.search(str(raw)):
                        cols[-1] = str(raw)
                if key in names:
                    cols.append(names[key])
                f.write("\t".join(cols) + "\n")
                report["mentions"] += 1
                report["dropped_scores"] += s.score is not None
                # the column holds the ids only; the reader infers each one's database from its spelling
                report["ids_database_not_written"] += sum(1 for db, i in s.ids if db and parse_ids(i)[:1] != ((db, i),))
            for rel in doc.metadata.get("relations", ()):
                f.write("\t".join([pmid, *map(str, rel)]) + "\n")
                report["relations"] += 1
            for r in doc.relations:
                f.write(f"{pmid}\t{r.label}\t{_concept(r.head, text)}\t{_concept(r.tail, text)}\n")
                report["relations"] += 1
                for arg in (r.head, r.tail):  # a relation line names each argument by one id (_concept)
                    n_ids = sum(db != MISSING_DB for db, _ in arg.ids)
                    report["relation_arguments_named_by_text"] += n_ids == 0
                    report["relation_argument_ids_not_written"] += max(0, n_ids - 1)
                report["dropped_scores"] += r.score is not None
            f.write("\n")
            report["docs"] += 1
    return report


def _concept(span: Span, text: str) -> str:
    """What a relation line names for a span: its first id (not a ``-1`` placeholder), else its mention text."""
    return next((i for db, i in span.ids if db != MISSING_DB), text[span.start : span.end])
