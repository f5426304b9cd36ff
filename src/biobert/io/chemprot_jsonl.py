"""ChemProt in SciBERT's JSON-lines layout: ``{"text", "label", "metadata"}`` per line.

The first argument is wrapped as ``<< … >>`` and the second as ``[[ … ]]``
(either may be the chemical). The reader removes the four markers (with the
single space inside each), so the document text is the plain sentence, and
puts the arguments on spans labelled ``ARG1`` / ``ARG2`` with exact offsets;
the row becomes one ``Relation(ARG1 span, ARG2 span, label)``.

The closing marker searched is the first one *after* its opening marker, so
``>>`` used as "much greater than" elsewhere in a sentence is left alone.

Errors (:class:`~biobert.errors.DataFormatError`): E254 a line that is not a
JSON object; E255 no string ``text`` / ``label``; E256 a marker pair missing,
out of order, or the two arguments crossing each other.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Sequence

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream, describe, iter_lines
from biobert.types import Document, Relation, Span

__all__ = ["SCIBERT_CHEMPROT_LABELS", "read_chemprot_jsonl", "strip_markers"]

SCIBERT_CHEMPROT_LABELS = (
    "ACTIVATOR", "AGONIST", "AGONIST-ACTIVATOR", "AGONIST-INHIBITOR", "ANTAGONIST", "DOWNREGULATOR",
    "INDIRECT-DOWNREGULATOR", "INDIRECT-UPREGULATOR", "INHIBITOR", "PRODUCT-OF", "SUBSTRATE",
    "SUBSTRATE_PRODUCT-OF", "UPREGULATOR",
)


def strip_markers(marked: str, pairs: Sequence[tuple[str, str]] = (("<< ", " >>"), ("[[ ", " ]]"))) -> tuple[str, list[tuple[int, int]]]:
    """Remove marker pairs from ``marked``; return the clean text and each argument's (start, end) in it.

    Raises ``ValueError`` with a reason when a pair is missing or the pairs cross.
    """
    found = []  # (open_pos, open_len, close_pos, close_len, arg index)
    for k, (o, c) in enumerate(pairs):
        a = marked.find(o)
        if a < 0:
            raise ValueError(f"no opening marker {o.strip()!r}")
        b = marked.find(c, a + len(o))
        if b < 0:
            raise ValueError(f"no closing marker {c.strip()!r} after {o.strip()!r}")
        found.append((a, len(o), b, len(c), k))
    # the arguments may be disjoint or nested, never crossing
    (a1, _, b1, _, _), (a2, _, b2, _, _) = found[0], found[1]
    if a1 < a2 < b1 < b2 or a2 < a1 < b2 < b1:
        raise ValueError("the two marked arguments cross each other")
    cuts = sorted([(a, la) for a, la, _, _, _ in found] + [(b, lb) for _, _, b, lb, _ in found])
    out, pos = [], 0
    for p, n in cuts:
        out.append(marked[pos:p])
        pos = p + n
    out.append(marked[pos:])
    clean = "".join(out)

    def shift(x: int) -> int:  # position in the marked text -> position in the clean text
        return x - sum(n for p, n in cuts if p < x)

    spans = [(0, 0)] * len(pairs)
    for a, la, b, _, k in found:
        spans[k] = (shift(a + la), shift(b))
    return clean, spans


def read_chemprot_jsonl(path: PathOrStream, *, labels: Sequence[str] | None = None, stats: Counter | None = None) -> list[Document]:
    """Read SciBERT ChemProt JSON lines as one Document per pair (spans ``ARG1``/``ARG2``)."""
    stats = stats if stats is not None else Counter()
    name, stem = describe(path)
    allowed = set(labels) if labels is not None else None
    docs = []
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise DataFormatError("E254", name, lineno, "one JSON object per line", found=line) from None
        if not isinstance(obj, dict):
            raise DataFormatError("E254", name, lineno, "one JSON object per line", found=line)
        text, label = obj.get("text"), obj.get("label")
        if not isinstance(text, str) or not isinstance(label, str):
            raise DataFormatError("E255", name, lineno, "string fields 'text' and 'label'", found=line)
        if allowed is not None and label not in allowed:
            raise DataFormatError("E255", name, lineno, f"a label in {sorted(allowed)}", found=label)
        try:
            clean, ((h0, h1), (t0, t1)) = strip_markers(text)
        except ValueError as exc:
            raise DataFormatError("E256", name, lineno, f"'<< arg1 >>' and '[[ arg2 ]]' markers ({exc})", found=text) from None
        head = Span(h0, h1, "ARG1", text=clean[h0:h1])
        tail = Span(t0, t1, "ARG2", text=clean[t0:t1])
        docs.append(
            Document(f"{stem}:{lineno}", clean, spans=tuple(sorted((head, tail), key=lambda s: (s.start, s.end))),
                     relations=(Relation(head, tail, label),),
                     # the pairs of one sentence stay on one side of a train / dev split (recipes.re._split_dev)
                     metadata={"source": name, "line": lineno, "group": clean})
        )
        stats["rows"] += 1
    return docs
