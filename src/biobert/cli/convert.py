"""CLI: ``biobert convert INPUT OUTPUT``: format conversion through the :mod:`biobert.io` registry.

    biobert convert CDR_TestSet.PubTator.txt test.tsv            # formats from the file names
    biobert convert corpus.txt out.xml --from pubtator --to bioc
    biobert convert ncbi/test.tsv test.jsonl --untyped-label Disease
    biobert convert corpus.jsonl brat_dir/ --to brat                # NAME.txt + NAME.ann per document

The writer's report (documents, spans written, overlapping spans dropped, ...)
is printed as JSON on stderr; stdout stays free when OUTPUT is ``-``.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

import typer

from biobert.cli.app import app, fail, prepare_output, require_input
from biobert.errors import BiobertError, ConfigError

SCHEMES = ("BIO", "IOBES", "BILOU")


def convert(input: str, output: str, *, from_fmt: str | None = None, to_fmt: str | None = None,
            untyped_label: str | None = None, scheme: str | None = None, lines: bool = False) -> dict[str, Any]:
    """Read ``input`` and write ``output`` (``"-"``: stdout, ``to_fmt`` required); returns the report."""
    from biobert import io

    if output == "-" and to_fmt is None:
        raise ConfigError("E424 --to is required when writing to stdout ('-')")
    src = require_input(input, from_fmt)
    fmt_in = from_fmt or io.guess_format(src)
    fmt_out = to_fmt or io.guess_format(output, sniff=False)
    for f in (fmt_in, fmt_out):
        if f not in io.FORMATS:
            raise ConfigError(f"E420 unknown format {f!r}; accepted formats: {', '.join(io.FORMATS)}")
    read_kw: dict[str, Any] = {}
    if fmt_in == "conll" and untyped_label:
        read_kw["untyped_label"] = untyped_label
    if fmt_in == "text" and lines:
        read_kw["lines"] = True
    docs = io.read(src, fmt=fmt_in, **read_kw)
    write_kw: dict[str, Any] = {}
    if fmt_out == "conll" and scheme:
        if scheme.upper() not in SCHEMES:
            raise ConfigError(f"E425 unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
        write_kw["scheme"] = scheme.upper()
    if fmt_out == "text":
        if len(docs) > 1 or lines:
            if any("\n" in d.text or "\r" in d.text for d in docs):
                raise ConfigError(
                    f"E426 {len(docs)} documents cannot be written as plain text: one document per line needs "
                    "texts without line breaks; choose jsonl instead"
                )
            write_kw["lines"] = True
        elif not docs:
            raise ConfigError(f"E426 {str(src)!r} holds no document to write as plain text")
    target: Any = sys.stdout if output == "-" else prepare_output(output)
    report = io.write(docs, target, fmt=fmt_out, **write_kw)
    return {"input": str(src), "from": fmt_in, "output": output, "to": fmt_out, "docs_read": len(docs), **(report or {})}


@app.command("convert")
def convert_cmd(
    input: str = typer.Argument(..., help="Input file (or a directory of brat .txt + .ann pairs)."),
    output: str = typer.Argument(..., help="Output file ('-' for stdout, with --to)."),
    from_fmt: Optional[str] = typer.Option(None, "--from", help="conll | pubtator | bioc | biocjson | jsonl | json | text | brat (default: from the input name; a directory of .ann files is brat)."),
    to_fmt: Optional[str] = typer.Option(None, "--to", help="conll | pubtator | bioc | biocjson | jsonl | json | text | brat (a directory; default: from the output name)."),
    untyped_label: Optional[str] = typer.Option(None, "--untyped-label", help="Type given to untyped B/I tags of CoNLL input (default ENTITY)."),
    scheme: Optional[str] = typer.Option(None, "--scheme", help="Tag scheme of CoNLL output: BIO (default) | IOBES | BILOU."),
    lines: bool = typer.Option(False, "--lines", help="Plain text: one document per line (implied when writing several documents)."),
) -> None:
    """Convert annotated documents between formats; the writer's counts go to stderr as JSON."""
    try:
        report = convert(input, output, from_fmt=from_fmt, to_fmt=to_fmt, untyped_label=untyped_label, scheme=scheme, lines=lines)
    except BiobertError as exc:
        fail(exc)
    typer.echo(json.dumps(report, ensure_ascii=False), err=True)


@app.command("convert-tf")
def convert_tf_cmd(
    checkpoint: str = typer.Argument(..., help="TensorFlow checkpoint prefix, e.g. biobert_v1.1_pubmed/model.ckpt-1000000."),
    out: str = typer.Option(..., "--out", "-o", help="Output directory (Hugging Face format)."),
    config: Optional[str] = typer.Option(None, "--config", help="bert_config.json (default: beside the checkpoint)."),
    vocab: Optional[str] = typer.Option(None, "--vocab", help="vocab.txt (default: beside the checkpoint)."),
    cased: Optional[bool] = typer.Option(None, "--cased/--uncased", help="Tokenizer casing (default: decided from the vocabulary)."),
) -> None:
    """Convert an original (TensorFlow) BERT/BioBERT checkpoint to a Hugging Face directory, without TensorFlow.

    Optimizer variables are left out and counted; every converted tensor is checked bit-identical after
    reloading. The report (also in OUT/conversion.json) is printed as JSON.
    """
    from biobert.tfcheckpoint import convert_bert_checkpoint

    try:
        report = convert_bert_checkpoint(checkpoint, out, config=config, vocab=vocab, cased=cased)
    except BiobertError as exc:
        fail(exc)
    typer.echo(json.dumps(report, ensure_ascii=False))
