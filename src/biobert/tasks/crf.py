"""A linear-chain CRF over word tags (Lafferty et al. 2001): the optional NER head with learned transitions.

The encoder's token-classification logits are the emission scores; the CRF adds a
score for the first tag (``start``), for each tag pair (``transitions``) and for
the last tag (``end``), all learned jointly with the encoder by the sequence
negative log-likelihood. Transitions that :func:`~biobert.labels.allowed_transitions`
forbids (``I-X`` after ``O`` or after another type) are held at an impossible
score, in training and decoding alike, so the CRF only learns how likely the
allowed moves are. With all scores at zero it decodes exactly as the untrained
``viterbi`` decoder does: a per-word constant such as log-softmax normalisation
shifts every path equally.

The chain runs over the labelled positions of a window (the first subword of
each word), so the encoder's subwords, windows and context are unchanged. The
first tag is not constrained in training: a window of a long sentence may begin
inside an entity. The learned scores are saved in ``biobert.json`` (``crf``), so
the model directory stays a plain Hugging Face token classifier.

Partial labels (a corpus that does not annotate a type, see
:mod:`biobert.tasks.ner`) are the CRF's natural case: the numerator sums over
every path whose tags lie in each position's allowed set, not over one gold path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from biobert.errors import ModelLoadError
from biobert.labels import allowed_transitions

__all__ = ["CRF", "CRFTagger", "compact_labelled"]

#: the score of a forbidden tag or move: finite, so that -inf - -inf = nan never reaches a gradient
IMPOSSIBLE = -1e4


def compact_labelled(scores: torch.Tensor, labels: torch.Tensor, *more: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Gather each row's labelled positions (``labels != -100``) to the front, in order, and drop empty rows.

    Args:
        scores: ``(batch, positions, n_labels)`` emission scores.
        labels: ``(batch, positions)`` gold label ids, -100 where a position carries no label.
        more: further ``(batch, positions, ...)`` tensors gathered the same way.

    Returns:
        ``(scores, labels, mask, *more)`` with ``positions`` cut to the longest row's labelled count and ``mask``
        true on real (not padding) positions; rows without a labelled position are removed.
    """
    sel = labels != -100
    keep = sel.any(1)
    scores, labels, sel = scores[keep], labels[keep], sel[keep]
    more = tuple(m[keep] for m in more)
    # a stable sort of "is padding" moves the labelled positions to the front and keeps their order
    order = torch.sort((~sel).to(torch.int8), dim=1, stable=True).indices
    n = int(sel.sum(1).max()) if sel.numel() else 0
    order = order[:, :n]

    def take(t: torch.Tensor) -> torch.Tensor:
        idx = order.reshape(*order.shape, *([1] * (t.dim() - 2))).expand(*order.shape, *t.shape[2:])
        return t.gather(1, idx)

    mask = torch.arange(n, device=labels.device)[None] < sel.sum(1, keepdim=True)
    return (take(scores), labels.gather(1, order), mask, *(take(m) for m in more))


