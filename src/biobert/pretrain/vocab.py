"""Train a WordPiece vocabulary on a corpus (the PubMedBERT recipe) with ``tokenizers``.

The result is a ``BertTokenizerFast`` directory (``tokenizer.json``, ``tokenizer_config.json``
and a BERT-style ``vocab.txt``) that ``AutoTokenizer`` loads. Special tokens come first:
``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Iterable

from biobert.errors import ConfigError, TrainingError
from biobert.pretrain.corpus import file_fingerprints, iter_corpus, resolve_corpus

__all__ = ["SPECIAL_TOKENS", "train_wordpiece"]

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
    files = resolve_corpus(corpus)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    tok = Tokenizer(WordPiece(unk_token="[UNK]", continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        limit_alphabet=limit_alphabet,
        special_tokens=SPECIAL_TOKENS,
        continuing_subword_prefix="##",
        show_progress=False,
    )
    n_docs = 0

    def docs():
        nonlocal n_docs
        split = "train" if val_fraction > 0 else "all"
        for doc in iter_corpus(files, fmt, text_field, split=split, val_fraction=val_fraction):
            if max_documents is not None and n_docs >= max_documents:
                return
            n_docs += 1
            yield doc

    t0 = time.time()
    tok.train_from_iterator(docs(), trainer=trainer)
    if n_docs == 0:
        raise TrainingError("E551 no documents to train a vocabulary on")
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
    (out / "vocab_report.json").write_text(
        json.dumps(
            {
                "vocab_size": len(vocab),
                "lowercase": lowercase,
                "min_frequency": min_frequency,
                "documents": n_docs,
                "val_fraction": val_fraction,
                "seconds": round(time.time() - t0, 2),
                "corpus": file_fingerprints(files),
            },
            indent=2,
        )
    )
    from biobert.pretrain.models import load_tokenizer

    return load_tokenizer(out)
