"""Pre-training objectives as ``nn.Module`` s whose ``forward`` returns the loss.

Each objective wraps the Hugging Face model(s) and is what the training loop (and DDP) sees:

* :class:`MLMObjective`: BERT masked LM, optionally whole-word masking. The vocabulary
  projection runs **only at masked positions** (hidden states are gathered first, then the
  model's own MLM head is applied), which saves most of the head's cost: with 15 % masking
  the ``H x V`` projection and its softmax shrink ~7x.
* :class:`SOPObjective`: MLM + sentence-order prediction (ALBERT's recipe; also works on a
  BERT checkpoint through its NSP head, which has the same shape).
* :class:`ElectraObjective`: replaced-token detection. A small generator (shared embeddings)
  fills the masked positions with samples; the discriminator labels every token as original or
  replaced. Loss = generator MLM + ``disc_weight`` x discriminator BCE (ELECTRA: 50).

Every objective exposes ``prepare(examples, generator=None)`` (collate + mask, outside
autograd) and ``forward(**batch) -> dict`` with ``loss`` plus detached statistics.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from biobert.errors import ConfigError
from biobert.pretrain.corpus import Example
from biobert.pretrain.masking import MaskSpec, collate, continuation_table, mask_tokens

__all__ = ["OBJECTIVES", "MLMObjective", "SOPObjective", "ElectraObjective", "mlm_head", "make_mask_spec"]

OBJECTIVES = ("mlm", "sop", "electra")


def mlm_head(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``hidden (N, H) -> logits (N, V)`` using the model's own MLM head (any input shape)."""
    mt = getattr(model.config, "model_type", "")
    if hasattr(model, "cls") and hasattr(model.cls, "predictions"):  # BertForMaskedLM / BertForPreTraining
        return model.cls.predictions
    if hasattr(model, "lm_head"):  # RoBERTa family
        return model.lm_head
    if hasattr(model, "predictions"):  # ALBERT
        return model.predictions
    if hasattr(model, "generator_predictions"):  # ELECTRA generator
        return lambda h: model.generator_lm_head(model.generator_predictions(h))
    if hasattr(model, "vocab_projector"):  # DistilBERT
        return lambda h: model.vocab_projector(model.vocab_layer_norm(model.activation(model.vocab_transform(h))))
    raise ConfigError(f"E457 no known MLM head on {type(model).__name__} (model_type {mt!r})")


def make_mask_spec(tokenizer, prob: float = 0.15, whole_word: bool = False, mask_frac: float = 0.8, random_frac: float = 0.1) -> MaskSpec:
    if tokenizer.mask_token_id is None:
        raise ConfigError("E458 the tokenizer has no mask token; masked LM needs one")
    return MaskSpec(
        mask_id=tokenizer.mask_token_id,
        vocab_size=len(tokenizer),
        special_ids=tuple(i for i in tokenizer.all_special_ids if i is not None),
        prob=prob,
        mask_frac=mask_frac,
        random_frac=random_frac,
        continuation=continuation_table(tokenizer) if whole_word else None,
    )


def _base(model: nn.Module) -> nn.Module:
    return getattr(model, model.base_model_prefix)


