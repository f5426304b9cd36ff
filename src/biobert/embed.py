"""Word and sentence/document vectors from any BERT-family encoder, with character offsets.

    from biobert.embed import Embedder
    emb = Embedder.load()                       # 'minilm' | a directory | a hub id
    e = emb("BRCA1 mutations cause breast cancer.")
    e.vector.shape                              # (hidden,) float32: the document vector
    [(e.text[a:b], v.shape) for (a, b), v in zip(e.words, e.word_vectors)]
    es = emb(["text one", Document("x", "text two")], pool="cls", layers=(-1, -2), words=False)

How vectors are made (kept simple on purpose, and the same at every length):

* **Words** come from ``Document.tokens`` when present (CoNLL input), else from
  :func:`biobert.text.tokenize_words`, inside sentences (``Document.sentences``
  or :func:`biobert.text.split_sentences`), exactly as for NER
  (:func:`biobert.tasks.ner.document_sentences`). Subwords come from the
  tokenizer's ``word_ids``; a word that yields no subword gets ``[UNK]``.
* **Long sentences** are covered by overlapping windows of ``max_length``
  subwords (``[CLS]`` and ``[SEP]`` included) that overlap by ``stride``;
  nothing is truncated. Every subword position is read from the window in
  which it is most central (the max-context rule of BERT's SQuAD code).
* **Layers**: the vectors are the average of the listed hidden states
  (``-1`` = last layer, ``0`` = the embedding layer).
* **Word vector**: mean of the word's subword vectors.
* **Sentence vector**: ``pool="mean"``: mean of the sentence's subword vectors
  (``[CLS]``/``[SEP]`` excluded); ``pool="cls"``: the ``[CLS]`` vector (the mean
  of the ``[CLS]`` vectors of its windows when the sentence needed several).
* **Document vector**: mean of its sentence vectors weighted by their number
  of words (all zeros for a text without words).

No normalisation is applied (L2-normalise yourself for cosine similarity).
Windows of all sentences are sorted by length and batched under a padded-token
budget (``batch_tokens``); results do not depend on the batching beyond
floating-point noise (~1e-6).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Sequence, overload

import numpy as np
import torch

from biobert.device import place
from biobert.errors import ConfigError
from biobert.tasks.ner import Sentence, SubwordEncoder, document_sentences, iter_window_batches
from biobert.encoders import check_window_settings, max_input_length
from biobert.text.sentences import get_splitter
from biobert.text.windows import Window, make_windows
from biobert.types import Document, Offsets

__all__ = ["Embedder", "Embedding", "POOLS"]

POOLS = ("mean", "cls")


@dataclass(frozen=True, eq=False)
class Embedding:
    """Vectors of one document.

    Attributes:
        id: document id.
        text: the document text; ``words`` and ``sentences`` index into it.
        vector: ``[hidden]`` float32 document vector.
        sentences: sentence character ranges (only sentences with words).
        sentence_vectors: ``[n_sentences, hidden]`` float32.
        words: word character ranges (``()`` when computed with ``words=False``).
        word_vectors: ``[n_words, hidden]`` float32, row ``i`` for ``words[i]``; ``None`` with ``words=False``.
        pool: ``"mean"`` or ``"cls"``.
    """

    id: str
    text: str
    vector: np.ndarray
    sentences: tuple[Offsets, ...]
    sentence_vectors: np.ndarray
    words: tuple[Offsets, ...] = ()
    word_vectors: np.ndarray | None = None
    pool: str = "mean"

    @property
    def word_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.words]

    def to_dict(self, *, decimals: int | None = 6) -> dict[str, Any]:
        """JSON-able dict: ``{"id", "vector", "words": [{"start", "end", "text", "vector"}]}``.

        ``decimals`` rounds the numbers (``None`` keeps float32 precision).
        """

        def lst(a: np.ndarray) -> list:
            return (np.round(a.astype(np.float64), decimals) if decimals is not None else a).tolist()

        d: dict[str, Any] = {"id": self.id, "pool": self.pool, "vector": lst(self.vector)}
        if self.word_vectors is not None:
            vecs = lst(self.word_vectors)
            d["words"] = [{"start": a, "end": b, "text": self.text[a:b], "vector": v} for (a, b), v in zip(self.words, vecs)]
        return d


@dataclass
class _Plan:
    doc: int
    windows: list[Window]
    ids: list[int]
    starts: list[int]
    words: list[Offsets]


def _owners(windows: list[Window], n: int) -> list[int]:
    """For every position, the window where it is most central (first on ties): ``best_window``
    for each position, in O(n * overlap) instead of O(n * windows)."""
    out: list[int] = []
    lo = hi = 0
    for pos in range(n):
        while windows[lo].end <= pos:
            lo += 1
        while hi + 1 < len(windows) and windows[hi + 1].start <= pos:
            hi += 1
        out.append(max(range(lo, hi + 1), key=lambda i: (windows[i].context(pos), -i)))
    return out


def _check_pool(pool: str) -> None:
    if pool not in POOLS:
        raise ConfigError(f"E430 unknown pool={pool!r}; expected one of {', '.join(POOLS)}")


class Embedder:
    """Contextual word vectors and pooled sentence/document vectors from an encoder (``AutoModel``).

    Args:
        model: a transformers encoder that accepts ``output_hidden_states=True``.
        tokenizer: its fast tokenizer.
        max_length: window size in subwords, ``[CLS]``/``[SEP]`` included
            (default: the smallest of 512, the model's position embeddings and
            the tokenizer's ``model_max_length``; more than the last two is E494).
        stride: overlap of consecutive windows (default ``max_length // 4``); in ``[0, max_length - 2)``, else E498.
        batch_tokens: padded-token budget of one forward pass.
        splitter: sentence splitter for documents without sentences (:func:`biobert.text.sentences.get_splitter`:
            ``rules`` by default, ``lines``, ``none``, ``pysbd``, ``spacy:MODEL`` or a callable).
    """

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int | None = None, stride: int | None = None,
                 batch_tokens: int = 1024, source: str = "", splitter: Any = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.encoder = SubwordEncoder(tokenizer)
        limit = max_input_length(model, tokenizer)
        self.max_length = int(max_length) if max_length else min(512, limit or 512)
        self.stride = int(stride) if stride is not None else self.max_length // 4
        check_window_settings(self.max_length, self.stride, limit, "embedding")
        self.batch_tokens = batch_tokens
        self.source = source
        self.splitter = get_splitter(splitter)
        #: counters of the last call (sentences, windows, words without subwords, ...)
        self.last_stats: Counter = Counter()

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str] = "minilm", *, max_length: int | None = None,
             stride: int | None = None, batch_tokens: int = 1024, device: str | None = None, splitter: Any = None) -> "Embedder":
        """Load an encoder by name (``"minilm"``), directory (a fine-tuned biobert model too: its head is
        ignored) or hub id.

        Raises:
            ModelLoadError: the model cannot be found or loaded (E30x).
            ConfigError: E431 / E494 ``max_length`` under 3 or longer than the model takes; E498 a bad ``stride``.
        """
        from transformers import AutoModel

        from biobert.encoders import load_checked, load_tokenizer, resolve_encoder

        ref = resolve_encoder(name_or_path)
        tokenizer = load_tokenizer(ref)
        model = load_checked(AutoModel, ref)[0]  # E316: no random encoder weights (a missing pooler is not used)
        model.eval()
        model = place(model, device)  # "auto"/None: a GPU when there is one (biobert.device)
        return cls(model, tokenizer, max_length=max_length, stride=stride, batch_tokens=batch_tokens, source=ref, splitter=splitter)

    @property
    def dim(self) -> int:
        """Vector size (the encoder's hidden size)."""
        return int(self.model.config.hidden_size)

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    def _layer_indices(self, layers: Sequence[int]) -> list[int]:
        layers = [layers] if isinstance(layers, int) else list(layers)
        n = self.num_layers + 1  # hidden_states: embeddings + every layer
        if not layers or any(not isinstance(l, int) or not -n <= l < n for l in layers):
            raise ConfigError(f"E432 layers must be a non-empty list of integers in [{-n}, {n - 1}] (0 = embeddings, -1 = last), got {layers!r}")
        return [l % n for l in layers]

    @overload
    def __call__(self, inputs: str | Document, *, pool: str = ..., layers: Sequence[int] = ..., words: bool = ...) -> Embedding: ...
    @overload
    def __call__(self, inputs: Iterable[str | Document], *, pool: str = ..., layers: Sequence[int] = ..., words: bool = ...) -> list[Embedding]: ...

    def __call__(self, inputs: Any, *, pool: str = "mean", layers: Sequence[int] = (-1,), words: bool = True) -> Any:
        """Embed one text/Document (returns an :class:`Embedding`) or an iterable of them (returns a list)."""
        _check_pool(pool)
        layer_idx = self._layer_indices(layers)
        single = isinstance(inputs, (str, Document))
        items = [inputs] if single else list(inputs)
        for x in items:
            if not isinstance(x, (str, Document)):
                raise TypeError(f"Embedder accepts str or Document, got {type(x).__name__}")
        docs = [x if isinstance(x, Document) else Document(id=str(i), text=x) for i, x in enumerate(items)]
        self.last_stats = Counter()
        out: list[Embedding] = []
        chunk = 256  # bounds the memory held by window outputs
        for k in range(0, len(docs), chunk):
            out += self._embed(docs[k : k + chunk], pool, layer_idx, words, self.last_stats)
        return out[0] if single else out

    # -- internals --------------------------------------------------------------
    def _windows(self, n_sub: int) -> list[Window]:
        capacity = self.max_length - 2
        return make_windows(n_sub, capacity, min(self.stride, capacity - 1)) if n_sub else []

    @torch.inference_mode()
    def _forward(self, plans: list[_Plan], layer_idx: list[int], stats: Counter) -> dict[tuple[int, int], torch.Tensor]:
        """Hidden states (layer average) of every window: ``(plan, window) -> [2 + len, hidden]``."""
        jobs = [(p, w) for p, pl in enumerate(plans) for w in range(len(pl.windows))]
        device = next(self.model.parameters()).device
        results: dict[tuple[int, int], torch.Tensor] = {}
        for batch, b in iter_window_batches(plans, jobs, self.encoder, self.batch_tokens):
            outputs = self.model(input_ids=b["input_ids"].to(device), attention_mask=b["attention_mask"].to(device),
                                 output_hidden_states=True)
            hs = outputs.hidden_states
            rep = hs[layer_idx[0]].float() if len(layer_idx) == 1 else torch.stack([hs[i].float() for i in layer_idx]).mean(0)
            rep = rep.cpu()
            for row, (p, w) in enumerate(batch):
                n = plans[p].windows[w].end - plans[p].windows[w].start + 2
                results[(p, w)] = rep[row, :n].clone()
            stats["forward_batches"] += 1
        stats["windows"] += len(jobs)
        return results

    @torch.inference_mode()
    def _embed(self, docs: list[Document], pool: str, layer_idx: list[int], want_words: bool, stats: Counter) -> list[Embedding]:
        sents: list[Sentence] = []
        for i, d in enumerate(docs):
            sents += document_sentences(d, i, with_gold=False, stats=stats, splitter=self.splitter)
        word_lists = [[docs[s.doc_index].text[a:b] for a, b in s.words] for s in sents]
        encoded = self.encoder.encode(word_lists, stats)
        plans = []
        for s, (ids, starts) in zip(sents, encoded):
            windows = self._windows(len(ids))
            if len(windows) > 1:
                stats["sentences_windowed"] += 1
            plans.append(_Plan(s.doc_index, windows, ids, starts, s.words))
        results = self._forward(plans, layer_idx, stats)

        hidden = self.dim
        per_doc: list[dict[str, list]] = [{"sent": [], "svec": [], "n": [], "words": [], "wvec": []} for _ in docs]
        for p, pl in enumerate(plans):
            n_sub = len(pl.ids)
            # stitch: every subword from the window where it is most central
            if len(pl.windows) == 1:
                sub = results[(p, 0)][1 : n_sub + 1]
            else:
                sub = torch.empty((n_sub, hidden), dtype=torch.float32)
                owner = _owners(pl.windows, n_sub)
                run = 0
                for pos in range(1, n_sub + 1):  # copy runs of positions owned by the same window
                    if pos == n_sub or owner[pos] != owner[run]:
                        w, off = owner[run], pl.windows[owner[run]].start - 1
                        sub[run:pos] = results[(p, w)][run - off : pos - off]
                        run = pos
            if pool == "mean":
                svec = sub.mean(0)
            else:
                svec = torch.stack([results[(p, w)][0] for w in range(len(pl.windows))]).mean(0)
            acc = per_doc[pl.doc]
            acc["sent"].append((pl.words[0][0], pl.words[-1][1]))
            acc["svec"].append(svec)
            acc["n"].append(len(pl.words))
            if want_words:
                bounds = [*pl.starts, n_sub]
                acc["words"] += pl.words
                acc["wvec"] += [sub[bounds[j] : bounds[j + 1]].mean(0) for j in range(len(pl.starts))]

        out = []
        for i, d in enumerate(docs):
            acc = per_doc[i]
            if acc["svec"]:
                svecs = torch.stack(acc["svec"])
                weights = torch.tensor(acc["n"], dtype=torch.float32)
                vec = (svecs * weights[:, None]).sum(0) / weights.sum()
            else:
                # a text without words has no vector: zeros, counted, so a batch with empty texts says so
                svecs = torch.zeros((0, hidden))
                vec = torch.zeros(hidden)
                stats["docs_without_words_zero_vector"] += 1
            wvecs = None
            if want_words:
                wvecs = (torch.stack(acc["wvec"]) if acc["wvec"] else torch.zeros((0, hidden))).numpy().astype(np.float32)
            out.append(
                Embedding(
                    id=d.id,
                    text=d.text,
                    vector=vec.numpy().astype(np.float32),
                    sentences=tuple(acc["sent"]),
                    sentence_vectors=svecs.numpy().astype(np.float32),
                    words=tuple(acc["words"]) if want_words else (),
                    word_vectors=wvecs,
                    pool=pool,
                )
            )
            stats["docs"] += 1
        return out


def save_npz(embeddings: Sequence[Embedding], path: str | os.PathLike[str], dim: int | None = None,
             words: bool | None = None) -> dict[str, int]:
    """Write embeddings to an ``.npz`` file (no pickled objects).

    ``dim`` (the encoder's hidden size) and ``words`` (whether word vectors were asked for) shape the arrays of
    an empty input, which has no embedding to read them from: ``vectors`` ``[0, dim]`` and empty word arrays,
    so that a file from an empty batch reads like any other.

    Arrays: ``ids`` ``[n_docs]`` (str), ``vectors`` ``[n_docs, hidden]`` float32 and, when the
    embeddings have word vectors, ``word_vectors`` ``[n_words, hidden]`` float32,
    ``word_offsets`` ``[n_words, 2]`` int64 (character ranges into each document's text) and
    ``word_doc`` ``[n_words]`` int64 (index of the word's document).

    Returns:
        ``{"docs", "words", "dim"}``.
    """
    dim = int(embeddings[0].vector.shape[0]) if embeddings else int(dim or 0)
    arrays: dict[str, np.ndarray] = {
        "ids": np.array([e.id for e in embeddings], dtype=str),
        "vectors": np.stack([e.vector for e in embeddings]).astype(np.float32) if embeddings else np.zeros((0, dim), np.float32),
    }
    n_words = 0
    if not embeddings and words:
        arrays["word_vectors"] = np.zeros((0, dim), np.float32)
        arrays["word_offsets"] = np.zeros((0, 2), np.int64)
        arrays["word_doc"] = np.zeros((0,), np.int64)
    if embeddings and all(e.word_vectors is not None for e in embeddings):
        arrays["word_vectors"] = np.concatenate([e.word_vectors for e in embeddings]).astype(np.float32)  # type: ignore[misc]
        arrays["word_offsets"] = np.array([w for e in embeddings for w in e.words], dtype=np.int64).reshape(-1, 2)
        arrays["word_doc"] = np.array([i for i, e in enumerate(embeddings) for _ in e.words], dtype=np.int64)
        n_words = int(arrays["word_offsets"].shape[0])
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    return {"docs": len(embeddings), "words": n_words, "dim": dim}
