"""Batch collation and token masking for masked language modelling.

Masks are drawn with a :class:`torch.Generator` when one is given (validation uses a fixed one
so every evaluation sees the same masks), otherwise with torch's global RNG (training: it is
seeded per rank and saved in checkpoints, which makes resumes exact).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from biobert.pretrain.corpus import Example

__all__ = ["Collated", "collate", "MaskSpec", "continuation_table", "mask_tokens"]


@dataclass
class Collated:
    input_ids: torch.Tensor  # (B, L) long
    attention_mask: torch.Tensor  # (B, L) long
    token_type_ids: torch.Tensor  # (B, L) long
    sop_labels: torch.Tensor  # (B,) long, -1 when not a pair

    @property
    def num_tokens(self) -> int:
        return int(self.attention_mask.sum())


def collate(examples: list[Example], pad_id: int, pad_to_multiple_of: int | None = None) -> Collated:
    """Right-pad ``examples`` to the longest one (optionally rounded up to a multiple)."""
    n = len(examples)
    length = max(len(e) for e in examples)
    if pad_to_multiple_of:
        length = -(-length // pad_to_multiple_of) * pad_to_multiple_of
    ids = np.full((n, length), pad_id, dtype=np.int64)
    att = np.zeros((n, length), dtype=np.int64)
    tt = np.zeros((n, length), dtype=np.int64)
    for i, e in enumerate(examples):
        k = len(e)
        ids[i, :k] = e.input_ids
        att[i, :k] = 1
        tt[i, e.n_first : k] = 1
    labels = torch.tensor([e.label for e in examples], dtype=torch.long)
    return Collated(torch.from_numpy(ids), torch.from_numpy(att), torch.from_numpy(tt), labels)


def continuation_table(tokenizer) -> torch.Tensor:
    """Bool vector over token ids: True when the token continues the previous word.

    WordPiece vocabularies mark continuations with ``##``; SentencePiece ones mark word starts
    with ``▁`` (then every other non-special piece is a continuation); byte-level BPE marks word
    starts with ``Ġ``. Special tokens are never continuations.
    """
    vocab = tokenizer.get_vocab()
    size = max(len(tokenizer), max(vocab.values()) + 1)
    table = torch.zeros(size, dtype=torch.bool)
    toks = list(vocab)
    if any(t.startswith("##") for t in toks):
        for t, i in vocab.items():
            table[i] = t.startswith("##")
    elif any(t.startswith("\u2581") for t in toks) or any(t.startswith("\u0120") for t in toks):
        marker = "\u2581" if any(t.startswith("\u2581") for t in toks) else "\u0120"
        for t, i in vocab.items():
            table[i] = not t.startswith(marker)
    for i in tokenizer.all_special_ids:
        if i is not None and i < size:
            table[i] = False
    return table


@dataclass
class MaskSpec:
    """How to choose and corrupt masked positions.

    Attributes:
        mask_id: the ``[MASK]`` token id.
        vocab_size: random replacements are drawn from ``[0, vocab_size)``.
        special_ids: ids never masked (CLS, SEP, PAD, ...).
        prob: share of (non-special) tokens, or of words with whole-word masking, to predict.
        mask_frac, random_frac: of the chosen positions, the share replaced by ``[MASK]`` and by a
            random token; the rest keep their token (BERT: 0.8 / 0.1 / 0.1).
        continuation: bool table from :func:`continuation_table`; when set, whole words are masked.
    """

    mask_id: int
    vocab_size: int
    special_ids: tuple[int, ...]
    prob: float = 0.15
    mask_frac: float = 0.8
    random_frac: float = 0.1
    continuation: torch.Tensor | None = None


def mask_tokens(
    input_ids: torch.Tensor, spec: MaskSpec, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Choose positions to predict and corrupt them.

    Returns:
        ``(corrupted_ids, positions, targets)``: ``positions`` is a bool ``(B, L)`` tensor of the
        chosen positions, ``targets`` the original ids there (in row-major order), so that
        ``hidden[positions]`` lines up with ``targets``.
    """
    special = torch.zeros_like(input_ids, dtype=torch.bool)
    for i in spec.special_ids:
        special |= input_ids == i
    draw = torch.rand(input_ids.shape, generator=generator)
    if spec.continuation is not None:
        # one draw per word: every piece takes the draw of the piece that starts its word
        cont = spec.continuation[input_ids.clamp(max=len(spec.continuation) - 1)] & ~special
        idx = torch.arange(input_ids.shape[1]).expand_as(input_ids)
        start = torch.where(cont, torch.zeros_like(idx), idx).cummax(dim=1).values
        draw = draw.gather(1, start)
    positions = (draw < spec.prob) & ~special
    if not bool(positions.any()):
        # always predict at least one token per batch
        candidates = (~special).nonzero()
        if len(candidates):
            r, c = candidates[0].tolist()
            positions[r, c] = True
    targets = input_ids[positions]
    corrupted = input_ids.clone()
    n = int(positions.sum())
    how = torch.rand(n, generator=generator)
    masked = how < spec.mask_frac
    randomized = (how >= spec.mask_frac) & (how < spec.mask_frac + spec.random_frac)
    values = targets.clone()
    values[masked] = spec.mask_id
    if bool(randomized.any()):
        values[randomized] = torch.randint(spec.vocab_size, (int(randomized.sum()),), generator=generator)
    corrupted[positions] = values
    return corrupted, positions, targets
