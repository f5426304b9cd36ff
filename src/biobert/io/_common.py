"""Helpers shared by the format modules: opening paths or streams, exact line reading, id parsing."""

from __future__ import annotations

import bz2
import gzip
import io as _io
import lzma
import os
import re
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, TextIO, Union

from biobert.errors import DataFormatError

__all__ = ["PathOrStream", "DECOMPRESSORS", "without_compression", "describe", "open_bytes", "iter_lines", "read_all", "read_all_and_bom", "load_json_values", "open_out", "parse_ids", "format_ids", "MISSING_DB"]

#: A file path, or an already opened text stream (``io.StringIO`` for in-memory data).
PathOrStream = Union[str, "os.PathLike[str]", TextIO]


#: Compressed files are read through these, chosen by the last extension (``corpus.tsv.gz``).
DECOMPRESSORS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def without_compression(path: str | os.PathLike[str]) -> Path:
    """The name of the data underneath a compressed file: ``train.tsv.gz`` -> ``train.tsv`` (others unchanged)."""
    p = Path(path)
    return p.with_suffix("") if p.suffix.lower() in DECOMPRESSORS else p


def describe(src: PathOrStream) -> tuple[str, str]:
    """Return ``(name used in error messages, stem used in document ids)`` of a path or stream."""
    if isinstance(src, (str, os.PathLike)):
        # the compression suffix is not part of the name: train.tsv.gz gives ids "train:<n>"
        return str(Path(src)), without_compression(src).stem
    name = getattr(src, "name", None)
    if isinstance(name, str) and name:
        return name, Path(name).stem
    return "<string>", "string"


def open_bytes(path: str | os.PathLike[str]) -> IO[bytes]:
    """Open a file for binary reading, through its decompressor when the name ends in ``.gz``,
    ``.bz2`` or ``.xz``."""
    p = Path(path)
    if not p.exists() or p.is_dir():  # not is_file(): /dev/stdin and named pipes are inputs too
        from biobert.errors import InputNotFoundError

        what = "is a directory, not a file" if p.is_dir() else "does not exist"
        raise InputNotFoundError(f"E423 input file {str(p)!r} {what}")
    return DECOMPRESSORS.get(p.suffix.lower(), open)(path, "rb")


def _not_utf8(path: str, lineno: int, raw: bytes, err: UnicodeDecodeError) -> DataFormatError:
    """E200 for bytes that are not UTF-8, showing the bytes around the bad one and how to fix the file."""
    # the bytes around the bad one, from its own line only; undecodable bytes are shown as \xNN
    line_start = raw.rfind(b"\n", 0, err.start) + 1
    line_end = raw.find(b"\n", err.start)
    context = raw[max(line_start, err.start - 20) : min(err.end + 20, len(raw) if line_end < 0 else line_end)]
    # the usual culprit is a Windows-1252 export (\x96 en-dash, \xb1 plus-minus); guessing the encoding would
    # alter characters silently, so the user converts the file once, knowingly
    return DataFormatError(
        "E200", path, lineno, "UTF-8 text (convert the file first, e.g. `iconv -f WINDOWS-1252 -t UTF-8`)",
        found=context.decode("utf-8", "backslashreplace"),
    )


