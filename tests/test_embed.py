"""Embedder: shapes, word alignment, windows on long input, pooling, batching, layers, npz, /embed."""

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from biobert.errors import ConfigError
from biobert.text import split_sentences, tokenize_words
from biobert.types import Document

TEXT = "BRCA1 mutations cause breast cancer. Tamoxifen (\u00b10.2\u00a0mg) lowers the risk of TNF-\u03b1 \x96 recurrence."
LONG = " ".join(["Cisplatin-induced nephrotoxicity was reduced by co-administration of magnesium sulfate"] * 50)


@pytest.fixture(scope="module")
def embedder(tiny_bert):
    from biobert.embed import Embedder

    return Embedder.load(str(tiny_bert))


def _words(text):
    return [w for a, b in split_sentences(text) for w in tokenize_words(text, a, b)]


def test_shapes_and_determinism(embedder):
    e = embedder(TEXT)
    assert embedder.dim == 32 and embedder.max_length == 128
    assert e.vector.shape == (32,) and e.vector.dtype == np.float32
    assert e.sentence_vectors.shape == (2, 32) and len(e.sentences) == 2
    assert e.word_vectors.shape == (len(e.words), 32) and e.word_vectors.dtype == np.float32
    assert np.isfinite(e.word_vectors).all()
    again = embedder(TEXT)
    assert np.array_equal(e.vector, again.vector) and np.array_equal(e.word_vectors, again.word_vectors)
    # document vector = sentence vectors weighted by their word counts
    n = [sum(1 for w in e.words if a <= w[0] < b) for a, b in e.sentences]
    assert np.allclose(e.vector, (e.sentence_vectors * np.array(n)[:, None]).sum(0) / sum(n), atol=1e-6)
    no_words = embedder(TEXT, words=False)
    assert no_words.word_vectors is None and no_words.words == ()
    assert np.array_equal(no_words.vector, e.vector)


def test_word_alignment(embedder):
    e = embedder(TEXT)
    assert list(e.words) == _words(TEXT)
    assert len(e.word_vectors) == len(e.words)
    assert e.word_texts[0] == "BRCA1" and "\u03b1" in e.word_texts and "\x96" in e.word_texts
    assert all(TEXT[a:b] == t and t.strip() for (a, b), t in zip(e.words, e.word_texts))
    # a document's own tokens are used as words
    doc = Document("d", "TNF-alpha binds", tokens=((0, 9), (10, 15)))
    d = embedder(doc)
    assert d.id == "d" and d.words == ((0, 9), (10, 15)) and d.word_vectors.shape == (2, 32)
    empty = embedder("   ")
    assert empty.words == () and empty.word_vectors.shape == (0, 32) and not empty.vector.any()


def test_matches_a_plain_forward_pass(embedder, tiny_bert):
    """Short sentence: mean pool = mean of non-special subword vectors; cls = [CLS]; layers are averaged."""
    text = "Tamoxifen lowers the risk"
    words = [text[a:b] for a, b in tokenize_words(text)]
    enc = embedder.tokenizer(words, is_split_into_words=True, return_tensors="pt").to(embedder.model.device)  # a GPU where there is one
    with torch.no_grad():
        hs = embedder.model(**enc, output_hidden_states=True).hidden_states
    last, prev = hs[-1][0].cpu(), hs[-2][0].cpu()
    assert np.allclose(embedder(text).vector, last[1:-1].mean(0).numpy(), atol=1e-5)
    assert np.allclose(embedder(text, pool="cls").vector, last[0].numpy(), atol=1e-5)
    both = embedder(text, pool="cls", layers=(-1, -2)).vector
    assert np.allclose(both, ((last[0] + prev[0]) / 2).numpy(), atol=1e-5)
    # a word vector is the mean of its subword vectors
    wids = enc.word_ids(0)
    first = [i for i, w in enumerate(wids) if w == 0]
    assert np.allclose(embedder(text).word_vectors[0], last[first].mean(0).numpy(), atol=1e-5)


def test_long_input_is_windowed_not_truncated(embedder):
    from biobert.embed import Embedder

    n_sub = len(embedder.tokenizer(LONG)["input_ids"])
    assert n_sub > 512
    e = embedder(LONG)
    assert embedder.last_stats["sentences_windowed"] == 1 and embedder.last_stats["windows"] > 4
    assert list(e.words) == _words(LONG) and len(e.word_vectors) == len(e.words)
    assert np.isfinite(e.word_vectors).all()
    # smaller windows: many more of them, the same words, every word still gets a vector
    small_emb = Embedder(embedder.model, embedder.tokenizer, max_length=24, stride=6)
    small = small_emb(LONG)
    assert small_emb.last_stats["windows"] > 3 * embedder.last_stats["windows"]
    assert small.words == e.words and small.word_vectors.shape == e.word_vectors.shape
    assert np.isfinite(small.word_vectors).all() and not np.allclose(small.word_vectors, e.word_vectors)


