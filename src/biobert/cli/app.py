"""Typer application objects shared by the command modules."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn

import typer

app = typer.Typer(
    name="biobert",
    help="Biomedical text mining with BERT-family encoders: pre-train, fine-tune, evaluate, tag, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
finetune_app = typer.Typer(help="Fine-tune an encoder on a task (ner, re, qa).", no_args_is_help=True)
evaluate_app = typer.Typer(help="Evaluate a fine-tuned model on labelled data; prints JSON.", no_args_is_help=True)
app.add_typer(finetune_app, name="finetune")
app.add_typer(evaluate_app, name="evaluate")

#: ``--device`` and ``--precision`` of every command that runs a model (rules in :mod:`biobert.device`)
DEVICE_OPTION = typer.Option(None, "--device", help="auto (default: a GPU when there is one) | cpu | cuda | cuda:N | mps.")
PRECISION_OPTION = typer.Option("fp32", "--precision", help="fp32 | fp16 | bf16: half-precision weights on a GPU; bf16 also on CPUs with AMX (amx_bf16), where it tagged 2.9x faster than fp32; without AMX (AVX512-BF16 alone) it measured 0.72x, slower: check with `biobert benchmark --precision bf16`.")
#: ``--splitter`` of every command that tags text (rules in :mod:`biobert.text.sentences`)
DECODE_OPTION = typer.Option(None, "--decode", help="viterbi (the likeliest tag sequence with no I- after O or another type) | argmax (each word's likeliest tag, repaired as conlleval does); default: the model's setting, else viterbi.")
UNCHECKED_INT8_OPTION = typer.Option(False, "--allow-unchecked-int8", help="With --quantize int8: use an int8 model whose F1 cost was never measured by `biobert export onnx --eval-data` (a warning instead of error E322).")
SPLITTER_OPTION = typer.Option(None, "--splitter", help="Sentence splitter for text without sentences: rules | lines | none | pysbd | spacy:MODEL (default: the one the model was trained with, else rules).")


def fail(exc: BaseException) -> NoReturn:
    """Print ``error: <message with its code>`` on stderr and exit with status 2 (no traceback)."""
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def require_file(path: str | Path, what: str = "input file") -> Path:
    """``path`` as a Path if it is an existing file, else ConfigError E423 (instead of a traceback)."""
    from biobert.errors import ConfigError

    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"E423 {what} {str(p)!r} " + ("is a directory" if p.is_dir() else "does not exist"))
    return p


def require_input(path: str | Path, fmt: str | None = None) -> Path:
    """Like :func:`require_file`, but a directory of brat ``.txt`` + ``.ann`` pairs is an input too."""
    p = Path(path)
    if p.is_dir() and (fmt == "brat" or (fmt is None and next(p.rglob("*.ann"), None) is not None)):
        return p
    return require_file(p)


def check_text_argument(text: str | None, input: object | None) -> None:
    """The text argument of ``tag`` / ``extract`` / ``embed`` against ``--input``.

    Raises ConfigError E418 when both are given (the text would be ignored). A text that names an existing file
    (``biobert tag abstracts.txt``) is almost always meant as ``--input``: it is still processed as text, as
    asked, with warning W419 on stderr saying how to read the file instead.
    """
    from biobert.errors import ConfigError

    if text is None:
        return
    if input is not None:
        raise ConfigError("E418 give the text or --input, not both (the text would be ignored)")
    if "\n" not in text and len(text) < 4096:
        try:
            is_file = Path(text).is_file()
        except (OSError, ValueError):  # a name too long for the file system, or with a NUL
            is_file = False
        if is_file:
            import shlex

            import typer

            typer.echo(f"W419 {text!r} is a file, but it is processed as the text {text!r}; to read the file, "
                       f"use --input {shlex.quote(text)}", err=True)


def prepare_output(path: str | Path) -> Path:
    """Create the folder of an output file (ConfigError E427 when that is impossible)."""
    from biobert.errors import ConfigError

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"E427 cannot create the folder of output file {str(p)!r}: {exc.strerror or exc}") from None
    return p


@contextmanager
def partial_output(path: str | Path) -> Iterator[Path]:
    """The name to write ``path`` under: ``.partial-NAME`` beside it, renamed to ``path`` once the block ends
    without an error, and removed when it fails, so that a failed run never leaves an empty or half-written file
    under the name of a complete output (as :func:`biobert.tagging.open_writer` does for ``biobert tag``)."""
    final = Path(path)
    partial = final.with_name(f".partial-{final.name}")  # the suffixes (.gz, .npz) stay last
    try:
        yield partial
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(final)


def emit_documents(docs: list, output: Path | None, fmt: str, single: bool = False) -> dict[str, int]:
    """Write tagged documents as JSON (one object if ``single``) or any io format, to a file or stdout; returns
    what the format could not hold as the documents did (:func:`biobert.io.changes` of the writer's report).

    Lone surrogates in a text (a JSON ``\\ud800`` escape in the input) are written as the same JSON escapes
    (:func:`biobert.io.jsonl.dumps`, as the service answers), not a UnicodeEncodeError; a file is written as
    ``.partial-NAME`` and renamed when complete."""
    from biobert import io
    from biobert.io.jsonl import dumps

    if fmt == "json":
        payload = [d.to_dict() for d in docs]
        s = dumps(payload[0] if single and len(payload) == 1 else payload, indent=2)
        if output:
            with partial_output(output) as tmp:
                tmp.write_text(s + "\n", encoding="utf-8")
        else:
            typer.echo(s)
        return {}
    if output:
        with partial_output(output) as tmp:
            return io.changes(io.write(docs, tmp, fmt=fmt))
    import io as _stdio

    buf = _stdio.StringIO()
    report = io.write(docs, buf, fmt=fmt)
    typer.echo(buf.getvalue(), nl=False)
    return io.changes(report)


def load_linkers(options: list[str], fuzzy: float | None = None, overwrite: bool = False) -> list:
    """One :class:`~biobert.linking.DictionaryLinker` per ``--link`` value (``KB.tsv`` or ``LABEL[,LABEL]=KB.tsv``);
    a CTD vocabulary (named ``CTD_*`` in any case, or with CTD's header) is read in CTD's own column layout."""
    from biobert.linking import DictionaryLinker, parse_link_option

    out = []
    for value in options:
        path, labels = parse_link_option(value)
        f = require_file(path, "dictionary file")
        out.append(DictionaryLinker.from_file(f, labels=labels, fuzzy=fuzzy, overwrite=overwrite))
    return out
