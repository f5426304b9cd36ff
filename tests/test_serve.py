"""The HTTP service: batching, structured errors, offsets preserved."""

import asyncio
import json

import pytest

from biobert.types import Document, Span

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")


class FakeTagger:
    """Tags every 'BRCA1' as Gene; records batch sizes."""

    source, labels = "fake", ["O", "B-Gene", "I-Gene"]

    def __init__(self):
        self.calls = []

    def __call__(self, docs):
        self.calls.append(len(docs))
        out = []
        for d in docs:
            i = d.text.find("BRCA1")
            out.append(d.with_spans([Span(i, i + 5, "Gene", 0.9)] if i >= 0 else []))
        return out


def _client(tagger, **kw):
    from biobert.serve import ServeConfig, create_app

    app = create_app(tagger, ServeConfig(**kw))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_tag_text_and_errors():
    async def go():
        async with _client(FakeTagger(), max_chars=100) as c:
            r = await c.post("/tag", json={"text": "±\u00a0BRCA1 mutations"})
            assert r.status_code == 200
            d = Document.from_dict(r.json()["documents"][0])
            assert [d.text[s.start:s.end] for s in d.spans] == ["BRCA1"]
            assert (await c.get("/health")).json() == {"status": "ok"}
            r = await c.post("/tag", content=b"not json")
            assert r.status_code == 400 and r.json()["error"]["code"] == "E602" and "line 1, column 1" in r.json()["error"]["message"]
            r = await c.post("/tag", content=b'{"text": "caf\xe9"}')  # Latin-1, not UTF-8
            assert r.status_code == 400 and "UTF-8" in r.json()["error"]["message"]
            r = await c.post("/tag", json={"text": "x", "texts": ["y"]})
            assert r.json()["error"]["code"] == "E604"
            r = await c.post("/tag", json={"text": "x" * 101})
            assert r.status_code == 413 and r.json()["error"]["code"] == "E606"
            r = await c.post("/tag", json={"text": "x", "output": "xml"})
            assert r.json()["error"]["code"] == "E603"

    asyncio.run(go())


def test_concurrent_requests_are_batched():
    tagger = FakeTagger()

    async def go():
        async with _client(tagger, batch_wait_ms=50) as c:
            rs = await asyncio.gather(*[c.post("/tag", json={"text": f"doc {i} BRCA1"}) for i in range(8)])
            assert all(r.status_code == 200 for r in rs)
            for i, r in enumerate(rs):
                assert r.json()["documents"][0]["text"] == f"doc {i} BRCA1"

    asyncio.run(go())
    assert sum(tagger.calls) == 8 and len(tagger.calls) < 8


def test_pubtator_in_and_out():
    async def go():
        async with _client(FakeTagger()) as c:
            pt = "123|t|BRCA1 study\n123|a|An abstract.\n\n"
            r = await c.post("/tag", json={"pubtator": pt, "output": "pubtator"})
            assert r.status_code == 200, r.text
            assert "123\t0\t5\tBRCA1\tGene" in r.text
            r = await c.post("/tag", json={"pubtator": pt.replace("\n\n", "\n123\tzz\n\n")})
            err = r.json()["error"]
            # the message names the request field and its line, not "<string>"
            assert r.status_code == 422 and err["code"] == "E210" and "request field 'pubtator':3" in err["message"]
            assert not err["message"].startswith("E210")  # the code has its own field

    asyncio.run(go())


def test_bioc_json_in_and_out():
    bioc = {"PubTator3": [{"id": "9", "passages": [{"offset": 0, "text": "β-BRCA1 study", "infons": {"type": "title"}}]}]}

    async def go():
        async with _client(FakeTagger()) as c:
            r = await c.post("/tag", json={"biocjson": bioc, "output": "biocjson"})  # a JSON object, not a string
            assert r.status_code == 200, r.text
            (doc,) = r.json()["documents"]
            (ann,) = doc["passages"][0]["annotations"]
            assert ann["text"] == "BRCA1" and ann["locations"] == [{"offset": 2, "length": 5}]  # characters
            assert ann["infons"]["type"] == "Gene"
            r = await c.post("/tag", json={"biocjson": {"nothing": 1}})
            assert r.status_code == 422 and r.json()["error"]["code"] == "E225"

    asyncio.run(go())


