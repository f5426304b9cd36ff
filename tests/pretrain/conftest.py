"""Fixtures for the pre-training tests: a tiny synthetic biomedical corpus, a WordPiece vocabulary
trained on it, and a tiny BERT encoder without an MLM head. Everything is built offline in a
second or two."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

GENES = ["BRCA1", "TP53", "EGFR", "KRAS", "PTEN", "MYC", "APOE", "CFTR", "HER2", "VEGF"]
DISEASES = ["breast cancer", "lung adenocarcinoma", "cystic fibrosis", "Alzheimer disease", "colorectal cancer", "glioblastoma", "type 2 diabetes", "hypertension"]
CHEMICALS = ["cisplatin", "tamoxifen", "metformin", "gefitinib", "doxorubicin", "aspirin", "insulin", "paclitaxel"]
TEMPLATES = [
    "Mutations in {g} were associated with {d} in {n} patients.",
    "Treatment with {c} reduced the expression of {g} in cultured cells.",
    "We observed that {c} induced apoptosis through the {g} pathway.",
    "The risk of {d} increased in carriers of the {g} variant.",
    "Patients with {d} received {c} for {n} weeks.",
    "Overexpression of {g} promotes resistance to {c}.",
    "These results suggest that {g} is a therapeutic target in {d}.",
    "Serum levels of {g} protein correlated with {d} severity (P < 0.05).",
]

TINY_MODEL = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}


def make_documents(n: int = 80, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        title = f"{rng.choice(GENES)} and {rng.choice(DISEASES)}: a study of {rng.choice(CHEMICALS)}"
        sents = [
            rng.choice(TEMPLATES).format(g=rng.choice(GENES), d=rng.choice(DISEASES), c=rng.choice(CHEMICALS), n=rng.randint(5, 500))
            for _ in range(rng.randint(3, 7))
        ]
        docs.append(title + ". " + " ".join(sents))
    return docs


@pytest.fixture(scope="session")
def documents() -> list[str]:
    return make_documents()


@pytest.fixture(scope="session")
def corpus_file(tmp_path_factory, documents) -> Path:
    p = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    p.write_text("\n".join(documents) + "\n", encoding="utf-8")
    return p


@pytest.fixture(scope="session")
def vocab_dir(tmp_path_factory, corpus_file) -> Path:
    from biobert.pretrain.vocab import train_wordpiece

    out = tmp_path_factory.mktemp("vocab")
    train_wordpiece([corpus_file], out, vocab_size=300, lowercase=True, min_frequency=1)
    return out


@pytest.fixture(scope="session")
def tokenizer(vocab_dir):
    from biobert.pretrain.models import load_tokenizer

    return load_tokenizer(vocab_dir)


@pytest.fixture(scope="session")
def headless_bert(tmp_path_factory, vocab_dir, tokenizer) -> Path:
    """A tiny random ``BertModel`` (no MLM head, with pooler) + tokenizer, like all-MiniLM-L6-v2."""
    import torch
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("headless_bert")
    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=128, **TINY_MODEL)
    BertModel(cfg).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def pytest_configure(config):
    config.addinivalue_line("markers", "distributed: launches several processes (gloo on CPU); runs in CI, ~15 s")
