"""Typer application objects shared by the command modules."""

from __future__ import annotations

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
