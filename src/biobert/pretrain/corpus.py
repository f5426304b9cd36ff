"""Streaming pre-training corpora: readers, packing, shuffling, sharding, held-out split.

Readers yield one document (a string) at a time and never load a file into memory:

* plain text: one document per non-empty line (``.txt``);
* JSONL: one JSON object per line, the document is its ``text`` field
  (``title`` + ``abstract`` when there is no ``text``) (``.jsonl``, ``.ndjson``, ``.json``);
* PubTator: ``PMID|t|title`` and ``PMID|a|abstract`` lines, annotation lines are ignored
  (``.pubtator``);
* PubMed XML: ``ArticleTitle`` + every ``AbstractText`` of each ``PubmedArticle`` (not those of a
  non-English ``OtherAbstract``, which are counted)
  (``.xml``), parsed incrementally;
* CoNLL/IOB: the tokens of a labelled NER file, tags ignored, one document per ``-DOCSTART-``
  (or JNLPBA ``###MEDLINE:<id>``) section or else per sentence (``.conll``, ``.iob``, ``.iob2``,
  ``.bio``; BioBERT's ``.tsv`` files, and other files that open with a ``###MEDLINE:`` header,
  are recognised by their content). This is task-adaptive pre-training (Gururangan et al. 2020)
  on a benchmark's own training text with no conversion step. The file is read whole, through
  the NER reader, so a malformed line gets that reader's typed error.

Any of them may be compressed (``.gz``, ``.bz2``, ``.xz``); a truncated or corrupt one raises
E269 naming the file. A UTF-8 byte-order mark is dropped and lines end at ``\n`` only. The format
is taken from the extension, or sniffed from the first line when the extension says nothing.
Records that hold no text are skipped, counted (:func:`skipped_records`, in the run reports) and
logged (W497).

:class:`PretrainStream` turns the documents into training examples: sentence split
(:func:`biobert.text.sentences.split_sentences`), WordPiece, then whole sentences packed up to
``max_length`` tokens (``[CLS] ... [SEP]``), or sentence-order pairs for SOP. It is infinite
(epochs repeat with a new file order), deterministic for a given seed, sharded by rank
(document ``i`` of an epoch goes to rank ``i % world_size``), shuffled through a seeded buffer,
and it can report and restore its exact position (:meth:`PretrainStream.state_dict`).

A document is held out for validation when the hash of its key (``file name:index in file``)
falls below ``val_fraction``: the split does not depend on file order, world size or seed.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import hashlib
import json
import logging
import lzma
import os
import random
import re
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import numpy as np

from biobert.errors import ConfigError, DataFormatError, TrainingError
from biobert.io._common import DECOMPRESSORS, without_compression
from biobert.text.sentences import split_sentences
from biobert.text.words import tokenizable

__all__ = [
    "FORMATS",
    "Example",
    "resolve_corpus",
    "detect_format",
    "iter_documents",
    "iter_corpus",
    "is_heldout",
    "ExampleBuilder",
    "PretrainStream",
    "validation_examples",
    "file_fingerprints",
    "scan_encoding",
    "encoding_warning",
    "skipped_records",
    "restore_skipped",
]

log = logging.getLogger(__name__)

FORMATS = ("text", "jsonl", "pubtator", "pubmed-xml", "conll")
_EXT_FORMAT = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".pubtator": "pubtator",
    ".xml": "pubmed-xml",
    ".conll": "conll",
    ".iob": "conll",
    ".iob2": "conll",  # the original JNLPBA 2004 files (Genia4ERtask1.iob2)
    ".bio": "conll",
}
_PUBTATOR_LINE = re.compile(r"^([^|\t]*)\|([ta])\|(.*)$")
#: a CoNLL line: a token, a tab, ... and a B/I/O-style tag last (``-DOCSTART-`` lines too)
_CONLL_LINE = re.compile(r"^(-DOCSTART-.*|[^\t]+(\t[^\t]*)*\t(O|[BIESLU](-\S+)?))$")
#: the abstract header that opens a JNLPBA file (``###MEDLINE:96077708``), a line of its own: the NER reader
#: (:data:`biobert.io.conll.MEDLINE`) reads it as a document boundary; sniffed as text, the tags would be words
_MEDLINE_LINE = re.compile(r"^###MEDLINE:\S*$")


# ---------------------------------------------------------------------------- files


#: what a truncated or corrupt ``.gz`` / ``.bz2`` / ``.xz`` raises while it is read (bz2 raises a
#: bare ``OSError``; ``FileNotFoundError`` and other ``OSError`` subclasses are not decompression errors)
_DECOMPRESSION_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError)


def _is_decompression_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return type(exc) is OSError or isinstance(exc, gzip.BadGzipFile)
    return isinstance(exc, _DECOMPRESSION_ERRORS)


def _corrupt(path: Path, line: int | None, exc: BaseException) -> DataFormatError:
    return DataFormatError("E269", path, line, f"a complete, valid {path.suffix.lower()} stream", f"{type(exc).__name__}: {exc}")


class _CheckedText:
    """A decompressed text stream whose decompression errors become :class:`DataFormatError` E269,
    naming the file and the line where the data broke off (a truncated download would otherwise
    surface as a bare ``EOFError`` with no file name)."""

    def __init__(self, fh, path: Path):
        self._fh = fh
        self._path = path
        self.lines = 0  # complete lines handed out so far

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except _DECOMPRESSION_ERRORS as exc:
            if not _is_decompression_error(exc):
                raise
            raise _corrupt(self._path, self.lines + 1, exc) from None

    def read(self, size: int = -1) -> str:
        data = self._guard(self._fh.read, size)
        self.lines += data.count("\n")
        return data

    def __iter__(self) -> "_CheckedText":
        return self

    def __next__(self) -> str:
        line = self._guard(self._fh.__next__)
        self.lines += 1
        return line

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> "_CheckedText":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _open_text(path: Path):
    # invalid UTF-8 becomes U+FFFD here; :func:`scan_encoding` counts it for the run's report.
    # "utf-8-sig" drops a leading byte-order mark (Windows editors write one), which would otherwise
    # break the first JSON line, split a PubTator title from its abstract (PMID "\ufeff123" != "123")
    # or start the first text document. newline="\n": lines end at \n only, as everywhere else in
    # biobert (:func:`biobert.io._common.iter_lines`) and in :func:`scan_encoding`'s line numbers; a
    # stray \r inside a line must not split a document in two (\r\n still ends a line: readers strip).
    opener = DECOMPRESSORS.get(path.suffix.lower())
    if opener is not None:
        return _CheckedText(opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="\n"), path)
    return open(path, encoding="utf-8-sig", errors="replace", newline="\n")


def _base_suffix(path: Path) -> str:
    """The extension that names the format: ``a.jsonl.gz`` -> ``.jsonl``."""
    return without_compression(path).suffix.lower()


def _is_corpus_file(path: Path) -> bool:
    return path.is_file() and _base_suffix(path) in _EXT_FORMAT


def _hidden(path: Path, root: Path) -> bool:
    """True when a name below ``root`` starts with a dot: ``.git``, ``.ipynb_checkpoints`` copies,
    macOS ``._x.txt`` resource forks (binary) are not corpus files even with a corpus extension."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _dir_files(root: Path) -> tuple[list[Path], int]:
    """The corpus files below a directory and the number of other files left out."""
    kept: list[Path] = []
    left_out = 0
    for q in root.rglob("*"):
        if not q.is_file():
            continue
        if _is_corpus_file(q) and not _hidden(q, root):
            kept.append(q)
        else:
            left_out += 1
    return kept, left_out


