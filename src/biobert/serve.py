"""HTTP service over a loaded :class:`~biobert.pipeline.Tagger` (one process, models loaded once).

Endpoints:
    GET  /health             -> {"status": "ok"}
    GET  /version            -> versions, model sources (tagger, re_model, qa_model, embed_model), labels, how text is
                                tagged and relations extracted ("extraction"), and the endpoints this server offers
    POST /tag                -> {"text": str, optional "id": str | int} | {"texts": [str]} | {"pubtator": str} | {"bioc": str} |
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
catch-all message; an unexpected failure is a 500 with code E612 and the
exception's type (``{"error": {"code": "E612", "type": "KeyError", ...}}``),
never a plain-text page; an unknown path is 404 E616 and a wrong method 405 E617. A field an endpoint does not
know (a misspelt ``"ouput"``, a CLI option such as ``"layers"`` that the service does not offer) is 400 E619, never
silently ignored; a key given twice in one object (``{"text": "a", "text": "b"}``) is 400 E620, never resolved
to one of the two.

Limits (:class:`ServeConfig`): a body larger than :attr:`ServeConfig.body_limit`
bytes is refused (413 E613) from its Content-Length header, or while a chunked
body is read, before anything is parsed; more than ``max_docs`` documents
(texts, records, passages) is 413 E614; more than ``max_chars`` characters is
413 E606.

What the server changed is reported, never silent: JSON answers carry a
``counts`` object (``input_spans_replaced``, ``input_metadata_dropped:<key>``,
``surrogates_replaced``, the relation extractor's counters, ...), and every
/tag and /extract answer, PubTator and BioC ones too, the same counts as JSON
in the ``X-Biobert-Counts`` header. Lone UTF-16 surrogates (a JSON ``\\ud800``
escape in the request) come back as the same JSON escapes.

    biobert serve --model DIR --port 8080
    curl -s localhost:8080/tag -d '{"text": "BRCA1 mutations cause breast cancer."}' -H 'content-type: application/json'
"""

# no `from __future__ import annotations`: FastAPI must resolve the locally imported Request type

import asyncio
import io as _stdio
import json
import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from biobert.errors import BiobertError, ConfigError
from biobert.types import Document

#: output formats of /tag and /extract
OUTPUTS = ("json", "pubtator", "bioc", "biocjson")

#: the fields each endpoint reads; any other field of a request is refused (E619), not ignored
FIELDS = {
    "/tag": ("text", "id", "texts", "pubtator", "bioc", "biocjson", "output"),
    "/extract": ("text", "id", "texts", "pubtator", "bioc", "biocjson", "output", "keep_spans"),
    "/answer": ("question", "passages", "type"),
    "/embed": ("text", "texts", "pool"),
}

#: the question types of /answer (``biobert answer --type`` accepts the same)
QUESTION_TYPES = ("factoid", "list", "yesno")
#: bytes of request body allowed per character of ``max_chars``: the longest JSON spelling of one character is an
#: escaped surrogate pair (``\ud83d\ude00``, 12 bytes), so no body within the character limit is refused
BYTES_PER_CHAR = 12
#: and on top of that, room for the JSON keys, ids and PubTator / BioC markup
BODY_SLACK_BYTES = 1 << 20

__all__ = ["create_app", "ServeConfig", "QUESTION_TYPES"]

log = logging.getLogger(__name__)


