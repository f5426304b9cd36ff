"""Tag schemes (BIO, IOBES/BILOU) and conversion between word tags and chunks.

Chunking follows ``conlleval.pl`` exactly (``startOfChunk`` / ``endOfChunk``):
an ``I`` after ``O`` or after a chunk of another type starts a new chunk, so
invalid sequences are repaired the way the official scorer repairs them.

Labels are split on the *first* ``-`` only, so types containing hyphens
(``B-Gene-or-gene-product``) survive (spaCy PR#10960, scispacy PR#569).
"""

from __future__ import annotations

from typing import Iterable, Sequence

__all__ = ["split_tag", "tags_to_chunks", "chunks_to_tags", "bio_label_list", "allowed_transitions", "viterbi_decode", "viterbi_decode_batch", "UNTYPED"]

#: Internal type name used for untyped ``B``/``I`` tags (BioBERT's collapsed files).
UNTYPED = ""

_PREFIXES = {"B", "I", "E", "S", "L", "U", "O"}


def split_tag(tag: str) -> tuple[str, str]:
    """Split ``"B-Disease"`` into ``("B", "Disease")``; ``"O"`` gives ``("O", "")``.

    Only the first ``-`` separates prefix from type. Tags of the form
    ``Disease-B`` are not supported. Raises ``ValueError`` on an unknown prefix
    so that readers can turn it into a located :class:`DataFormatError`.
    """
    if tag == "O":
        return "O", ""
    prefix, sep, typ = tag.partition("-")
    if prefix not in _PREFIXES or prefix == "O" or (sep and not typ):
        raise ValueError(f"not a B/I/O/E/S tag: {tag!r}")
    # BILOU spelled as IOBES internally
    prefix = {"L": "E", "U": "S"}.get(prefix, prefix)
    return prefix, typ


def _end_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval.pl endOfChunk
    return (
        (prev_tag == "E")
        or (prev_tag == "S")
        or (prev_tag == "B" and tag in ("B", "S", "O"))
        or (prev_tag == "I" and tag in ("B", "S", "O"))
        or (prev_tag not in ("O", ".") and prev_type != typ)
    )


def _start_of_chunk(prev_tag: str, tag: str, prev_type: str, typ: str) -> bool:
    # conlleval.pl startOfChunk
    return (
        (tag == "B")
        or (tag == "S")
        or (prev_tag == "E" and tag in ("E", "I"))
        or (prev_tag == "S" and tag in ("E", "I"))
        or (prev_tag == "O" and tag in ("E", "I"))
        or (tag not in ("O", ".") and prev_type != typ)
    )


