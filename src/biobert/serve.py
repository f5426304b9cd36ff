"""HTTP service over a loaded :class:`~biobert.pipeline.Tagger` (one process, models loaded once).

Endpoints:
    GET  /health             -> {"status": "ok"}
    GET  /version            -> versions, model sources, labels and the endpoints this server offers
    POST /tag                -> {"text": str} | {"texts": [str]} | {"pubtator": str} | {"bioc": str} |
                                {"biocjson": BioC JSON (object, or a string)}, plus optional "output":
                                "json" (default) | "pubtator" | "bioc" | "biocjson"
    POST /extract            -> the input of /tag, plus optional "keep_spans": true (use the input's own
                                PubTator/BioC annotations instead of the tagger) -> documents with spans
                                and relations (needs create_app(..., extractor=Extractor.load(dir)); else 404 E609)
    POST /answer             -> {"question": str, "passages": str | [str]}, optional "type": "factoid" |
                                "list" | "yesno" -> the answers of Reader (needs reader=Reader.load(dir);
                                else 404 E610)
    POST /embed              -> {"text": str} | {"texts": [str]}, optional "pool": "mean" | "cls"
                                -> {"vectors": [[float]]} (one document vector per text; needs an
                                embedder: create_app(..., embedder=Embedder.load()); else 404 E607)

Requests that arrive together are tagged in one batch (micro-batching: the
worker waits ``batch_wait_ms`` for more requests, up to ``max_batch_docs``),
which is what makes a busy server fast on CPU. Errors are structured:
``{"error": {"code": "E6xx", "message": ...}}`` with a 4xx status, never a
catch-all message.

    biobert serve --model DIR --port 8080
    curl -s localhost:8080/tag -d '{"text": "BRCA1 mutations cause breast cancer."}' -H 'content-type: application/json'
"""

# no `from __future__ import annotations`: FastAPI must resolve the locally imported Request type

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from biobert.errors import BiobertError
from biobert.types import Document

#: output formats of /tag and /extract
OUTPUTS = ("json", "pubtator", "bioc", "biocjson")

__all__ = ["create_app", "ServeConfig"]

log = logging.getLogger(__name__)


@dataclass
class ServeConfig:
    #: largest accepted request body text, in characters (all documents together)
    max_chars: int = 1_000_000
    #: most documents tagged in one forward batch
    max_batch_docs: int = 64
    #: how long the batching worker waits for more requests
    batch_wait_ms: float = 5.0


