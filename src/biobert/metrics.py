"""Metrics, computed exactly as the papers' official scripts compute them.

* NER: strict entity-level exact-match micro P/R/F1 with ``conlleval`` chunk
  semantics (an ``I`` after ``O`` starts an entity), plus per type.
* RE / QA metrics live next to their definitions below as they are added.

All metrics return plain dicts of floats (fractions, not percentages).
"""

from __future__ import annotations

from collections import Counter
from typing import Hashable, Iterable, Sequence

from biobert.labels import tags_to_chunks

__all__ = ["prf", "entity_scores", "conlleval_scores"]


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall, F1 (0 when undefined, as conlleval prints)."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_gold": n_gold}


def entity_scores(
    gold: Iterable[tuple[Hashable, int, int, str]], pred: Iterable[tuple[Hashable, int, int, str]]
) -> dict[str, object]:
    """Strict exact-match scores over ``(doc_key, start, end, type)`` tuples.

    Returns micro ``precision``/``recall``/``f1`` and a ``per_type`` dict.
    """
    g, p = set(gold), set(pred)
    tp_set = g & p
    out: dict[str, object] = dict(prf(len(tp_set), len(p), len(g)))
    types = sorted({x[3] for x in g | p})
    tp_c, p_c, g_c = Counter(x[3] for x in tp_set), Counter(x[3] for x in p), Counter(x[3] for x in g)
    out["per_type"] = {t: prf(tp_c[t], p_c[t], g_c[t]) for t in types}
    return out


def conlleval_scores(gold_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict[str, object]:
    """Scores for parallel tag sequences (one per sentence), as ``conlleval.pl`` computes them."""
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"{len(gold_tags)} gold sentences but {len(pred_tags)} predicted")
    g, p = [], []
    for i, (gs, ps) in enumerate(zip(gold_tags, pred_tags)):
        if len(gs) != len(ps):
            raise ValueError(f"sentence {i}: {len(gs)} gold tags but {len(ps)} predicted")
        g += [(i, a, b, t) for a, b, t in tags_to_chunks(gs)]
        p += [(i, a, b, t) for a, b, t in tags_to_chunks(ps)]
    return entity_scores(g, p)