def test_mean_and_cls_differ(embedder):
    m, c = embedder(TEXT, pool="mean"), embedder(TEXT, pool="cls")
    assert not np.allclose(m.vector, c.vector)
    assert np.array_equal(m.word_vectors, c.word_vectors)  # pooling does not touch word vectors


def test_batch_equals_single(embedder):
    texts = [TEXT, "short", LONG, "BRCA1 and TP53.", Document("x", "Insulin resistance precedes diabetes.")]
    batch = embedder(texts, pool="cls")
    assert [b.id for b in batch] == ["0", "1", "2", "3", "x"]
    for t, b in zip(texts, batch):
        s = embedder(t, pool="cls")
        assert s.words == b.words
        assert np.abs(s.vector - b.vector).max() < 1e-5
        assert np.abs(s.word_vectors - b.word_vectors).max() < 1e-5
    # a tiny token budget (one window per forward pass) gives the same result
    from biobert.embed import Embedder

    one = Embedder(embedder.model, embedder.tokenizer, batch_tokens=1)(texts, pool="cls")
    assert all(np.abs(a.vector - b.vector).max() < 1e-5 for a, b in zip(one, batch))


def test_errors(embedder):
    with pytest.raises(ConfigError, match="E430"):
        embedder("x", pool="max")
    with pytest.raises(ConfigError, match="E432"):
        embedder("x", layers=(7,))
    with pytest.raises(ConfigError, match="E432"):
        embedder("x", layers=())
    with pytest.raises(TypeError):
        embedder([3])
    assert np.allclose(embedder("x y", layers=(0,)).vector, embedder("x y", layers=(-3,)).vector)


def test_save_npz(embedder, tmp_path):
    from biobert.embed import save_npz

    embs = embedder([TEXT, "BRCA1 and TP53."])
    rep = save_npz(embs, tmp_path / "v.npz")
    assert rep == {"docs": 2, "words": len(embs[0].words) + len(embs[1].words), "dim": 32}
    z = np.load(tmp_path / "v.npz", allow_pickle=False)
    assert z["vectors"].shape == (2, 32) and list(z["ids"]) == ["0", "1"]
    assert np.array_equal(z["word_vectors"][: len(embs[0].words)], embs[0].word_vectors)
    assert [tuple(o) for o in z["word_offsets"][z["word_doc"] == 1]] == list(embs[1].words)


def test_http_embed(embedder):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from biobert.serve import create_app

    def client(emb):
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(None, embedder=emb)), base_url="http://t")

    async def go():
        async with client(None) as c:
            r = await c.post("/embed", json={"text": "x"})
            assert r.status_code == 404 and r.json()["error"]["code"] == "E607"
        async with client(embedder) as c:
            r = await c.post("/embed", json={"texts": ["BRCA1 and TP53.", TEXT], "pool": "cls"})
            assert r.status_code == 200, r.text
            v = np.array(r.json()["vectors"])
            assert v.shape == (2, 32)
            assert np.allclose(v[1], embedder(TEXT, pool="cls").vector, atol=1e-5)
            r = await c.post("/embed", json={"text": "x", "pool": "max"})
            assert r.status_code == 400 and r.json()["error"]["code"] == "E608"
            r = await c.post("/embed", json={"text": "x", "texts": ["y"]})
            assert r.json()["error"]["code"] == "E604"
            r = await c.post("/embed", json={"texts": "y"})
            assert r.json()["error"]["code"] == "E605"

    asyncio.run(go())


def test_window_owners_match_best_window():
    from biobert.embed import _owners
    from biobert.text.windows import best_window, make_windows

    for n in (1, 5, 127, 129, 500):
        for cap, stride in ((126, 31), (22, 6), (10, 0), (10, 9), (3, 1)):
            ws = make_windows(n, cap, stride)
            assert _owners(ws, n) == [best_window(ws, p) for p in range(n)]


def test_sentence_splitter_is_pluggable(tiny_bert):
    from biobert.embed import Embedder

    text = "BRCA1 is a gene. TP53 too\nAnd a third line"
    assert len(Embedder.load(str(tiny_bert))(text).sentences) == 3  # rules: two sentences, then a line
    e = Embedder.load(str(tiny_bert), splitter="none")(text)
    assert e.sentences == ((0, 42),)
    assert e.sentence_vectors.shape == (1, 32)


def test_window_settings_are_checked_against_the_model(embedder):
    """A max_length over the model's 128 position embeddings, or a stride that cannot advance the windows,
    is a typed error at construction, not a bare RuntimeError / ValueError on the first long sentence."""
    from biobert.embed import Embedder

    for ml in (129, 300, 1000):
        with pytest.raises(ConfigError, match="E494"):
            Embedder(embedder.model, embedder.tokenizer, max_length=ml)
    for st in (-1, 30, 1000):
        with pytest.raises(ConfigError, match="E498"):
            Embedder(embedder.model, embedder.tokenizer, max_length=32, stride=st)
    # the largest allowed settings work on text longer than one window
    full = Embedder(embedder.model, embedder.tokenizer, max_length=128)
    assert full(LONG).word_vectors.shape[0] == len(_words(LONG)) and full.last_stats["sentences_windowed"] == 1
    edge = Embedder(embedder.model, embedder.tokenizer, max_length=32, stride=29)
    assert edge(LONG).word_vectors.shape[0] == len(_words(LONG))