class _Objective(nn.Module):
    def __init__(self, spec: MaskSpec, pad_id: int):
        super().__init__()
        self.spec = spec
        self.pad_id = pad_id

    def prepare(self, examples: list[Example], generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        c = collate(examples, self.pad_id)
        ids, positions, targets = mask_tokens(c.input_ids, self.spec, generator)
        return {
            "input_ids": ids,
            "attention_mask": c.attention_mask,
            "token_type_ids": c.token_type_ids,
            "positions": positions,
            "targets": targets,
            "sop_labels": c.sop_labels,
        }

    def _encode(self, model, input_ids, attention_mask, token_type_ids):
        return _base(model)(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True)

    @staticmethod
    def _mlm(head, hidden, positions, targets):
        logits = head(hidden[positions])
        loss = F.cross_entropy(logits.float(), targets)
        correct = (logits.argmax(-1) == targets).sum()
        return loss, correct


class MLMObjective(_Objective):
    """Masked LM with the vocabulary projection computed only at masked positions."""

    def __init__(self, model: nn.Module, spec: MaskSpec, pad_id: int):
        super().__init__(spec, pad_id)
        self.model = model
        object.__setattr__(self, "_head", mlm_head(model))  # not registered twice as a submodule

    def forward(self, input_ids, attention_mask, token_type_ids, positions, targets, sop_labels=None):
        out = self._encode(self.model, input_ids, attention_mask, token_type_ids)
        loss, correct = self._mlm(self._head, out.last_hidden_state, positions, targets)
        n = targets.numel()
        return {"loss": loss, "mlm_loss": loss.detach(), "n_masked": torch.tensor(n), "mlm_correct": correct.detach()}


class SOPObjective(_Objective):
    """MLM + sentence-order prediction on the pooled ``[CLS]`` (ALBERT ``sop_classifier`` or the
    BERT NSP head ``cls.seq_relationship``)."""

    def __init__(self, model: nn.Module, spec: MaskSpec, pad_id: int):
        super().__init__(spec, pad_id)
        self.model = model
        object.__setattr__(self, "_head", mlm_head(model))
        if hasattr(model, "sop_classifier"):
            object.__setattr__(self, "_order_head", model.sop_classifier)
        elif hasattr(model, "cls") and hasattr(model.cls, "seq_relationship"):
            object.__setattr__(self, "_order_head", model.cls.seq_relationship)
        else:
            raise ConfigError(f"E459 {type(model).__name__} has no sentence-order head (use AlbertForPreTraining or BertForPreTraining)")

    def forward(self, input_ids, attention_mask, token_type_ids, positions, targets, sop_labels):
        out = self._encode(self.model, input_ids, attention_mask, token_type_ids)
        mlm_loss, correct = self._mlm(self._head, out.last_hidden_state, positions, targets)
        order_logits = self._order_head(out.pooler_output)
        sop_loss = F.cross_entropy(order_logits.float(), sop_labels)
        sop_correct = (order_logits.argmax(-1) == sop_labels).sum()
        return {
            "loss": mlm_loss + sop_loss,
            "mlm_loss": mlm_loss.detach(),
            "sop_loss": sop_loss.detach(),
            "n_masked": torch.tensor(targets.numel()),
            "mlm_correct": correct.detach(),
            "sop_correct": sop_correct.detach(),
            "n_pairs": torch.tensor(sop_labels.numel()),
        }


def tie_electra(generator: nn.Module, discriminator: nn.Module) -> None:
    """Share the embedding module of the discriminator with the generator (token, position and
    type embeddings + LayerNorm, as in ELECTRA) and tie the generator's output projection."""
    if generator.config.embedding_size != discriminator.config.embedding_size:
        raise ConfigError("E460 ELECTRA generator and discriminator need the same embedding_size to share embeddings")
    generator.electra.embeddings = discriminator.electra.embeddings
    generator.generator_lm_head.weight = discriminator.electra.embeddings.word_embeddings.weight


class ElectraObjective(_Objective):
    """Replaced-token detection with a small MLM generator (ELECTRA)."""

    def __init__(self, generator: nn.Module, discriminator: nn.Module, spec: MaskSpec, pad_id: int, disc_weight: float = 50.0):
        super().__init__(spec, pad_id)
        self.generator = generator
        self.discriminator = discriminator
        self.disc_weight = disc_weight
        tie_electra(generator, discriminator)
        object.__setattr__(self, "_head", mlm_head(generator))

    def forward(self, input_ids, attention_mask, token_type_ids, positions, targets, sop_labels=None, sample_generator=None):
        g = self._encode(self.generator, input_ids, attention_mask, token_type_ids).last_hidden_state
        logits = self._head(g[positions])
        gen_loss = F.cross_entropy(logits.float(), targets)
        with torch.no_grad():
            probs = torch.softmax(logits.detach().float(), dim=-1)
            sampled = torch.multinomial(probs, 1, generator=sample_generator).squeeze(-1)
            disc_ids = input_ids.clone()
            disc_ids[positions] = sampled
            labels = torch.zeros_like(input_ids, dtype=torch.float)
            labels[positions] = (sampled != targets).float()
        d = self.discriminator(input_ids=disc_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, return_dict=True).logits
        real = attention_mask.bool()
        disc_loss = F.binary_cross_entropy_with_logits(d[real].float(), labels[real])
        disc_correct = ((d[real] > 0).float() == labels[real]).sum()
        return {
            "loss": gen_loss + self.disc_weight * disc_loss,
            "mlm_loss": gen_loss.detach(),
            "disc_loss": disc_loss.detach(),
            "n_masked": torch.tensor(targets.numel()),
            "mlm_correct": (logits.argmax(-1) == targets).sum().detach(),
            "disc_correct": disc_correct.detach(),
            "n_tokens": real.sum().detach(),
            "n_replaced": labels.sum().detach(),
        }
