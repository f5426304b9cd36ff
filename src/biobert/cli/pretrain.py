"""CLI: ``biobert pretrain``, ``biobert vocab``, ``biobert adapt-vocab`` (parsing only; the work is
in :mod:`biobert.pretrain`)."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any, Optional

import typer

from biobert.cli.app import app
from biobert.errors import BiobertError, ConfigError


def _fail(exc: BiobertError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _parse_sets(sets: list[str]) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in sets:
        if "=" not in item:
            raise ConfigError(f"E475 --set expects key=value, got {item!r}")
        key, val = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(val)
    return out


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    if not path.exists():
        raise ConfigError(f"E476 config file {str(path)!r} not found")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"E476 {str(path)!r} must hold a mapping of settings")
    data = data.get("pretrain", data)  # allow a top-level 'pretrain:' section
    data.pop("command", None)  # documentation key
    return data


@app.command("pretrain")
def pretrain_cmd(
    corpus: list[str] = typer.Option([], "--corpus", help="Corpus files, directories or globs (repeatable); .txt/.jsonl/.pubtator/.xml, .gz too."),
    output: Optional[str] = typer.Option(None, "--output", "-o", help="Run directory (becomes the encoder directory)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML settings (see configs/pretrain/)."),
    objective: Optional[str] = typer.Option(None, help="mlm | mlm+sop (albert) | electra."),
    wwm: Optional[bool] = typer.Option(None, "--wwm/--no-wwm", help="Whole-word masking."),
    init: Optional[str] = typer.Option(None, help="Checkpoint to continue ('default' = all-MiniLM-L6-v2); keeps its vocabulary."),
    from_scratch: Optional[bool] = typer.Option(None, "--from-scratch", help="New random model with a corpus vocabulary."),
    tokenizer: Optional[str] = typer.Option(None, help="Tokenizer dir for --from-scratch (from `biobert vocab`); trained on the fly if absent."),
    vocab_size: Optional[int] = typer.Option(None, help="Vocabulary size when training one on the fly."),
    cased: Optional[bool] = typer.Option(None, "--cased/--uncased", help="Case of an on-the-fly vocabulary."),
    model_size: Optional[str] = typer.Option(None, help="tiny | mini | small | medium | base (from scratch)."),
    max_length: Optional[int] = typer.Option(None, help="Sequence length (tokens, with specials)."),
    batch_size: Optional[int] = typer.Option(None, help="Sequences per process per micro-step."),
    grad_accum: Optional[int] = typer.Option(None, help="Gradient accumulation steps."),
    lr: Optional[float] = typer.Option(None, help="Peak learning rate."),
    warmup_steps: Optional[int] = typer.Option(None, help="Warm-up steps (default 6% of max-steps)."),
    max_steps: Optional[int] = typer.Option(None, help="Optimizer steps (also sets the LR schedule)."),
    head_warmup_steps: Optional[int] = typer.Option(None, help="First steps that train only a newly created head (encoder held still)."),
    save_every: Optional[int] = typer.Option(None, help="Checkpoint every N steps."),
    eval_every: Optional[int] = typer.Option(None, help="Validation perplexity every N steps."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    threads: Optional[int] = typer.Option(None, help="torch threads per process."),
    cpu: Optional[bool] = typer.Option(None, "--cpu", help="Force the CPU (gloo when distributed)."),
    max_time: Optional[float] = typer.Option(None, help="Stop (with a checkpoint) after this many seconds; continue with --resume."),
    set_: list[str] = typer.Option([], "--set", help="Any other setting, e.g. --set val_fraction=0.01 (repeatable)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the newest checkpoint in --output (with its saved settings)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Delete the checkpoints in --output and start again."),
) -> None:
    """Pre-train an encoder (continued MLM, from scratch, ALBERT-SOP or ELECTRA); prints a JSON summary.

    Distributed: `torchrun --nproc_per_node N -m biobert.pretrain ...` or
    `accelerate launch --multi_gpu --num_processes N -m biobert.pretrain ...`; add --cpu to run
    the processes on CPUs (gloo).
    """
    from biobert.pretrain.loop import PretrainConfig, load_run_config, pretrain

    try:
        if resume and overwrite:
            raise ConfigError("E470 --resume continues the checkpoints that --overwrite deletes: give one of them")
        settings: dict[str, Any] = {}
        saved_run = bool(output) and (Path(output) / "pretrain_config.json").exists()
        if resume and saved_run:
            settings.update(load_run_config(output).to_dict())
        if config is not None:
            settings.update(_load_yaml(config))
        given = {
            "corpus": list(corpus) or None,
            "output": output,
            "objective": objective,
            "whole_word_mask": wwm,
            "init": init,
            "from_scratch": from_scratch,
            "tokenizer": tokenizer,
            "vocab_size": vocab_size,
            "lowercase": None if cased is None else not cased,
            "model_size": model_size,
            "max_length": max_length,
            "batch_size": batch_size,
            "grad_accum": grad_accum,
            "lr": lr,
            "warmup_steps": warmup_steps,
            "max_steps": max_steps,
            "head_warmup_steps": head_warmup_steps,
            "save_every": save_every,
            "eval_every": eval_every,
            "seed": seed,
            "threads": threads,
            "cpu": cpu,
            "max_time": max_time,
        }
        settings.update({k: v for k, v in given.items() if v is not None})
        settings.update(_parse_sets(set_))
        if not settings.get("output"):
            raise ConfigError("E477 give --output (or output: in the config)")
        if resume and not saved_run and not settings.get("corpus"):
            # nothing to continue and nothing to start: "no corpus given" hid that the run directory is not one
            raise ConfigError(f"E471 there is no run to resume in {settings['output']!r} (no pretrain_config.json); "
                              "check --output, or give --corpus to start a new run")
        if settings.get("from_scratch") and (init is not None or settings.get("init") not in (None, "default")):
            # a new random model has no checkpoint to continue: --init was silently ignored
            raise ConfigError("E470 --init continues a checkpoint, but this run trains a new model from scratch "
                              "(from_scratch: true, from --from-scratch or the config); drop one of them")
        if not settings.get("from_scratch"):
            # these shape a new model and its vocabulary; a continued checkpoint keeps its own, so they were ignored
            ignored = [opt for opt, v in (("--vocab-size", vocab_size), ("--cased/--uncased", cased), ("--model-size", model_size))
                       if v is not None]
            if ignored:
                raise ConfigError(f"E470 {', '.join(ignored)} apply only with --from-scratch; a continued checkpoint (--init) "
                                  "keeps its own vocabulary and size")
        command = " ".join(shlex.quote(a) for a in ["biobert", *sys.argv[1:]])
        report = pretrain(PretrainConfig.from_dict(settings), resume=resume, overwrite=overwrite, command=command)
    except BiobertError as exc:
        _fail(exc)
    if int(os.environ.get("RANK", "0")) != 0:  # one summary per distributed run
        return
    summary = {k: report[k] for k in ("objective", "step", "max_steps", "tokens_seen", "train_seconds", "throughput_tokens_per_s", "last_eval", "final")}
    summary["output"] = settings["output"]
    summary["stopped_by"] = report.get("stopped_by")
    typer.echo(json.dumps(summary, indent=2))
    if report.get("stopped_by") in ("signal", "peer stop"):
        # `pretrain && finetune` must not go on with an unfinished encoder (halt_after / max_time are asked for)
        typer.echo(f"error: E557 pre-training was stopped by a signal at step {report['step']} of {report['max_steps']} "
                   "(checkpoint saved); continue with --resume", err=True)
        raise typer.Exit(2)


@app.command("vocab")
def vocab_cmd(
    corpus: list[str] = typer.Option(..., "--corpus", help="Corpus files, directories or globs (repeatable)."),
    output: str = typer.Option(..., "--output", "-o", help="Tokenizer directory to write."),
    size: int = typer.Option(30522, "--size", help="Vocabulary size (special tokens included)."),
    cased: bool = typer.Option(False, "--cased/--uncased", help="Cased or uncased (lower-cased, accents stripped)."),
    min_frequency: int = typer.Option(2, help="Minimum pair frequency for a merge."),
    fmt: str = typer.Option("auto", "--format", help="auto | text | jsonl | pubtator | pubmed-xml | conll (NER training text, tags ignored)."),
    val_fraction: float = typer.Option(0.0, help="Skip the documents a pre-training run with this val_fraction holds out."),
    max_documents: Optional[int] = typer.Option(None, help="Use only the first N documents."),
) -> None:
    """Train a WordPiece vocabulary on a corpus and save a BERT tokenizer directory."""
    from biobert.pretrain.vocab import train_wordpiece

    try:
        tok = train_wordpiece(corpus, output, vocab_size=size, lowercase=not cased, min_frequency=min_frequency, fmt=fmt, val_fraction=val_fraction, max_documents=max_documents)
    except BiobertError as exc:
        _fail(exc)
    typer.echo(json.dumps({"output": output, "vocab_size": len(tok), "vocab_size_requested": size, "lowercase": not cased,
                           "vocab_sha256": getattr(tok, "vocab_sha256", None)}, indent=2))


@app.command("adapt-vocab")
def adapt_vocab_cmd(
    corpus: list[str] = typer.Option(..., "--corpus", help="Corpus files, directories or globs (repeatable)."),
    output: str = typer.Option(..., "--output", "-o", help="Adapted encoder directory to write."),
    init: str = typer.Option("default", help="Encoder to adapt ('default' = all-MiniLM-L6-v2)."),
    num_new_tokens: int = typer.Option(10000, "--num-new-tokens", "-n", help="Most frequent missing words to add."),
    min_count: int = typer.Option(5, help="word2vec min_count (and minimum frequency of a new token)."),
    w2v_dim: int = typer.Option(300, help="word2vec dimensions."),
    w2v_epochs: int = typer.Option(5, help="word2vec epochs."),
    w2v_window: int = typer.Option(5, help="word2vec window."),
    skipgram: bool = typer.Option(False, "--skipgram/--cbow", help="word2vec architecture."),
    workers: int = typer.Option(1, help="word2vec worker threads."),
    match_norm: bool = typer.Option(False, "--match-norm", help="Rescale mapped vectors to the mean embedding norm."),
    new_init: str = typer.Option("w2v", "--new-init", help="Embeddings of new tokens: w2v (word2vec + linear map, GreenBioBERT) | pieces (mean of the old pieces' embeddings; no word2vec)."),
    seed: int = typer.Option(42, help="Random seed."),
    fmt: str = typer.Option("auto", "--format", help="auto | text | jsonl | pubtator | pubmed-xml | conll (NER training text, tags ignored)."),
    val_fraction: float = typer.Option(0.0, help="Skip the documents a pre-training run with this val_fraction holds out."),
    max_documents: Optional[int] = typer.Option(None, help="Use only the first N documents."),
) -> None:
    """Inexpensive domain adaptation (GreenBioBERT): word2vec + linear map -> new wordpiece embeddings."""
    from biobert.pretrain.adapt import AdaptConfig, adapt_vocab

    try:
        cfg = AdaptConfig(
            corpus=list(corpus),
            output=output,
            init=init,
            num_new_tokens=num_new_tokens,
            min_count=min_count,
            w2v_dim=w2v_dim,
            w2v_window=w2v_window,
            w2v_epochs=w2v_epochs,
            w2v_sg=skipgram,
            workers=workers,
            match_norm=match_norm,
            new_init=new_init,
            seed=seed,
            format=fmt,
            val_fraction=val_fraction,
            max_documents=max_documents,
        )
        command = " ".join(shlex.quote(a) for a in ["biobert", *sys.argv[1:]])
        report = adapt_vocab(cfg, log=lambda m: typer.echo(m, err=True), command=command)
    except BiobertError as exc:
        _fail(exc)
    keys = ("init", "vocab_size_before", "vocab_size_after", "new_tokens", "shared_words", "map_r2", "pieces_per_word_before", "pieces_per_word_after", "seconds")
    typer.echo(json.dumps({"output": output, **{k: report[k] for k in keys}}, indent=2))
