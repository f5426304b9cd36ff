"""CLI: ``biobert serve``."""

from __future__ import annotations

from typing import Optional

import typer

from biobert.cli.app import DECODE_OPTION, DEVICE_OPTION, PRECISION_OPTION, SPLITTER_OPTION, UNCHECKED_INT8_OPTION, app, fail, load_linkers
from biobert.errors import BiobertError


@app.command("serve")
def serve_cmd(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model directory or hub id (default: bundled tagger)."),
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int = typer.Option(8080, help="Port."),
    quantize: Optional[str] = typer.Option(None, help="int8: accuracy-checked ONNX int8 model (run `biobert export onnx` first)."),
    allow_unchecked_int8: bool = UNCHECKED_INT8_OPTION,
    max_chars: int = typer.Option(1_000_000, help="Largest accepted request, in characters."),
    max_batch_docs: int = typer.Option(64, help="Most documents per forward batch."),
    max_docs: int = typer.Option(1_000, "--max-docs", help="Most documents (texts, records, /answer passages) in one request; more is refused with 413 E614."),
    max_body_bytes: Optional[int] = typer.Option(None, "--max-body-bytes", help="Largest request body in bytes, refused with 413 E613 before it is read whole (default: 12 bytes per --max-chars character, plus 1 MiB)."),
    embed_model: Optional[str] = typer.Option(None, "--embed-model", help="Also serve POST /embed with this encoder ('minilm', a directory or a hub id)."),
    re_model: Optional[str] = typer.Option(None, "--re-model", help="Also serve POST /extract (NER with --model, then RE) with this `biobert finetune re` directory."),
    qa_model: Optional[str] = typer.Option(None, "--qa-model", help="Also serve POST /answer with this `biobert finetune qa` directory."),
    abbreviations: bool = typer.Option(True, "--abbreviations/--no-abbreviations", help="Make /tag spans agree with each document's 'long form (SF)' definitions (--no-abbreviations: the model's raw predictions)."),
    link: Optional[list[str]] = typer.Option(None, "--link", help="Link /tag and /extract spans (keep_spans ones too) to ids with a dictionary TSV: KB.tsv or LABEL[,LABEL]=KB.tsv; repeatable."),
    link_fuzzy: Optional[float] = typer.Option(None, "--link-fuzzy", help="With --link: also match by character-trigram similarity at this threshold or above."),
    device: Optional[str] = DEVICE_OPTION,
    precision: str = PRECISION_OPTION,
    splitter: Optional[str] = SPLITTER_OPTION,
    decode: Optional[str] = DECODE_OPTION,
) -> None:
    """Serve /tag, /health and /version over HTTP, plus /extract (--re-model), /answer (--qa-model) and /embed
    (--embed-model); needs the optional "serve" dependencies of biobert."""
    import uvicorn

    from biobert.pipeline import Extractor, Reader, Tagger
    from biobert.serve import ServeConfig, create_app

    try:
        # options are checked before any model is loaded (E478: a limit below 1)
        cfg = ServeConfig(max_chars=max_chars, max_batch_docs=max_batch_docs, max_docs=max_docs, max_body_bytes=max_body_bytes)
        tagger = Tagger.load(model, quantize=quantize, allow_unchecked_int8=allow_unchecked_int8, abbreviations=abbreviations, device=device, precision=precision, splitter=splitter, decode=decode)
        from biobert.linking import LinkedTagger

        linkers = load_linkers(link or [], fuzzy=link_fuzzy)
        if linkers:
            tagger = LinkedTagger(tagger, linkers)
        embedder = None
        if embed_model is not None:
            from biobert.embed import Embedder

            embedder = Embedder.load(embed_model, device=device)
        # the same sentence splitter as the tagger: /extract pairs spans within sentences as `biobert extract
        # --splitter` does (without it the extractor used its own default, so kept spans were paired otherwise)
        extractor = Extractor.load(re_model, device=device, precision=precision, splitter=splitter) if re_model is not None else None
        reader = Reader.load(qa_model, device=device, precision=precision) if qa_model is not None else None
    except BiobertError as exc:
        fail(exc)
    uvicorn.run(create_app(tagger, cfg, embedder, extractor=extractor, reader=reader), host=host, port=port)