class CRF(torch.nn.Module):
    """Learned start, transition and end scores over a BIO/IOBES label list.

    Args:
        labels: the model's label list (``id2label`` order).
    """

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__()
        self.labels = list(labels)
        n = len(self.labels)
        _, follow_ok = allowed_transitions(self.labels)  # the first tag is free in training (module docstring)
        self.start = torch.nn.Parameter(torch.zeros(n))
        self.end = torch.nn.Parameter(torch.zeros(n))
        self.transitions = torch.nn.Parameter(torch.zeros(n, n))
        # not persistent: derived from the labels, so a checkpoint holds only what is learned
        self.register_buffer("follow_ok", torch.tensor(follow_ok), persistent=False)

    def allowed_transition_scores(self) -> torch.Tensor:
        """``transitions`` with the forbidden moves at :data:`IMPOSSIBLE`."""
        return self.transitions.masked_fill(~self.follow_ok, IMPOSSIBLE)

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """log of the summed exp-score of every path (forward algorithm), per sequence.

        Args:
            emissions: ``(batch, steps, n_labels)``, fp32.
            mask: ``(batch, steps)`` bool, true on real steps; each row's real steps come first.
            allowed: ``(batch, steps, n_labels)`` bool: only paths through allowed tags are summed (None: all).
        """
        if allowed is not None:
            emissions = emissions.masked_fill(~allowed, IMPOSSIBLE)
        trans = self.allowed_transition_scores()
        alpha = self.start + emissions[:, 0]
        for t in range(1, emissions.shape[1]):
            nxt = torch.logsumexp(alpha[:, :, None] + trans[None], 1) + emissions[:, t]
            alpha = torch.where(mask[:, t, None], nxt, alpha)  # finished rows keep their last alpha
        return torch.logsumexp(alpha + self.end, -1)

    def nll(self, emissions: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor | None = None) -> torch.Tensor:
        """Negative log-likelihood of the gold tags, summed over sequences and divided by the labelled words.

        Divided per word, not per sequence, so the loss has the scale of the token cross-entropy it replaces and the
        same learning rate and clipping apply.

        Args:
            emissions: ``(batch, positions, n_labels)`` logits of a window batch.
            labels: ``(batch, positions)`` gold ids, -100 at positions without a label (later subwords, context,
                special tokens, padding).
            allowed: ``(batch, positions, n_labels)`` bool, the tags each position may take (partial labels);
                None: exactly its gold tag.
        """
        extra = () if allowed is None else (allowed,)
        em, lab, mask, *rest = compact_labelled(emissions.float(), labels, *extra)
        if em.shape[0] == 0:
            return emissions.sum() * 0.0  # no labelled word: a zero that still has a graph
        gold = rest[0] if rest else torch.nn.functional.one_hot(lab.clamp(min=0), em.shape[-1]).bool()
        gold = gold | ~mask[:, :, None]  # padding steps are skipped by the mask anyway
        return (self.log_partition(em, mask) - self.log_partition(em, mask, gold)).sum() / mask.sum()

    # -- saving and loading -------------------------------------------------------
    def to_meta(self) -> dict[str, Any]:
        """The learned scores as JSON-ready lists (``biobert.json`` ``crf``)."""
        return {
            "start": [float(x) for x in self.start.detach().cpu()],
            "end": [float(x) for x in self.end.detach().cpu()],
            "transitions": [[float(x) for x in row] for row in self.transitions.detach().cpu()],
        }

    @classmethod
    def from_meta(cls, labels: Sequence[str], meta: Any, source: str = "biobert.json") -> "CRF":
        """Rebuild from :meth:`to_meta` output.

        Raises:
            ModelLoadError: E321 when a score list is missing or its shape does not match ``labels``.
        """
        crf = cls(labels)
        n = len(crf.labels)
        shapes = {"start": (n,), "end": (n,), "transitions": (n, n)}
        if not isinstance(meta, dict):
            raise ModelLoadError(f"E321 {source}: 'crf' must be an object with start, end and transitions, got {type(meta).__name__}")
        with torch.no_grad():
            for key, shape in shapes.items():
                try:
                    value = torch.tensor(meta[key], dtype=torch.float32)
                except (KeyError, TypeError, ValueError) as exc:
                    raise ModelLoadError(f"E321 {source}: crf.{key} is missing or not a list of numbers ({exc})") from exc
                if tuple(value.shape) != shape:
                    raise ModelLoadError(f"E321 {source}: crf.{key} has shape {tuple(value.shape)}; expected {shape} "
                                         f"for the {n} labels {crf.labels}")
                getattr(crf, key).copy_(value)
        return crf.eval()


@dataclass
class CRFOutput:
    """What :class:`CRFTagger` returns: the emission scores and, when labels were given, the loss."""

    logits: torch.Tensor
    loss: torch.Tensor | None = None


class CRFTagger(torch.nn.Module):
    """A token classifier and its CRF, trained as one module (the optimizer, checkpoints and weight averaging see
    both); the classifier is saved as a plain Hugging Face model and the CRF in ``biobert.json``."""

    def __init__(self, model: torch.nn.Module, labels: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.crf = CRF(labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                allowed: torch.Tensor | None = None) -> CRFOutput:
        """The classifier's logits and, given ``labels``, the CRF loss (:meth:`CRF.nll`)."""
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask).logits
        return CRFOutput(logits, None if labels is None else self.crf.nll(logits, labels, allowed))

    def get_input_embeddings(self) -> torch.nn.Module:
        """The classifier's word embeddings (for adversarial training, biobert.train)."""
        return self.model.get_input_embeddings()
