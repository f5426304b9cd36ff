"""Tag schemes (BIO, IOBES/BILOU) and conversion between word tags and chunks.

Chunking follows ``conlleval.pl`` exactly (``startOfChunk`` / ``endOfChunk``):
an ``I`` after ``O`` or after a chunk of another type starts a new chunk, so
invalid sequences are repaired the way the official scorer repairs them.

Labels are split on the *first* ``-`` only, so types containing hyphens
(``B-Gene-or-gene-product``) survive (spaCy PR#10960, scispacy PR#569).
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["split_tag", "tags_to_chunks", "chunks_to_tags", "bio_label_list", "UNTYPED"]

#: Internal type name used for untyped ``B``/``I`` tags (BioBERT's collapsed files).
UNTYPED = ""

_PREFIXES = {"B", "I", "E", "S", "L", "U", "O"}


def split_tag(tag: str) -> tuple[str, str]:
    """Split ``"B-Disease"`` into ``("B", "Disease")``; ``"O"`` gives ``("O", "")``.

    Only the first ``-`` separates prefix from type. Tags of the form
    ``Disease-B`` are not supported. Raises ``ValueError`` on an unknown prefix
    so that readers can turn it into a located :class:`DataFormatError`.
    """
    if tag == "O":
        return "O", ""
    prefix, sep, typ = tag.partition("-")
    if prefix not in _PREFIXES or prefix == "O" or (sep and not typ):
        raise ValueError(f"not a B/I/O/E/S tag: {tag!r}")
    # BILOU spelled as IOBES internally
    prefix = {"L": "E", "U": "S"}.get(prefix, prefix)
    return prefix, typ


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval.pl endOfChunk
    return (
        (prev_tag == "E")
        or (prev_tag == "S")
        or (prev_tag == "B" and tag in ("B", "S", "O"))
        or (prev_tag == "I" and tag in ("B", "S", "O"))
        or (prev_tag not in ("O", ".") and prev_type != typ)
    )


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval.pl startOfChunk
    return (
        (tag == "B")
        or (tag == "S")
        or (prev_tag == "E" and tag in ("E", "I"))
        or (prev_tag == "S" and tag in ("E", "I"))
        or (prev_tag == "O" and tag in ("E", "I"))
        or (tag not in ("O", ".") and prev_type != typ)
    )


def tags_to_chunks(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Return ``(first_word, last_word_exclusive, type)`` for every chunk in ``tags``."""
    chunks: list[tuple[int, int, str]] = []
    prev_tag, prev_type = "O", ""
    start: int | None = None
    for i, raw in enumerate(tags):
        tag, typ = split_tag(raw)
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, typ):
            chunks.append((start, i, prev_type))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, typ):
            start = i
        prev_tag, prev_type = tag, typ
    if start is not None:
        chunks.append((start, len(tags), prev_type))
    return chunks


def chunks_to_tags(chunks: Iterable[tuple[int, int, str]], n: int, scheme: str = "BIO") -> list[str]:
    """Write chunks as ``n`` tags. Chunks must not overlap (callers count and drop overlaps)."""
    tags = ["O"] * n
    for a, b, typ in sorted(chunks):
        suffix = f"-{typ}" if typ else ""
        if scheme == "BIO":
            tags[a] = "B" + suffix
            for k in range(a + 1, b):
                tags[k] = "I" + suffix
        elif scheme == "IOBES":
            if b - a == 1:
                tags[a] = "S" + suffix
            else:
                tags[a] = "B" + suffix
                for k in range(a + 1, b - 1):
                    tags[k] = "I" + suffix
                tags[b - 1] = "E" + suffix
        else:
            raise ValueError(f"unknown tag scheme {scheme!r}; expected BIO or IOBES")
    return tags


def bio_label_list(types: Iterable[str]) -> list[str]:
    """``["O", "B-A", "I-A", "B-B", ...]`` for the given entity types, in sorted order."""
    labels = ["O"]
    for t in sorted(set(types)):
        suffix = f"-{t}" if t else ""
        labels += ["B" + suffix, "I" + suffix]
    return labels