def test_texts_without_words_get_zero_vectors_and_are_counted(embedder):
    out = embedder(["", "   \n", TEXT])
    assert not out[0].vector.any() and not out[1].vector.any() and out[2].vector.any()
    assert embedder.last_stats["docs_without_words_zero_vector"] == 2
    embedder(TEXT)
    assert embedder.last_stats["docs_without_words_zero_vector"] == 0


def test_save_npz_of_no_document_has_the_arrays_of_any_other(tmp_path):
    import numpy as np

    from biobert.embed import save_npz

    rep = save_npz([], tmp_path / "e.npz", dim=32, words=True)
    z = np.load(tmp_path / "e.npz")
    # used to be vectors (0, 0), dim 0 and no word arrays even when word vectors were asked for
    assert rep == {"docs": 0, "words": 0, "dim": 32} and z["vectors"].shape == (0, 32)
    assert z["word_vectors"].shape == (0, 32) and z["word_offsets"].shape == (0, 2) and z["word_doc"].shape == (0,)


class _StubEncoder(torch.nn.Module):
    """A stand-in encoder whose outputs are known: each token's vector from a fixed table, plus (``window_mean``)
    the mean of its window's vectors, so that a window's [CLS] depends on the whole window."""

    def __init__(self, vocab_size: int, window_mean: bool = False):
        super().__init__()
        self.config = SimpleNamespace(hidden_size=8, max_position_embeddings=512, model_type="bert", num_hidden_layers=0)
        torch.manual_seed(0)
        self.emb = torch.nn.Embedding(vocab_size, 8)
        self.window_mean = window_mean

    def forward(self, input_ids, attention_mask, output_hidden_states=True):
        e = self.emb(input_ids)
        if not self.window_mean:
            return SimpleNamespace(hidden_states=(e,))
        m = attention_mask[..., None].float()
        ctx = (e * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)
        return SimpleNamespace(hidden_states=((e + ctx) * m,))


def test_windows_are_stitched_back_at_the_right_subwords(tiny_bert):
    """With a context-free encoder (a vector per token id) windowing must change nothing: every word's vector from
    24-subword windows equals the unwindowed one. A stitch one subword off gives each word a neighbour's vectors."""

    from biobert.embed import Embedder
    from biobert.encoders import load_tokenizer

    tok = load_tokenizer(str(tiny_bert))

    text = " ".join(["BRCA1 mutations cause hereditary breast cancer in carriers"] * 20)
    model = _StubEncoder(len(tok))
    whole = Embedder(model, tok, max_length=512, splitter="none")(text, words=True)
    windowed = Embedder(model, tok, max_length=24, stride=6, splitter="none")(text, words=True)
    assert windowed.words == whole.words and len(whole.words) == 160
    assert np.allclose(windowed.word_vectors, whole.word_vectors, atol=1e-6)


def test_cls_pool_of_a_windowed_sentence_is_the_mean_of_its_windows_cls_vectors(tiny_bert, fixtures_dir):
    """Survivor EM1: as documented (module docstring), ``pool="cls"`` over a sentence that needed several windows is
    the mean of the [CLS] vectors of all its windows, not the first window's [CLS]. The encoder gives every position
    its token vector plus the mean over its window, so each window's [CLS] is known and they differ clearly (a random
    tiny BERT's [CLS] barely depends on the rest of the window)."""

    from biobert.embed import Embedder
    from biobert.encoders import load_tokenizer

    tok = load_tokenizer(str(tiny_bert))

    text = " ".join((fixtures_dir / "abstracts.txt").read_text(encoding="utf-8").split()[:60])
    model = _StubEncoder(len(tok), window_mean=True)
    emb = Embedder(model, tok, max_length=24, stride=6, splitter="none")
    got = emb(text, pool="cls", words=False).vector
    ids = tok([text[a:b] for a, b in _words(text)], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    windows = emb._windows(len(ids))
    assert len(windows) >= 3 and emb.last_stats["windows"] == len(windows)
    cls_vecs = []
    with torch.no_grad():
        for w in windows:
            x = torch.tensor([[tok.cls_token_id, *ids[w.start:w.end], tok.sep_token_id]])
            cls_vecs.append(model(x, torch.ones_like(x)).hidden_states[-1][0, 0])
    want = torch.stack(cls_vecs).mean(0).numpy()
    assert np.allclose(got, want, atol=1e-5)
    assert not np.allclose(got, cls_vecs[0].numpy(), atol=1e-2)  # the first window alone is something else
