"""JSON Lines of :class:`~biobert.types.Document` (one ``Document.to_dict()`` per line), and JSON: an array of
them, as ``biobert tag`` prints and ``/tag`` answers (``{"documents": [...]}``).

These are the lossless interchange formats of the toolkit: every field, metadata included, survives a round
trip. A ``.json`` file that holds BioC JSON instead (a PubTator3 download) is read as BioC JSON.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator

from biobert.errors import BiobertError, DataFormatError
from biobert.io._common import PathOrStream, describe, iter_lines, load_json_values, open_out
from biobert.types import Document

__all__ = ["read_jsonl", "iter_jsonl", "write_jsonl", "read_json", "write_json", "dumps", "escape_json"]

# only ever inside JSON strings (json.dumps escapes every other control character), where \uXXXX is equivalent:
# the characters str.splitlines() treats as line breaks, so that line-oriented tools see one document per line, and
# lone surrogates (U+D800-U+DFFF), which UTF-8 cannot encode but a JSON escape holds losslessly (and reads back)
_ESCAPE = {c: f"\\u{c:04x}" for c in (0x85, 0x2028, 0x2029, *range(0xD800, 0xE000))}


def escape_json(text: str) -> str:
    """JSON text written with ``ensure_ascii=False``, its line-break characters and lone surrogates escaped
    (see ``_ESCAPE``); for serialisers other than :func:`dumps` (BioC JSON)."""
    return text.translate(_ESCAPE)


def dumps(obj: Any, indent: int | None = None) -> str:
    """``json.dumps`` for our outputs: non-ASCII characters kept readable, line-break characters and lone
    surrogates escaped (see ``_ESCAPE``)."""
    return escape_json(json.dumps(obj, indent=indent, ensure_ascii=False))


def iter_jsonl(path: PathOrStream) -> Iterator[Document]:
    """Yield documents from a JSON Lines file, one line at a time; blank lines are skipped.

    Raises:
        DataFormatError: E230 a line is not valid JSON, E231 it is JSON but not a document (a missing field, offsets
            that do not fit the text), E232 a field of the wrong type or null (``"start": 0.7``, ``"label": null``).
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
        yield _from_dict(obj, name, lineno)


def _from_dict(obj: dict, name: str, line: int | None, where: str = "") -> Document:
    """``Document.from_dict(obj)``, or E231 naming the file, the line (or ``where`` in it) and the problem."""
    try:
        return Document.from_dict(obj)
    except DataFormatError as e:
        # from_dict names the field but cannot know the file: the same error, placed in the file
        expected = e.expected + (f" ({where})" if where else "")
        raise DataFormatError(e.code, name, line, expected, found=e.found) from None
    except (KeyError, TypeError, ValueError, BiobertError) as e:
        # missing "text", wrong types, or offsets that do not fit the text
        detail = f"missing field {e}" if isinstance(e, KeyError) else str(e)
        expected = "a document as written by Document.to_dict" + (f" ({where})" if where else "")
        raise DataFormatError("E231", name, line, expected, found=detail) from None


def _is_document(obj: object) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("text"), str) and "passages" not in obj


def read_json(path: PathOrStream, **bioc_options: object) -> list[Document]:
    """Read a JSON file of documents: an array of ``Document.to_dict()`` objects (what ``biobert tag`` prints),
    ``{"documents": [...]}`` (what ``/tag`` answers), one document, or one per line; anything else is read as
    BioC JSON (:func:`biobert.io.bioc.read_bioc_json`, which takes ``bioc_options``).

    Raises:
        DataFormatError: E225 not JSON (or not BioC JSON either), E231 a document that does not fit its text,
            E232 a field of the wrong type or null.
    """
    from biobert.io.bioc import bioc_json_documents

    name, values = load_json_values(path, "JSON: documents (an array of Document objects) or BioC JSON")
    docs: list[Document] = []
    for v in values:
        items = v.get("documents") if isinstance(v, dict) and isinstance(v.get("documents"), list) else v
        if _is_document(items):
            docs.append(_from_dict(items, name, None, "document"))
        elif isinstance(items, list) and items and all(_is_document(x) for x in items):
            docs += [_from_dict(x, name, None, f"item {i}") for i, x in enumerate(items)]
        else:
            docs += bioc_json_documents([v], name, **bioc_options)  # type: ignore[arg-type]
    return docs


def write_json(docs: Iterable[Document], path_or_stream: PathOrStream) -> dict[str, int]:
    """Write documents as one JSON array of ``Document.to_dict()`` objects (what ``biobert tag`` prints).

    Returns:
        ``{"docs": n}``.
    """
    items = [doc.to_dict() for doc in docs]
    with open_out(path_or_stream) as f:
        f.write(dumps(items, indent=2) + "\n")
    return {"docs": len(items)}


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
            f.write(dumps(doc.to_dict()) + "\n")
            n += 1
    return {"docs": n}
