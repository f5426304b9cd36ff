"""Tag files of any size: read, tag and write in chunks of documents.

    from biobert import Tagger
    from biobert.tagging import tag_file
    stats = tag_file(Tagger.load(), "pubmed24n0001.pubtator", "tagged.pubtator")
    # {"documents": 30000, "spans": 412345, "characters": ..., "seconds": ..., "documents_per_second": ...}

PubTator, JSONL and one-document-per-line text are read one record at a
time (:func:`biobert.io.iterate`), tagged ``chunk_docs`` documents at a time
(the tagger still batches their sentences by length) and written as each
chunk is done, so memory stays flat however large the file is. JSON output
is written as one array, incrementally. BioC (XML, JSON) and whole-file text output
are single structures: those documents are kept until the end. Offsets are
those of the tagger: ``doc.text[s.start:s.end] == s.text`` for every span.
A model trained with neighbouring-sentence context (``context > 0``) sees the
context inside each document; for sentence-per-document CoNLL input, the
first and last sentence of each chunk lack their neighbour across the chunk
boundary (one sentence in ``chunk_docs``).

Into a file, the output grows as ``.partial-NAME`` and is renamed when
complete. For formats written record by record (``RESUMABLE_FORMATS``) the
progress is recorded after every chunk, once the chunk is on disk, and
``resume=True`` continues a stopped (killed, interrupted) run where the record
says: the result is byte for byte the output of a run that never stopped.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator

from biobert import io
from biobert.errors import ConfigError, DataFormatError
from biobert.io import jsonl
from biobert.io._common import DECOMPRESSORS, PathOrStream, _typed_encode_errors, format_ids, open_out
from biobert.types import Document

__all__ = ["tag_file", "tag_stream", "parse_shard", "StreamWriter", "BratDirWriter", "open_writer", "OUTPUT_FORMATS",
           "RESUMABLE_FORMATS", "progress_path"]

#: output formats of :func:`tag_file`: every io format, JSON (one array) and a human-readable table
OUTPUT_FORMATS = tuple(dict.fromkeys(("json", "table", *io.FORMATS)))

#: output formats written record by record into one file: :func:`tag_file` records its progress after every chunk
#: and a stopped run continues (``resume=True``); BioC and text are one structure written at the end, brat a directory
RESUMABLE_FORMATS = ("json", "table", "pubtator", "jsonl", "conll")

logger = logging.getLogger(__name__)


_CELL_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _cell(value: str) -> str:
    """A table cell: tabs and line breaks written as ``\\t``, ``\\n``, ``\\r`` (and backslashes doubled, so the
    escapes read back unambiguously), one row per span whatever the mention holds."""
    return value.translate(_CELL_ESCAPES)


def output_format_for(output: str | Path | None, default: str = "json") -> str:
    """The format tagged documents are written in when none is given: the one the output's name says (``.pubtator``,
    ``.xml`` BioC, ``.bioc.json``, ``.conll``/``.tsv``, ``.jsonl``, ``.json``; an existing directory is brat), else
    ``default``. A ``.txt`` name gets ``default`` too: the text format holds no annotations, so tagging into it
    would write the input back without a single span (PubTator files named ``.pubtator.txt`` are PubTator).
    """
    if output is None or str(output) == "-":
        return default
    p = Path(output)
    if p.is_dir():
        return "brat"
    try:
        fmt = io.guess_format(p, sniff=False)
    except ConfigError:
        return default
    return default if fmt == "text" else fmt


class StreamWriter:
    """Write documents chunk by chunk in one output format, producing one valid file in the end."""

    def __init__(self, out: IO[str], fmt: str, *, header: bool = True) -> None:
        """``header=False``: no column header line for table output (shards after the first, so that the shards'
        outputs concatenate into the output of the whole file)."""
        if fmt not in OUTPUT_FORMATS:
            raise ConfigError(f"E420 unknown output format {fmt!r}; accepted formats: {', '.join(OUTPUT_FORMATS)}")
        self.out, self.fmt = out, fmt
        self.header = header
        self.n = 0
        self._held: list[Document] = []  # formats that are one structure (BioC collection, plain text)
        #: the io writers' reports summed over chunks (spans written, overlapping spans dropped, ...)
        self.counts: Counter = Counter()

    def _count(self, report: dict[str, Any] | None) -> None:
        self.counts.update({k: v for k, v in (report or {}).items() if isinstance(v, int) and not isinstance(v, bool)})

    def write(self, docs: list[Document]) -> None:
        f = self.out
        if self.fmt == "json":
            for d in docs:
                f.write(("[\n" if self.n == 0 else ",\n") + jsonl.dumps(d.to_dict(), indent=2))
                self.n += 1
            return
        if self.fmt == "table":
            if self.n == 0 and self.header:
                f.write("doc\tstart\tend\tlabel\tscore\tmention\tids\n")
            for d in docs:
                for sp in d.spans:
                    score = "" if sp.score is None else f"{sp.score:.3f}"
                    # a mention (or id) with a tab or line break would break its row: those are shown escaped, and
                    # start/end still index the original text
                    # ids (a linker's, or read with the input) as PubTator writes them: "MESH:D001943|OMIM:1"
                    ids = _cell(format_ids(sp.ids, empty=""))
                    cells = (_cell(d.id), sp.start, sp.end, _cell(sp.label), score, _cell(d.text[sp.start:sp.end]), ids)
                    f.write("\t".join(map(str, cells)) + "\n")
        elif self.fmt in ("bioc", "biocjson", "text"):
            self._held += docs
        elif self.fmt == "conll":
            # every document behind its own -DOCSTART- line, so that chunks concatenate into one valid file
            self._count(io.write(docs, f, fmt="conll", docstart=True))
        else:
            self._count(io.write(docs, f, fmt=self.fmt))
        self.n += len(docs)

    def close(self) -> None:
        """Finish the file (closing bracket, held structures); the stream itself is not closed."""
        if self.fmt == "json":
            self.out.write("[]\n" if self.n == 0 else "\n]\n")
        elif self.fmt in ("bioc", "biocjson"):
            self._count(io.write(self._held, self.out, fmt=self.fmt))
        elif self.fmt == "text":
            self._count(io.write(self._held, self.out, fmt="text", lines=len(self._held) != 1))
        self.out.flush()


class BratDirWriter:
    """The :class:`StreamWriter` interface for brat output: each chunk's documents become ``<id>.txt`` + ``<id>.ann``
    in a directory (brat is one file pair per document, so chunks need nothing held back)."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if self.directory.exists() and not self.directory.is_dir():
            raise ConfigError(f"E429 brat output is a directory of .txt + .ann pairs; {str(self.directory)!r} is a file")
        self.counts: Counter = Counter()
        self.n = 0
        self._ids: set[str] = set()  # write_brat refuses a repeated id within a chunk; this catches it across chunks

    def write(self, docs: list[Document]) -> None:
        for k, d in enumerate(docs):
            if d.id in self._ids:
                raise DataFormatError(
                    "E246", self.directory / f"{d.id}.ann", None,
                    "each document id once (a document is written to <id>.txt + <id>.ann)",
                    found=f"document {d.id!r} again, as document {self.n + k + 1} of the input",
                )
        self.counts.update(io.write(docs, self.directory, fmt="brat"))  # e.g. spans_split_at_line_breaks
        self._ids.update(d.id for d in docs)
        self.n += len(docs)

    def close(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)  # an empty input still gives its (empty) directory


