"""The HTTP service: batching, structured errors, offsets preserved."""

import asyncio

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
            assert r.status_code == 400 and r.json()["error"]["code"] == "E602"
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

    asyncio.run(go())