@dataclass
class ServeConfig:
    """Request limits and batching of the HTTP service (every limit is a 413 with its own code).

    Raises:
        ConfigError: E478 a limit that is not a positive integer, or a negative ``batch_wait_ms``.
    """

    #: largest accepted request body text, in characters (all documents together); E606
    max_chars: int = 1_000_000
    #: most documents tagged in one forward batch
    max_batch_docs: int = 64
    #: how long the batching worker waits for more requests
    batch_wait_ms: float = 5.0
    #: most documents in one request (texts, PubTator / BioC records, /answer passages); E614
    max_docs: int = 1_000
    #: largest accepted request body, in bytes; ``None``: derived from ``max_chars`` (see :attr:`body_limit`); E613
    max_body_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_chars", "max_batch_docs", "max_docs", "max_body_bytes"):
            v = getattr(self, name)
            if v is None and name == "max_body_bytes":
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"E478 {name} must be an integer of at least 1, got {v!r}")
        if not (isinstance(self.batch_wait_ms, (int, float)) and self.batch_wait_ms >= 0):
            raise ConfigError(f"E478 batch_wait_ms must be a number of at least 0, got {self.batch_wait_ms!r}")

    @property
    def body_limit(self) -> int:
        """Largest accepted body in bytes: ``max_body_bytes``, else ``BYTES_PER_CHAR`` per character of ``max_chars``
        plus ``BODY_SLACK_BYTES``. Checked before the body is parsed, so that an oversized request is refused
        without being held in memory whole (the character limit can only be checked after parsing)."""
        if self.max_body_bytes is not None:
            return self.max_body_bytes
        return BYTES_PER_CHAR * self.max_chars + BODY_SLACK_BYTES


class _Batcher:
    """Collects tagging jobs from concurrent requests and runs them as one batch."""

    def __init__(self, tagger: Any, cfg: ServeConfig) -> None:
        self.tagger, self.cfg = tagger, cfg
        self.queue: asyncio.Queue[tuple[list[Document], asyncio.Future]] | None = None
        self.task: asyncio.Task | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0
        #: held while the tagger runs: its linkers (``serve --link``) are also run on /extract's kept documents,
        #: and a linker keeps per-call state (``last_stats``, a lazily built trigram index)
        self.lock = threading.Lock()

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

    async def submit(self, docs: list[Document]) -> tuple[list[Document], Counter]:
        """Tag ``docs`` (batched with other requests' documents); returns them with the counters of these
        documents alone (abbreviation and linking changes), not of the whole batch."""
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

            def call(batch: list[Document] = flat) -> tuple[list[Document], list[Counter]]:
                # read right after the call, in the same thread: the next batch cannot have started
                with self.lock:
                    out = self.tagger(batch)
                    per_doc = list(getattr(self.tagger, "last_doc_stats", None) or [])
                return out, per_doc if len(per_doc) == len(batch) else [Counter() for _ in batch]

            try:
                tagged, per_doc = await loop.run_in_executor(None, call)
                self.batches += 1
            except Exception as exc:  # noqa: BLE001 - forwarded to every waiting request, then re-raised there
                for _, fut in jobs:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            k = 0
            for docs, fut in jobs:
                if not fut.done():
                    fut.set_result((tagged[k : k + len(docs)], sum(per_doc[k : k + len(docs)], Counter())))
                k += len(docs)


def _tagging_changes(before: Sequence[Document], after: Sequence[Document]) -> Counter:
    """What tagging changed in one request's documents, counted as the :class:`~biobert.pipeline.Tagger` does.

    The tagger's own ``last_stats`` covers a whole batch, which mixes requests, so each request's counts are
    taken from its documents: the input's spans and relations (always replaced by the predictions), annotation
    metadata the output no longer has (``input_metadata_dropped:<key>``), and lone surrogates, which the model
    reads as U+FFFD (``surrogates_replaced``; the returned text keeps them)."""
    from biobert.text.words import tokenizable

    counts: Counter = Counter()
    for b, a in zip(before, after):
        if b.spans:
            counts["input_spans_replaced"] += len(b.spans)
        if b.relations:
            counts["input_relations_dropped"] += len(b.relations)
        for key, value in b.metadata.items():
            if value and not a.metadata.get(key):
                counts[f"input_metadata_dropped:{key}"] += 1
        tokenizable(b.text, counts)
    return counts


class _DuplicateKey(ValueError):
    """A JSON object of a request body with the same key twice (raised while parsing; answered 400 E620)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` of the request parser: the object as a dict, or :class:`_DuplicateKey` when a key comes
    twice (``{"text": "a", "text": "b"}`` was read as ``{"text": "b"}``, the first value dropped unsaid)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _code_of(exc: BiobertError) -> str:
    """The ``E###`` code a biobert error message starts with; E615 for the few messages without one."""
    head = str(exc).split(" ", 1)[0]
    return head if re.fullmatch(r"E\d{3}", head) else "E615"


