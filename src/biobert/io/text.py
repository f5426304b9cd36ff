"""Plain text: a whole file as one document, or one document per line.

The text is kept exactly as stored (no Unicode or whitespace normalisation,
``\\r`` kept), so offsets that a tagger produces index the file content
itself; only a UTF-8 byte-order mark is dropped, and said: the document (with ``lines=True``, every line's)
gets ``metadata["bom_dropped"] = True``, and line offsets still count the mark as the file's first character.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Iterable, Iterator

from biobert.errors import ConfigError
from biobert.io._common import PathOrStream, decode_line, describe, open_bytes, open_out, read_all_and_bom
from biobert.types import Document

__all__ = ["read_text", "iter_text_lines", "write_text"]


def read_text(path: PathOrStream, *, lines: bool = False, doc_id: str | None = None, stats: Counter | None = None) -> list[Document]:
    """Read plain UTF-8 text.

    Args:
        path: file path or text stream.
        lines: one document per non-blank line instead of one per file. A line
            ends at ``\\n``; a ``\\r`` right before it belongs to the line
            terminator and is not part of the document.
        doc_id: id (or id prefix with ``lines=True``) instead of the file stem.
        stats: with ``lines=True``, counts the blank lines that made no document (``blank_lines_skipped``).

    Returns:
        ``[Document(id=stem, text=content)]``, or with ``lines=True`` one
        document per non-blank line, id ``"<stem>:<line number>"`` (1-based),
        ``metadata = {"line": n, "offset": character offset of the line in the file}``. A dropped byte-order
        mark adds ``"bom_dropped": True`` (so span offsets index the file from its second character on).

    Raises:
        DataFormatError: E200 when the file is not UTF-8.
    """
    _, stem = describe(path)
    stem = doc_id if doc_id is not None else stem
    content, bom = read_all_and_bom(path)
    if not lines:
        return [Document(id=stem, text=content, metadata={"bom_dropped": True} if bom else {})]
    docs: list[Document] = []
    offset = int(bom)  # the mark is the file's first character
    # split on "\n" only: str.splitlines() would also break at U+0085, U+2028, form feeds, ...
    for n, line in enumerate(content.split("\n"), 1):
        start = offset
        offset += len(line) + 1
        if line.endswith("\r"):
            line = line[:-1]
        if line.strip():
            docs.append(Document(id=f"{stem}:{n}", text=line, metadata={"line": n, "offset": start, **({"bom_dropped": True} if bom else {})}))
        elif stats is not None and start != len(content):  # the empty piece after a final newline is no line
            stats["blank_lines_skipped"] += 1
    return docs


def iter_text_lines(path: PathOrStream, *, doc_id: str | None = None) -> Iterator[Document]:
    """Yield one document per non-blank line, reading one line at a time (for files of any size).

    The same documents, ids and metadata as ``read_text(path, lines=True)``.

    Raises:
        DataFormatError: E200 at the first line that is not UTF-8.
    """
    name, stem = describe(path)
    stem = doc_id if doc_id is not None else stem
    if not isinstance(path, (str, os.PathLike)):
        yield from read_text(path, lines=True, doc_id=stem)
        return
    offset = 0
    bom: dict[str, bool] = {}
    with open_bytes(path) as f:  # .gz / .bz2 / .xz decompressed
        for n, raw in enumerate(f, 1):
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
                bom = {"bom_dropped": True}
                offset = 1  # the mark is the file's first character
            full = decode_line(raw, name, n)
            start = offset
            offset += len(full)
            line = full[:-1] if full.endswith("\n") else full
            if line.endswith("\r"):
                line = line[:-1]
            if line.strip():
                yield Document(id=f"{stem}:{n}", text=line, metadata={"line": n, "offset": start, **bom})


    content, bom = read_all_and_bom(path)
def write_text(docs: Iterable[Document], path_or_stream: PathOrStream, *, lines: bool = False) -> dict[str, int]:
    """Write document texts (annotations are not written).

    Args:
        docs: documents; exactly one unless ``lines=True``.
        path_or_stream: output path or text stream.
        lines: one line per document.

    Returns:
        ``{"docs": n}``, plus ``"bom_written": 1`` when the first document was read from a file with a
        byte-order mark (``metadata["bom_dropped"]``), which is written back first, and
        ``"leading_feff_read_as_bom": 1`` when the first document's text starts with U+FEFF without that
        metadata: the file then starts with the character, which readers (:func:`read_text` too) take for a
        byte-order mark and drop, so the text reads back one character shorter.

    Raises:
        ConfigError: several documents without ``lines=True``, or a document
            containing a line break with ``lines=True``.
    """
    docs = list(docs)
    if not lines and len(docs) != 1:
        raise ConfigError(f"plain text holds one document per file, got {len(docs)}; use lines=True for one per line")
    # a mark the reader dropped (metadata "bom_dropped") is written back: reading and writing gives the same bytes
    bom = bool(docs and docs[0].metadata.get("bom_dropped"))
    # a text of its own starting with U+FEFF (no mark recorded) is written as it is, and read back without it
    feff = bool(docs and not bom and docs[0].text.startswith("\ufeff"))
    with open_out(path_or_stream) as f:
        if bom:
            f.write("\ufeff")
        if not lines:
            f.write(docs[0].text)
        else:
            for doc in docs:
                if "\n" in doc.text or "\r" in doc.text:
                    raise ConfigError(f"document {doc.id!r} contains a line break and cannot be written one per line")
                f.write(doc.text + "\n")
    return {"docs": len(docs), **({"bom_written": 1} if bom else {}), **({"leading_feff_read_as_bom": 1} if feff else {})}
