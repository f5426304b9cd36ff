"""CLI: ``biobert serve``."""

from __future__ import annotations

from typing import Optional

import typer

from biobert.cli.app import app, fail
from biobert.errors import BiobertError


@app.command("serve")
def serve_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: bundled tagger)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port."),
    quantize: Optional[str] = typer.Option(None, help="int8: accuracy-checked ONNX int8 model (run `biobert export onnx` first)."),
    max_chars: int = typer.Option(1_000_000, help="Largest accepted request, in characters."),
    max_batch_docs: int = typer.Option(64, help="Most documents per forward batch."),
    embed_model: Optional[str] = typer.Option(None, "--embed-model", help="Also serve POST /embed with this encoder ('minilm', a directory or a hub id)."),
) -> None:
    """Serve /tag, /health and /version (and /embed with --embed-model) over HTTP (needs the optional "serve" dependencies of biobert)."""
    import uvicorn

    from biobert.pipeline import Tagger
    from biobert.serve import ServeConfig, create_app

    try:
        tagger = Tagger.load(model, quantize=quantize)
        embedder = None
        if embed_model is not None:
            from biobert.embed import Embedder

            embedder = Embedder.load(embed_model)
    except BiobertError as exc:
        fail(exc)
    uvicorn.run(create_app(tagger, ServeConfig(max_chars=max_chars, max_batch_docs=max_batch_docs), embedder), host=host, port=port)
