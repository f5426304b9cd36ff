"""CLI: ``biobert finetune ner``, ``biobert evaluate ner``, ``biobert tag``, ``biobert env``."""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from biobert.cli.app import DECODE_OPTION, DEVICE_OPTION, PRECISION_OPTION, SPLITTER_OPTION, UNCHECKED_INT8_OPTION, app, check_text_argument, emit_documents, evaluate_app, finetune_app, load_linkers, prepare_output, require_input
from biobert.errors import BiobertError, ConfigError


#: folder names that say how a corpus is stored, not which corpus it is (``NCBI-disease/biobert/train.tsv``)
_LAYOUT_FOLDERS = {"biobert", "original", "data", "splits", "conll", "iob", "bio", "iobes", "processed", "raw", "ner"}


def corpus_name(train: str) -> str:
    """The corpus name a ``--train`` file implies: its folder, or the nearest folder above whose name is not a
    storage layout (``ner/NCBI-disease/biobert/train.tsv`` is ``NCBI-disease``, not ``biobert``); ``corpus`` when
    none is left. ``--set corpora.0.name=NAME`` overrides it."""
    for folder in list(Path(train).parents)[:3]:
        if folder.name and folder.name.lower() not in _LAYOUT_FOLDERS:
            return folder.name
    return "corpus"


def _fail(exc: BiobertError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


@finetune_app.command("ner")
def finetune_ner_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/ner/)."),
    set_: list[str] = typer.Option([], "--set", help="Override, e.g. --set train.lr=3e-5 (repeatable)."),
    train: Optional[str] = typer.Option(None, help="Training file (CoNLL) when no config is given."),
    dev: Optional[str] = typer.Option(None, help="Dev file."),
    test: Optional[str] = typer.Option(None, help="Test file."),
    encoder: Optional[str] = typer.Option(None, help="Encoder: 'minilm', a directory or a hub id."),
    out: Optional[str] = typer.Option(None, help="Output model directory."),
    train_on: Optional[str] = typer.Option(None, "--train-on", help="train | train+dev (recorded in the report)."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore an existing checkpoint in the output directory."),
) -> None:
    """Fine-tune an encoder for NER; prints the test scores as JSON."""
    from biobert.config import load_config
    from biobert.recipes.ner import NERConfig, finetune_ner

    overrides = list(set_)
    base: dict = {}
    if config is not None and (train or dev or test):
        # the config's corpora would be used and these files silently ignored
        typer.echo("error: E409 give --config or --train/--dev/--test, not both; to change a config's files use "
                   "--set corpora.0.train=FILE (and .dev / .test)", err=True)
        raise typer.Exit(2)
    if config is None:
        if not train:
            typer.echo("error: E409 give --config or at least --train", err=True)
            raise typer.Exit(2)
        base = {"corpora": [{"name": corpus_name(train), "train": train, "dev": dev, "test": test}]}
    for key, val in (("encoder", encoder), ("out", out), ("train_on", train_on), ("train.seed", seed)):
        if val is not None:
            overrides.append(f"{key}={val}")
    try:
        cfg = load_config(NERConfig, config, overrides, base=base)
        report = finetune_ner(cfg, resume=not no_resume, command=" ".join(shlex.quote(a) for a in ["biobert", *sys.argv[1:]]))
    except BiobertError as exc:
        _fail(exc)
    from biobert import distributed

    if distributed.is_main():  # torchrun: one printout, from process 0
        # the selected evaluation's dev P/R/F1 (None without dev, e.g. train_on: train+dev)
        best = next((h for h in report["train"]["history"] if h["step"] == report["train"]["best_step"]), None)
        dev = {k: best[k] for k in ("precision", "recall", "f1") if k in best} if best else None
        typer.echo(json.dumps({"out": cfg.out, "dev": dev or None, "dev_f1": report["dev_f1"], "test": report["test"]}, indent=2))