@contextmanager
def open_writer(output: PathOrStream, fmt: str, *, header: bool = True) -> Iterator[Any]:
    """A chunk writer for ``fmt`` into ``output``: a :class:`BratDirWriter` for brat (``output`` is a directory),
    else a :class:`StreamWriter` on the opened file or stream (``header``: see :class:`StreamWriter`). Checks the
    format before anything is written."""
    if fmt not in OUTPUT_FORMATS:
        raise ConfigError(f"E420 unknown output format {fmt!r}; accepted formats: {', '.join(OUTPUT_FORMATS)}")
    if fmt == "brat":
        if not isinstance(output, (str, Path)):
            raise ConfigError("E429 brat output is a directory of .txt + .ann pairs; give --output DIR, not a stream")
        yield BratDirWriter(output)
        return
    if not isinstance(output, (str, os.PathLike)):
        with open_out(output) as f:
            yield StreamWriter(f, fmt, header=header)
        return
    # written under a temporary name beside it and renamed when every chunk is in: a killed run used to leave a
    # file that read back as a complete, shorter output. The partial file stays (chunks done so far) if it fails.
    final = Path(output)
    partial = final.with_name(f".partial-{final.name}")  # the suffixes (.gz) stay last: compression is kept
    try:
        with open_out(partial) as f:
            yield StreamWriter(f, fmt, header=header)
    except BaseException:
        if partial.exists():
            logger.warning("tagging stopped: the documents written so far are in %s; %s was not written", partial, final)
        raise
    partial.replace(final)


