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
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train([str(FIXTURES / "abstracts.txt")], trainers.WordPieceTrainer(vocab_size=400, special_tokens=special))
    # the trainer breaks ties by hash-map order (see biobert.pretrain.vocab): the vocabulary, and so every test
    # that relies on where subwords fall, changed from one pytest session to the next. A second pass with the
    # alphabet and the ##c tokens declared up front (sorted) fixes every id
    first = tok.get_vocab()
    alphabet = sorted(t for t in first if len(t) == 1 and t not in special)
    continuing = sorted(t for t in first if len(t) == 3 and t.startswith("##"))
    tok.train([str(FIXTURES / "abstracts.txt")], trainers.WordPieceTrainer(
        vocab_size=400, special_tokens=special + continuing, initial_alphabet=alphabet))
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


def build_tiny_xlmr(out: Path, seed: int = 0) -> Path:
    """A random 2-layer XLM-RoBERTa (hidden 32) with a SentencePiece-style tokenizer: a Unigram model over
    ``▁``-prefixed words (Metaspace) trained on the fixture abstracts, as ALBERT, DeBERTa-v3 and XLM-R ship."""
    import json

    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    ug = Tokenizer(models.Unigram())
    ug.normalizer = normalizers.NFKC()
    ug.pre_tokenizer = pre_tokenizers.Metaspace()
    ug.train([str(FIXTURES / "abstracts.txt")],
             trainers.UnigramTrainer(vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"], unk_token="<unk>"))
    # transformers 5 builds the family's tokenizer (normaliser, Metaspace, <s> x </s> template) from (piece, score) pairs
    pieces = [tuple(p) for p in json.loads(ug.to_str())["model"]["vocab"]]
    tok = XLMRobertaTokenizerFast(vocab=pieces)
    tok.save_pretrained(out)
    torch.manual_seed(seed)
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=130, pad_token_id=tok.pad_token_id,
                           type_vocab_size=1)
    XLMRobertaModel(cfg).save_pretrained(out)
    return out


def build_tiny_modernbert(out: Path, seed: int = 0) -> Path:
    """A random 2-layer ModernBERT (hidden 32) whose byte-level BPE tokenizer is the generic
    ``PreTrainedTokenizerFast``, as answerdotai/ModernBERT-base ships it: ``add_prefix_space: false`` in
    ``tokenizer.json`` and a ``[CLS] x [SEP]`` template that does not trim offsets."""
    import torch
    import transformers
    from tokenizers import ByteLevelBPETokenizer
    from tokenizers.processors import TemplateProcessing

    if not hasattr(transformers, "ModernBertConfig"):
        pytest.skip("this transformers version has no ModernBERT")
    out.mkdir(parents=True, exist_ok=True)
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    bpe = ByteLevelBPETokenizer()
    bpe.train([str(FIXTURES / "abstracts.txt")], vocab_size=500, special_tokens=specials)
    bpe.post_processor = TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", bpe.token_to_id("[CLS]")), ("[SEP]", bpe.token_to_id("[SEP]"))])
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]", model_input_names=["input_ids", "attention_mask"])
    tok.save_pretrained(out)
    torch.manual_seed(seed)
    cfg = transformers.ModernBertConfig(
        vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=128, global_attn_every_n_layers=2, local_attention=16, pad_token_id=tok.pad_token_id,
        cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id, bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id)
    transformers.ModernBertModel(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_xlmr(tmp_path_factory) -> Path:
    """Path of a tiny random XLM-R encoder directory (SentencePiece-style Unigram tokenizer)."""
    return build_tiny_xlmr(tmp_path_factory.mktemp("tiny_xlmr"))


@pytest.fixture(scope="session")
def tiny_modernbert(tmp_path_factory) -> Path:
    """Path of a tiny random ModernBERT encoder directory (generic byte-level BPE tokenizer)."""
    return build_tiny_modernbert(tmp_path_factory.mktemp("tiny_modernbert"))
