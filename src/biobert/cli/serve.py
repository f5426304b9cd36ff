"""CLI: ``biobert serve``."""

from __future__ import annotations

from typing import Optional

import typer

from biobert.cli.app import app


@app.command("serve")
def serve_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: bundled tagger)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port."),
    quantize: Optional[str] = typer.Option(None, help="int8 for faster CPU inference."),
    max_chars: int = typer.Option(1_000_000, help="Largest accepted request, in characters."),
    max_batch_docs: int = typer.Option(64, help="Most documents per forward batch."),
) -> None:
    """Serve /tag, /health and /version over HTTP (needs `pip install biobert[serve]`)."""
    import uvicorn

    from biobert.pipeline import Tagger
    from biobert.serve import ServeConfig, create_app

    tagger = Tagger.load(model, quantize=quantize)
    uvicorn.run(create_app(tagger, ServeConfig(max_chars=max_chars, max_batch_docs=max_batch_docs)), host=host, port=port)