def _chunks(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    it = iter(docs)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def tag_stream(tagger: Any, docs: Iterable[Document], writer: "StreamWriter | BratDirWriter", chunk_docs: int = 256,
               progress: bool | None = None, *, on_chunk: Callable[[dict[str, Any]], None] | None = None,
               done: dict[str, Any] | None = None) -> dict[str, Any]:
    """Tag ``docs`` (any iterable, consumed lazily) ``chunk_docs`` at a time into ``writer``; return counts and speed.

    Args:
        progress: a rich progress line on stderr (documents, documents/s); ``None``: only on a terminal.
        on_chunk: called after each chunk is written, with the running ``documents``, ``spans``, ``characters``
            and ``counts`` (how :func:`tag_file` records its progress).
        done: those totals from the part of a resumed run that is already written; the returned totals include
            them, the speed is this run's own.
    """
    if chunk_docs < 1:
        raise ConfigError(f"E428 chunk_docs must be at least 1, got {chunk_docs}")
    if progress is None:
        progress = sys.stderr.isatty()
    bar = task = None
    if progress:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = Progress(SpinnerColumn(), TextColumn("tagged {task.completed:,} documents ({task.fields[rate]} docs/s)"),
                       TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        bar.start()
        task = bar.add_task("tag", total=None, rate="-")
    t0 = time.perf_counter()
    done = done or {}
    n_docs, n_spans, n_chars = done.get("documents", 0), done.get("spans", 0), done.get("characters", 0)
    n_before = n_docs
    # the tagger's counters (windowed sentences, unseen words, abbreviation changes)
    counts: Counter = Counter(done.get("counts") or {})
    try:
        for chunk in _chunks(docs, chunk_docs):
            tagged = tagger(chunk)
            counts.update(getattr(tagger, "last_stats", None) or {})
            writer.write(tagged)
            n_docs += len(tagged)
            n_spans += sum(len(d.spans) for d in tagged)
            n_chars += sum(len(d.text) for d in tagged)
            if on_chunk is not None:
                on_chunk({"documents": n_docs, "spans": n_spans, "characters": n_chars, "counts": dict(counts)})
            if bar is not None:
                rate = (n_docs - n_before) / max(time.perf_counter() - t0, 1e-9)
                bar.update(task, completed=n_docs, rate=f"{rate:,.1f}")
        writer.close()
    finally:
        if bar is not None:
            bar.stop()
    seconds = time.perf_counter() - t0
    return {
        "documents": n_docs,
        "spans": n_spans,
        "characters": n_chars,
        "seconds": round(seconds, 3),
        "documents_per_second": round((n_docs - n_before) / seconds, 2) if seconds > 0 else None,
        "counts": dict(counts),
        "written": dict(writer.counts),  # what the output format's writer counted (e.g. overlapping spans it dropped)
    }


def parse_shard(value: str) -> tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``: the third of four shards (0-based), with a typed error for anything else."""
    try:
        k, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise ConfigError(f"E428 --shard expects K/N with 0 <= K < N, e.g. 0/2, got {value!r}") from None
    return _check_shard(k, n)


def _check_shard(k: int, n: int) -> tuple[int, int]:
    if not 0 <= k < n:
        raise ConfigError(f"E428 --shard expects K/N with 0 <= K < N, e.g. 0/2, got {k}/{n}")
    return k, n


def progress_path(output: str | os.PathLike[str]) -> Path:
    """Where :func:`tag_file` records how far it got into ``output``: ``.partial-NAME.progress.json``, beside the
    ``.partial-NAME`` file the output grows in until it is complete."""
    final = Path(output)
    return final.with_name(f".partial-{final.name}.progress.json")


def _as_json(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists, paths strings): what a saved job compares against."""
    return json.loads(json.dumps(value, default=str))


def _job(tagger: Any, input: PathOrStream, input_format: str, output_format: str, chunk_docs: int,
         shard: tuple[int, int] | None, reader_kw: dict[str, Any], extra: dict[str, Any] | None) -> dict[str, Any]:
    """What a resumed run must share with the stopped one for their outputs to make one file: the input file (path,
    size, modification time), the formats, the shard and chunking (a context model sees neighbours within a chunk),
    the tagger's class and source, and ``extra`` (the caller's tagger settings: decoding, linking, ...)."""
    source = None
    if isinstance(input, (str, os.PathLike)):
        p = Path(input)
        st = p.stat()
        source = {"path": str(p.resolve()), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    inner = getattr(tagger, "tagger", tagger)  # a LinkedTagger's tagger
    model = getattr(inner, "source", None)
    return _as_json({
        "input": source, "input_format": input_format, "output_format": output_format, "chunk_docs": chunk_docs,
        "shard": list(shard) if shard is not None else None, "reader": reader_kw,
        "tagger": {"class": type(tagger).__name__, "source": None if model is None else str(model)},
        **(extra or {}),
    })


def _load_progress(record: Path, partial: Path, job: dict[str, Any]) -> dict[str, Any] | None:
    """The progress a stopped run recorded, checked against this run's ``job`` and its partial file; ``None`` when
    there is nothing to resume."""
    if not record.exists():
        return None
    try:
        state = json.loads(record.read_text(encoding="utf-8"))
        saved, size, n = state["job"], int(state["bytes"]), int(state["documents"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"E702 cannot resume: the progress record {str(record)!r} is unreadable ({e}); delete it "
                          "to tag from the start") from None
    if saved != job:
        keys = sorted(k for k in set(saved) | set(job) if saved.get(k) != job.get(k))
        raise ConfigError(
            f"E702 cannot resume: the stopped run in {str(partial)!r} was tagged with other settings ("
            + "; ".join(f"{k}: {saved.get(k)!r} then, {job.get(k)!r} now" for k in keys)
            + "); run again with them, or without --resume to tag from the start"
        )
    have = partial.stat().st_size if partial.exists() else None
    if have is None or have < size:
        raise ConfigError(
            f"E703 cannot resume: {str(partial)!r} " + ("is missing" if have is None else f"holds {have:,} bytes")
            + f", but {n:,} documents ({size:,} bytes) were recorded as written there; it was moved or changed. "
            "Delete it and its progress record to tag from the start"
        )
    return state


def _tag_with_progress(tagger: Any, docs: Iterable[Document], output: Path, fmt: str, *, header: bool,
                       job: dict[str, Any], resume: bool, chunk_docs: int, progress: bool | None) -> dict[str, Any]:
    """:func:`tag_stream` into ``.partial-NAME``, recording after every chunk (file flushed to disk first) its
    length, the documents in it and the running counts; renamed to ``output`` when complete. With ``resume`` a
    stopped run's partial file is cut back to the recorded length (a chunk half written when it stopped) and the
    documents after the recorded ones are tagged onto it: the same bytes as one uninterrupted run."""
    partial, record = output.with_name(f".partial-{output.name}"), progress_path(output)
    state = _load_progress(record, partial, job) if resume else None
    if resume and state is None:
        logger.info("--resume: no stopped run recorded for %s; tagging from the start", output)
    elif not resume and record.exists():
        logger.warning("%s holds a stopped run's documents; tagging from the start replaces them (--resume "
                       "continues that run instead)", partial)
    if state is not None:
        with open(partial, "r+b") as raw:
            raw.truncate(state["bytes"])
        docs = itertools.islice(docs, state["documents"], None)
    try:
        with open(partial, "a" if state else "w", encoding="utf-8", newline="\n") as f, _typed_encode_errors(str(partial)):
            writer = StreamWriter(f, fmt, header=header)
            if state is not None:
                writer.n = state["documents"]  # JSON goes on after a comma, the table's header is not repeated
                writer.counts.update(state.get("written") or {})

            def save(totals: dict[str, Any]) -> None:
                f.flush()
                os.fsync(f.fileno())  # the bytes on disk before the record that says they are there
                tmp = record.with_name(record.name + ".tmp")
                tmp.write_text(json.dumps({"job": job, "bytes": os.fstat(f.fileno()).st_size, **totals,
                                           "written": dict(writer.counts)}), encoding="utf-8")
                os.replace(tmp, record)  # atomic: a kill leaves the old record or the new one

            stats = tag_stream(tagger, docs, writer, chunk_docs=chunk_docs, progress=progress, on_chunk=save, done=state)
    except BaseException:
        if partial.exists():
            logger.warning("tagging stopped: the documents written so far are in %s (--resume continues); %s was not "
                           "written", partial, output)
        raise
    partial.replace(output)
    record.unlink(missing_ok=True)
    if state is not None:
        stats["resumed_after_documents"] = state["documents"]
    return stats


def tag_file(tagger: Any, input: PathOrStream, output: PathOrStream, *, input_format: str | None = None,
             output_format: str | None = None, chunk_docs: int = 256, progress: bool | None = None,
             shard: tuple[int, int] | None = None, resume: bool = False, job: dict[str, Any] | None = None,
             **reader_kw: Any) -> dict[str, Any]:
    """Tag a file (or stream) into another, chunk by chunk; see the module docstring.

    Args:
        tagger: a :class:`~biobert.pipeline.Tagger` (or any callable list[Document] -> list[Document]).
        shard: ``(k, n)``: tag only documents ``k, k + n, k + 2n, ...`` (0-based), so that ``n`` processes
            share one input file; their outputs together hold every document once (``cat`` them for
            PubTator, JSONL, CoNLL or table output; only shard 0 writes the table's header line).
            Documents are dealt out in turn, so the concatenation holds them shard by shard, not in input order.
        input_format: an io format (guessed from the name when ``None``).
        output_format: ``json``, ``table`` or an io format (guessed from the output name when ``None``).
        chunk_docs: documents read, tagged and written at a time.
        resume: continue a stopped run into the same ``output``: the documents its ``.partial-NAME`` file holds
            are kept and the rest tagged onto it (``RESUMABLE_FORMATS`` into an uncompressed file; every such run
            records its progress, resumed or not). The input, formats, shard, ``chunk_docs``, tagger and ``job``
            must be those of the stopped run (E702).
        job: the caller's tagger settings that change its output (``biobert tag`` gives its options), compared
            on resume.
        **reader_kw: reader options (``lines=True`` for one document per text line).

    Returns:
        ``{"documents", "spans", "characters", "seconds", "documents_per_second", "counts", "written", "streamed"}``;
        ``counts`` sums the tagger's ``last_stats`` over chunks, ``written`` the output writer's reports (what
        the format could not hold, such as overlapping spans in CoNLL); ``streamed`` says whether the input was
        read record by record. A resumed run's totals include the stopped run's part, and
        ``resumed_after_documents`` says how many documents that was.
    """
    if input_format is None:
        if not isinstance(input, (str, Path)):
            raise ConfigError("E422 input_format is required when reading from a stream")
        input_format = io.guess_format(input)
    if output_format is None:
        if not isinstance(output, (str, Path)):
            raise ConfigError("E422 output_format is required when writing to a stream")
        output_format = output_format_for(output)
    if chunk_docs < 1:  # fail before the output file is created
        raise ConfigError(f"E428 chunk_docs must be at least 1, got {chunk_docs}")
    if output_format not in OUTPUT_FORMATS:  # fail before reading or tagging anything
        raise ConfigError(f"E420 unknown output format {output_format!r}; accepted formats: {', '.join(OUTPUT_FORMATS)}")
    docs: Iterable[Document] = io.iterate(input, fmt=input_format, **reader_kw)
    if shard is not None:
        k, n = _check_shard(*shard)
        docs = itertools.islice(docs, k, None, n)
    # the table's header line once, from the first shard: the shards' outputs concatenate into one table
    header = shard is None or shard[0] == 0
    recorded = (isinstance(output, (str, os.PathLike)) and output_format in RESUMABLE_FORMATS
                and Path(output).suffix.lower() not in DECOMPRESSORS)
    if resume and not recorded:
        why = ("output to a file, not a stream" if not isinstance(output, (str, os.PathLike))
               else f"{', '.join(RESUMABLE_FORMATS)} output (not {output_format}: written as one structure at the end)"
               if output_format not in RESUMABLE_FORMATS else "an uncompressed output file (a compressed stream cannot be cut back to its last whole chunk)")
        raise ConfigError(f"E701 --resume needs {why}")
    if resume and not isinstance(input, (str, os.PathLike)):
        raise ConfigError("E701 --resume needs an input file: a stream cannot be read again to skip what was tagged")
    if recorded:
        stats = _tag_with_progress(
            tagger, docs, Path(output), output_format, header=header, resume=resume, chunk_docs=chunk_docs,
            progress=progress, job=_job(tagger, input, input_format, output_format, chunk_docs, shard, reader_kw, job))
    else:
        with open_writer(output, output_format, header=header) as writer:
            stats = tag_stream(tagger, docs, writer, chunk_docs=chunk_docs, progress=progress)
    if shard is not None:
        stats["shard"] = f"{shard[0]}/{shard[1]}"
    stats["streamed"] = io.streams(input_format, **reader_kw)
    return stats