class _Batcher:
    """Collects tagging jobs from concurrent requests and runs them as one batch."""

    def __init__(self, tagger: Any, cfg: ServeConfig) -> None:
        self.tagger, self.cfg = tagger, cfg
        self.queue: asyncio.Queue[tuple[list[Document], asyncio.Future]] | None = None
        self.task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0

    def start(self) -> asyncio.Queue:
        """The queue of the running event loop, with its batching task.

        A queue and a task belong to one event loop. uvicorn runs one loop for the life of the server, but an
        app mounted elsewhere may be driven by a new loop per request (Starlette's ``TestClient`` outside a
        ``with`` block does exactly that); a batcher kept from a finished loop would never answer, so the
        queue and the task are made anew whenever the loop changes."""
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.task is None or self.task.done():  # the queue is made with the task
            self.loop, self.queue = loop, asyncio.Queue()
            self.task = loop.create_task(self._run(self.queue))
        return self.queue

    async def submit(self, docs: list[Document]) -> list[Document]:
        queue = self.start()
        fut: asyncio.Future = asyncio.get_running_loop().create_future()
        await queue.put((docs, fut))
        return await fut

    async def _run(self, queue: asyncio.Queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            jobs = [await queue.get()]
            n = len(jobs[0][0])
            deadline = loop.time() + self.cfg.batch_wait_ms / 1000
            while n < self.cfg.max_batch_docs:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    job = await asyncio.wait_for(queue.get(), timeout)
                except asyncio.TimeoutError:
                    break
                jobs.append(job)
                n += len(job[0])
            flat = [d for docs, _ in jobs for d in docs]
            try:
                tagged = await loop.run_in_executor(None, self.tagger, flat)
                self.batches += 1
            except Exception as exc:  # noqa: BLE001 - forwarded to every waiting request, then re-raised there
                for _, fut in jobs:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            k = 0
            for docs, fut in jobs:
                if not fut.done():
                    fut.set_result(tagged[k : k + len(docs)])
                k += len(docs)


def _tagging_settings(tagger: Any) -> dict[str, Any]:
    """How the served tagger reads text (so that a client can reproduce or report its output)."""
    pred = getattr(tagger, "predictor", None)
    if pred is None:
        return {}
    from biobert.text.sentences import splitter_name

    return {"decode": pred.decode, "splitter": splitter_name(pred.splitter), "abbreviations": pred.abbreviations,
            "max_length": pred.max_length, "stride": pred.stride, "context": pred.context}


def create_app(tagger: Any, cfg: ServeConfig | None = None, embedder: Any = None, extractor: Any = None,
               reader: Any = None) -> Any:
    """Build the FastAPI application around an already-loaded tagger.

    Args:
        tagger: a :class:`~biobert.pipeline.Tagger` (``POST /tag``; also the NER step of ``/extract``).
        cfg: request limits and batching.
        embedder: a :class:`~biobert.embed.Embedder`, which enables ``POST /embed``.
        extractor: a :class:`~biobert.pipeline.Extractor`, which enables ``POST /extract``.
        reader: a :class:`~biobert.pipeline.Reader`, which enables ``POST /answer``.
    """
    try:
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse, PlainTextResponse
    except ImportError as exc:  # pragma: no cover - depends on extras
        raise BiobertError("E601 the HTTP service needs the serve extra: pip install 'biobert[serve]'") from exc

    from biobert import io

    cfg = cfg or ServeConfig()
    app = FastAPI(title="biobert", description="Biomedical NER with exact character offsets.")
    batcher = _Batcher(tagger, cfg)
    app.state.batcher = batcher

    def error(status: int, code: str, message: str) -> JSONResponse:
        return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/version")
    async def version() -> dict[str, Any]:
        from biobert.report import environment

        endpoints = ["/tag"] + [e for e, m in (("/extract", extractor), ("/answer", reader), ("/embed", embedder)) if m is not None]
        return {
            "model": getattr(tagger, "source", ""),
            "labels": getattr(tagger, "labels", []),
            "tagging": _tagging_settings(tagger),
            "re_model": getattr(extractor, "source", None),
            "qa_model": getattr(reader, "source", None),
            "endpoints": endpoints,
            "environment": environment(),
        }

    async def json_body(request: Request) -> Any:
        """The request's JSON object, or an E602 error response."""
        try:
            body = await request.json()
        except Exception:  # noqa: BLE001 - any JSON decoding failure is the client's
            return error(400, "E602", "the request body must be JSON")
        if not isinstance(body, dict):
            return error(400, "E602", "the request body must be a JSON object")
        return body

    def documents(body: dict[str, Any]) -> Any:
        """The documents of a /tag or /extract request, or an error response."""
        keys = [k for k in ("text", "texts", "pubtator", "bioc", "biocjson") if k in body]
        if len(keys) != 1:
            return error(400, "E604", "give exactly one of: text, texts, pubtator, bioc, biocjson")
        key = keys[0]
        value = body[key]
        try:
            if key == "text":
                if not isinstance(value, str):
                    return error(400, "E605", "'text' must be a string")
                docs = [Document(id=str(body.get("id", "0")), text=value)]
            elif key == "texts":
                if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                    return error(400, "E605", "'texts' must be a list of strings")
                docs = [Document(id=str(i), text=t) for i, t in enumerate(value)]
            else:
                if key == "biocjson" and isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)  # BioC JSON may come as JSON, not as a string
                if not isinstance(value, str):
                    return error(400, "E605", f"'{key}' must be a string holding the file content")
                docs = io.reads(value, fmt=key)
        except BiobertError as exc:
            return error(422, str(exc).split(" ", 1)[0], str(exc))
        total = sum(len(d.text) for d in docs)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        return docs

    def respond(docs: list[Document], output: str) -> Any:
        if output == "json":
            return {"documents": [d.to_dict() for d in docs]}
        if output == "biocjson":
            return json.loads(io.writes(docs, fmt=output))
        return PlainTextResponse(io.writes(docs, fmt=output))

    @app.post("/tag")
    async def tag(request: Request) -> Any:
        body = await json_body(request)
        if not isinstance(body, dict):
            return body
        output = body.get("output", "json")
        if output not in OUTPUTS:
            return error(400, "E603", f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        docs = documents(body)
        if not isinstance(docs, list):
            return docs
        return respond(await batcher.submit(docs), output)

    @app.post("/extract")
    async def extract(request: Request) -> Any:
        if extractor is None:
            return error(404, "E609", "this server has no relation model; start it with `biobert serve --re-model DIR`")
        body = await json_body(request)
        if not isinstance(body, dict):
            return body
        output = body.get("output", "json")
        if output not in OUTPUTS:
            return error(400, "E603", f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        keep = body.get("keep_spans", False)
        if not isinstance(keep, bool):
            return error(400, "E605", "'keep_spans' must be true or false")
        docs = documents(body)
        if not isinstance(docs, list):
            return docs
        # NER goes through the batching worker (shared with /tag); documents that keep their own
        # annotations skip it, and the extractor is told never to tag (tagger=False)
        need = [i for i, d in enumerate(docs) if not (keep and d.spans)]
        if need:
            tagged = await batcher.submit([docs[i] for i in need])
            for i, d in zip(need, tagged):
                docs[i] = d
        run = lambda: extractor(docs, tagger=False)  # noqa: E731
        return respond(await asyncio.get_running_loop().run_in_executor(None, run), output)

    @app.post("/answer")
    async def answer(request: Request) -> Any:
        if reader is None:
            return error(404, "E610", "this server has no QA model; start it with `biobert serve --qa-model DIR`")
        body = await json_body(request)
        if not isinstance(body, dict):
            return body
        question, passages, qtype = body.get("question"), body.get("passages"), body.get("type")
        if not isinstance(question, str) or not question.strip():
            return error(400, "E605", "'question' must be a non-empty string")
        if isinstance(passages, str):
            passages = [passages]
        if not isinstance(passages, list) or not passages or not all(isinstance(p, str) for p in passages):
            return error(400, "E605", "'passages' must be a string or a non-empty list of strings")
        if qtype not in (None, "factoid", "list", "yesno"):
            return error(400, "E611", f"type must be factoid, list or yesno, got {qtype!r}")
        total = len(question) + sum(len(p) for p in passages)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        run = lambda: reader(question, passages, qtype=qtype)  # noqa: E731
        try:
            return await asyncio.get_running_loop().run_in_executor(None, run)
        except BiobertError as exc:
            return error(422, str(exc).split(" ", 1)[0], str(exc))

    @app.post("/embed")
    async def embed(request: Request) -> Any:
        if embedder is None:
            return error(404, "E607", "this server has no embedder; start it with `biobert serve --embed-model minilm`")
        body = await json_body(request)
        if not isinstance(body, dict):
            return body
        keys = [k for k in ("text", "texts") if k in body]
        if len(keys) != 1:
            return error(400, "E604", "give exactly one of: text, texts")
        value = body[keys[0]]
        texts = [value] if keys[0] == "text" else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return error(400, "E605", "'text' must be a string and 'texts' a list of strings")
        pool = body.get("pool", "mean")
        if pool not in ("mean", "cls"):
            return error(400, "E608", f"pool must be mean or cls, got {pool!r}")
        total = sum(len(t) for t in texts)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        run = lambda: embedder(texts, pool=pool, words=False)  # noqa: E731
        embs = await asyncio.get_running_loop().run_in_executor(None, run)
        return {"vectors": [e.vector.tolist() for e in embs]}

    return app