class FakeExtractor:
    """Relates each Gene span to each Disease span; records the tagger argument it got."""

    source = "fake-re"

    def __init__(self):
        self.taggers = []

    def __call__(self, docs, tagger=None):
        from biobert.types import Relation

        self.taggers.append(tagger)
        out = []
        for d in docs:
            genes = [s for s in d.spans if s.label == "Gene"]
            dis = [s for s in d.spans if s.label == "Disease"]
            out.append(d.with_relations([Relation(g, x, "Association", 0.8) for g in genes for x in dis]))
        return out


def _client_with(tagger, **models):
    from biobert.serve import ServeConfig, create_app

    app = create_app(tagger, ServeConfig(max_chars=1000), **models)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def test_extract_tags_then_relates_and_keeps_spans_on_request():
    tagger, ex = FakeTagger(), FakeExtractor()
    pt = "9|t|BRCA1 and breast cancer\n9|a|x\n9\t10\t23\tbreast cancer\tDisease\tD001943\n\n"

    async def go():
        async with _client_with(tagger, extractor=ex) as c:
            # NER by the server's tagger replaces the file's annotations: BRCA1 found, the disease dropped
            r = await c.post("/extract", json={"pubtator": pt})
            assert r.status_code == 200, r.text
            d = Document.from_dict(r.json()["documents"][0])
            assert [s.label for s in d.spans] == ["Gene"] and d.relations == ()
            # keep_spans: the file's Disease is kept (no NER on that document), so no Gene, no relation
            r = await c.post("/extract", json={"pubtator": pt, "keep_spans": True})
            d = Document.from_dict(r.json()["documents"][0])
            assert [s.label for s in d.spans] == ["Disease"] and d.relations == ()
            # a text without annotations is tagged even with keep_spans; relations point at its spans
            r = await c.post("/extract", json={"text": "BRCA1 in breast cancer", "keep_spans": True})
            d = Document.from_dict(r.json()["documents"][0])
            assert [d.text[s.start:s.end] for s in d.spans] == ["BRCA1"]
            r = await c.post("/extract", json={"text": "x", "keep_spans": "yes"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E605"
            r = await c.post("/extract", json={"text": "x", "output": "pubtator"})
            assert r.status_code == 200 and r.text.startswith("0|t|x")
            # relation arguments without ids can only be named by their text in PubTator: the header says so
            both = "9|t|BRCA1 and breast cancer\n9|a|x\n9\t0\t5\tBRCA1\tGene\t-1\n9\t10\t23\tbreast cancer\tDisease\t-1\n\n"
            r = await c.post("/extract", json={"pubtator": both, "keep_spans": True, "output": "pubtator"})
            assert "9\tAssociation\tBRCA1\tbreast cancer" in r.text, r.text
            assert json.loads(r.headers["x-biobert-counts"])["output_relation_arguments_named_by_text"] == 2
            v = (await c.get("/version")).json()
            assert v["endpoints"] == ["/tag", "/extract"] and v["re_model"] == "fake-re"

    asyncio.run(go())
    assert tagger.calls == [1, 1, 1]  # 4 requests; the keep_spans one with its own annotations skipped NER
    assert ex.taggers and all(t is False for t in ex.taggers)  # the extractor never tags by itself


def test_extract_relations_point_at_returned_spans():
    class TwoTypes(FakeTagger):
        def __call__(self, docs):
            out = []
            for d in super().__call__(docs):
                i = d.text.find("cancer")
                out.append(d.with_spans(list(d.spans) + ([Span(i, i + 6, "Disease", 0.9)] if i >= 0 else [])))
            return out

    async def go():
        async with _client_with(TwoTypes(), extractor=FakeExtractor()) as c:
            r = await c.post("/extract", json={"texts": ["±\u00a0BRCA1 cancer", "none here"]})
            a, b = r.json()["documents"]
            assert [(x["head"]["text"], x["tail"]["text"]) for x in a["relations"]] == [("BRCA1", "cancer")]
            for x in a["relations"]:
                for arg in (x["head"], x["tail"]):
                    assert a["text"][arg["start"]:arg["end"]] == arg["text"]
            assert b["relations"] == []

    asyncio.run(go())


def test_answer_validates_and_forwards():
    class FakeReader:
        source = "fake-qa"

        def __call__(self, question, passages, qtype=None):
            i = passages[0].find("CFTR")
            return {"question": question, "type": qtype or "factoid",
                    "answers": [{"text": "CFTR", "score": 0.9, "passage": 0, "start": i, "end": i + 4}]}

    async def go():
        async with _client_with(FakeTagger(), reader=FakeReader()) as c:
            r = await c.post("/answer", json={"question": "Which gene?", "passages": "Mutations in CFTR."})
            assert r.status_code == 200, r.text
            assert r.json()["answers"][0]["start"] == 13 and r.json()["type"] == "factoid"
            r = await c.post("/answer", json={"question": "Which gene?", "passages": ["CFTR"], "type": "list"})
            assert r.json()["type"] == "list"
            r = await c.post("/answer", json={"question": "Which gene?", "passages": ["CFTR"], "type": "Factoid"})
            assert r.status_code == 200 and r.json()["type"] == "factoid"  # any case, as the CLI and Reader
            for bad, code in (({"passages": ["x"]}, "E605"), ({"question": "q", "passages": []}, "E605"),
                              ({"question": "q", "passages": ["x"], "type": "summary"}, "E611"),
                              ({"question": "q", "passages": ["x" * 2000]}, "E606")):
                r = await c.post("/answer", json=bad)
                assert r.status_code in (400, 413) and r.json()["error"]["code"] == code, bad
            r = await c.post("/extract", json={"text": "x"})
            assert r.status_code == 404 and r.json()["error"]["code"] == "E609"
        async with _client_with(FakeTagger()) as c:
            r = await c.post("/answer", json={"question": "q", "passages": ["x"]})
            assert r.status_code == 404 and r.json()["error"]["code"] == "E610"

    asyncio.run(go())


def test_tag_with_a_linker_returns_ids():
    """``serve --link``: the tagger is wrapped in a LinkedTagger, and /tag spans carry the dictionary's ids."""
    from biobert.linking import DictionaryLinker, LinkedTagger

    tagger = LinkedTagger(FakeTagger(), DictionaryLinker({"BRCA1": [("NCBIGene", "NCBIGene:672")]}))

    async def go():
        async with _client(tagger) as c:
            r = await c.post("/tag", json={"text": "Carriers of BRCA1 mutations"})
            d = Document.from_dict(r.json()["documents"][0])
            assert [(d.text[s.start:s.end], s.ids) for s in d.spans] == [("BRCA1", (("NCBIGene", "NCBIGene:672"),))]
            assert (await c.get("/version")).json()["linking"] == [{"labels": None, "names": 1}]

    asyncio.run(go())


def test_version_reports_how_the_real_tagger_reads_text(tagger_dir):
    from biobert.pipeline import Tagger

    async def go():
        async with _client(Tagger.load(tagger_dir, decode="argmax", splitter="lines")) as c:
            v = (await c.get("/version")).json()
            assert v["tagging"] == {"decode": "argmax", "splitter": "lines", "abbreviations": True,
                                    "max_length": 32, "stride": 8, "context": 0}
        async with _client(FakeTagger()) as c:
            assert (await c.get("/version")).json()["tagging"] == {}

    asyncio.run(go())


def test_app_answers_when_each_request_runs_on_a_new_event_loop():
    """Starlette's TestClient (outside a ``with`` block) runs every request on a fresh event loop; the
    batcher must follow the loop instead of waiting on a queue of a loop that has ended (which hung)."""
    import threading

    from starlette.testclient import TestClient

    from biobert.serve import create_app

    tagger = FakeTagger()
    c = TestClient(create_app(tagger))
    answers = []

    def go():
        for _ in range(3):
            answers.append(c.post("/tag", json={"text": "BRCA1 binds"}))

    th = threading.Thread(target=go, daemon=True)  # a daemon, so a hang fails the test instead of the run
    th.start()
    th.join(timeout=30)
    assert len(answers) == 3, f"only {len(answers)} of 3 requests answered"
    assert all(r.status_code == 200 and r.json()["documents"][0]["spans"][0]["start"] == 0 for r in answers)
    assert tagger.calls == [1, 1, 1]


# -- lone surrogates, internal errors, size limits, counts ------------------------------------------------------------
class FakeReader:
    source = "fake-qa"

    def __init__(self):
        self.last_stats = {}

    def __call__(self, question, passages, qtype=None):
        self.last_stats = {"surrogates_replaced": sum(0xD800 <= ord(c) <= 0xDFFF for c in question)}
        return {"question": question, "type": qtype or "factoid", "answers": []}


def _ascii(obj) -> bytes:
    """``obj`` as ASCII JSON: lone surrogates as escapes (httpx's ``json=`` cannot encode them)."""
    return json.dumps(obj).encode()


def _raw(c, path, body: bytes, **kw):
    """POST ``body`` exactly as given (a JSON \\ud800 escape must reach the server as six ASCII bytes)."""
    return c.post(path, content=body, headers={"content-type": "application/json"}, **kw)


def test_lone_surrogates_come_back_as_json_escapes():
    """A JSON ``\\ud800`` escape is valid JSON that decodes to a lone surrogate, which UTF-8 cannot encode: the answer
    used to fail after tagging (a plain-text 500); it must hold the same escape, so that the text reads back equal."""
    async def go():
        async with _client_with(FakeTagger(), extractor=FakeExtractor(), reader=FakeReader()) as c:
            r = await _raw(c, "/tag", rb'{"text": "a \ud800 BRCA1"}')
            assert r.status_code == 200, r.text
            assert rb"\ud800" in r.content
            (d,) = r.json()["documents"]
            assert d["text"] == "a \ud800 BRCA1" and d["spans"][0]["text"] == "BRCA1" and d["spans"][0]["start"] == 4
            assert r.json()["counts"] == {"surrogates_replaced": 1}
            r = await _raw(c, "/tag", rb'{"texts": ["x \udfff", "BRCA1 \ud83d"]}')
            assert r.status_code == 200 and [d["text"] for d in r.json()["documents"]] == ["x \udfff", "BRCA1 \ud83d"]
            r = await _raw(c, "/tag", rb'{"pubtator": "1|t|a \ud800 BRCA1\n1|a|x\n\n"}')
            assert r.status_code == 200 and r.json()["documents"][0]["text"] == "a \ud800 BRCA1 x"
            r = await _raw(c, "/tag", rb'{"text": "a \ud800 BRCA1", "output": "biocjson"}')
            assert r.status_code == 200 and r.json()["documents"][0]["passages"][0]["text"] == "a \ud800 BRCA1"
            r = await _raw(c, "/extract", rb'{"text": "a \ud800 BRCA1"}')
            assert r.status_code == 200 and r.json()["documents"][0]["text"] == "a \ud800 BRCA1"
            r = await _raw(c, "/answer", rb'{"question": "what \ud83d?", "passages": "BRCA1"}')
            assert r.status_code == 200, r.text
            assert r.json()["question"] == "what \ud83d?" and r.json()["counts"] == {"surrogates_replaced": 1}

    asyncio.run(go())


def test_unexpected_failures_are_structured_json_on_every_endpoint():
    from biobert.errors import DataFormatError

    class Broken:
        source, labels = "broken", []

        def __init__(self, exc):
            self.exc = exc

        def __call__(self, *args, **kw):
            raise self.exc

    async def go():
        models = {"extractor": Broken(RuntimeError("boom")), "reader": Broken(KeyError("k")),
                  "embedder": Broken(ZeroDivisionError())}
        async with _client_with(Broken(ValueError("bad tagger")), **models) as c:
            for path, body, typ in (("/tag", {"text": "x"}, "ValueError"), ("/tag", {"texts": ["x"], "output": "bioc"}, "ValueError"),
                                    ("/answer", {"question": "q", "passages": "p"}, "KeyError"),
                                    ("/embed", {"text": "x"}, "ZeroDivisionError")):
                r = await c.post(path, json=body)
                assert r.status_code == 500 and r.headers["content-type"].startswith("application/json"), (path, r.text)
                assert r.json()["error"]["code"] == "E612" and r.json()["error"]["type"] == typ
                assert typ in r.json()["error"]["message"]
        async with _client_with(FakeTagger(), extractor=Broken(RuntimeError("boom"))) as c:
            r = await c.post("/extract", json={"text": "BRCA1"})
            assert r.status_code == 500 and r.json()["error"] == {"code": "E612", "type": "RuntimeError",
                                                                 "message": "internal error (RuntimeError): boom"}
        # a biobert error raised while tagging is the input's problem: 422 with its own code
        async with _client_with(Broken(DataFormatError("E231", "<string>", None, "a document"))) as c:
            r = await c.post("/tag", json={"text": "x"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "E231"

    asyncio.run(go())


def test_body_size_is_checked_before_the_body_is_parsed():
    from biobert.serve import BODY_SLACK_BYTES, BYTES_PER_CHAR, ServeConfig

    assert ServeConfig(max_chars=10).body_limit == 10 * BYTES_PER_CHAR + BODY_SLACK_BYTES
    assert ServeConfig(max_chars=10, max_body_bytes=50).body_limit == 50

    async def go():
        async with _client(FakeTagger(), max_body_bytes=100) as c:
            # not even JSON: refused for its size (E613) from the header, never parsed (which would say E602)
            r = await _raw(c, "/tag", b"x" * 101)
            assert r.status_code == 413 and r.json()["error"]["code"] == "E613", r.text
            assert "Content-Length is 101" in r.json()["error"]["message"]

            async def chunks():  # a chunked body declares no length: counted while it is read
                for _ in range(50):
                    yield b"x" * 10

            r = await c.post("/tag", content=chunks(), headers={"content-type": "application/json"})
            assert "content-length" not in r.request.headers
            assert r.status_code == 413 and r.json()["error"]["code"] == "E613", r.text
            r = await _raw(c, "/tag", b'{"text": "' + b"y" * 80 + b'"}')  # 92 bytes: within the limit
            assert r.status_code == 200

            async def small():
                yield b'{"text": '
                yield b'"BRCA1"}'

            r = await c.post("/tag", content=small(), headers={"content-type": "application/json"})
            assert r.status_code == 200 and r.json()["documents"][0]["spans"][0]["text"] == "BRCA1"

    asyncio.run(go())


def test_document_count_is_limited():
    class FakeEmbedder:
        def __call__(self, texts, pool="mean", words=False):
            raise AssertionError("never reached")

    pt = "".join(f"{i}|t|BRCA1\n{i}|a|x\n\n" for i in range(3))

    async def go():
        from biobert.serve import create_app, ServeConfig

        app = create_app(FakeTagger(), ServeConfig(max_docs=2), extractor=FakeExtractor(), reader=FakeReader(),
                         embedder=FakeEmbedder())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            for path, body in (("/tag", {"texts": [""] * 3}), ("/tag", {"pubtator": pt}), ("/extract", {"texts": ["a", "b", "c"]}),
                               ("/answer", {"question": "q", "passages": ["a", "b", "c"]}), ("/embed", {"texts": ["a", "b", "c"]})):
                r = await c.post(path, json=body)
                assert r.status_code == 413 and r.json()["error"]["code"] == "E614", (path, r.text)
            r = await c.post("/tag", json={"texts": ["BRCA1", ""]})
            assert r.status_code == 200 and len(r.json()["documents"]) == 2

    asyncio.run(go())


@pytest.mark.parametrize("kw", [{"max_docs": 0}, {"max_chars": -1}, {"max_body_bytes": 0}, {"max_batch_docs": 1.5},
                                {"batch_wait_ms": -1}])
def test_serve_config_rejects_bad_limits(kw):
    from biobert.errors import ConfigError
    from biobert.serve import ServeConfig

    with pytest.raises(ConfigError, match="E478"):
        ServeConfig(**kw)


def test_answers_report_what_the_server_changed(tagger_dir):
    """Each answer counts what the server changed in that request's documents, as the tagger itself counts it
    (its own last_stats cover a whole batch of requests), plus the extractor's counters and the writer's."""
    from biobert import io
    from biobert.pipeline import Tagger

    pt = ("7|t|BRCA1 in breast \ud800 cancer\n7|a|x\n7\t0\t5\tBRCA1\tGene\t672\n7\t9\t24\tbreast \ud800 cancer\tDisease\tD001943\n"
          "7\tCID\t672\tD001943\n\n")
    tagger = Tagger.load(tagger_dir)
    tagged = tagger(io.reads(pt, fmt="pubtator"))
    keys = ("input_spans_replaced", "input_relations_dropped", "surrogates_replaced")
    want = {k: v for k, v in tagger.last_stats.items() if k in keys or k.startswith("input_metadata_dropped:")}
    assert want == {"input_spans_replaced": 2, "input_metadata_dropped:relations": 1, "surrogates_replaced": 1}

    class CountingExtractor(FakeExtractor):
        def __call__(self, docs, tagger=None):
            self.last_stats = {"candidates": 1, "pairs_overlapping_skipped": 2}
            return super().__call__(docs, tagger)

    async def go():
        async with _client_with(tagger, extractor=CountingExtractor()) as c:
            r = await _raw(c, "/tag", _ascii({"pubtator": pt}))
            assert r.json()["counts"] == want
            assert json.loads(r.headers["x-biobert-counts"]) == want
            assert set(r.json()) == {"documents", "counts"}  # the documents are where they were
            # a PubTator answer has no room for them: the header only, with what the writer changed
            r = await _raw(c, "/tag", _ascii({"pubtator": pt, "output": "pubtator"}))
            assert r.status_code == 200 and r.text.startswith("7|t|")
            assert json.loads(r.headers["x-biobert-counts"]) == {**want, "output_dropped_scores": len(tagged[0].spans),
                                                                 "output_replaced_characters": 1}
            r = await _raw(c, "/extract", _ascii({"pubtator": pt}))
            assert r.json()["counts"] == {**want, "candidates": 1, "pairs_overlapping_skipped": 2}
            r = await _raw(c, "/extract", _ascii({"pubtator": pt, "keep_spans": True}))  # nothing tagged, nothing replaced
            assert r.json()["counts"] == {"candidates": 1, "pairs_overlapping_skipped": 2}

    asyncio.run(go())


def test_unknown_paths_and_methods_get_the_coded_error_format():
    """The router's own 404/405 replies were {"detail": ...}, unlike every other error of the service."""

    async def go():
        async with _client_with(FakeTagger()) as c:
            r = await c.post("/tagg", json={"text": "x"})
            assert r.status_code == 404 and r.json()["error"]["code"] == "E616" and "/tagg" in r.json()["error"]["message"]
            r = await c.get("/tag")
            assert r.status_code == 405 and r.json()["error"]["code"] == "E617" and "POST" in r.json()["error"]["message"]

    asyncio.run(go())


def test_unknown_fields_and_ids_of_the_wrong_type_are_refused():
    """A misspelt option ("ouput") or one the service does not offer ("layers") used to be ignored, and an id
    that is null or an object became the id "None" / "{'a': 1}"; both are the client's errors."""
    tagger = FakeTagger()

    class FakeEmbedder:
        last_stats: dict = {}

        def __call__(self, texts, pool="mean", words=False):
            raise AssertionError("never reached")

    async def go():
        async with _client(tagger) as c:
            r = await c.post("/tag", json={"text": "BRCA1", "ouput": "pubtator"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E619"
            assert "'ouput'" in r.json()["error"]["message"] and "output" in r.json()["error"]["message"]
            r = await c.post("/tag", json={"text": "BRCA1", "keep_spans": True})  # an /extract option
            assert r.status_code == 400 and r.json()["error"]["code"] == "E619"
            for bad in (None, {"a": 1}, [1], True, 1.5):
                r = await c.post("/tag", json={"text": "BRCA1", "id": bad})
                assert r.status_code == 400 and r.json()["error"]["code"] == "E605", bad
            r = await c.post("/tag", json={"texts": ["BRCA1"], "id": "x"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E605"
            r = await c.post("/tag", json={"text": "BRCA1", "id": 12345})  # a PMID as a JSON number is fine
            assert r.status_code == 200 and r.json()["documents"][0]["id"] == "12345"
        from biobert.serve import ServeConfig, create_app

        app = create_app(tagger, ServeConfig(), embedder=FakeEmbedder())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            r = await c.post("/embed", json={"text": "BRCA1", "layers": [-1, -2]})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E619"
            r = await c.post("/answer", json={"question": "q", "passages": "p", "topk": 3})
            assert r.status_code == 404  # no reader: that answer comes first

    asyncio.run(go())
    assert tagger.calls == [1]


def test_batched_requests_each_get_their_own_abbreviation_and_linking_counts():
    """/tag answered `counts: {}` where `biobert tag` reported abbreviation_spans_added and link_* counters: the
    tagger's last_stats cover a whole batch, so they were never read. Per-document counters now follow each
    request's documents through the batch."""
    from collections import Counter

    from biobert.linking import DictionaryLinker, LinkedTagger

    class AbbrevTagger(FakeTagger):
        def __call__(self, docs):
            out = super().__call__(docs)
            self.last_doc_stats = [Counter({"abbreviation_spans_added": d.text.count("(BC)")}) for d in docs]
            self.last_stats = sum(self.last_doc_stats, Counter())
            return out

    inner = AbbrevTagger()
    tagger = LinkedTagger(inner, DictionaryLinker({"BRCA1": [("NCBIGene", "NCBIGene:672")]}))

    async def go():
        async with _client(tagger, batch_wait_ms=50) as c:
            texts = ["BRCA1 in breast cancer (BC) and BC.", "no gene here", "BRCA1 (BC) (BC)"]
            rs = await asyncio.gather(*[c.post("/tag", json={"text": t}) for t in texts])
            return [r.json()["counts"] for r in rs]

    counts = asyncio.run(go())
    assert len(inner.calls) < 3  # batched, so the tagger's own last_stats mixed the requests
    assert counts[0] == {"abbreviation_spans_added": 1, "link_linked_exact": 1}
    assert counts[1] == {}
    assert counts[2] == {"abbreviation_spans_added": 2, "link_linked_exact": 1}


def test_extract_counts_a_surrogate_once_and_keeps_zero_counts():
    class CountingExtractor(FakeExtractor):
        def __call__(self, docs, tagger=None):
            from biobert.text.words import tokenizable

            st = Counter({"candidates": 0})
            for d in docs:
                tokenizable(d.text, st)
            self.last_stats = st
            return super().__call__(docs, tagger)

    from collections import Counter

    async def go():
        async with _client_with(FakeTagger(), extractor=CountingExtractor()) as c:
            r = await _raw(c, "/extract", rb'{"text": "BRCA1 \ud800 causes breast cancer."}')
            assert r.json()["counts"] == {"surrogates_replaced": 1, "candidates": 0}, r.json()["counts"]

    asyncio.run(go())


def test_tagger_reports_per_document_counts_that_sum_to_its_last_stats(tagger_dir):
    from collections import Counter

    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    texts = ["Breast cancer (BC) patients with BC and BRCA1.", "Nothing.", "Cowden disease (CD) and CD cases."]
    t(texts)
    assert len(t.last_doc_stats) == 3
    total = sum(t.last_doc_stats, Counter())
    assert all(t.last_stats[k] == v for k, v in total.items()) and all(k.startswith("abbreviation") for k in total)


def test_an_id_pubtator_cannot_hold_is_refused_before_tagging_with_its_code():
    tagger = FakeTagger()

    async def go():
        async with _client(tagger) as c:
            r = await c.post("/tag", json={"text": "BRCA1", "id": "a|b", "output": "pubtator"})
            assert r.status_code == 422 and r.json()["error"]["code"] == "E215" and "'id'" in r.json()["error"]["message"]

    asyncio.run(go())
    assert tagger.calls == []  # refused before the model ran


def test_the_character_limit_counts_every_document_of_a_request():
    pt = "".join(f"{i}|t|{'x' * 50}\n{i}|a|y\n\n" for i in range(2))

    async def go():
        from biobert.serve import create_app, ServeConfig

        app = create_app(FakeTagger(), ServeConfig(max_chars=100), extractor=FakeExtractor())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            # each document is under the limit, together they are not: splitting a text must not get past it
            for path, body in (("/tag", {"texts": ["x" * 60, "x" * 60]}), ("/tag", {"pubtator": pt}),
                               ("/extract", {"texts": ["x" * 60, "x" * 60]})):
                r = await c.post(path, json=body)
                assert r.status_code == 413 and r.json()["error"]["code"] == "E606", (path, r.text)
            assert (await c.post("/tag", json={"texts": ["x" * 40, "x" * 40]})).status_code == 200

    asyncio.run(go())


from tests.test_pipeline import re_model  # noqa: E402,F401 - a tiny relation model (fixture)


def test_version_names_the_embedder_and_how_relations_are_extracted(re_model, tiny_bert):  # noqa: F811
    """/version gave neither the embedding model's source nor the extractor's scope, window, min_score and type
    pairs, so a client could not tell how /embed and /extract answers were made (nor reproduce them on the CLI)."""
    from biobert.embed import Embedder
    from biobert.pipeline import Extractor
    from biobert.serve import ServeConfig, create_app

    ex = Extractor.load(re_model, scope="window", window_chars=120, min_score=0.25,
                        type_pairs=[("Gene", "Disease")], splitter="lines")
    emb = Embedder.load(tiny_bert)
    app = create_app(FakeTagger(), ServeConfig(), embedder=emb, extractor=ex)

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            return (await c.get("/version")).json()

    v = asyncio.run(go())
    assert v["embed_model"] == emb.source and v["embed_model"]
    assert v["extraction"] == {"scope": "window", "window_chars": 120, "min_score": 0.25,
                               "type_pairs": [["Gene", "Disease"]], "splitter": "lines"}
    async def bare():
        async with _client(FakeTagger()) as c:
            return (await c.get("/version")).json()

    v = asyncio.run(bare())
    assert v["embed_model"] is None and v["extraction"] is None


def test_a_far_bioc_passage_offset_is_refused_before_the_text_is_built():
    """A ~100-byte BioC request with a passage at offset 2e9 was answered 413 E606, but only after the reader had
    built a 2-billion-character text (and, with byte offsets, a dictionary entry per position). The limit now goes
    to the reader, which refuses the offset before allocating anything: on /tag and /extract, BioC XML and JSON."""
    import tracemalloc

    far = 30_000_000
    bioc_json = {"documents": [{"id": "1", "passages": [{"offset": far, "text": "BRCA1"}]}]}
    bioc_xml = ("<?xml version='1.0' encoding='UTF-8'?><collection><source>s</source><date>d</date><key>k</key>"
                f"<document><id>1</id><passage><offset>{far}</offset><text>BRCA1</text></passage></document></collection>")
    bodies = [("/tag", {"biocjson": bioc_json}), ("/tag", {"bioc": bioc_xml}), ("/extract", {"biocjson": bioc_json}),
              ("/extract", {"bioc": bioc_xml, "keep_spans": True})]

    async def go():
        async with _client_with(FakeTagger(), extractor=FakeExtractor()) as c:
            out = []
            for path, body in bodies:
                tracemalloc.start()
                try:
                    r = await c.post(path, json=body)
                    peak = tracemalloc.get_traced_memory()[1]
                finally:
                    tracemalloc.stop()
                out.append((r.status_code, r.json()["error"]["code"], r.json()["error"]["message"], peak))
            # within the limit, BioC is read as before
            r = await c.post("/tag", json={"biocjson": {"documents": [{"id": "1", "passages": [{"offset": 10, "text": "BRCA1"}]}]}})
            assert r.status_code == 200 and r.json()["documents"][0]["text"] == " " * 10 + "BRCA1"
            return out

    for status, code, message, peak in asyncio.run(go()):
        assert (status, code) == (413, "E606"), message
        assert "1000" in message and peak < 10_000_000, (message, peak)


def test_a_key_given_twice_in_the_request_body_is_refused():
    """``{"text": "a", "text": "b"}`` tagged "b": the parser kept the last value and dropped the first unsaid.
    A key twice in any object of the body (nested BioC JSON too) is now 400 E620."""
    async def go():
        async with _client(FakeTagger()) as c:
            r = await c.post("/tag", content=b'{"text": "BRCA1 a", "text": "b"}', headers={"content-type": "application/json"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E620" and "'text'" in r.json()["error"]["message"]
            nested = b'{"biocjson": {"documents": [{"id": "1", "id": "2", "passages": []}]}}'
            r = await c.post("/tag", content=nested, headers={"content-type": "application/json"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E620" and "'id'" in r.json()["error"]["message"]
            r = await c.post("/tag", content=b'{"text": "BRCA1 a", "id": "x"}', headers={"content-type": "application/json"})
            assert r.status_code == 200 and r.json()["documents"][0]["id"] == "x"

    asyncio.run(go())


def test_extract_links_the_spans_documents_keep_as_the_cli_does():
    """`serve --link` wraps the tagger in a LinkedTagger, so /extract linked only the documents it tagged: spans kept
    with keep_spans came back without ids and without link_* counts, while `biobert extract --keep-spans --link`
    links them. Kept spans are now linked too (after RE, relations re-pointed), with the CLI's link_* counts."""
    from biobert.linking import DictionaryLinker, LinkedTagger, apply_linkers

    kb = {"breast cancer": [("MESH", "D001943")], "BRCA1": [("NCBIGene", "672")]}
    tagger = LinkedTagger(FakeTagger(), DictionaryLinker(kb))
    doc = {"id": "1", "passages": [{"offset": 0, "text": "BRCA1 and breast cancer", "annotations": [
        {"id": "a", "infons": {"type": "Gene"}, "text": "BRCA1", "locations": [{"offset": 0, "length": 5}]},
        {"id": "b", "infons": {"type": "Disease"}, "text": "breast cancer", "locations": [{"offset": 10, "length": 13}]}]}]}

    async def go():
        async with _client_with(tagger, extractor=FakeExtractor()) as c:
            r = await c.post("/extract", json={"biocjson": {"documents": [doc]}, "keep_spans": True})
            assert r.status_code == 200, r.text
            return r.json()

    res = asyncio.run(go())
    d = Document.from_dict(res["documents"][0])
    assert [(s.text, s.ids) for s in d.spans] == [("BRCA1", (("NCBIGene", "672"),)), ("breast cancer", (("MESH", "D001943"),))]
    (rel,) = d.relations
    assert rel.head.ids and rel.tail.ids  # the relation points at the linked spans
    # what `biobert extract --keep-spans --link` counts: the linkers run on the extractor's output
    from biobert import io

    ref_docs = FakeExtractor()(io.reads(json.dumps({"documents": [doc]}), "biocjson"), tagger=False)
    _, ref = apply_linkers([DictionaryLinker(kb)], ref_docs)
    assert {k: v for k, v in res["counts"].items() if k.startswith("link_")} == {f"link_{k}": v for k, v in ref.items()}
    assert res["counts"]["link_linked_exact"] == 2
