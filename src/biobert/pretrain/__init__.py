"""Domain pre-training: continued MLM, from-scratch with a domain vocabulary, ALBERT-SOP,
ELECTRA, and CPU-only vocabulary adaptation (GreenBioBERT).

Heavy modules (torch, transformers) load only when a name below is used::

    from biobert.pretrain import PretrainConfig, pretrain
    pretrain(PretrainConfig(corpus=["pubmed/*.txt.gz"], output="runs/pretrain/mlm", max_steps=1000))
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "PretrainConfig": "biobert.pretrain.loop",
    "pretrain": "biobert.pretrain.loop",
    "load_run_config": "biobert.pretrain.loop",
    "latest_checkpoint": "biobert.pretrain.loop",
    "evaluate": "biobert.pretrain.loop",
    "train_wordpiece": "biobert.pretrain.vocab",
    "adapt_vocab": "biobert.pretrain.adapt",
    "AdaptConfig": "biobert.pretrain.adapt",
    "build_models": "biobert.pretrain.models",
    "save_encoder": "biobert.pretrain.models",
    "resolve_init": "biobert.pretrain.models",
    "load_tokenizer": "biobert.pretrain.models",
    "MLMObjective": "biobert.pretrain.objectives",
    "SOPObjective": "biobert.pretrain.objectives",
    "ElectraObjective": "biobert.pretrain.objectives",
    "make_mask_spec": "biobert.pretrain.objectives",
    "mask_tokens": "biobert.pretrain.masking",
    "resolve_corpus": "biobert.pretrain.corpus",
    "iter_documents": "biobert.pretrain.corpus",
    "iter_corpus": "biobert.pretrain.corpus",
    "is_heldout": "biobert.pretrain.corpus",
    "PretrainStream": "biobert.pretrain.corpus",
    "validation_examples": "biobert.pretrain.corpus",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(name)
    return getattr(importlib.import_module(mod), name)
