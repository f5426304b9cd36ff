"""CPU-only domain adaptation of an encoder's vocabulary (Poerner et al. 2020, "Inexpensive
Domain Adaptation of Pretrained Language Models", the GreenBioBERT recipe).

1. Split the corpus into words exactly as the encoder's tokenizer does (its normalizer and
   pre-tokenizer) and train word2vec (gensim) on them.
2. Fit a linear map ``W`` (least squares) from word2vec space to the encoder's input-embedding
   space over the words that are a single wordpiece of the vocabulary and have a word2vec vector.
3. Add the ``num_new_tokens`` most frequent corpus words that the vocabulary splits into several
   pieces as new whole-word vocabulary entries (appended to the WordPiece vocabulary itself, so
   the tokenizer's greedy longest-match picks them up, not as "added tokens"), with input
   embeddings ``W @ w2v(word)``.
4. Save tokenizer and model: the directory loads with ``AutoTokenizer`` / ``AutoModel``
   anywhere (and can be the ``init`` of a continued-MLM run: "both").

``new_init="pieces"`` replaces steps 1-2 by the "fast vocabulary transfer" initialisation
(Gee et al. 2022): a new word's embedding is the mean of the input embeddings of the pieces the
old vocabulary split it into, so the encoder first sees roughly what it saw before; words are
then only counted (no word2vec), which takes seconds instead of minutes.
"""

from __future__ import annotations

import json
import re
from collections import Counter
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from biobert.encoders import fp32_kwargs
from biobert.errors import ConfigError, TrainingError
from biobert.hub import hub_kwargs
from biobert.pretrain.corpus import file_fingerprints, iter_corpus, resolve_corpus, skipped_records
from biobert.pretrain.models import _pooler_aside, load_tokenizer, quiet_transformers, resolve_init

__all__ = ["AdaptConfig", "adapt_vocab", "word_splitter"]

_HAS_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@dataclass
class AdaptConfig:
    """Settings of :func:`adapt_vocab` (CLI options have the same names)."""

    corpus: list[str]
    output: str
    init: str | None = "default"
    num_new_tokens: int = 10000
    min_count: int = 5  # word2vec min_count; a new token must occur at least this often
    min_length: int = 3  # shortest word (characters) to add
    w2v_dim: int = 300
    w2v_window: int = 5
    w2v_epochs: int = 5
    w2v_sg: bool = False  # CBOW (False) or skip-gram (True)
    workers: int = 1
    seed: int = 42
    format: str = "auto"
    text_field: str = "text"
    max_documents: int | None = None
    val_fraction: float = 0.0  # skip documents a pre-training run holds out (use its value)
    match_norm: bool = False  # rescale mapped vectors to the mean norm of the shared words' embeddings
    new_init: str = "w2v"  # "w2v": word2vec + linear map (Poerner et al.); "pieces": mean of the old pieces' embeddings


def word_splitter(tokenizer):
    """``text -> words``, using the tokenizer's own normalizer and pre-tokenizer so that words
    line up with what WordPiece will see."""
    backend = tokenizer.backend_tokenizer
    norm, pre = backend.normalizer, backend.pre_tokenizer

    def split(text: str) -> list[str]:
        if norm is not None:
            text = norm.normalize_str(text)
        if pre is None:
            return text.split()
        return [w for w, _ in pre.pre_tokenize_str(text)]

    return split


def _wordpiece_json(tokenizer) -> dict[str, Any]:
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    if data.get("model", {}).get("type") != "WordPiece":
        raise ConfigError(f"E473 vocabulary adaptation needs a WordPiece tokenizer, got {data.get('model', {}).get('type')!r}")
    return data


