"""Train a WordPiece vocabulary on a corpus (the PubMedBERT recipe) with ``tokenizers``.

The result is a ``BertTokenizerFast`` directory (``tokenizer.json``, ``tokenizer_config.json``
and a BERT-style ``vocab.txt``) that ``AutoTokenizer`` loads. Special tokens come first:
``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from pathlib import Path
from typing import Iterable

from biobert.errors import ConfigError, TrainingError
from biobert.pretrain.corpus import encoding_warning, file_fingerprints, iter_corpus, resolve_corpus, scan_encoding, skipped_records

__all__ = ["SPECIAL_TOKENS", "train_wordpiece", "vocab_sha256", "tokenizer_vocab_sha256"]

log = logging.getLogger(__name__)

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(
    corpus: str | os.PathLike | Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    vocab_size: int = 30522,
    lowercase: bool = True,
    min_frequency: int = 2,
    limit_alphabet: int = 1000,
    fmt: str = "auto",
    text_field: str = "text",
    val_fraction: float = 0.0,
    max_documents: int | None = None,
    model_max_length: int = 512,
):
    """Train a WordPiece vocabulary and save a fast BERT tokenizer in ``out_dir``.

    Args:
        corpus: files, directories or globs (see :func:`biobert.pretrain.corpus.resolve_corpus`).
        vocab_size: target size, special tokens included.
        lowercase: uncased (lower-case + strip accents) or cased vocabulary.
        min_frequency: a merge must occur this often.
        val_fraction: skip the documents held out for validation by the pre-training run, so
            the vocabulary never sees them (use the run's ``val_fraction``).
        max_documents: train on the first N documents only.

    Returns:
        The loaded tokenizer.
    """
    from tokenizers import Tokenizer, decoders, normalizers, pre_tokenizers, processors, trainers
    from tokenizers.models import WordPiece
    from transformers import BertTokenizerFast

    if vocab_size < len(SPECIAL_TOKENS) + 10:
        raise ConfigError(f"E467 vocab_size {vocab_size} is too small")
    if not 0 <= val_fraction < 0.5:  # the range pretraining accepts (E470): the fraction it holds out
        raise ConfigError(f"E470 val_fraction must be in [0, 0.5), got {val_fraction}")
    # tokenizers takes these as unsigned integers: a negative value ended in an OverflowError from its bindings
    if min_frequency < 0:
        raise ConfigError(f"E470 min_frequency must be >= 0, got {min_frequency}")
    if limit_alphabet < 1:
        raise ConfigError(f"E470 limit_alphabet must be at least 1, got {limit_alphabet}")
    if max_documents is not None and max_documents < 1:
        raise ConfigError(f"E470 max_documents must be at least 1, got {max_documents}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"E559 {out} is a file; the vocabulary is written as a tokenizer directory, give a directory name")
    files = resolve_corpus(corpus)
    out.mkdir(parents=True, exist_ok=True)

    def new_tokenizer(vocab=None):
        t = Tokenizer(WordPiece(vocab=vocab, unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100) if vocab else WordPiece(unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
        t.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
        t.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        return t

    n_docs = 0

    def docs():
        nonlocal n_docs
        n_docs = 0
        split = "train" if val_fraction > 0 else "all"
        for doc in iter_corpus(files, fmt, text_field, split=split, val_fraction=val_fraction):
            if max_documents is not None and n_docs >= max_documents:
                return
            n_docs += 1
            yield doc

    t0 = time.time()
    encoding = scan_encoding(files)  # invalid UTF-8 the readers replace with U+FFFD: counted, warned, reported
    if encoding_warning(encoding):
        log.warning(encoding_warning(encoding))
    # ``tokenizers`` (<= 0.23 at least, huggingface/tokenizers#1794) is not deterministic: the
    # BPE/WordPiece trainer gives the ``##x`` continuation characters ids in hash-map iteration
    # order (random per map), and those ids break ties between equally frequent merges, so the
    # same corpus gives different vocabularies (and the alphabet cut by ``limit_alphabet`` breaks
    # count ties the same way). Neither parallelism nor RAYON/TOKENIZERS_PARALLELISM changes it.
    # Fix: a first pass finds the alphabet and the continuation characters; the second pass
    # declares them up front (sorted) so every id, hence every tie-break, is fixed.
    tok = new_tokenizer()
    tok.train_from_iterator(docs(), trainer=_trainer(trainers, vocab_size, min_frequency, limit_alphabet, SPECIAL_TOKENS))
    if n_docs == 0:
        raise TrainingError("E551 no documents to train a vocabulary on")
    first = tok.get_vocab()
    alphabet = sorted(t for t in first if len(t) == 1 and t not in SPECIAL_TOKENS)
    continuing = sorted(t for t in first if len(t) == 3 and t.startswith("##"))
    if len(alphabet) >= limit_alphabet:  # the cut may have broken count ties at random: redo it
        alphabet, continuing = _alphabet(tok, docs(), limit_alphabet)
    tok = new_tokenizer()
    tok.train_from_iterator(
        docs(),
        trainer=_trainer(trainers, vocab_size, min_frequency, limit_alphabet, SPECIAL_TOKENS + continuing, initial_alphabet=alphabet),
    )
    # the continuation characters were declared as special tokens only to fix their ids: rebuild a
    # tokenizer with the same vocabulary where only the real special tokens are special
    vocab = tok.get_vocab()
    tok = new_tokenizer(vocab)
    tok.add_special_tokens(SPECIAL_TOKENS)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = BertTokenizerFast(
        tokenizer_object=tok,
        do_lower_case=lowercase,
        unk_token="[UNK]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        mask_token="[MASK]",
        model_max_length=model_max_length,
    )
    fast.save_pretrained(out)
    vocab = tok.get_vocab()
    with open(out / "vocab.txt", "w", encoding="utf-8") as fh:
        for t, _ in sorted(vocab.items(), key=lambda kv: kv[1]):
            fh.write(t + "\n")
    digest = vocab_sha256(out)
    if len(vocab) < vocab_size:
        # WordPiece stops when no pair is frequent enough (min_frequency) or the corpus has no more to merge
        log.warning("W498 the vocabulary has %d tokens, fewer than the %d asked for: the corpus (%d documents) has no more "
                    "pieces occurring at least %d times; recorded in vocab_report.json", len(vocab), vocab_size, n_docs, min_frequency)
    (out / "vocab_report.json").write_text(
        json.dumps(
            {
                "vocab_size": len(vocab),
                "vocab_size_requested": vocab_size,
                "vocab_sha256": digest,
                "deterministic": True,
                "lowercase": lowercase,
                "min_frequency": min_frequency,
                "documents": n_docs,
                "val_fraction": val_fraction,
                "seconds": round(time.time() - t0, 2),
                "corpus": file_fingerprints(files),
                "invalid_utf8": encoding,
                "skipped_records": skipped_records(files),  # records with no text (logged as W497)
            },
            indent=2,
        )
    )
    from biobert.pretrain.models import load_tokenizer

    loaded = load_tokenizer(out)
    try:
        loaded.vocab_sha256 = digest  # for the CLI output
    except AttributeError:
        pass
    return loaded


def vocab_sha256(path: str | os.PathLike) -> str | None:
    """sha256 of a tokenizer directory's ``vocab.txt`` (or ``tokenizer.json`` when it has none), or
    ``None`` when neither exists: two runs used the same vocabulary iff the hashes match."""
    p = Path(path)
    for name in ("vocab.txt", "tokenizer.json"):
        f = p / name if p.is_dir() else p
        if f.is_file():
            return hashlib.sha256(f.read_bytes()).hexdigest()
        if not p.is_dir():
            break
    return None


def tokenizer_vocab_sha256(tokenizer) -> str:
    """sha256 of a loaded tokenizer's vocabulary written BERT-style (one token a line, in id order):
    equal to :func:`vocab_sha256` of a ``vocab.txt`` written by :func:`train_wordpiece`."""
    items = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return hashlib.sha256("".join(t + "\n" for t, _ in items).encode("utf-8")).hexdigest()


def _trainer(trainers, vocab_size, min_frequency, limit_alphabet, special_tokens, initial_alphabet=()):
    return trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        limit_alphabet=limit_alphabet,
        initial_alphabet=list(initial_alphabet),
        special_tokens=list(special_tokens),
        continuing_subword_prefix="##",
        show_progress=False,
    )


def _alphabet(tok, docs: Iterable[str], limit: int) -> tuple[list[str], list[str]]:
    """The ``limit`` most frequent characters (ties by code point) and the ``##c`` continuation
    tokens the trainer will create for them, computed the way the trainer sees the words."""
    chars: Counter = Counter()
    inner: set[str] = set()
    for doc in docs:
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(doc)):
            chars.update(word)
            inner.update(word[1:])
    kept = sorted(sorted(chars, key=lambda c: (-chars[c], c))[:limit])
    keep = set(kept)
    return kept, sorted("##" + c for c in inner if c in keep)
