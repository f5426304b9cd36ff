"""CLI: ``biobert embed``: document (and word) vectors to ``.npz`` or JSON lines.

    biobert embed --input "BRCA1 mutations cause breast cancer." --output out.jsonl --words
    biobert embed --input corpus.PubTator.txt --output vectors.npz --model runs/ncbi --pool cls --layers=-1,-2

``--input`` is a file when such a file exists (any format of :mod:`biobert.io`),
else the text itself. See :mod:`biobert.embed` for how vectors are computed and
:func:`biobert.embed.save_npz` for the ``.npz`` layout. JSON lines hold one
document per line: ``{"id", "pool", "vector", "words": [{"start", "end", "text", "vector"}]}``
(numbers rounded to 6 decimals). A short JSON report goes to stderr.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from biobert.cli.app import DEVICE_OPTION, SPLITTER_OPTION, app, check_text_argument, fail, partial_output, prepare_output
from biobert.errors import BiobertError, ConfigError
from biobert.io.jsonl import dumps


def _parse_layers(s: str) -> list[int]:
    try:
        return [int(x) for x in s.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"E432 --layers expects comma-separated integers such as -1 or -1,-2,-3,-4, got {s!r}") from None


def _input_docs(value: str, fmt: Optional[str], lines: bool, stats: Counter) -> list:
    """Documents from ``value``: an existing file, or the text itself (blank lines skipped with ``lines`` are
    counted in ``stats``)."""
    from biobert import io
    from biobert.types import Document

    p = Path(value)
    if p.is_file():
        fmt_ = fmt or io.guess_format(p)
        kw = {"lines": True, "stats": stats} if (fmt_ == "text" and lines) else {}
        return io.read(p, fmt=fmt_, **kw)
    looks_like_path = not any(c.isspace() for c in value) and (
        "/" in value or any(value.lower().endswith(ext) for f in io.FORMATS.values() for ext in f.extensions)
    )
    if fmt is not None or looks_like_path:
        raise ConfigError(f"E423 input file {value!r} does not exist (to embed it as text, give it as the TEXT "
                          "argument: `biobert embed 'TP53/MDM2'`)")
    return _split_lines(value, stats) if lines else [Document(id="0", text=value)]


def _split_lines(text: str, stats: Counter) -> list:
    from biobert import io

    return io.reads(text, "text", lines=True, stats=stats)


@app.command("embed")
def embed_cmd(
    text: Optional[str] = typer.Argument(None, help="Text to embed (or use --input; stdin when neither is given)."),
    input: Optional[str] = typer.Option(None, "--input", "-i", help="Input file, or the text itself."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="out.npz or out.jsonl (default: JSON lines on stdout)."),
    model: str = typer.Option("minilm", "--model", "-m", help="Encoder: 'minilm', a directory (fine-tuned models too) or a hub id."),
    pool: str = typer.Option("mean", "--pool", help="Sentence pooling: mean | cls."),
    layers: str = typer.Option("-1", "--layers", help="Hidden layers to average, e.g. -1 or -1,-2,-3,-4 (write --layers=-1,-2)."),
    words: bool = typer.Option(False, "--words", help="Also write one vector per word, with its character offsets."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="text | pubtator | bioc | biocjson | conll | jsonl | json (default: from the file name)."),
    lines: bool = typer.Option(False, "--lines", help="Text input: one document per line."),
    max_length: Optional[int] = typer.Option(None, "--max-length", help="Window size in subwords (default: the model's, at most 512)."),
    batch_tokens: int = typer.Option(1024, "--batch-tokens", help="Padded-token budget of one forward pass."),
    splitter: Optional[str] = SPLITTER_OPTION,
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Document vectors (and word vectors with --words) from an encoder; long texts are windowed, never truncated."""
    from biobert.embed import POOLS, Embedder, save_npz
    from biobert.types import Document

    try:
        check_text_argument(text, input)
        if pool not in POOLS:
            raise ConfigError(f"E430 unknown pool={pool!r}; expected one of {', '.join(POOLS)}")
        layer_list = _parse_layers(layers)
        out_kind = None
        if output is not None and output != "-":
            low = output.lower()
            # .json is refused: what is written is JSON Lines (one object per document), which json.load cannot read
            out_kind = "npz" if low.endswith(".npz") else "jsonl" if low.endswith(".jsonl") else None
            if out_kind is None:
                raise ConfigError(f"E433 cannot tell the output format of {output!r}; use a name ending in .npz or "
                                  ".jsonl (JSON Lines, one document per line)")
            prepare_output(output)
        read_stats: Counter = Counter()
        if input is not None:
            docs = _input_docs(input, input_format, lines, read_stats)
        else:
            raw = text if text is not None else sys.stdin.read()
            docs = _split_lines(raw, read_stats) if lines else [Document(id="0", text=raw)]
        embedder = Embedder.load(model, max_length=max_length, batch_tokens=batch_tokens, device=device, splitter=splitter)
        embs = embedder(docs, pool=pool, layers=layer_list, words=words)
    except BiobertError as exc:
        fail(exc)
    # lone surrogates in a text (a JSON "\ud800" escape in the input) are written as the same JSON escapes, as
    # the service does (json.dumps(ensure_ascii=False) gave a string UTF-8 cannot encode: a traceback); a file is
    # written as .partial-NAME and renamed when complete, never left empty or half-written under its own name
    if out_kind == "npz":
        with partial_output(output) as tmp:  # type: ignore[arg-type]
            report = save_npz(embs, tmp, dim=embedder.dim, words=words)
    elif out_kind == "jsonl":
        with partial_output(output) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:  # type: ignore[arg-type]
            for e in embs:
                fh.write(dumps(e.to_dict()) + "\n")
    else:
        for e in embs:
            sys.stdout.write(dumps(e.to_dict()) + "\n")
    if out_kind != "npz":
        report = {"docs": len(embs), "words": sum(len(e.words) for e in embs), "dim": embedder.dim}
    report.update({"model": embedder.source, "pool": pool, "layers": layer_list, "output": output or "-"})
    # every counter: an empty document's zero vector (docs_without_words_zero_vector) must not pass unsaid
    report.update(sorted(embedder.last_stats.items()))
    report.update(read_stats)
    typer.echo(json.dumps(report), err=True)