def adapt_vocab(config: AdaptConfig | dict, log=print, command: str | None = None) -> dict[str, Any]:
    """Run the adaptation and write ``config.output``; returns the report (also in
    ``adapt_report.json``, and summed up with ``command`` in the model card, ``README.md``)."""
    from gensim.models import Word2Vec
    from transformers import AutoConfig, AutoModel, AutoModelForMaskedLM

    cfg = config if isinstance(config, AdaptConfig) else AdaptConfig(**config)
    # E470 like the same settings of vocab and pretrain: gensim took w2v_dim 0 and epochs 0 and failed later
    # (or trained nothing), and val_fraction 0.9 held out what pretraining never would
    for name in ("w2v_dim", "w2v_epochs", "w2v_window", "min_count", "workers"):
        if getattr(cfg, name) < 1:
            raise ConfigError(f"E470 {name} must be at least 1, got {getattr(cfg, name)}")
    if not 0 <= cfg.val_fraction < 0.5:  # the range pretraining accepts: the fraction it holds out
        raise ConfigError(f"E470 val_fraction must be in [0, 0.5), got {cfg.val_fraction}")
    if cfg.max_documents is not None and cfg.max_documents < 1:
        raise ConfigError(f"E470 max_documents must be at least 1, got {cfg.max_documents}")
    if cfg.num_new_tokens < 0:
        raise ConfigError("E474 num_new_tokens must be >= 0")
    if cfg.new_init not in ("w2v", "pieces"):
        raise ConfigError(f"E474 new_init must be 'w2v' or 'pieces', got {cfg.new_init!r}")
    use_w2v = cfg.new_init == "w2v"
    t0 = time.time()
    init = resolve_init(cfg.init)
    files = resolve_corpus(cfg.corpus)
    out = Path(cfg.output)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(init)
    tk_json = _wordpiece_json(tokenizer)
    vocab: dict[str, int] = tk_json["model"]["vocab"]
    prefix = tk_json["model"].get("continuing_subword_prefix", "##")
    split = word_splitter(tokenizer)
    special = set(tokenizer.all_special_tokens)

    # 1. words -> temporary corpus file -> word2vec
    n_docs = n_words = 0
    sample_words: list[str] = []
    word_counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="biobert-adapt-") as tmp:
        corpus_file = Path(tmp) / "words.txt"
        with open(corpus_file, "w", encoding="utf-8") as fh:
            split_kind = "train" if cfg.val_fraction > 0 else "all"
            for doc in iter_corpus(files, cfg.format, cfg.text_field, split=split_kind, val_fraction=cfg.val_fraction):
                if cfg.max_documents is not None and n_docs >= cfg.max_documents:
                    break
                words = split(doc)
                if not words:
                    continue
                n_docs += 1
                n_words += len(words)
                if len(sample_words) < 200000:
                    sample_words.extend(words[: 200000 - len(sample_words)])
                if not use_w2v:
                    word_counts.update(words)
                    continue
                # gensim's corpus_file reader cuts lines at 10,000 words
                for k in range(0, len(words), 10000):
                    fh.write(" ".join(words[k : k + 10000]) + "\n")
        if n_words == 0:
            raise TrainingError("E553 the corpus has no words to adapt the vocabulary to")
        wv = None
        if use_w2v:
            log(f"adapt-vocab: {n_docs:,} documents, {n_words:,} words; training word2vec ({cfg.w2v_dim}d, {cfg.w2v_epochs} epochs)")
            w2v = Word2Vec(
                corpus_file=str(corpus_file),
                vector_size=cfg.w2v_dim,
                window=cfg.w2v_window,
                min_count=cfg.min_count,
                sg=1 if cfg.w2v_sg else 0,
                workers=max(1, cfg.workers),
                epochs=cfg.w2v_epochs,
                seed=cfg.seed,
            )
            wv = w2v.wv
        else:
            log(f"adapt-vocab: {n_docs:,} documents, {n_words:,} words counted (pieces initialisation, no word2vec)")
    t_w2v = time.time() - t0
    # words by frequency (ties: first seen), with their counts; word2vec's vocabulary is already sorted so
    ranked = ([(w, int(wv.get_vecattr(w, "count"))) for w in wv.index_to_key] if wv is not None
              else [(w, c) for w, c in word_counts.most_common() if c >= cfg.min_count])

    # 2. linear map over words that are single wordpieces
    with quiet_transformers():
        mcfg = AutoConfig.from_pretrained(init, **hub_kwargs(init))
        archs = mcfg.architectures or []
        has_head = any(a.endswith(("ForMaskedLM", "ForPreTraining")) for a in archs)
        model = (AutoModelForMaskedLM if has_head else AutoModel).from_pretrained(init, **fp32_kwargs(), **hub_kwargs(init))
    emb = model.get_input_embeddings().weight.detach().cpu().numpy().astype(np.float64)
    shared = [w for w, _ in ranked if w in vocab and w not in special and not w.startswith(prefix)]
    r2 = W = Y = None
    if use_w2v:
        # a least-squares map from w2v_dim dimensions needs clearly more equations than unknowns per output: with
        # fewer words than dimensions it fits them exactly (R^2 1.0) and maps new words to noise
        need = max(2 * cfg.w2v_dim, 50)
        if len(shared) < need:
            raise TrainingError(
                f"E554 only {len(shared)} corpus words are single wordpieces; fitting the {cfg.w2v_dim}-dimensional map "
                f"needs at least {need} (2 x w2v_dim, and 50): lower --w2v-dim to {max(1, len(shared) // 2)} or less "
                "(if that leaves 50 words), use a larger corpus, or --new-init pieces")
        X = np.stack([wv[w] for w in shared]).astype(np.float64)
        Y = emb[[vocab[w] for w in shared]]
        W, *_ = np.linalg.lstsq(X, Y, rcond=None)
        resid = Y - X @ W
        r2 = 1.0 - float((resid**2).sum() / ((Y - Y.mean(0)) ** 2).sum())
        log(f"adapt-vocab: linear map fitted on {len(shared):,} shared words (R^2 {r2:.3f})")

    # 3. new tokens: most frequent words the vocabulary splits
    new_words: list[str] = []
    old_pieces: dict[str, list[int]] = {}
    for w, _ in ranked:  # sorted by frequency
        if len(new_words) >= cfg.num_new_tokens:
            break
        if w in vocab or w in special or len(w) < cfg.min_length or not _HAS_LETTER.search(w):
            continue
        pieces = tokenizer.backend_tokenizer.model.tokenize(w)
        if len(pieces) <= 1:
            continue
        new_words.append(w)
        old_pieces[w] = [p.id for p in pieces]
    counts = dict(ranked)

    # 4a. tokenizer: append to the WordPiece vocabulary
    base_size = max(len(tokenizer), max(vocab.values()) + 1)
    for i, w in enumerate(new_words):
        vocab[w] = base_size + i
    # added tokens (if any) keep their ids; new entries come after every existing id
    tokenizer.save_pretrained(out)
    saved = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    saved["model"]["vocab"] = vocab
    (out / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    with open(out / "vocab.txt", "w", encoding="utf-8") as fh:
        for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            fh.write(t + "\n")

    # 4b. model: grow the embeddings and write the mapped vectors
    new_size = base_size + len(new_words)
    with torch.no_grad():
        model.resize_token_embeddings(new_size, mean_resizing=False)
        if new_words and not use_w2v:
            # fast vocabulary transfer: the mean of the pieces the old vocabulary used for the word
            mapped = np.stack([emb[old_pieces[w]].mean(0) for w in new_words])
            model.get_input_embeddings().weight[base_size:new_size] = torch.from_numpy(mapped).to(model.dtype)
        elif new_words:
            mapped = np.stack([wv[w] for w in new_words]).astype(np.float64) @ W
            if cfg.match_norm:
                target = np.linalg.norm(Y, axis=1).mean()
                mapped *= target / np.maximum(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12)
            model.get_input_embeddings().weight[base_size:new_size] = torch.from_numpy(mapped).to(model.dtype)
        out_emb = model.get_output_embeddings() if has_head else None
        if out_emb is not None and getattr(out_emb, "bias", None) is not None and new_words:
            out_emb.bias[base_size:new_size] = out_emb.bias[:base_size].mean()
    sd = dict(model.state_dict())
    if has_head:  # an MLM model has no pooler: keep the checkpoint's so AutoModel loads it unchanged
        sd.update(_pooler_aside(init, model))
    with quiet_transformers():
        model.save_pretrained(out, state_dict=sd, safe_serialization=True)

    # check: reload and count pieces per word before / after on a sample of corpus words
    reloaded = load_tokenizer(out)
    before = sum(len(p) for p in _pieces(load_tokenizer(init), sample_words))
    after = sum(len(p) for p in _pieces(reloaded, sample_words))
    bad = [w for w in new_words[:200] if len(reloaded.tokenize(w)) != 1]
    if bad:
        raise TrainingError(f"E555 new tokens are not single tokens after reloading: {bad[:5]}")
    report = {
        "kind": "biobert-adapt-vocab",
        "method": ("Poerner et al. 2020 (GreenBioBERT): word2vec + least-squares map to wordpiece embeddings" if use_w2v
                   else "fast vocabulary transfer (Gee et al. 2022): mean of the old pieces' input embeddings"),
        "init": init,
        "settings": asdict(cfg),
        "documents": n_docs,
        "words": n_words,
        "w2v_vocab": len(wv.index_to_key) if wv is not None else None,
        "shared_words": len(shared),
        "map_r2": round(r2, 4) if r2 is not None else None,
        "vocab_size_before": base_size,
        "vocab_size_after": new_size,
        "new_tokens": len(new_words),
        "new_tokens_head": [[w, counts[w]] for w in new_words[:50]],
        "pieces_per_word_before": round(before / max(1, len(sample_words)), 4),
        "pieces_per_word_after": round(after / max(1, len(sample_words)), 4),
        "seconds": round(time.time() - t0, 1),
        "seconds_word2vec": round(t_w2v, 1),
        "corpus": file_fingerprints(files),
        "skipped_records": skipped_records(files),  # records with no text (logged as W497)
    }
    from biobert.pretrain.report import versions

    report["versions"] = versions()
    (out / "adapt_report.json").write_text(json.dumps(report, indent=2))
    (out / "README.md").write_text(_model_card(report, command), encoding="utf-8")
    log(
        f"adapt-vocab: added {len(new_words):,} tokens ({base_size:,} -> {new_size:,}); pieces/word "
        f"{report['pieces_per_word_before']} -> {report['pieces_per_word_after']}; saved {out}"
    )
    return report


def _model_card(report: dict[str, Any], command: str | None) -> str:
    """A short ``README.md`` for an adapted encoder: method, start point, what changed, corpus, command."""
    from biobert.pretrain.report import corpus_table

    r2 = report["map_r2"]
    lines = [
        f"# {Path(str(report['settings'].get('output', 'adapted encoder'))).name}",
        "",
        f"Encoder with a domain vocabulary from `biobert adapt-vocab`: {report['method']}. Loads with `AutoModel` / "
        "`AutoTokenizer`; fine-tune or continue pre-training it (`biobert pretrain --init`).",
        "",
        f"* Start point: `{report['init']}`",
        f"* Vocabulary: {report['vocab_size_before']:,} -> {report['vocab_size_after']:,} tokens ({report['new_tokens']:,} new)",
        f"* Subwords per word on a corpus sample: {report['pieces_per_word_before']} -> {report['pieces_per_word_after']}",
        f"* Linear map fitted on {report['shared_words']:,} shared words" + (f", R² {r2}" if r2 is not None else "")
        if report.get("w2v_vocab") is not None else "* New embeddings: mean of the old pieces' input embeddings",
        f"* Corpus: {report['documents']:,} documents, {report['words']:,} words "
        f"({(report.get('skipped_records') or {}).get('records', 0)} record(s) with no text left out)",
        "",
        *corpus_table(report.get("corpus", [])),
    ]
    lines += ["", "## Reproduce", "", "```", command or "biobert adapt-vocab  # settings in adapt_report.json", "```",
              "", "`adapt_report.json` has the versions, all settings and the new tokens' head.", ""]
    return "\n".join(lines)


def _pieces(tokenizer, words: list[str]) -> Iterable[list[int]]:
    if not words:
        return []
    enc = tokenizer(words, add_special_tokens=False, is_split_into_words=False, return_attention_mask=False)
    return enc["input_ids"]