def _glob_files(pattern: str) -> tuple[list[Path], int]:
    """The files a glob matches. When the pattern names no literal extension (``dir/*``,
    ``dir/**``) only known corpus extensions are kept, as for a directory: a ``*`` would
    otherwise take the ``.ids.tsv`` companion files next to ``.txt`` corpora as text. A pattern
    that names one (``*.tsv``, ``*.data``) keeps all it matches (the format is then sniffed).
    Matched directories are searched like a directory given directly."""
    suffix = Path(pattern).suffix
    literal_ext = bool(suffix) and not glob.has_magic(suffix)
    kept: list[Path] = []
    left_out = 0
    for m in glob.glob(pattern, recursive=True):
        q = Path(m)
        if q.is_dir():
            sub, n = _dir_files(q)
            kept.extend(sub)
            left_out += n
        elif q.is_file() and (literal_ext or _is_corpus_file(q)):
            kept.append(q)
        elif q.is_file():
            left_out += 1
    return kept, left_out


def resolve_corpus(specs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, directories (searched recursively for known corpus extensions, skipping
    hidden names) and glob patterns (see :func:`_glob_files`) into a sorted, de-duplicated list
    of files. The files left out are counted and logged.

    ``{data}`` and ``$BIOBERT_DATA`` (and other environment variables) are expanded; when
    ``BIOBERT_DATA`` is unset the data root is ``../shared/data`` next to the repository root.

    Raises:
        ConfigError: E450 when a spec matches no corpus file.
    """
    if isinstance(specs, (str, os.PathLike)):
        specs = [specs]
    files: set[Path] = set()
    for spec in specs:
        s = expand_path(str(spec))
        p = Path(s)
        left_out = 0
        if p.is_dir():
            found, left_out = _dir_files(p)
        elif p.is_file():
            found = [p]
        else:
            found, left_out = _glob_files(s)
        if left_out:
            log.info(
                "corpus %r: %d file(s) left out (hidden, or no corpus extension: %s)",
                str(spec), left_out, " ".join(sorted(set(_EXT_FORMAT))),
            )
        if not found:
            raise ConfigError(f"E450 corpus {spec!r} (expanded to {s!r}) matches no file")
        files.update(q.resolve() for q in found)
    return sorted(files)


def data_root() -> Path:
    """``$BIOBERT_DATA``, or ``../shared/data`` relative to the repository root."""
    env = os.environ.get("BIOBERT_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]  # src/biobert/pretrain/corpus.py -> repo root
    return (repo / ".." / "shared" / "data").resolve()


def expand_path(spec: str) -> str:
    """Expand ``{data}`` (the project's config placeholder), ``$BIOBERT_DATA`` (with its default
    when unset), other environment variables and ``~``."""
    root = str(data_root())
    spec = spec.replace("{data}", root)
    if "BIOBERT_DATA" in spec and "BIOBERT_DATA" not in os.environ:
        spec = spec.replace("${BIOBERT_DATA}", root).replace("$BIOBERT_DATA", root)
    return os.path.expanduser(os.path.expandvars(spec))


def detect_format(path: str | os.PathLike) -> str:
    """The corpus format of ``path``: from its extension, else sniffed from its first line."""
    path = Path(path)
    fmt = _EXT_FORMAT.get(_base_suffix(path))
    if fmt == "text" and path.is_file() and _PUBTATOR_LINE.match(_first_line(path)):
        # PubTator releases are named .txt (CDR_TrainingSet.PubTator.txt, NCBI's *.txt): read as text, their
        # mention lines ("227508<TAB>0<TAB>8<TAB>Naloxone...") became training documents
        return "pubtator"
    if fmt == "text" and path.is_file() and _looks_like_conll(path):
        # CoNLL files are often named .txt (CoNLL-2003's own, many NER releases): read as text, every
        # "token<TAB>tag" line became a training sentence with its tags as words
        return "conll"
    if fmt is not None:
        return fmt
    s = _first_line(path)
    if s.startswith("{"):
        return "jsonl"
    if s.startswith("<"):
        return "pubmed-xml"
    if _PUBTATOR_LINE.match(s):
        return "pubtator"
    if _CONLL_LINE.match(s) or _MEDLINE_LINE.match(s):
        return "conll"
    return "text"


#: a space-separated CoNLL line (CoNLL-2003's "EU NNP B-NP B-ORG"): 2-5 fields, a B/I/O-style tag last
_CONLL_SPACED_LINE = re.compile(r"^\S+( \S+){0,3} (O|[BIESLU]-\S+)$")


def _looks_like_conll(path: Path, lines: int = 5) -> bool:
    """Whether ``path`` starts like a CoNLL file: a ``-DOCSTART-`` line, or its first ``lines`` non-blank lines
    are all token/tag lines (a JNLPBA ``###MEDLINE:`` header may come first). Several lines, not one, so that
    a prose line that happens to end in a tab and "O" does not turn a text corpus into CoNLL."""
    seen = 0
    with _open_text(path) as fh:
        for line in fh:
            s = line.strip("\r\n").strip(" ")
            if not s.strip():
                continue
            if seen == 0 and s.startswith("-DOCSTART-"):
                return True
            if not (_CONLL_LINE.match(s) or _CONLL_SPACED_LINE.match(s) or (seen == 0 and _MEDLINE_LINE.match(s))):
                return False
            seen += 1
            if seen >= lines:
                break
    return seen > 0


def _first_line(path: Path) -> str:
    """The first non-blank line of ``path``, stripped (``""`` for a file without one)."""
    with _open_text(path) as fh:
        for line in fh:
            if line.strip():
                return line.strip()
    return ""


def file_fingerprints(files: Iterable[Path], full_hash_limit: int = 2 << 30) -> list[dict[str, Any]]:
    """Path, size and sha256 of each corpus file (for reports). Files are hashed in full while
    the total stays under ``full_hash_limit`` bytes; beyond that only the first and last MiB."""
    out = []
    total = 0
    for f in files:
        f = Path(f)
        size = f.stat().st_size
        total += size
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            if total <= full_hash_limit:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
                kind = "sha256"
            else:
                h.update(fh.read(1 << 20))
                fh.seek(max(0, size - (1 << 20)))
                h.update(fh.read(1 << 20))
                kind = "sha256-head-tail-1MiB"
        out.append({"path": str(f), "bytes": size, kind: h.hexdigest()})
    return out


def _scan_file_encoding(path: Path) -> dict[str, Any] | None:
    opener = DECOMPRESSORS.get(path.suffix.lower())

    def open_bytes():
        return opener(path, "rb") if opener is not None else open(path, "rb")

    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:  # fast path: the whole file is valid UTF-8
        with open_bytes() as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                decoder.decode(block)
            decoder.decode(b"", final=True)
        return None
    except UnicodeDecodeError:
        pass
    except _DECOMPRESSION_ERRORS as exc:  # a truncated or corrupt compressed file: typed, with its name
        if not _is_decompression_error(exc):
            raise
        raise _corrupt(path, None, exc) from None
    replacements = lines = 0
    first = None
    with open_bytes() as fh:
        for lineno, raw in _checked_lines(fh, path):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                # the readers decode with errors="replace": one U+FFFD per invalid sequence
                n = raw.decode("utf-8", "replace").count("\ufffd") - raw.count(b"\xef\xbf\xbd")
                replacements += max(1, n)
                lines += 1
                if first is None:
                    first = lineno
    return {"path": str(path), "replacements": replacements, "lines": lines, "first_line": first}


def _checked_lines(fh, path: Path) -> Iterator[tuple[int, bytes]]:
    """``enumerate(fh, 1)`` whose decompression errors become E269 at the line where they occur."""
    lineno = 0
    while True:
        try:
            raw = next(fh)
        except StopIteration:
            return
        except _DECOMPRESSION_ERRORS as exc:
            if not _is_decompression_error(exc):
                raise
            raise _corrupt(path, lineno + 1, exc) from None
        lineno += 1
        yield lineno, raw


def scan_encoding(files: Iterable[Path]) -> dict[str, Any]:
    """Invalid UTF-8 in the corpus files. The readers replace each invalid byte sequence with
    U+FFFD (web corpora often hold a few); this counts them so that a run can report them.

    Returns ``{"replacements": n, "lines": n, "first": "file:line" | None, "files": [...]}``
    where ``files`` lists only the files with invalid bytes (line numbers count ``\\n``)."""
    per_file = [r for r in (_scan_file_encoding(Path(f)) for f in files) if r is not None]
    return {
        "replacements": sum(r["replacements"] for r in per_file),
        "lines": sum(r["lines"] for r in per_file),
        "first": f"{per_file[0]['path']}:{per_file[0]['first_line']}" if per_file else None,
        "files": per_file,
    }


def encoding_warning(scan: dict[str, Any]) -> str | None:
    """The warning to log for a :func:`scan_encoding` result, or ``None`` when the corpus is clean."""
    if not scan.get("replacements"):
        return None
    return (
        f"W496 {scan['replacements']} invalid UTF-8 byte sequence(s) on {scan['lines']} line(s) of "
        f"{len(scan['files'])} corpus file(s) were replaced with U+FFFD (first at {scan['first']}); "
        "they are counted in the report"
    )


# ---------------------------------------------------------------------------- skipped records

#: records that hold no text (an empty JSONL ``text``, a PubMed record with neither title nor
#: abstract, ...), which the readers skip: ``{path: {"records": n, "first": "where"}}``. Set, not
#: added to, each time a file has been read to its end, so reading it again (every epoch, every
#: resume) neither counts it twice nor logs it twice.
_SKIPPED: dict[str, dict[str, Any]] = {}


def _note_skipped(path: Path, where: list[str], other_abstracts: int = 0) -> None:
    """Record (and log once) the records of ``path`` skipped for holding no text, and the number of
    PubMed ``OtherAbstract`` s left out for not being in English."""
    key = str(path)
    if not where and not other_abstracts:
        _SKIPPED.pop(key, None)
        return
    entry: dict[str, Any] = {"records": len(where), "first": where[0] if where else None}
    if other_abstracts:
        entry["other_abstracts_not_english"] = other_abstracts
    if _SKIPPED.get(key) != entry:
        if where:
            log.warning("W497 %s: %d record(s) with no text skipped (first: %s); counted in the report", key, len(where), where[0])
        if other_abstracts:
            log.info("%s: %d non-English OtherAbstract(s) left out; counted in the report", key, other_abstracts)
    _SKIPPED[key] = entry


def restore_skipped(saved: dict[str, Any] | None) -> None:
    """Take back the counts of a :func:`skipped_records` result saved with a checkpoint, for the files this
    process has not read to their end yet: a resumed run that does not reach a file's end again would
    otherwise report none of its skipped records."""
    for entry in (saved or {}).get("files", []):
        key = entry.get("path")
        if key and key not in _SKIPPED:
            _SKIPPED[key] = {k: v for k, v in entry.items() if k != "path"}


def skipped_records(files: Iterable[Path]) -> dict[str, Any]:
    """What the readers left out of ``files`` (among the files read to their end so far in this process):
    ``{"records": n, "other_abstracts_not_english": m, "files": [{"path", "records", "first", ...}, ...]}``:
    records with no text, and PubMed ``OtherAbstract`` s in another language than English."""
    per_file = [{"path": str(f), **_SKIPPED[str(f)]} for f in files if str(f) in _SKIPPED]
    return {"records": sum(r["records"] for r in per_file),
            "other_abstracts_not_english": sum(r.get("other_abstracts_not_english", 0) for r in per_file), "files": per_file}


# ---------------------------------------------------------------------------- readers


def _read_text(path: Path) -> Iterator[str]:
    with _open_text(path) as fh:
        for line in fh:
            s = line.strip()
            if s:
                yield s


def _read_jsonl(path: Path, text_field: str = "text") -> Iterator[str]:
    skipped: list[str] = []
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.strip()
            if not s:
                continue
            try:
                obj = json.loads(s)
            except json.JSONDecodeError:
                raise DataFormatError("E260", path, lineno, "one JSON object per line", s) from None
            if not isinstance(obj, dict):
                raise DataFormatError("E260", path, lineno, "one JSON object per line", s)
            text = obj.get(text_field)
            if text is None and ("title" in obj or "abstract" in obj):
                text = "\n".join(str(obj[k]) for k in ("title", "abstract") if obj.get(k))
            if text is None:
                raise DataFormatError("E261", path, lineno, f"a {text_field!r} field (or title/abstract)", s)
            if not isinstance(text, str):
                raise DataFormatError("E261", path, lineno, f"a string in field {text_field!r}", repr(text))
            text = text.strip()
            if text:
                yield text
            else:
                skipped.append(f"line {lineno}")
    _note_skipped(path, skipped)


def _read_pubtator(path: Path) -> Iterator[str]:
    title: str | None = None
    abstract: str | None = None
    pmid: str | None = None
    skipped: list[str] = []

    def flush():
        parts = [p for p in (title, abstract) if p]
        if not parts and pmid is not None:
            skipped.append(f"PMID {pmid}")  # 'PMID|t|' and 'PMID|a|' both empty
        return "\n".join(parts) if parts else None

    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            s = line.rstrip("\n\r")
            if not s.strip():
                doc = flush()
                if doc:
                    yield doc
                title = abstract = pmid = None
                continue
            m = _PUBTATOR_LINE.match(s)
            if m:
                if pmid is not None and m.group(1) != pmid:
                    # a new document started without a blank line
                    doc = flush()
                    if doc:
                        yield doc
                    title = abstract = None
                pmid = m.group(1)
                if m.group(2) == "t":
                    title = m.group(3).strip()
                else:
                    abstract = m.group(3).strip()
            elif "\t" in s:
                continue  # annotation or relation line
            else:
                raise DataFormatError("E262", path, lineno, "'PMID|t|title', 'PMID|a|abstract' or a tab-separated annotation", s)
    doc = flush()
    if doc:
        yield doc
    _note_skipped(path, skipped)


def _read_conll(path: Path) -> Iterator[str]:
    from biobert.io.conll import read_conll  # the NER reader: its tag checks and typed errors

    try:
        skipped: list[str] = []
        for doc in read_conll(path):
            if doc.text.strip():
                yield doc.text
            else:
                skipped.append(f"document {doc.id}")
        _note_skipped(path, skipped)
    except _DECOMPRESSION_ERRORS as exc:  # the NER reader reads bytes itself: type its corrupt-file errors here
        if not _is_decompression_error(exc):
            raise
        raise _corrupt(path, None, exc) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _read_pubmed_xml(path: Path) -> Iterator[str]:
    """``ArticleTitle`` (else ``BookTitle``) + all ``AbstractText`` of each article, streamed.

    An ``OtherAbstract`` (a publisher's second abstract) is kept when it is in English (a plain-language
    summary) and left out, counted, when its ``Language`` is another (the Spanish or Portuguese abstract of
    a bilingual journal would be noise in an English biomedical corpus).

    Each record is cleared once read and the root drops it (and every ``DeleteCitation``), so
    memory stays bounded however many records a file holds. The DTD named by a ``DOCTYPE`` is
    never fetched (expat does not load external entities)."""
    fh = _open_text(path)
    try:
        context = ET.iterparse(fh, events=("start", "end"))
        root = None
        skipped: list[str] = []
        n_records = n_foreign = 0
        for event, elem in context:
            if event == "start":
                if root is None:
                    root = elem
                continue
            tag = _local(elem.tag)
            if tag == "DeleteCitation":
                root.clear()  # the PMIDs to delete: not text, and many thousands in an update file
                continue
            if tag not in ("PubmedArticle", "PubmedBookArticle"):
                continue
            n_records += 1
            title = book_title = pmid = ""
            abstracts: list[str] = []
            foreign: set[int] = set()  # ids of the AbstractText elements of non-English OtherAbstracts
            for sub in elem.iter():
                t = _local(sub.tag)
                if t == "OtherAbstract" and (sub.get("Language") or "eng").lower() != "eng":
                    n_foreign += 1
                    foreign.update(id(x) for x in sub.iter() if _local(x.tag) == "AbstractText")
                    continue
                if t == "PMID" and not pmid:
                    pmid = (sub.text or "").strip()
                # a book chapter (PubmedBookArticle) has the book's BookTitle before its own ArticleTitle
                if t == "ArticleTitle" and not title:
                    title = " ".join("".join(sub.itertext()).split())
                elif t == "BookTitle" and not book_title:
                    book_title = " ".join("".join(sub.itertext()).split())
                elif t == "AbstractText" and id(sub) not in foreign:
                    txt = " ".join("".join(sub.itertext()).split())
                    if txt:
                        abstracts.append(txt)
            elem.clear()
            if elem is not root:
                root.clear()  # a cleared record still hangs from the root: drop it
            title = title or book_title
            parts = [title] if title else []
            if abstracts:
                parts.append(" ".join(abstracts))
            if parts:
                yield "\n".join(parts)
            else:
                skipped.append(f"PMID {pmid}" if pmid else f"record {n_records}")
        _note_skipped(path, skipped, other_abstracts=n_foreign)
    except ET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise DataFormatError("E263", path, line, "well-formed PubMed XML", str(exc)) from None
    finally:
        fh.close()


def iter_documents(path: str | os.PathLike, fmt: str = "auto", text_field: str = "text") -> Iterator[str]:
    """Yield the documents of one corpus file, in file order.

    Args:
        path: the file (optionally ``.gz`` / ``.bz2`` / ``.xz``).
        fmt: ``"auto"`` or one of :data:`FORMATS`.
        text_field: the JSONL field that holds the text.
    """
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt == "text":
        return _read_text(path)
    if fmt == "jsonl":
        return _read_jsonl(path, text_field)
    if fmt == "pubtator":
        return _read_pubtator(path)
    if fmt in ("pubmed-xml", "xml"):
        return _read_pubmed_xml(path)
    if fmt == "conll":
        return _read_conll(path)
    raise ConfigError(f"E451 unknown corpus format {fmt!r}; expected 'auto' or one of {', '.join(FORMATS)}")


def doc_key(path: Path, index: int) -> str:
    return f"{Path(path).name}:{index}"


def is_heldout(key: str, fraction: float) -> bool:
    """True when the document with this key belongs to the validation slice."""
    if fraction <= 0:
        return False
    h = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big")
    return h / 2.0**64 < fraction


def iter_corpus(
    files: Iterable[Path],
    fmt: str = "auto",
    text_field: str = "text",
    split: str = "all",
    val_fraction: float = 0.0,
) -> Iterator[str]:
    """All documents of ``files`` in order; ``split`` is ``"all"``, ``"train"`` or ``"validation"``."""
    for f in files:
        for i, doc in enumerate(iter_documents(f, fmt, text_field)):
            if split != "all":
                held = is_heldout(doc_key(f, i), val_fraction)
                if held != (split == "validation"):
                    continue
            yield doc


# ---------------------------------------------------------------------------- examples


@dataclass(frozen=True)
class Example:
    """One training sequence, special tokens included.

    ``n_first`` tokens belong to segment A (token type 0), the rest to segment B (type 1).
    ``label`` is the sentence-order label (0 in order, 1 swapped) or -1 for plain MLM.
    """

    input_ids: np.ndarray
    n_first: int
    label: int = -1

    def __len__(self) -> int:
        return len(self.input_ids)


class ExampleBuilder:
    """Sentence split + tokenize + pack. Stateful only through the MLM packing buffer.

    ``kind="mlm"``: whole sentences are appended to the current sequence until the next one
    would not fit in ``max_length - 2``; with ``cross_document`` the sequence continues into the
    next document (a ``[SEP]`` marks the boundary), which nearly removes padding. A sentence
    longer than the budget is cut into budget-sized pieces.

    ``kind="sop"``: BERT/ALBERT-style segment pairs from one document: whole sentences are collected
    while they fit in ``max_length - 3`` tokens (the sentence that would overshoot starts the next
    pair, as BERT's ``create_pretraining_data`` carries it over), split at a random sentence boundary
    into A and B, and swapped with probability ``swap_prob`` (label 1 = swapped). A sentence longer
    than the budget is cut into budget-sized pieces. What still cannot be used (a one-token
    remainder cannot be split into two segments) is counted in ``tokens_truncated``.
    """

    def __init__(self, tokenizer, max_length: int, kind: str = "mlm", cross_document: bool = True, swap_prob: float = 0.5):
        if kind not in ("mlm", "sop"):
            raise ConfigError(f"E452 unknown example kind {kind!r}; expected 'mlm' or 'sop'")
        if max_length < 8:
            raise ConfigError(f"E453 max_length must be at least 8, got {max_length}")
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.kind = kind
        self.cross_document = cross_document
        self.swap_prob = swap_prob
        self.cls_id = tokenizer.cls_token_id
        self.sep_id = tokenizer.sep_token_id
        if self.cls_id is None or self.sep_id is None:
            raise ConfigError("E454 the tokenizer needs a CLS and a SEP token for pre-training")
        self.current: list[int] = []  # MLM packing buffer (no special tokens)
        self.tokens_truncated = 0  # corpus tokens that went into no example (SOP), for the run report

    # -- tokenization
    def sentences(self, doc: str) -> list[list[int]]:
        ranges = split_sentences(doc)
        if not ranges:
            return []
        texts = [tokenizable(doc[a:b]) for a, b in ranges]  # a lone surrogate would fail the whole batch
        enc = self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False, verbose=False)
        return [ids for ids in enc["input_ids"] if ids]

    def _wrap(self, ids: list[int]) -> Example:
        if ids and ids[-1] == self.sep_id:  # a document boundary that ended up last
            ids = ids[:-1]
        arr = np.asarray([self.cls_id, *ids, self.sep_id], dtype=np.int32)
        return Example(arr, len(arr), -1)

    # -- MLM
    def add_document(self, doc: str, rng: random.Random) -> list[Example]:
        sents = self.sentences(doc)
        if self.kind == "sop":
            return self._sop_pairs(sents, rng)
        budget = self.max_length - 2
        out: list[Example] = []
        if self.current and sents:
            if self.cross_document and len(self.current) + 1 < budget:
                self.current.append(self.sep_id)
            else:
                out.append(self._wrap(self.current))
                self.current = []
        for s in sents:
            if len(s) > budget:
                if self.current:
                    out.append(self._wrap(self.current))
                    self.current = []
                for k in range(0, len(s), budget):
                    piece = s[k : k + budget]
                    if len(piece) == budget:
                        out.append(self._wrap(piece))
                    else:
                        self.current = list(piece)
                continue
            if len(self.current) + len(s) > budget:
                out.append(self._wrap(self.current))
                self.current = []
            self.current.extend(s)
        if not self.cross_document and self.current:
            out.append(self._wrap(self.current))
            self.current = []
        return out

    def flush(self) -> list[Example]:
        out = [self._wrap(self.current)] if self.current else []
        self.current = []
        return out

    # -- SOP
    def _sop_pairs(self, sents: list[list[int]], rng: random.Random) -> list[Example]:
        """Sentence-order pairs of one document; every token is used except one-token remainders."""
        budget = self.max_length - 3
        segments: list[list[int]] = []
        for s in sents:
            # a sentence longer than a whole pair is cut into pieces instead of losing all but its budget
            if len(s) > budget:
                segments.extend(s[k : k + budget] for k in range(0, len(s), budget))
            else:
                segments.append(s)
        out: list[Example] = []
        chunk: list[list[int]] = []
        length = 0
        for s in segments:
            if chunk and length + len(s) > budget:
                # the overshooting sentence opens the next pair rather than being cut off this one
                ex = self._make_pair(chunk, rng, budget)
                if ex is not None:
                    out.append(ex)
                chunk, length = [], 0
            chunk.append(s)
            length += len(s)
        if chunk:
            ex = self._make_pair(chunk, rng, budget)
            if ex is not None:
                out.append(ex)
        return out

    def _make_pair(self, chunk: list[list[int]], rng: random.Random, budget: int) -> Example | None:
        """A pair from ``chunk`` (at most ``budget`` tokens), or ``None`` (its tokens counted) when it has one token."""
        total = sum(len(s) for s in chunk)
        if len(chunk) >= 2:
            cut = rng.randint(1, len(chunk) - 1)
            a = [t for s in chunk[:cut] for t in s]
            b = [t for s in chunk[cut:] for t in s]
        else:
            toks = chunk[0]
            if len(toks) < 2:
                self.tokens_truncated += len(toks)
                return None
            cut = rng.randint(1, len(toks) - 1)
            a, b = toks[:cut], toks[cut:]
        # _sop_pairs never builds a chunk over budget; kept so that a direct caller cannot get an over-long pair
        while len(a) + len(b) > budget:
            if len(a) > len(b):
                a = a[1:]
            else:
                b = b[:-1]
        self.tokens_truncated += total - len(a) - len(b)
        if not a or not b:
            self.tokens_truncated += len(a) + len(b)
            return None
        label = 0
        if rng.random() < self.swap_prob:
            a, b = b, a
            label = 1
        ids = np.asarray([self.cls_id, *a, self.sep_id, *b, self.sep_id], dtype=np.int32)
        return Example(ids, len(a) + 2, label)


def _epoch_order(n_files: int, seed: int, epoch: int) -> list[int]:
    order = list(range(n_files))
    random.Random(f"file-order:{seed}:{epoch}").shuffle(order)
    return order


class PretrainStream:
    """Infinite, deterministic, sharded and shuffled stream of :class:`Example` s.

    Args:
        files: corpus files (see :func:`resolve_corpus`).
        tokenizer: a fast tokenizer.
        max_length: sequence length including special tokens.
        kind: ``"mlm"`` (packed sequences) or ``"sop"`` (sentence-order pairs).
        seed: controls the file order of each epoch, the shuffle buffer and SOP swaps.
        rank, world_size: this process takes training documents ``i`` with ``i % world_size == rank``.
        val_fraction: share of documents held out (never yielded here).
        shuffle_buffer: number of examples the shuffle draws from (1 = no shuffling).
        fmt, text_field: reader options.
        cross_document: MLM packing continues across documents.

    The position is exact: ``load_state_dict(state_dict())`` on a fresh stream yields the same
    examples the original would have yielded next.
    """

    def __init__(
        self,
        files: list[Path],
        tokenizer,
        max_length: int,
        kind: str = "mlm",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        val_fraction: float = 0.0,
        shuffle_buffer: int = 10000,
        fmt: str = "auto",
        text_field: str = "text",
        cross_document: bool = True,
        swap_prob: float = 0.5,
        fingerprints: list[dict[str, Any]] | None = None,
    ):
        if not files:
            raise ConfigError("E450 empty corpus: no files given")
        self.files = [Path(f) for f in files]
        self.builder = ExampleBuilder(tokenizer, max_length, kind, cross_document, swap_prob)
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.val_fraction = val_fraction
        self.shuffle_buffer = max(1, int(shuffle_buffer))
        self.fmt = fmt
        self.text_field = text_field
        self.rng = random.Random(f"stream:{seed}:{rank}")
        self._fingerprints = fingerprints  # content hashes, computed on first need
        # position
        self.epoch = 0
        self.file_pos = 0  # index into this epoch's file order
        self.doc_in_file = 0  # documents of the current file already read
        self.train_docs = 0  # training documents seen this epoch (all ranks), for sharding
        self.docs_used = 0  # documents tokenized by this rank, all epochs
        self.buffer: list[Example] = []
        self.pending: list[Example] = []
        self._reader: Iterator[str] | None = None
        self._order = _epoch_order(len(self.files), seed, 0)

    # -- reading
    def _open_reader(self) -> None:
        path = self.files[self._order[self.file_pos]]
        reader = iter_documents(path, self.fmt, self.text_field)
        for _ in range(self.doc_in_file):  # fast-forward after a resume (no tokenization)
            next(reader, None)
        self._reader = reader

    def _next_document(self) -> str | None:
        """The next training document of this rank, moving across files and epochs."""
        while True:
            if self._reader is None:
                self._open_reader()
            doc = next(self._reader, None)
            if doc is None:
                self._reader = None
                self.file_pos += 1
                self.doc_in_file = 0
                if self.file_pos >= len(self.files):
                    self._end_epoch()
                continue
            path = self.files[self._order[self.file_pos]]
            index = self.doc_in_file
            self.doc_in_file += 1
            if is_heldout(doc_key(path, index), self.val_fraction):
                continue
            mine = self.train_docs % self.world_size == self.rank
            self.train_docs += 1
            if mine:
                self.docs_used += 1
                return doc

    def _end_epoch(self) -> None:
        if self.train_docs < self.world_size:
            names = ", ".join(str(f) for f in self.files[:3]) + (f" and {len(self.files) - 3} more" if len(self.files) > 3 else "")
            held = f" after holding out val_fraction {self.val_fraction} for validation" if self.val_fraction else ""
            raise TrainingError(
                f"E550 the corpus ({names}) has {self.train_docs} training documents{held}, fewer than the "
                f"{self.world_size} process(es): is it empty, or in another format than {self.fmt!r}?"
            )
        self.epoch += 1
        self.file_pos = 0
        self.train_docs = 0
        self._order = _epoch_order(len(self.files), self.seed, self.epoch)

    def _next_packed(self) -> Example:
        while not self.pending:
            doc = self._next_document()
            self.pending.extend(self.builder.add_document(doc, self.rng))
        return self.pending.pop(0)

    # -- iteration
    def __iter__(self) -> "PretrainStream":
        return self

    def __next__(self) -> Example:
        while len(self.buffer) < self.shuffle_buffer:
            self.buffer.append(self._next_packed())
        i = self.rng.randrange(len(self.buffer))
        self.buffer[i], self.buffer[-1] = self.buffer[-1], self.buffer[i]
        return self.buffer.pop()

    def take(self, n: int) -> list[Example]:
        return [next(self) for _ in range(n)]

    # -- exact position
    def fingerprints(self) -> list[dict[str, Any]]:
        """Size and sha256 of each file (:func:`file_fingerprints`), saved with the position."""
        if self._fingerprints is None:
            self._fingerprints = file_fingerprints(self.files)
        return self._fingerprints

    def state_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "files": [str(f) for f in self.files],
            "fingerprints": self.fingerprints(),
            "seed": self.seed,
            "rank": self.rank,
            "world_size": self.world_size,
            "epoch": self.epoch,
            "file_pos": self.file_pos,
            "doc_in_file": self.doc_in_file,
            "train_docs": self.train_docs,
            "docs_used": self.docs_used,
            "rng": self.rng.getstate(),
            "current": list(self.builder.current),
            "tokens_truncated": self.builder.tokens_truncated,
            "pending": [(e.input_ids, e.n_first, e.label) for e in self.pending],
            "buffer": [(e.input_ids, e.n_first, e.label) for e in self.buffer],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if [str(f) for f in self.files] != list(state["files"]):
            raise ConfigError("E455 the corpus files differ from the ones of the saved data position; resume with the same corpus")
        saved = state.get("fingerprints")  # absent in positions saved before content hashes were kept
        if saved is not None:
            now = {fp["path"]: fp for fp in self.fingerprints()}
            for old in saved:
                new = now.get(old["path"], {})
                strip = lambda fp: {k: v for k, v in fp.items() if k != "path"}  # noqa: E731
                if strip(old) != strip(new):
                    raise ConfigError(
                        f"E495 corpus file {old['path']!r} changed since the saved data position "
                        f"({_fp_text(old)} -> {_fp_text(new)}); the position and the validation slice would not "
                        "match: restore the file or start a new run"
                    )
        if state["world_size"] != self.world_size or state["rank"] != self.rank:
            raise ConfigError(
                f"E456 the data position was saved with {state['world_size']} processes (rank {state['rank']}), "
                f"now {self.world_size} (rank {self.rank}); resume with the same number of processes"
            )
        self.epoch = state["epoch"]
        self.file_pos = state["file_pos"]
        self.doc_in_file = state["doc_in_file"]
        self.train_docs = state["train_docs"]
        self.docs_used = state.get("docs_used", 0)
        self.rng.setstate(state["rng"])
        self.builder.current = list(state["current"])
        self.builder.tokens_truncated = state.get("tokens_truncated", 0)  # positions saved before it was counted: 0
        self.pending = [Example(np.asarray(i, dtype=np.int32), n, lab) for i, n, lab in state["pending"]]
        self.buffer = [Example(np.asarray(i, dtype=np.int32), n, lab) for i, n, lab in state["buffer"]]
        self._order = _epoch_order(len(self.files), self.seed, self.epoch)
        self._reader = None


def _fp_text(fp: dict[str, Any]) -> str:
    digest = fp.get("sha256") or fp.get("sha256-head-tail-1MiB") or "?"
    return f"{fp.get('bytes', '?')} bytes, sha256 {digest[:12]}"


def validation_examples(
    files: list[Path],
    tokenizer,
    max_length: int,
    kind: str = "mlm",
    val_fraction: float = 0.005,
    max_examples: int = 512,
    seed: int = 0,
    fmt: str = "auto",
    text_field: str = "text",
    stats: dict[str, int] | None = None,
) -> list[Example]:
    """The held-out examples (documents selected by :func:`is_heldout`), in corpus order,
    packed like the training stream but never across documents; at most ``max_examples``.
    ``stats``, when given, receives ``tokens_truncated``: tokens of the documents read that went into no
    example (see :class:`ExampleBuilder`)."""
    if val_fraction <= 0 or max_examples <= 0:
        if stats is not None:
            stats["tokens_truncated"] = 0
        return []
    builder = ExampleBuilder(tokenizer, max_length, kind, cross_document=False)
    rng = random.Random(f"validation:{seed}")
    out: list[Example] = []
    for doc in iter_corpus(files, fmt, text_field, split="validation", val_fraction=val_fraction):
        out.extend(builder.add_document(doc, rng))
        if len(out) >= max_examples:
            break
    if stats is not None:
        stats["tokens_truncated"] = builder.tokens_truncated
    return out[:max_examples]
