"""CoNLL / IOB files: one token per line, tag in a column, blank line between sentences.

Reading rebuilds a text from the tokens (tokens joined with one space,
sentences with ``\\n``) so that every span has exact character offsets like
any other :class:`~biobert.types.Document`. Chunks are decoded with
conlleval semantics (:func:`biobert.labels.tags_to_chunks`); tags that do not
follow the scheme (``I`` after ``O``, ...) are repaired the way the scorer
repairs them and counted in ``metadata["repaired_tags"]``.

Tag schemes: BIO (IOB2), IOBES and BILOU, typed (``B-Disease``) or untyped
(``B``, as in BioBERT's files). Untyped documents carry
``metadata["untyped"] = True`` and are written back untyped.

Document boundaries: ``-DOCSTART-`` lines (CoNLL-2003), and the
``###MEDLINE:<id>`` header lines of the original JNLPBA files
(``Genia4ERtask*.iob2``, ``Genia4EReval*.iob2``), whose id is kept in
``metadata["medline"]`` and written back as the same header.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io._common import PathOrStream, describe, iter_lines, open_out
from biobert.labels import chunks_to_tags, split_tag, tags_to_chunks
from biobert.text import split_sentences, tokenize_words
from biobert.types import Document, Span

__all__ = ["read_conll", "write_conll", "DOCSTART", "MEDLINE", "CONTEXT_GROUP"]

logger = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"

#: prefix of the abstract header lines of the original JNLPBA 2004 files (``###MEDLINE:96077708``): a line that
#: holds only such a header opens a document, like ``-DOCSTART-``; the id goes to ``metadata["medline"]``
MEDLINE = "###MEDLINE:"

#: ``Document.metadata`` key: consecutive documents with the same value are consecutive sentences of one
#: running text (a CoNLL file without ``-DOCSTART-``), so they may serve as each other's context.
CONTEXT_GROUP = "context_group"

# stripped from the end of every line: ASCII blanks and a stray \r (never part of a tag); other Unicode
# whitespace is left alone, so that a line holding only U+00A0 stays an error rather than a sentence break
_TRAILING = " \t\r\f\v"

# raw tag prefixes each scheme admits ("O" is always allowed)
_ALLOWED = {
    "BIO": frozenset("BI"),
    "IOB2": frozenset("BI"),
    "IOBES": frozenset("BIES"),
    "BILOU": frozenset("BILU"),
}


@dataclass
class _Sentence:
    tokens: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # 1-based file line of each token, for messages


def _fields(line: str, sep: str | None) -> list[str]:
    if sep is not None:
        return line.split(sep)
    if "\t" in line:
        return line.rstrip(" \t").split("\t")
    # whitespace-separated: ASCII spaces only, so a token holding NBSP stays one token
    return [f for f in line.split(" ") if f]


def read_conll(
    path: PathOrStream,
    *,
    scheme: str = "auto",
    untyped_label: str = "ENTITY",
    column: int = -1,
    sep: str | None = None,
) -> list[Document]:
    """Read a CoNLL/IOB file into documents.

    Args:
        path: file path or text stream.
        scheme: ``"auto"`` (accept B/I/O/E/S/L/U), or ``"BIO"``, ``"IOBES"``,
            ``"BILOU"`` to reject tags outside that scheme.
        untyped_label: span label for untyped tags (``B``/``I``).
        column: index of the tag column (token is always column 0); default last,
            so ``token gold pred`` files need ``column=1`` for the gold tags.
        sep: column separator; ``None`` splits on tabs when the line has one,
            else on runs of ASCII spaces.

    Returns:
        One document per ``-DOCSTART-`` section (a section with no tokens, as
        between two consecutive ``-DOCSTART-`` lines, is an empty document)
        or ``###MEDLINE:<id>`` section (JNLPBA; ``metadata["medline"]`` holds the id),
        or, in files without such lines, one per sentence. Trailing blanks
        and carriage returns on a line are not part of any column. Ids are ``"<file stem>:<n>"`` (0-based).
        ``metadata`` holds ``scheme`` (detected), ``repaired_tags`` and, where
        applicable, ``untyped`` and ``docstart``. Without ``-DOCSTART-`` lines,
        ``context_group`` (the file name) marks the sentence documents as one
        running text, whose neighbouring sentences context models use
        (:func:`biobert.tasks.ner.sentence_groups`); put ``-DOCSTART-`` between
        independent texts.

    Raises:
        DataFormatError: E201 missing tag column, E202 invalid tag, E203 empty
            token or token containing a space, E204 typed and untyped tags mixed.
    """
    if scheme != "auto" and scheme not in _ALLOWED:
        raise ConfigError(f"unknown tag scheme {scheme!r}; expected auto, BIO, IOBES or BILOU")
    if column == 0:
        raise ConfigError("column 0 holds the token; the tag column must be another one")
    name, stem = describe(path)

    # groups[0]: sentences before the first -DOCSTART- (a document only when it has any); groups[k]: the
    # sentences of the k-th -DOCSTART- section, kept even when empty: two -DOCSTART- lines with nothing
    # between them are an empty document (write_conll writes one that way), and dropping it would shift
    # every later document
    groups: list[list[_Sentence]] = [[]]
    medline: list[str | None] = [None]  # per group: the id of its ###MEDLINE: header (JNLPBA), if it has one
    has_docstart = False
    cur = _Sentence()
    prefixes: set[str] = set()
    typed_line = untyped_line = 0  # first line with a typed / untyped tag

    for lineno, line in iter_lines(path):
        # a \r left by "\r\r\n" or by a CRLF last line without its \n, or trailing blanks, belongs to no
        # column: kept, it would end up in the tag ("B-Gene\r" is a label of its own)
        line = line.rstrip(_TRAILING)
        if not line:
            if cur.tokens:
                groups[-1].append(cur)
                cur = _Sentence()
            continue
        fields = _fields(line, sep)
        # a JNLPBA header is a line of its own; a token that merely starts with "###MEDLINE:" has a tag column
        header = len(fields) == 1 and fields[0].startswith(MEDLINE)
        if fields[0] == DOCSTART or header:
            if cur.tokens:
                groups[-1].append(cur)
                cur = _Sentence()
            has_docstart = True
            groups.append([])
            medline.append(fields[0][len(MEDLINE) :] if header else None)
            continue
        token = fields[0]
        # a carriage return inside a token (a stray CR of a CRLF file edited by hand) would be a token the
        # writer cannot write back (E111) and a line break inside the rebuilt text
        if not token or " " in token or "\r" in token:
            raise DataFormatError("E203", name, lineno, "a non-empty token without spaces or carriage returns in the first column", found=line)
        idx = column if column >= 0 else len(fields) + column
        if not (0 < idx < len(fields)):
            where = "the last column" if column == -1 else f"column {column} (0-based)" if column >= 0 else f"column {column} from the end"
            raise DataFormatError("E201", name, lineno, f"a token and a tag separated by a tab or space (tag in {where})", found=line)
        tag = fields[idx]
        try:
            _, typ = split_tag(tag)
        except ValueError:
            raise DataFormatError("E202", name, lineno, "a tag O, B, I, E, S, L or U, optionally followed by -TYPE", found=tag) from None
        if tag != "O":
            prefix = tag.partition("-")[0]
            if scheme != "auto" and prefix not in _ALLOWED[scheme]:
                raise DataFormatError("E202", name, lineno, f"a {scheme} tag", found=tag)
            prefixes.add(prefix)
            if typ:
                typed_line = typed_line or lineno
            else:
                untyped_line = untyped_line or lineno
            if typed_line and untyped_line:
                raise DataFormatError(
                    "E204", name, lineno,
                    f"typed and untyped tags not mixed in one file (typed tag on line {typed_line}, untyped on {untyped_line})",
                    found=tag,
                )
        cur.tokens.append(token)
        cur.tags.append(tag)
        cur.lines.append(lineno)
    if cur.tokens:
        groups[-1].append(cur)

    detected = "BILOU" if prefixes & {"L", "U"} else "IOBES" if prefixes & {"E", "S"} else "BIO"
    base_meta: dict = {"scheme": detected}
    if untyped_line and not typed_line:
        base_meta["untyped"] = True
    if has_docstart:
        base_meta["docstart"] = True
        first = 0 if groups[0] else 1  # sentences before the first boundary line are a document only when there are any
        per_doc = groups[first:]
        headers = medline[first:]
    else:
        per_doc = [[s] for g in groups for s in g]
        headers = [None] * len(per_doc)
        # one document per sentence, but they are consecutive sentences of one text (BioBERT's files keep
        # abstract order): models trained with neighbouring-sentence context may read each other's words
        base_meta[CONTEXT_GROUP] = name

    docs = [
        _make_document(f"{stem}:{i}", sents, base_meta if head is None else dict(base_meta, medline=head), untyped_label, detected)
        for i, (sents, head) in enumerate(zip(per_doc, headers))
    ]
    repaired = sum(d.metadata["repaired_tags"] for d in docs)
    if repaired:
        lines = [n for d in docs for n in d.metadata.get("repaired_tag_lines", ())]
        shown = ", ".join(map(str, lines[:10])) + (", ..." if len(lines) > 10 else "")
        logger.warning("%s: %d tag(s) did not follow the %s scheme and were read as conlleval reads them (lines %s)",
                       name, repaired, detected, shown)
    return docs


def _make_document(doc_id: str, sents: list[_Sentence], base_meta: dict, untyped_label: str, detected: str) -> Document:
    parts: list[str] = []
    tokens: list[tuple[int, int]] = []
    sentences: list[tuple[int, int]] = []
    spans: list[Span] = []
    repaired = 0
    repaired_lines: list[int] = []
    canon = "BIO" if detected == "BIO" else "IOBES"
    pos = 0
    for k, sent in enumerate(sents):
        if k:
            parts.append("\n")
            pos += 1
        first = len(tokens)
        for j, tok in enumerate(sent.tokens):
            if j:
                parts.append(" ")
                pos += 1
            parts.append(tok)
            tokens.append((pos, pos + len(tok)))
            pos += len(tok)
        sentences.append((tokens[first][0], pos))
        chunks = tags_to_chunks(sent.tags)
        # a tag is "repaired" when it differs from the canonical encoding of the chunks it produced
        canonical = chunks_to_tags(chunks, len(sent.tags), canon)
        bad = [j for j, (a, b) in enumerate(zip(sent.tags, canonical)) if split_tag(a) != split_tag(b)]
        repaired += len(bad)
        repaired_lines += [sent.lines[j] for j in bad] if sent.lines else []
        for a, b, typ in chunks:
            spans.append(Span(tokens[first + a][0], tokens[first + b - 1][1], typ or untyped_label))
    text = "".join(parts)
    spans = [Span(s.start, s.end, s.label, text=text[s.start : s.end]) for s in spans]
    meta = dict(base_meta, repaired_tags=repaired)
    if repaired_lines:
        meta["repaired_tag_lines"] = repaired_lines
    return Document(id=doc_id, text=text, spans=tuple(spans), metadata=meta, sentences=tuple(sentences), tokens=tuple(tokens))


# -- writing ------------------------------------------------------------------


def _doc_tokens(doc: Document) -> list[tuple[int, int]]:
    if doc.tokens:
        return list(doc.tokens)
    cuts = [x for s in doc.spans for x in (s.start, s.end)]
    return tokenize_words(doc.text, 0, len(doc.text), boundaries=cuts)


def _encode(
    doc: Document, tokens: list[tuple[int, int]], spans: Iterable[Span], scheme: str, untyped: bool
) -> tuple[list[str], list[tuple[int, int]], int]:
    """Tags for ``tokens``; also the token ranges of the kept spans and the number of dropped overlapping spans."""
    by_start = {a: i for i, (a, _) in enumerate(tokens)}
    by_end = {b: i for i, (_, b) in enumerate(tokens)}
    chunks: list[tuple[int, int, str]] = []
    dropped = 0
    last_end = -1
    # earliest start first, longest first on ties: the later / shorter of two overlapping spans is dropped
    for s in sorted(spans, key=lambda s: (s.start, -s.end, s.label)):
        a, b = by_start.get(s.start), by_end.get(s.end)
        if a is None or b is None or b < a:
            raise OffsetError(
                f"E110 span ({s.start}, {s.end}) {doc.text[s.start:s.end]!r} of document {doc.id!r} "
                "does not start and end on token boundaries"
            )
        if a <= last_end:
            dropped += 1
            continue
        chunks.append((a, b + 1, "" if untyped else s.label))
        last_end = b
    tags = chunks_to_tags(chunks, len(tokens), "BIO" if scheme == "BIO" else "IOBES")
    if scheme == "BILOU":
        tags = [{"E": "L", "S": "U"}.get(t[0], t[0]) + t[1:] if t != "O" else t for t in tags]
    return tags, [(a, b) for a, b, _ in chunks], dropped


def _sentence_starts(doc: Document, tokens: list[tuple[int, int]], kept: list[tuple[int, int]]) -> tuple[list[int], int]:
    """Indices of the tokens that open a sentence, and how many breaks were removed because a span crossed them."""
    ranges = list(doc.sentences) or split_sentences(doc.text)
    starts = sorted(a for a, _ in ranges)
    breaks: list[int] = []
    k = 0
    for i, (a, _) in enumerate(tokens):
        opened = False
        while k < len(starts) and starts[k] <= a:
            opened = True
            k += 1
        if opened and i > 0:
            breaks.append(i)
    inside = set()
    for a, b in kept:  # token ranges [a, b) of written spans
        inside.update(range(a + 1, b))
    kept_breaks = [i for i in breaks if i not in inside]
    return [0, *kept_breaks] if tokens else [], len(breaks) - len(kept_breaks)


def _boundary_line(doc: Document, n_columns: int) -> str:
    """The line that opens ``doc``: its JNLPBA ``###MEDLINE:<id>`` header when it was read with one, so that the
    abstract ids survive a round trip, else ``-DOCSTART-`` with an ``O`` in every tag column."""
    head = doc.metadata.get("medline")
    if isinstance(head, str):
        if any(c.isspace() for c in head):
            # the reader takes a header to be one field: a blank inside would read back as a token line
            raise ConfigError(f"document {doc.id!r}: MEDLINE id {head!r} holds whitespace and cannot be written as a ###MEDLINE: line")
        return MEDLINE + head
    return "\t".join([DOCSTART] + ["O"] * n_columns)


def write_conll(
    docs: Iterable[Document],
    path_or_stream: PathOrStream,
    scheme: str = "BIO",
    extra_columns: Sequence[Sequence[Document]] | None = None,
    *,
    docstart: bool | None = None,
    untyped: bool | None = None,
) -> dict[str, int]:
    """Write documents as ``token<TAB>tag`` lines.

    Tokens come from ``doc.tokens``; documents without tokens are tokenised
    with :func:`biobert.text.tokenize_words`, cut at every span boundary.
    Sentences come from ``doc.sentences`` (else :func:`split_sentences`); a
    sentence break inside a span is not written, so the span survives.

    Args:
        docs: documents to write.
        path_or_stream: output path or text stream.
        scheme: ``"BIO"``, ``"IOBES"`` or ``"BILOU"``.
        extra_columns: parallel lists of documents (e.g. predictions for the
            same texts) whose spans are written as further tag columns, giving
            the conlleval layout ``token gold pred``.
        docstart: write ``-DOCSTART-`` before every document (``###MEDLINE:<id>``
            for a document with ``metadata["medline"]``, read from a JNLPBA file). ``None``: when a
            document came from a file with them, has several sentences or has
            no tokens (empty or whitespace-only text), so that reading the
            output gives the same documents back. With ``docstart=False`` a
            document without tokens cannot be represented (it would be no
            lines at all); it is not written and is counted in
            ``empty_docs_not_written``, not in ``docs``.
        untyped: write plain ``B``/``I`` tags; ``None`` follows ``metadata["untyped"]``.

    Returns:
        ``{"docs", "sentences", "tokens", "spans", "dropped_overlapping_spans",
        "merged_sentence_breaks", "empty_docs_not_written"}`` (``docs``: the
        documents in the output) (plus ``"dropped_overlapping_spans_extra"``,
        one count per extra column, when extra columns are given).

    Raises:
        OffsetError: E110 when a span does not align with token boundaries,
            E111 when a token is empty or contains whitespace.
    """
    if scheme not in ("BIO", "IOBES", "BILOU"):
        raise ConfigError(f"unknown tag scheme {scheme!r}; expected BIO, IOBES or BILOU")
    docs = list(docs)
    extras = [list(col) for col in (extra_columns or ())]
    for col in extras:
        if len(col) != len(docs):
            raise ConfigError(f"an extra column has {len(col)} documents for {len(docs)} documents")
    report = {"docs": 0, "sentences": 0, "tokens": 0, "spans": 0, "dropped_overlapping_spans": 0, "merged_sentence_breaks": 0,
              "empty_docs_not_written": 0}
    extra_dropped = [0] * len(extras)

    rendered: list[tuple[Document, list[tuple[int, int]], list[list[str]], list[int]]] = []
    for n, doc in enumerate(docs):
        tokens = _doc_tokens(doc)
        for a, b in tokens:
            # a space, tab or line break inside a token would break the line/column structure
            if a == b or any(c in " \t\n\r" for c in doc.text[a:b]):
                raise OffsetError(f"E111 token ({a}, {b}) {doc.text[a:b]!r} of document {doc.id!r} cannot be written as a CoNLL token")
        doc_untyped = bool(doc.metadata.get("untyped")) if untyped is None else untyped
        tags, kept, dropped = _encode(doc, tokens, doc.spans, scheme, doc_untyped)
        columns = [tags]
        for j, col in enumerate(extras):
            other = col[n]
            if other.text != doc.text:
                raise ConfigError(f"extra column {j}: document {other.id!r} has a different text than {doc.id!r}")
            o_untyped = bool(other.metadata.get("untyped")) if untyped is None else untyped
            o_tags, o_kept, o_dropped = _encode(doc, tokens, other.spans, scheme, o_untyped)
            columns.append(o_tags)
            kept = kept + o_kept
            extra_dropped[j] += o_dropped
        starts, merged = _sentence_starts(doc, tokens, kept)
        report["dropped_overlapping_spans"] += dropped
        report["merged_sentence_breaks"] += merged
        report["spans"] += len(doc.spans) - dropped
        rendered.append((doc, tokens, columns, starts))

    if docstart is None:
        # an empty document is only representable as a -DOCSTART- section with no tokens
        docstart = any(d.metadata.get("docstart") or len(s) != 1 for d, _, _, s in rendered)

    with open_out(path_or_stream) as f:
        for doc, tokens, columns, starts in rendered:
            if not tokens and not docstart:
                # without -DOCSTART- it would be no lines at all: reading back would lose it and shift every later document
                report["empty_docs_not_written"] += 1
                continue
            report["docs"] += 1
            if docstart:
                f.write(_boundary_line(doc, len(columns)) + "\n\n")
            bounds = [*starts, len(tokens)]
            for a, b in zip(bounds, bounds[1:]):
                for i in range(a, b):
                    s, e = tokens[i]
                    f.write("\t".join([doc.text[s:e], *(c[i] for c in columns)]) + "\n")
                f.write("\n")
                report["sentences"] += 1
                report["tokens"] += b - a
    if extras:
        report["dropped_overlapping_spans_extra"] = extra_dropped  # type: ignore[assignment]
    if report["empty_docs_not_written"]:
        logger.warning("%d document(s) without tokens cannot be written as CoNLL without -DOCSTART- lines and were not written",
                       report["empty_docs_not_written"])
    if report["dropped_overlapping_spans"]:
        logger.warning("%d overlapping span(s) cannot be encoded in %s tags and were not written", report["dropped_overlapping_spans"], scheme)
    return report