def decode_line(raw: bytes, path: str, lineno: int) -> str:
    """``raw`` decoded as UTF-8, or E200 naming ``path`` and ``lineno``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _not_utf8(path, lineno, raw, e) from None


def iter_lines(src: PathOrStream) -> Iterator[tuple[int, str]]:
    """Yield ``(1-based line number, line without its terminator)``.

    Lines end at ``\\n`` only (a ``\\r`` before it is dropped too). Files are
    read as bytes and decoded line by line so that a decoding error is
    reported at its real line, and so that characters such as U+0085 or
    U+2028, which :meth:`str.splitlines` would treat as line breaks, stay
    inside the text where they belong. A UTF-8 byte-order mark is dropped.
    Paths ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on the fly.
    """
    if isinstance(src, (str, os.PathLike)):
        path = str(src)
        lineno = 0
        with open_bytes(src) as f:
            try:
                for lineno, raw in enumerate(f, 1):
                    if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                        raw = raw[3:]
                    yield lineno, _strip_eol(decode_line(raw, path, lineno))
            except _DECOMPRESSION_ERRORS as exc:
                if Path(path).suffix.lower() not in DECOMPRESSORS:
                    raise
                raise _broken_stream(path, lineno + 1, exc) from None
    else:
        for lineno, line in enumerate(src, 1):
            yield lineno, _strip_eol(line)


def _strip_eol(line: str) -> str:
    if line.endswith("\n"):
        line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
    return line


#: what a truncated or corrupt .gz / .bz2 / .xz file raises while it is read (BadGzipFile is an OSError)
_DECOMPRESSION_ERRORS = (EOFError, OSError, lzma.LZMAError, zlib.error)


def _broken_stream(path: str, line: int | None, exc: BaseException) -> Exception:
    """E269 for a compressed input that ends early or is corrupt (it printed a bare "Aborted.")."""
    return DataFormatError("E269", path, line, f"a complete, valid {Path(path).suffix.lower() or 'compressed'} stream",
                           found=f"{type(exc).__name__}: {exc}")


def read_all(src: PathOrStream) -> str:
    """Read a whole path or stream as UTF-8 text, exactly (no newline translation, BOM dropped);
    ``.gz``, ``.bz2`` and ``.xz`` paths are decompressed."""
    return read_all_and_bom(src)[0]


def read_all_and_bom(src: PathOrStream) -> tuple[str, bool]:
    """:func:`read_all`, and whether a file started with a UTF-8 byte-order mark that was dropped (never for a text
    stream: its reader decoded it already)."""
    if isinstance(src, (str, os.PathLike)):
        with open_bytes(src) as f:
            try:
                raw = f.read()
            except _DECOMPRESSION_ERRORS as exc:
                if Path(src).suffix.lower() not in DECOMPRESSORS:
                    raise
                raise _broken_stream(str(src), None, exc) from None
        bom = raw.startswith(b"\xef\xbb\xbf")
        if bom:
            raw = raw[3:]
        try:
            return raw.decode("utf-8"), bom
        except UnicodeDecodeError as e:
            raise _not_utf8(str(src), raw[: e.start].count(b"\n") + 1, raw, e) from None
    return src.read(), False


def load_json_values(src: PathOrStream, what: str) -> tuple[str, list[Any]]:
    """The JSON value of a file (a one-element list), or its values when it holds one per line (JSON Lines).

    Returns:
        ``(name of the source, values)``.

    Raises:
        DataFormatError: E225 neither one JSON value nor one per line (the line and the parser's message).
    """
    import json

    name, _ = describe(src)
    raw = read_all(src)
    try:
        return name, [json.loads(raw)]
    except json.JSONDecodeError as whole:
        values = []
        for line in raw.split("\n"):
            if not line.strip():
                continue
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError:
                raise DataFormatError("E225", name, whole.lineno, what, found=f"{whole.msg} at column {whole.colno}") from None
        return name, values


@contextmanager
def open_out(dst: PathOrStream) -> Iterator[IO[str]]:
    """Open a path for writing UTF-8 with ``\\n`` line ends, or pass a stream through (not closed). A path
    ending in ``.gz``, ``.bz2`` or ``.xz`` is written compressed.

    The file is written as the writer goes (not through a temporary file): streaming writers such as
    ``biobert tag`` keep the chunks finished before an error. Writers that build one structure (BioC)
    build it completely before they open the file.

    Raises:
        DataFormatError: E229 the text holds a character that UTF-8 cannot
            encode (a lone surrogate such as ``"\\ud83d"``, left by a broken
            decoder or a JSON ``\\ud83d`` escape). Writers that can represent
            or replace such characters themselves (BioC, PubTator) do so and
            count them; the others get this error naming the output file and
            the text around the character (which names the document in JSON
            output), instead of a bare ``UnicodeEncodeError``.
    """
    if isinstance(dst, (str, os.PathLike)):
        with _open_text_for_writing(dst) as f, _typed_encode_errors(str(dst)):
            yield f
    else:
        yield dst


@contextmanager
def _open_text_for_writing(path: str | os.PathLike[str]) -> Iterator[IO[str]]:
    """``open(path, "w")`` for UTF-8 text, compressed when the name ends in ``.gz``, ``.bz2`` or ``.xz`` (as the
    readers decompress them; a ``tagged.jsonl.gz`` used to hold plain text that no reader could open)."""
    suffix = Path(path).suffix.lower()
    if suffix not in DECOMPRESSORS:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            yield f
        return
    with open(path, "wb") as raw:
        if suffix == ".gz":
            # no file name and time in the header: the same documents give the same bytes, and a file written
            # under a temporary name (biobert tag's .partial-NAME) does not carry that name
            packed: IO[bytes] = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        elif suffix == ".bz2":
            packed = bz2.BZ2File(raw, "wb")
        else:
            packed = lzma.LZMAFile(raw, "wb")
        with packed, _io.TextIOWrapper(packed, encoding="utf-8", newline="\n") as f:
            yield f


@contextmanager
def _typed_encode_errors(path: str) -> Iterator[None]:
    try:
        yield
    except UnicodeEncodeError as e:
        text = e.object if isinstance(e.object, str) else ""
        raise DataFormatError(
            "E229", path, None, "text that UTF-8 can encode (no lone surrogate characters)",
            found=repr(text[max(0, e.start - 30) : e.end + 30]),
        ) from None


#: how a component without an id (``-1``, or empty) of a ``|``-joined id field is kept by
#: ``parse_ids(..., keep_missing=True)``: the database is ``""`` and the id is the field as written
MISSING_DB = ""


# MeSH descriptor (D...) and supplementary concept (C...) ids, possibly "+"-combined (NCBI-disease).
_MESH = re.compile(r"[CD]\d")


def parse_ids(raw: str, default_db: str | None = None, *, keep_missing: bool = False) -> tuple[tuple[str, str], ...]:
    """Parse a ``|``-joined identifier field into ``(db, id)`` pairs.

    The id string is kept as written (``"OMIM:608089"`` stays whole) so that it
    compares equal to gold files; only surrounding whitespace is removed, which
    a handful of NCBI-disease lines carry. ``db`` is the prefix before ``:``
    when there is one, else ``default_db``, else ``"MESH"`` for ``C``/``D``
    ids, else ``"ID"``. Empty fields and ``-1`` (not normalisable) give no id.

    Args:
        keep_missing: in a field of several components (``"D002544|-1"``, a
            CDR composite mention whose second part has no id), keep each
            ``-1`` or empty component as ``(MISSING_DB, "-1")`` /
            ``(MISSING_DB, "")``, i.e. ``("", "-1")``, so that the n-th pair
            still belongs to the n-th part (and to the n-th of the composite
            names) and :func:`format_ids` gives the field back unchanged. A
            field that is only ``-1`` still gives ``()``: the span has no id.
    """
    parts = [part.strip() for part in raw.split("|")]
    keep = keep_missing and len(parts) > 1
    out: list[tuple[str, str]] = []
    for p in parts:
        if not p or p == "-1":
            if keep:
                out.append((MISSING_DB, p))
            continue
        if ":" in p:
            db = p.split(":", 1)[0]
        elif default_db is not None:
            db = default_db
        elif _MESH.match(p):
            db = "MESH"
        else:
            db = "ID"
        out.append((db, p))
    return tuple(out)


def format_ids(ids: tuple[tuple[str, str], ...], empty: str = "-1") -> str:
    """Inverse of :func:`parse_ids`: the raw id strings joined with ``|`` (placeholders of missing ids included)."""
    return "|".join(i for _, i in ids) if ids else empty