def _message_of(exc: BiobertError) -> str:
    """The message without the code it starts with: the response gives the code in its own field (it was in both)."""
    text = str(exc)
    return text.split(" ", 1)[1] if re.fullmatch(r"E\d{3}", text.split(" ", 1)[0]) and " " in text else text


class _CatchAll:
    """ASGI middleware: an exception that escapes an endpoint becomes a structured JSON error.

    A :class:`~biobert.errors.BiobertError` (raised while tagging, say) is the input's problem: 422 with its own
    code. Anything else is a 500 with code E612 and the exception's type, logged with its traceback here, since it is
    not re-raised (Starlette's fallback would answer a plain-text "Internal Server Error")."""

    def __init__(self, app: Any, response_class: Any) -> None:
        self.app, self.response_class = app, response_class

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # noqa: BLE001 - every failure gets a structured answer
            if started:  # half an answer is on the wire: nothing else can be sent
                raise
            if isinstance(exc, BiobertError):
                status, content = 422, {"error": {"code": _code_of(exc), "message": _message_of(exc)}}
            else:
                log.exception("E612 %s %s failed", scope.get("method"), scope.get("path"))
                name = type(exc).__name__
                detail = str(exc)
                detail = detail if len(detail) <= 200 else detail[:197] + "..."
                status, content = 500, {"error": {"code": "E612", "type": name,
                                                  "message": f"internal error ({name}): {detail}" if detail else f"internal error ({name})"}}
            await self.response_class(status_code=status, content=content)(scope, receive, send)


def _tagging_settings(tagger: Any) -> dict[str, Any]:
    """How the served tagger reads text (so that a client can reproduce or report its output)."""
    pred = getattr(tagger, "predictor", None)
    if pred is None:
        return {}
    from biobert.text.sentences import splitter_name

    return {"decode": pred.decode, "splitter": splitter_name(pred.splitter), "abbreviations": pred.abbreviations,
            "max_length": pred.max_length, "stride": pred.stride, "context": pred.context}


