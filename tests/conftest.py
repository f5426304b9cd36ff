"""Shared fixtures: tiny models built from scratch, so tests run offline in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


def build_tiny_bert(out: Path, seed: int = 0, lowercase: bool = False) -> Path:
    """A random 2-layer BERT (hidden 32) with a WordPiece vocab trained on the fixture abstracts."""
    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=False if not lowercase else None)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=400, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train([str(FIXTURES / "abstracts.txt")], trainer)
    vocab = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    (out / "vocab.txt").write_text("\n".join(t for t, _ in vocab) + "\n", encoding="utf-8")
    # transformers 5 takes the vocabulary as `vocab` (a path or a dict); `vocab_file=` is silently ignored
    # and leaves a 5-token vocabulary that turns every word into [UNK]
    fast = BertTokenizerFast(vocab=str(out / "vocab.txt"), do_lower_case=lowercase)
    assert len(fast) == len(vocab), (len(fast), len(vocab))
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=128)
    BertModel(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    """Path of a tiny random BERT encoder directory (cased)."""
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def tagger_dir(tiny_bert, tmp_path_factory) -> Path:
    """A tiny 'trained' tagger directory: random head biased towards Gene, so it tags something."""
    import torch

    from biobert.encoders import load_token_classifier, load_tokenizer
    from biobert.modeldir import save_model_dir

    labels = ["O", "B-Gene", "I-Gene"]
    torch.manual_seed(0)
    model = load_token_classifier(str(tiny_bert), labels)
    with torch.no_grad():
        model.classifier.bias[:] = torch.tensor([0.0, 0.3, 0.2])
    out = tmp_path_factory.mktemp("tagger")
    save_model_dir(out, model, load_tokenizer(str(tiny_bert)), {"task": "ner", "labels": labels, "max_length": 32, "stride": 8})
    return out


def fake_hub_cache(cache: Path, repo_id: str, src: Path) -> dict[str, str]:
    """Put directory ``src`` into a Hugging Face cache at ``cache`` as hub repo ``repo_id``.

    Returns the environment under which a fresh process resolves ``repo_id`` from that
    cache only (``HF_HUB_OFFLINE=1``), which exercises the real hub code path offline.
    """
    import os
    import shutil

    commit = "0" * 40
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    shutil.copytree(src, repo / "snapshots" / commit, dirs_exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    env = dict(os.environ)
    env.update(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    return env