@evaluate_app.command("ner")
def evaluate_ner_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: the bundled tagger, as `biobert tag`)."),
    data: Path = typer.Option(..., "--data", "-d", help="Gold file."),
    fmt: Optional[str] = typer.Option(None, "--format", help="conll | pubtator | bioc | biocjson | jsonl | json (default: from extension)."),
    untyped_label: Optional[str] = typer.Option(None, help="Type given to untyped B/I tags (default: the model's only type, else ENTITY)."),
    ignore_types: bool = typer.Option(False, "--ignore-types", help="Score boundaries only (BioBERT's untyped protocol)."),
    types: Optional[str] = typer.Option(None, help="Comma-separated types to score (others are ignored). Default: every type, but a model with types the gold file lacks is scored on the gold file's types only (a corpus that does not annotate chemicals cannot tell a right chemical from a wrong one)."),
    map_types: Optional[list[str]] = typer.Option(None, "--map-types", help="Rename gold types before scoring: SRC[,SRC...]=DST, repeatable (NCBI-disease's PubTator types: 'SpecificDisease,DiseaseClass,Modifier,CompositeMention=Disease'). Counted in the output."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Write a 'token gold pred' file here."),
    abbreviations: bool = typer.Option(False, "--abbreviations", help="Make spans agree with each document's 'long form (SF)' definitions, as `biobert tag` does by default (off here: the BioBERT protocol scores the model alone)."),
    decode: Optional[str] = DECODE_OPTION,
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Strict entity-level P/R/F1 (conlleval semantics) as JSON, with the inference counters."""
    from biobert import io
    from biobert.pipeline import Tagger, default_tagger_path
    from biobert.recipes.ner import evaluate_ner

    try:
        require_input(data, fmt)  # a file, or a brat directory
        if predictions is not None:
            prepare_output(predictions)
        tagger = Tagger.load(model, abbreviations=abbreviations, device=device, decode=decode)
        kw = {}
        fmt_ = fmt or io.guess_annotated_format(data)  # gold data named .txt is CoNLL, not raw text
        if fmt_ == "conll":
            kw["untyped_label"] = untyped_label or (tagger.types[0] if len(tagger.types) == 1 else "ENTITY")
        docs = io.read(data, fmt=fmt_, **kw)
        if not any(d.spans for d in docs):
            # nothing to score against: a file read in the wrong format would otherwise score 0 without a word
            raise ConfigError(f"E496 {str(data)!r} holds no gold entities when read as {fmt_}; "
                              "pass --format with the format of this file")
        counts: Counter = Counter()
        if map_types:
            docs = relabel_spans(docs, parse_type_map(map_types), counts)
        keep = set(types.split(",")) if types else None
        gold_all = {s.label for d in docs for s in d.spans}
        if keep is None and not set(tagger.types) <= gold_all:
            # the model's other types are not annotated here: their predictions are neither right nor wrong (the
            # gold types the model lacks are still scored, as misses, as finetune scores a corpus)
            keep = gold_all
            counts["types_not_in_gold_ignored"] = len(set(tagger.types) - gold_all)
        elif keep is not None and not keep & (gold_all | set(tagger.types)):
            # a misspelt --types scored nothing and printed zeros
            raise ConfigError(f"E499 --types {sorted(keep)} names none of the gold types {sorted(gold_all)} or the "
                              f"model's types {sorted(tagger.types)}")
        if not ignore_types:
            # typed scoring of gold types the model never predicts can only give 0: say so instead of scoring
            gold_types = gold_all if keep is None else gold_all & keep
            if gold_types and not gold_types & set(tagger.types):
                raise ConfigError(
                    f"E499 the gold types {sorted(gold_types)} and the model's types {sorted(tagger.types)} do not "
                    "overlap, so typed scores would all be 0; score boundaries only with --ignore-types, name "
                    "the type of untyped gold tags with --untyped-label TYPE, or rename typed gold with "
                    "--map-types SRC[,SRC]=TYPE")
        metrics, pred_docs = evaluate_ner(tagger.predictor, docs, keep, ignore_types=ignore_types, stats=counts)
        metrics["counts"] = dict(counts)
        metrics["decode"] = tagger.predictor.decode  # part of what was scored
        metrics["scored_types"] = sorted(keep) if keep is not None else sorted(gold_all | set(tagger.types))
        if predictions is not None:
            write_predictions(docs, pred_docs, predictions, keep, ignore_types, counts)
            metrics["counts"] = dict(counts)
    except BiobertError as exc:
        _fail(exc)
    metrics["model"], metrics["data"] = model or str(default_tagger_path()), str(data)
    typer.echo(json.dumps(metrics, indent=2))


def parse_type_map(items: list[str]) -> dict[str, str]:
    """``["A,B=X", "C=Y"]`` -> ``{"A": "X", "B": "X", "C": "Y"}``.

    Raises:
        ConfigError: E429 an item without ``=``, an empty name, or a type mapped twice.
    """
    out: dict[str, str] = {}
    for item in items:
        src, eq, dst = item.partition("=")
        names = [n.strip() for n in src.split(",")]
        if not eq or not dst.strip() or not all(names):
            raise ConfigError(f"E429 --map-types expects SRC[,SRC...]=DST, got {item!r}")
        for n in names:
            if n in out and out[n] != dst.strip():
                raise ConfigError(f"E429 --map-types maps {n!r} twice ({out[n]!r} and {dst.strip()!r})")
            out[n] = dst.strip()
    return out


def relabel_spans(docs: list, mapping: dict[str, str], counts: Counter) -> list:
    """``docs`` with span labels renamed by ``mapping``; every rename is counted (``gold_relabelled:A->X``)."""
    from dataclasses import replace

    out = []
    for d in docs:
        spans = []
        for sp in d.spans:
            if sp.label in mapping:
                counts[f"gold_relabelled:{sp.label}->{mapping[sp.label]}"] += 1
                sp = replace(sp, label=mapping[sp.label])
            spans.append(sp)
        out.append(replace(d, spans=tuple(spans)))
    return out


def write_predictions(gold_docs: list, pred_docs: list, path: Path, types: set[str] | None = None,
                      ignore_types: bool = False, counts: Counter | None = None) -> None:
    """``token gold pred`` lines (conlleval input), blank line between sentences.

    The gold is what was scored: only ``types`` (when given), every label ``ENTITY`` with ``ignore_types``.
    Words are cut at gold span edges too, so both sides' spans fit them. What BIO lines cannot hold is counted
    in ``counts`` (``predictions_file_gold_spans_not_written``: the second of overlapping gold spans), since
    conlleval on the file then differs from the printed scores."""
    from dataclasses import replace

    from biobert.labels import chunks_to_tags
    from biobert.recipes.ner import scored_spans
    from biobert.tasks.ner import document_sentences

    def scored(doc):
        spans = scored_spans(doc.spans, types, ignore_types)
        once = {s.key: s for s in reversed(spans)}  # a span given twice is scored once (a set of spans)
        return replace(doc, spans=tuple(sorted(once.values(), key=lambda s: s.key)))

    gold_docs = [scored(g) for g in gold_docs]
    pred_docs = [replace(p, spans=tuple(scored_spans(p.spans, None, ignore_types))) for p in pred_docs]
    file_stats: Counter = Counter()

    def tags_for(doc, words):
        start = {a: i for i, (a, _) in enumerate(words)}
        end = {b: i for i, (_, b) in enumerate(words)}
        inside = [s for s in doc.spans if words[0][0] <= s.start and s.end <= words[-1][1]]
        chunks = [(start[s.start], end[s.end] + 1, s.label) for s in inside if s.start in start and s.end in end]
        file_stats["pred_spans_not_written"] += len(inside) - len(chunks)
        return chunks_to_tags(chunks, len(words))

    with open(path, "w", encoding="utf-8") as fh:
        for i, (g, p) in enumerate(zip(gold_docs, pred_docs)):
            for s in document_sentences(g, i, with_gold=True, stats=file_stats):
                gt = s.tags or []
                pt = tags_for(p, s.words)
                for (a, b), x, y in zip(s.words, gt, pt):
                    fh.write(f"{g.text[a:b]} {x} {y}\n")
                fh.write("\n")
    lost = file_stats["spans_overlapping_dropped"] + file_stats["spans_misaligned_dropped"]
    if counts is not None:
        if lost:
            counts["predictions_file_gold_spans_not_written"] += lost
        if file_stats["pred_spans_not_written"]:
            counts["predictions_file_pred_spans_not_written"] += file_stats["pred_spans_not_written"]


@app.command("tag")
def tag_cmd(
    text: Optional[str] = typer.Argument(None, help="Text to tag (or use --input; with neither, the text is read from stdin)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: the bundled tagger)."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Input file ('-': stdin, with --input-format)."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="text | pubtator | bioc | biocjson | conll | jsonl | json | brat (a directory of .txt + .ann pairs)."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="json | jsonl | pubtator | bioc | biocjson | conll | brat (a directory: --output DIR) | table (human-readable: one span per line). Default: from the --output name (.pubtator, .xml, .bioc.json, .conll/.tsv, .jsonl, .json), else json."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
    lines: bool = typer.Option(False, "--lines", help="With text input: one document per line."),
    quantize: Optional[str] = typer.Option(None, help="int8: accuracy-checked ONNX int8 model (run `biobert export onnx` first)."),
    allow_unchecked_int8: bool = UNCHECKED_INT8_OPTION,
    chunk_docs: int = typer.Option(256, "--chunk-docs", help="Documents read, tagged and written at a time (PubTator, JSONL and --lines text stream: memory stays flat)."),
    abbreviations: bool = typer.Option(True, "--abbreviations/--no-abbreviations", help="Make spans agree with each document's 'long form (SF)' definitions: tag the short form of an entity everywhere, untag one whose long form is no entity (--no-abbreviations: the model's raw predictions)."),
    link: Optional[list[str]] = typer.Option(None, "--link", help="Link spans to ids with a dictionary TSV (id, name, synonyms): KB.tsv for every type, or LABEL[,LABEL]=KB.tsv; repeatable."),
    link_fuzzy: Optional[float] = typer.Option(None, "--link-fuzzy", help="With --link: also match the most similar dictionary name by character trigrams at this similarity or above (0.8 was chosen on BC5CDR dev; see BENCHMARKS.md)."),
    shard: Optional[str] = typer.Option(None, "--shard", help="K/N: tag only every N-th document starting at the K-th (0-based), so N processes can share one input. Line formats (PubTator, JSONL, CoNLL, table) concatenate, shard by shard (not in input order); JSON, BioC and brat outputs are one structure per shard: read them all to merge."),
    splitter: Optional[str] = SPLITTER_OPTION,
    decode: Optional[str] = DECODE_OPTION,
    device: Optional[str] = DEVICE_OPTION,
    precision: str = PRECISION_OPTION,
    resume: bool = typer.Option(False, "--resume", help="Continue a stopped run: keep the documents its .partial-NAME output holds and tag the rest onto it (same input, model and options; PubTator, JSONL, JSON, CoNLL or table output to an uncompressed file)."),
) -> None:
    """Tag raw text or a file; every span's offsets index the original text.

    Files are tagged in chunks of documents and written as they are done; a summary
    (documents, spans, documents/s) goes to stderr as JSON.
    """
    from biobert import io
    from biobert.pipeline import Tagger
    from biobert.linking import LinkedTagger
    from biobert.tagging import OUTPUT_FORMATS, open_writer, output_format_for, parse_shard, tag_file
    from biobert.types import Document

    try:
        check_text_argument(text, input)
        if resume and (input is None or output is None):
            raise ConfigError("E701 --resume continues tagging --input FILE into --output FILE")
        shard_kn = parse_shard(shard) if shard is not None else None
        if shard_kn is not None and input is None:
            raise ConfigError("E428 --shard needs --input")
        from_stdin = input is not None and str(input) == "-"
        if from_stdin and input_format is None:
            raise ConfigError("E422 --input - (stdin) needs --input-format: a stream has no name to tell its format from")
        if input is not None and not from_stdin:
            require_input(input, input_format)
        if output is not None:
            prepare_output(output)
        # -o x.pubtator writes PubTator (it wrote JSON unless --output-format said otherwise)
        output_format = output_format or output_format_for(output, "json")
        if output_format not in OUTPUT_FORMATS:  # fail before tagging, not after
            raise ConfigError(f"E420 unknown output format {output_format!r}; accepted formats: {', '.join(OUTPUT_FORMATS)}")
        tagger = Tagger.load(model, quantize=quantize, allow_unchecked_int8=allow_unchecked_int8, abbreviations=abbreviations, device=device, precision=precision, splitter=splitter, decode=decode)
        linkers = load_linkers(link or [], fuzzy=link_fuzzy)
        if linkers:
            tagger = LinkedTagger(tagger, linkers)
        if input is not None:
            fmt = input_format or io.guess_format(input)
            kw = {"lines": True} if (fmt == "text" and lines) else {}
            # stdin streams like a file: PubTator, JSONL and --lines text record by record
            src = sys.stdin if from_stdin else input
            # the options that change what is tagged: a resumed run must use the stopped run's
            job = {"model": model, "quantize": quantize, "abbreviations": abbreviations, "link": link or [],
                   "link_fuzzy": link_fuzzy, "splitter": splitter, "decode": decode, "precision": precision}
            stats = tag_file(tagger, src, output if output is not None else sys.stdout, input_format=fmt,
                             output_format=output_format, chunk_docs=chunk_docs, shard=shard_kn, resume=resume,
                             job=job, **kw)
            typer.echo(json.dumps(stats), err=True)
            return
        if text is not None:
            docs = [Document(id="0", text=text)]
        else:
            docs = [Document(id="0", text=sys.stdin.read())]
        tagged = tagger(docs)
        if output_format == "json":
            emit_documents(tagged, output, "json", single=True)  # one text in, one JSON object out
        else:
            with open_writer(output if output is not None else sys.stdout, output_format) as writer:
                writer.write(tagged)
                writer.close()
        # the same summary as for --input, on stderr: what the tagger changed is said for a text argument too
        summary = {"documents": 1, "spans": sum(len(d.spans) for d in tagged), "counts": dict(sorted(tagger.last_stats.items()))}
        typer.echo(json.dumps(summary), err=True)
    except BiobertError as exc:
        _fail(exc)


@app.command("link")
def link_cmd(
    input: Path = typer.Argument(..., help="Annotated documents (PubTator, BioC, JSONL, CoNLL, brat), e.g. another tool's output."),
    kb: list[str] = typer.Option(..., "--kb", help="Dictionary TSV (id, name, synonyms): KB.tsv for every type, or LABEL[,LABEL]=KB.tsv; repeatable."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="pubtator | bioc | biocjson | jsonl | json | conll | brat (default: from the name)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
    output_format: Optional[str] = typer.Option(None, "--output-format", help="jsonl | json | pubtator | bioc | biocjson | brat | table (conll and text hold no ids). Default: from the --output name, else jsonl."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace ids the spans already have."),
    fuzzy: Optional[float] = typer.Option(None, "--fuzzy", help="Also match the most similar dictionary name by character trigrams at this similarity or above (0.8 was chosen on BC5CDR dev)."),
) -> None:
    """Give the spans of annotated documents identifiers from dictionaries; counts of every outcome go to stderr."""

    from biobert import io
    from biobert.linking import apply_linkers
    from biobert.tagging import OUTPUT_FORMATS, open_writer, output_format_for

    try:
        src = require_input(input, input_format)
        output_format = output_format or output_format_for(output, "jsonl")
        if output_format not in OUTPUT_FORMATS:
            raise ConfigError(f"E420 unknown output format {output_format!r}; accepted formats: {', '.join(OUTPUT_FORMATS)}")
        if output is not None:
            prepare_output(output)
        linkers = load_linkers(kb, fuzzy=fuzzy, overwrite=overwrite)
        docs, counts = apply_linkers(linkers, io.read(src, fmt=input_format or io.guess_format(src)))
        with open_writer(output if output is not None else sys.stdout, output_format) as writer:
            writer.write(docs)
            writer.close()
        typer.echo(json.dumps({"documents": len(docs), "spans": sum(len(d.spans) for d in docs), "counts": dict(counts),
                               # what the output format's writer counted (ids it cannot hold, respellings...)
                               "written": dict(writer.counts)}), err=True)
    except BiobertError as exc:
        _fail(exc)


@app.command("benchmark")
def benchmark_cmd(
    input: Path = typer.Option(..., "--input", "-i", help="Texts to tag (any input format: text, PubTator, BioC, JSONL, CoNLL, brat)."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="Default: from the name."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: the bundled tagger)."),
    quantize: Optional[str] = typer.Option(None, help="int8: also time the accuracy-checked ONNX int8 model, as a ratio to fp32."),
    allow_unchecked_int8: bool = UNCHECKED_INT8_OPTION,
    limit: int = typer.Option(200, help="Documents to tag (the first N)."),
    repeat: int = typer.Option(3, help="Passes per variant, interleaved; the fastest is kept."),
    threads: int = typer.Option(0, help="torch threads (0: the library default)."),
    lines: bool = typer.Option(False, "--lines", help="Text input: one document per line."),
    device: Optional[str] = DEVICE_OPTION,
    precision: Optional[str] = typer.Option(None, "--precision", help="bf16 | fp16: also time the model with half-precision weights on --device, as a ratio to fp32 (bf16 was 2.9x fp32 at the same F1 on CPUs with native bf16; see BENCHMARKS.md)."),
) -> None:
    """Measure tagging speed on this machine and these texts: documents/s, words/s, subwords/s (JSON)."""
    from biobert import io
    from biobert.pipeline import Tagger
    from biobert.speed import measure_tagging

    try:
        src = require_input(input, input_format)
        fmt = input_format or io.guess_format(src)
        kw = {"lines": True} if (fmt == "text" and lines) else {}
        docs = []
        for d in io.iterate(src, fmt=fmt, **kw):
            if len(docs) >= limit:
                break
            docs.append(d)
        if not docs:
            raise ConfigError(f"E429 {str(src)!r} holds no document to tag")
        if threads:
            import torch

            torch.set_num_threads(threads)
        variants = {"fp32": Tagger.load(model, abbreviations=False, device=device)}
        if precision is not None and precision != "fp32":
            variants[precision] = Tagger.load(model, abbreviations=False, device=device, precision=precision)
        if quantize:
            variants[quantize] = Tagger.load(model, quantize=quantize, abbreviations=False, allow_unchecked_int8=allow_unchecked_int8)
        typer.echo(json.dumps(measure_tagging(variants, docs, repeat=repeat), indent=1))
    except BiobertError as exc:
        _fail(exc)


@app.command("env")
def env_cmd() -> None:
    """Print versions and devices (paste this into bug reports)."""
    from biobert.report import environment

    typer.echo(json.dumps(environment(), indent=2))


export_app = typer.Typer(help="Export models for fast inference.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("onnx")
def export_onnx_cmd(
    model: str = typer.Option(..., "--model", "-m", help="Model directory."),
    eval_data: Optional[Path] = typer.Option(None, "--eval-data", help="Labelled CoNLL file: report the F1 of fp32 vs int8."),
    eval_type: Optional[str] = typer.Option(None, "--eval-type", help="Type of untyped B/I tags in --eval-data, and the only type scored."),
    keep_fp32: Optional[list[str]] = typer.Option(None, "--keep-fp32", help="MatMul node-name substring to leave fp32 in the int8 model (repeatable; default 'layer.0/attention/'; pass '' to quantise all)."),
) -> None:
    """Write onnx/model.onnx and onnx/model.int8.onnx; with --eval-data, the F1 change that int8 causes."""
    from biobert.export import KEEP_FP32_DEFAULT
    from biobert.export import export_onnx

    try:
        docs, types = None, None
        if eval_data is not None:
            from biobert.io.conll import read_conll

            docs = read_conll(eval_data, untyped_label=eval_type or "ENTITY")
            types = {eval_type} if eval_type else None
        keep = KEEP_FP32_DEFAULT if keep_fp32 is None else tuple(k for k in keep_fp32 if k)
        report = export_onnx(model, docs, types, keep_fp32=keep)
    except BiobertError as exc:
        _fail(exc)
    typer.echo(json.dumps(report, indent=2))