def tags_to_chunks(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """Return ``(first_word, last_word_exclusive, type)`` for every chunk in ``tags``."""
    chunks: list[tuple[int, int, str]] = []
    prev_tag, prev_type = "O", ""
    start: int | None = None
    for i, raw in enumerate(tags):
        tag, typ = split_tag(raw)
        if start is not None and _end_of_chunk(prev_tag, tag, prev_type, typ):
            chunks.append((start, i, prev_type))
            start = None
        if _start_of_chunk(prev_tag, tag, prev_type, typ):
            start = i
        prev_tag, prev_type = tag, typ
    if start is not None:
        chunks.append((start, len(tags), prev_type))
    return chunks


def chunks_to_tags(chunks: Iterable[tuple[int, int, str]], n: int, scheme: str = "BIO") -> list[str]:
    """Write chunks as ``n`` tags. Chunks must not overlap (callers count and drop overlaps)."""
    tags = ["O"] * n
    for a, b, typ in sorted(chunks):
        suffix = f"-{typ}" if typ else ""
        if scheme == "BIO":
            tags[a] = "B" + suffix
            for k in range(a + 1, b):
                tags[k] = "I" + suffix
        elif scheme == "IOBES":
            if b - a == 1:
                tags[a] = "S" + suffix
            else:
                tags[a] = "B" + suffix
                for k in range(a + 1, b - 1):
                    tags[k] = "I" + suffix
                tags[b - 1] = "E" + suffix
        else:
            raise ValueError(f"unknown tag scheme {scheme!r}; expected BIO or IOBES")
    return tags


def bio_label_list(types: Iterable[str]) -> list[str]:
    """``["O", "B-A", "I-A", "B-B", ...]`` for the given entity types, in sorted order."""
    labels = ["O"]
    for t in sorted(set(types)):
        suffix = f"-{t}" if t else ""
        labels += ["B" + suffix, "I" + suffix]
    return labels


def allowed_transitions(labels: Sequence[str]) -> tuple[list[bool], list[list[bool]]]:
    """Which labels may start a sentence and which may follow which, under BIO or IOBES.

    Returns ``(start_ok, follow_ok)`` with ``follow_ok[i][j]`` true when label ``j`` may
    come right after label ``i``. An ``I``/``E`` of type X may only continue a ``B``/``I``
    of type X (conlleval would otherwise repair it into a new chunk); after a ``B``/``I``
    of an IOBES label set, only ``I``/``E`` of the same type may follow. The last word's
    label is not constrained (a BIO-trained model has no ``E``). A type that has no ``B-``
    label at all (IO tagging) is not constrained either, so such models still find entities.
    """
    parsed = [split_tag(l) for l in labels]
    iobes = any(p in ("E", "S") for p, _ in parsed)
    # a type without B- labels is tagged IO-style (I-X opens an entity): it is left unconstrained
    has_b = {t for p, t in parsed if p == "B"}
    continues = [p in ("I", "E") and t in has_b for p, t in parsed]  # labels that must continue an entity
    start_ok = [not c for c in continues]
    follow_ok: list[list[bool]] = []
    for pp, pt in parsed:
        row = []
        for (p, t), must_continue in zip(parsed, continues):
            if must_continue:
                ok = pp in ("B", "I") and pt == t
            elif p in ("I", "E"):  # IO-style type: I-X may follow anything
                ok = True
            else:  # B, S, O start fresh; in IOBES an open chunk must be closed by E first
                ok = not (iobes and pp in ("B", "I"))
            row.append(ok)
        follow_ok.append(row)
    return start_ok, follow_ok


def viterbi_decode(scores: Sequence[Sequence[float]], start_ok: Sequence[bool],
                   follow_ok: Sequence[Sequence[bool]]) -> list[int]:
    """The label sequence with the highest total score (e.g. summed log-probabilities)
    among those :func:`allowed_transitions` permits.

    ``scores`` has one row per word and one column per label. With no constraint this
    is the per-word argmax; with them, an isolated ``I`` after ``O`` becomes whichever of
    ``B`` or ``O`` the model finds likelier, instead of being repaired to ``B`` regardless.
    """
    import torch

    if not scores:
        return []
    t = torch.tensor([list(r) for r in scores], dtype=torch.float64)
    return viterbi_decode_batch(t[None], [len(scores)], start_ok, follow_ok)[0]


def viterbi_decode_batch(scores: "torch.Tensor", lengths: Sequence[int], start_ok: Sequence[bool],
                         follow_ok: Sequence[Sequence[bool]], learned: "tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None" = None) -> list[list[int]]:
    """:func:`viterbi_decode` for a batch: ``scores`` is ``(batch, words, labels)``, padded
    after each sequence's ``lengths[b]`` words; returns one label path per sequence.

    ``learned`` adds a CRF's ``(start, transitions, end)`` scores (:class:`biobert.tasks.crf.CRF`) to the
    allowed moves; without it every allowed move scores 0."""
    import torch

    n, t_max, n_labels = scores.shape
    if n == 0:
        return []
    # a finite "impossible" keeps -inf - -inf = nan out of the sums; every real path scores far above it
    impossible = torch.tensor(-1e9, dtype=scores.dtype)
    zero = torch.zeros((), dtype=scores.dtype)
    start_s, trans_s, end_s = (zero, zero, zero) if learned is None else (t.to(scores.dtype) for t in learned)
    trans = torch.where(torch.tensor(follow_ok), trans_s, impossible)
    best = scores[:, 0] + torch.where(torch.tensor(start_ok), start_s, impossible)
    lengths_t = torch.tensor(list(lengths))
    stay = torch.arange(n_labels).expand(n, n_labels)
    back = []
    for t in range(1, t_max):
        value, prev = (best[:, :, None] + trans[None]).max(1)  # best previous label for each label
        active = (lengths_t > t)[:, None]
        best = torch.where(active, value + scores[:, t], best)
        back.append(torch.where(active, prev, stay))  # finished sequences carry their last label along
    cur = (best + end_s).argmax(-1)  # every sequence's best is now that of its last word
    path = [cur]
    for ptr in reversed(back):
        cur = ptr.gather(1, cur[:, None]).squeeze(1)
        path.append(cur)
    labels = torch.stack(path[::-1], 1).tolist()
    return [labels[b][: lengths[b]] for b in range(n)]
