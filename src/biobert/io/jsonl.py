"""JSON Lines of :class:`~biobert.types.Document`: one ``Document.to_dict()`` per line.

This is the lossless interchange format of the toolkit: every field,
metadata included, survives a round trip.
"""

from __future__ import annotations

import json
from typing import Iterable, Iterator

from biobert.errors import BiobertError, DataFormatError
from biobert.io._common import PathOrStream, describe, iter_lines, open_out
from biobert.types import Document

__all__ = ["read_jsonl", "iter_jsonl", "write_jsonl"]

# only ever inside JSON strings (json.dumps escapes every other control character), where \uXXXX is equivalent
_ESCAPE = {c: f"\\u{c:04x}" for c in (0x85, 0x2028, 0x2029)}


def iter_jsonl(path: PathOrStream) -> Iterator[Document]:
    """Yield documents from a JSON Lines file, one line at a time; blank lines are skipped.

    Raises:
        DataFormatError: E230 a line is not valid JSON, E231 it is JSON but not a document.
    """
    name, _ = describe(path)
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFormatError("E230", name, lineno, f"a JSON object ({e.msg} at column {e.colno})", found=line) from None
        if not isinstance(obj, dict):
            raise DataFormatError("E231", name, lineno, "a JSON object holding a document", found=line)
        try:
            yield Document.from_dict(obj)
        except (KeyError, TypeError, ValueError, BiobertError) as e:
            # missing "text", wrong types, or offsets that do not fit the text
            detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
            raise DataFormatError("E231", name, lineno, "a document as written by Document.to_dict", found=detail) from None


def read_jsonl(path: PathOrStream) -> list[Document]:
    """Read all documents of a JSON Lines file (see :func:`iter_jsonl`)."""
    return list(iter_jsonl(path))


def write_jsonl(docs: Iterable[Document], path_or_stream: PathOrStream) -> dict[str, int]:
    """Write one JSON object per document (UTF-8, non-ASCII characters kept as they are).

    Returns:
        ``{"docs": n}``.
    """
    n = 0
    with open_out(path_or_stream) as f:
        for doc in docs:
            # ensure_ascii=False keeps Greek letters readable; the characters str.splitlines() treats as
            # line breaks are escaped so that line-oriented tools see one document per line
            f.write(json.dumps(doc.to_dict(), ensure_ascii=False).translate(_ESCAPE) + "\n")
            n += 1
    return {"docs": n}
