"""CLI: ``biobert reproduce ROW`` (one paper table row, mean ± sd over seeds beside the published figures)."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Optional

import typer

from biobert.cli.app import app
from biobert.errors import BiobertError


@app.command("reproduce")
def reproduce_cmd(
    rows: Optional[list[str]] = typer.Argument(None, help="Table rows (see --list), e.g. ner-ncbi re-chemprot qa-bioasq7b-factoid; 'all' for every row."),
    seeds: list[int] = typer.Option([1, 2, 3], "--seeds", help="Seeds (repeat: --seeds 1 --seeds 2)."),
    encoder: Optional[str] = typer.Option(None, "--encoder", help="Swap the encoder ('minilm', a directory or a hub id): general against domain-adapted."),
    set_: list[str] = typer.Option([], "--set", help="Override a setting, e.g. --set train.lr=1e-4 (repeatable)."),
    out: Path = typer.Option(Path("runs/reproduce"), "--out", help="Runs go to OUT/<row>-<encoder>/seed-<n>, with -set<hash> after <encoder> when --set is given (resumable: a rerun with the same settings picks up its seeds)."),
    configs: Optional[Path] = typer.Option(None, "--configs", help="Root holding configs/ (default: here, then this checkout)."),
    threads: int = typer.Option(0, "--threads", help="torch threads (0: torch's default)."),
    list_rows: bool = typer.Option(False, "--list", help="List the rows, their configs, settings and published figures."),
) -> None:
    """Reproduce rows of the paper's tables: fine-tune and test once per seed, print mean ± sd beside the paper (JSON,
    with a Markdown table of the rows run)."""
    from biobert.recipes.paper import MARKDOWN_HEADER, NO_FIGURE, ROWS, run_row

    if list_rows or not rows:
        for r in ROWS.values():
            paper = "; ".join(f"{k}: " + ", ".join(f"{m} {v}" for m, v in f.items()) for k, f in r.paper.items()) or NO_FIGURE
            typer.echo(f"{r.id:22s} {r.config:40s} {' '.join(r.overrides) or '-':45s} {paper}")
            if r.note:  # how the row differs from the paper's protocol: said where the row is chosen
                typer.echo(f"{'':22s} note: {r.note}")
        return
    try:
        wanted = list(ROWS) if rows == ["all"] else rows
        unknown = [r for r in wanted if r not in ROWS]
        if unknown:
            raise BiobertError(f"E491 unknown row(s) {', '.join(unknown)}; rows: {', '.join(ROWS)}")
        if threads:
            import torch

            torch.set_num_threads(threads)
        command = " ".join(shlex.quote(a) for a in ["biobert", *sys.argv[1:]])
        summaries = []
        for r in wanted:  # one row after another; each is resumable, so a stopped command picks up where it was
            summaries.append(run_row(ROWS[r], seeds, encoder=encoder, overrides=set_, out=out, configs=configs, command=command))
    except BiobertError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2)
    table = "\n".join([MARKDOWN_HEADER, *(s["markdown"] for s in summaries)])
    from biobert import distributed

    if distributed.is_main():  # torchrun: one printout, from process 0
        typer.echo(json.dumps({"rows": summaries, "markdown": table}, indent=2, ensure_ascii=False))