def _extraction_settings(extractor: Any) -> dict[str, Any] | None:
    """How the served relation extractor forms candidate pairs and which relations it keeps (``None``: no
    extractor), so that a client can reproduce its output with ``biobert extract``."""
    if extractor is None:
        return None
    out: dict[str, Any] = {}
    for key in ("scope", "window_chars", "min_score"):
        if hasattr(extractor, key):
            out[key] = getattr(extractor, key)
    if hasattr(extractor, "type_pairs"):
        pairs = extractor.type_pairs
        out["type_pairs"] = [list(p) for p in pairs] if pairs is not None else None
    if hasattr(extractor, "splitter"):
        from biobert.text.sentences import splitter_name

        out["splitter"] = splitter_name(extractor.splitter)
    return out


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
    from biobert.io.jsonl import dumps

    class SafeJSONResponse(JSONResponse):
        """JSON with lone surrogates written as ``\\udxxx`` escapes, which read back as the same characters
        (:func:`biobert.io.jsonl.dumps`); Starlette's JSONResponse writes them raw, and UTF-8 cannot encode
        them, so a request holding a JSON ``\\ud800`` escape used to fail while its answer was sent."""

        def render(self, content: Any) -> bytes:
            return dumps(content).encode("utf-8")

    cfg = cfg or ServeConfig()
    app = FastAPI(title="biobert", description="Biomedical NER with exact character offsets.",
                  default_response_class=SafeJSONResponse)
    app.add_middleware(_CatchAll, response_class=SafeJSONResponse)
    batcher = _Batcher(tagger, cfg)
    app.state.batcher = batcher
    # one call at a time per model: its last_stats then belong to that call (they are read right after it), and
    # threads running one model side by side would only compete for the same cores
    locks = {name: threading.Lock() for name in ("extractor", "reader", "embedder")}
    if extractor is not None and hasattr(extractor, "check_tagger"):
        extractor.check_tagger(tagger)  # warns when the tagger's types can never fill the model's type pairs

    def error(status: int, code: str, message: str) -> JSONResponse:
        return SafeJSONResponse(status_code=status, content={"error": {"code": code, "message": message}})

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Any, exc: StarletteHTTPException) -> JSONResponse:
        # the router's own replies (unknown path, wrong method) in the same coded format as ours, not {"detail": ...}
        code = {404: "E616", 405: "E617"}.get(exc.status_code, "E618")
        allowed = (exc.headers or {}).get("Allow") if exc.status_code == 405 else None
        message = f"{request.method} {request.url.path}: {exc.detail}" + (f" (allowed: {allowed})" if allowed else "")
        return SafeJSONResponse(status_code=exc.status_code, content={"error": {"code": code, "message": message}},
                                headers=exc.headers)

    def counts_header(counts: Counter) -> dict[str, str]:
        # ASCII JSON: header values must be latin-1
        return {"X-Biobert-Counts": json.dumps(dict(sorted(counts.items())), separators=(",", ":"))}

    async def run_locked(name: str, model: Any, fn: Any) -> tuple[Any, Counter]:
        """``fn()`` in a worker thread, holding the model's lock; returns its result and the model's counters."""
        def call() -> tuple[Any, Counter]:
            with locks[name]:
                res = fn()
                return res, Counter(getattr(model, "last_stats", None) or {})

        return await asyncio.get_running_loop().run_in_executor(None, call)

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
            # how /extract forms candidate pairs and which relations it keeps (biobert extract's options)
            "extraction": _extraction_settings(extractor),
            "qa_model": getattr(reader, "source", None),
            "embed_model": getattr(embedder, "source", None),
            # `serve --link`: which dictionaries give /tag and /extract spans their ids, and for which types
            "linking": [{"labels": sorted(lk.labels) if lk.labels is not None else None, "names": lk.size}
                        for lk in (tagger.__dict__.get("linkers") or [])],
            "endpoints": endpoints,
            "environment": environment(),
        }

    def too_large(size: int, declared: bool) -> JSONResponse:
        got = f"its Content-Length is {size}" if declared else f"{size} bytes arrived before reading stopped"
        return error(413, "E613", f"request body larger than the limit of {cfg.body_limit} bytes ({got}); the limit follows "
                                  f"from --max-chars {cfg.max_chars} unless --max-body-bytes sets it")

    async def json_body(request: Request, endpoint: str) -> Any:
        """The request's JSON object, or an E602 / E613 / E619 / E620 (a key twice in one object) error response.

        The size is checked before anything is parsed: the declared Content-Length first, then the bytes as they
        arrive (a chunked body declares none, and a client may send more than it declared)."""
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                return error(400, "E602", f"invalid Content-Length header {declared[:40]!r}")
            if int(declared) > cfg.body_limit:
                return too_large(int(declared), True)
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > cfg.body_limit:
                return too_large(size, False)
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            body = json.loads(raw, object_pairs_hook=_unique_keys)
        except _DuplicateKey as exc:
            return error(400, "E620", f"the request body holds the key {exc.key!r} twice in one object; JSON parsers keep "
                                      "one of the two (which one differs), so the request is ambiguous")
        except UnicodeDecodeError as exc:  # json.loads reads UTF-8/16/32 bytes; anything else lands here
            return error(400, "E602", f"the request body must be JSON in UTF-8; byte {exc.start} is not ({exc.reason})")
        except json.JSONDecodeError as exc:
            return error(400, "E602", f"the request body must be JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")
        except (ValueError, RecursionError):  # nesting too deep to parse, say: still the client's
            return error(400, "E602", "the request body must be JSON")
        if not isinstance(body, dict):
            return error(400, "E602", "the request body must be a JSON object")
        allowed = FIELDS[endpoint]
        unknown = [k for k in body if k not in allowed]
        if unknown:
            return error(400, "E619", f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                                      f"{endpoint} reads: {', '.join(allowed)}")
        return body

    def too_many(n: int, what: str) -> JSONResponse:
        return error(413, "E614", f"request holds {n} {what}; the limit is {cfg.max_docs} (biobert serve --max-docs)")

    def documents(body: dict[str, Any]) -> Any:
        """The documents of a /tag or /extract request, or an error response."""
        keys = [k for k in ("text", "texts", "pubtator", "bioc", "biocjson") if k in body]
        if len(keys) != 1:
            return error(400, "E604", "give exactly one of: text, texts, pubtator, bioc, biocjson")
        key = keys[0]
        value = body[key]
        if "id" in body:
            # a PMID may come as a JSON number; null, an object or a list would become ids like "None"
            doc_id = body["id"]
            if key != "text":
                return error(400, "E605", f"'id' goes with 'text' only ('{key}' documents are numbered or carry their own ids)")
            if isinstance(doc_id, bool) or not isinstance(doc_id, (str, int)):
                return error(400, "E605", f"'id' must be a string or an integer, got {type(doc_id).__name__}")
        try:
            if key == "text":
                if not isinstance(value, str):
                    return error(400, "E605", "'text' must be a string")
                docs = [Document(id=str(body.get("id", "0")), text=value)]
            elif key == "texts":
                if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                    return error(400, "E605", "'texts' must be a list of strings")
                if len(value) > cfg.max_docs:
                    return too_many(len(value), "documents")
                docs = [Document(id=str(i), text=t) for i, t in enumerate(value)]
            else:
                if key == "biocjson" and isinstance(value, (dict, list)):
                    value = json.dumps(value, ensure_ascii=False)  # BioC JSON may come as JSON, not as a string
                if not isinstance(value, str):
                    return error(400, "E605", f"'{key}' must be a string holding the file content")
                # BioC passages sit at their offsets: the character limit goes to the reader, which refuses a text
                # past it (E228) before building it (an offset of 2e9 in a 100-byte request allocated 2 GB first)
                kw = {"max_chars": cfg.max_chars} if key in ("bioc", "biocjson") else {}
                docs = io.reads(value, fmt=key, name=f"request field '{key}'", **kw)
        except BiobertError as exc:
            if getattr(exc, "code", None) == "E228":
                return error(413, "E606", f"request holds more than {cfg.max_chars} characters: {_message_of(exc)}")
            return error(422, _code_of(exc), _message_of(exc))
        if len(docs) > cfg.max_docs:
            return too_many(len(docs), "documents")
        total = sum(len(d.text) for d in docs)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        return docs

    def respond(docs: list[Document], output: str, counts: Counter) -> Any:
        """The documents in ``output`` format, with ``counts`` (what the server changed) as a ``counts`` field of a
        JSON answer and, for every format, as JSON in the ``X-Biobert-Counts`` header."""
        if output == "json":
            content = {"documents": [d.to_dict() for d in docs], "counts": dict(sorted(counts.items()))}
            return SafeJSONResponse(content, headers=counts_header(counts))
        buf = _stdio.StringIO()
        report = io.write(docs, buf, fmt=output)
        # what the writer had to replace (tabs in PubTator text, characters XML cannot hold), leave out (scores,
        # ids CoNLL cannot hold) or write otherwise (relation arguments named by their text, hulls of fragments)
        for key, n in io.changes(report).items():
            counts[f"output_{key}"] += n
        if output == "biocjson":
            return SafeJSONResponse(json.loads(buf.getvalue()), headers=counts_header(counts))
        return PlainTextResponse(buf.getvalue(), headers=counts_header(counts))

    async def tag_docs(docs: list[Document]) -> tuple[list[Document], Counter]:
        """``docs`` through the batching worker, with what tagging changed in them."""
        tagged, changed = await batcher.submit(docs)
        return tagged, _tagging_changes(docs, tagged) + changed

    @app.post("/tag")
    async def tag(request: Request) -> Any:
        body = await json_body(request, "/tag")
        if not isinstance(body, dict):
            return body
        output = body.get("output", "json")
        if output not in OUTPUTS:
            return error(400, "E603", f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        docs = documents(body)
        if not isinstance(docs, list):
            return docs
        if output == "pubtator":  # before the work is done: an id PubTator cannot hold fails the answer anyway
            from biobert.io.pubtator import check_pmid

            try:
                for d in docs:
                    check_pmid(d.id)
            except BiobertError as exc:
                return error(422, _code_of(exc), f"'id' (output pubtator): {_message_of(exc)}")
        tagged, counts = await tag_docs(docs)
        return respond(tagged, output, counts)

    # `serve --link`: the tagger is a LinkedTagger; its linkers also link the spans /extract keeps (keep_spans)
    linkers = list(getattr(tagger, "__dict__", {}).get("linkers") or [])  # no tagger: an /embed-only app

    def link_kept(kept_docs: list[Document]) -> tuple[list[Document], Counter]:
        from biobert.linking import apply_linkers

        with batcher.lock:  # the batching worker's thread runs the same linkers
            return apply_linkers(linkers, kept_docs)

    @app.post("/extract")
    async def extract(request: Request) -> Any:
        if extractor is None:
            return error(404, "E609", "this server has no relation model; start it with `biobert serve --re-model DIR`")
        body = await json_body(request, "/extract")
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
        counts: Counter = Counter()
        if need:
            tagged, counts = await tag_docs([docs[i] for i in need])
            for i, d in zip(need, tagged):
                docs[i] = d
        out, stats = await run_locked("extractor", extractor, lambda: extractor(docs, tagger=False))
        if "surrogates_replaced" in stats:
            counts.pop("surrogates_replaced", None)  # the extractor read every document's text, the tagger some
        counts.update(stats)  # update, not +: zero counts (no candidate pair) are answers too
        tagged_ids = set(need)
        kept = [i for i in range(len(out)) if i not in tagged_ids]
        if kept and linkers:
            # `serve --link` also links the spans of documents that kept their own, after relation extraction
            # (relations re-pointed), with the same link_* counts, as `biobert extract --keep-spans --link` does;
            # the tagged documents were linked by the tagger
            linked, link_counts = await asyncio.get_running_loop().run_in_executor(None, link_kept, [out[i] for i in kept])
            for i, d in zip(kept, linked):
                out[i] = d
            counts.update({f"link_{k}": v for k, v in link_counts.items()})
        return respond(out, output, counts)

    @app.post("/answer")
    async def answer(request: Request) -> Any:
        if reader is None:
            return error(404, "E610", "this server has no QA model; start it with `biobert serve --qa-model DIR`")
        body = await json_body(request, "/answer")
        if not isinstance(body, dict):
            return body
        question, passages, qtype = body.get("question"), body.get("passages"), body.get("type")
        if not isinstance(question, str) or not question.strip():
            return error(400, "E605", "'question' must be a non-empty string")
        if isinstance(passages, str):
            passages = [passages]
        if not isinstance(passages, list) or not passages or not all(isinstance(p, str) for p in passages):
            return error(400, "E605", "'passages' must be a string or a non-empty list of strings")
        if isinstance(qtype, str):
            qtype = qtype.strip().lower()  # any case, as the CLI and Reader accept (BioASQ files say "factoid")
        if qtype is not None and qtype not in QUESTION_TYPES:
            return error(400, "E611", f"type must be factoid, list or yesno (any case), got {body.get('type')!r}")
        if len(passages) > cfg.max_docs:
            return too_many(len(passages), "passages")
        total = len(question) + sum(len(p) for p in passages)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        try:
            res, stats = await run_locked("reader", reader, lambda: reader(question, passages, qtype=qtype))
        except BiobertError as exc:
            return error(422, _code_of(exc), _message_of(exc))
        return {**res, "counts": dict(sorted(stats.items()))}

    @app.post("/embed")
    async def embed(request: Request) -> Any:
        if embedder is None:
            return error(404, "E607", "this server has no embedder; start it with `biobert serve --embed-model minilm`")
        body = await json_body(request, "/embed")
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
        if len(texts) > cfg.max_docs:
            return too_many(len(texts), "documents")
        total = sum(len(t) for t in texts)
        if total > cfg.max_chars:
            return error(413, "E606", f"request holds {total} characters; the limit is {cfg.max_chars}")
        embs, stats = await run_locked("embedder", embedder, lambda: embedder(texts, pool=pool, words=False))
        return {"vectors": [e.vector.tolist() for e in embs], "counts": dict(sorted(stats.items()))}

    return app
