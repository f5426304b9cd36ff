"""Metrics, computed exactly as the papers' official scripts compute them.

* NER: strict entity-level exact-match micro P/R/F1 with ``conlleval`` chunk
  semantics (an ``I`` after ``O`` starts an entity), plus per type.
* RE / QA metrics live next to their definitions below as they are added.

All metrics return plain dicts of floats (fractions, not percentages).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Hashable, Iterable, Mapping, Sequence

from biobert.labels import tags_to_chunks

__all__ = ["prf", "percent", "entity_scores", "conlleval_scores"]


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall, F1 (0 when undefined, as conlleval prints)."""
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_gold": n_gold}


def percent(scores: Mapping[str, Any], keys: Sequence[str] = ("precision", "recall", "f1"), digits: int = 2) -> dict[str, float]:
    """``keys`` of a scores dict (fractions) as percentages rounded to ``digits``: what the tables print."""
    return {k: round(100 * float(scores[k]), digits) for k in keys}


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


# ---------------------------------------------------------------------------
# Relation extraction and question answering (appended for biobert#3)
# ---------------------------------------------------------------------------

CHEMPROT_EVAL_LABELS = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")
DDI_EVAL_LABELS = ("advise", "effect", "int", "mechanism")


def micro_prf_over(gold: Sequence[str], pred: Sequence[str], labels: Iterable[str]) -> dict[str, object]:
    """Micro P/R/F1 restricted to ``labels`` (sklearn ``precision_recall_fscore_support(labels=..., average='micro')``).

    A prediction counts when its label is in ``labels``; it is a true positive
    when it also equals the gold label. Labels outside ``labels`` (the negative
    class) only count as gold misses or false alarms of the listed labels.
    Also returns ``per_label`` scores.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    keep = list(labels)
    ks = set(keep)
    tp = sum(1 for g, p in zip(gold, pred) if g == p and g in ks)
    out: dict[str, object] = dict(prf(tp, sum(1 for p in pred if p in ks), sum(1 for g in gold if g in ks)))
    out["per_label"] = {
        l: prf(sum(1 for g, p in zip(gold, pred) if g == p == l), sum(1 for p in pred if p == l), sum(1 for g in gold if g == l))
        for l in keep
    }
    return out


def chemprot_scores(gold: Sequence[str], pred: Sequence[str], labels: Iterable[str] = CHEMPROT_EVAL_LABELS) -> dict[str, object]:
    """ChemProt as BioBERT's ``re_eval.py`` scores it: micro P/R/F1 over CPR:3/4/5/6/9, ``false`` excluded."""
    return micro_prf_over(gold, pred, labels)


def ddi_scores(gold: Sequence[str], pred: Sequence[str], labels: Iterable[str] = DDI_EVAL_LABELS) -> dict[str, object]:
    """DDI-2013: micro P/R/F1 over the 4 positive types (advise, effect, int, mechanism), ``false`` excluded."""
    return micro_prf_over(gold, pred, labels)


def binary_scores(gold: Sequence[str], pred: Sequence[str], positive: str = "1") -> dict[str, float | None]:
    """P/R/F1 of the positive class (sklearn ``average='binary'``), plus accuracy and specificity (GAD, EU-ADR)."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predictions")
    tp = sum(1 for g, p in zip(gold, pred) if g == p == positive)
    tn = sum(1 for g, p in zip(gold, pred) if g != positive and p != positive)
    n_neg = sum(1 for g in gold if g != positive)
    out = prf(tp, sum(1 for p in pred if p == positive), sum(1 for g in gold if g == positive))
    out["accuracy"] = (tp + tn) / len(gold) if gold else 0.0
    # undefined without gold negatives: None, not 0.0 (which reads as "every negative was missed")
    out["specificity"] = tn / n_neg if n_neg else None
    return out


def multilabel_micro_prf(gold: Sequence[Iterable[str]], pred: Sequence[Iterable[str]], labels: Iterable[str] | None = None) -> dict[str, float]:
    """Micro P/R/F1 over (example, label) pairs of multi-label predictions, optionally restricted to ``labels``."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold label sets but {len(pred)} predicted")
    ks = set(labels) if labels is not None else None
    g = {(i, l) for i, ls in enumerate(gold) for l in ls if ks is None or l in ks}
    p = {(i, l) for i, ls in enumerate(pred) for l in ls if ks is None or l in ks}
    return prf(len(g & p), len(p), len(g))


def mean_sd(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean and sample standard deviation (n-1; 0 for a single value) of the values that are not ``None`` (a fold
    or seed without a score; ``n`` counts the others). Both are ``None`` over no value, where a 0 would read as a
    (very bad) result."""
    values = [v for v in values if v is not None]
    n = len(values)
    if not n:
        return {"mean": None, "sd": None, "n": 0}
    m = sum(values) / n
    sd = (sum((v - m) ** 2 for v in values) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"mean": m, "sd": sd, "n": n}


def _syn_match(answer: str | Sequence[str], entries: Sequence[Sequence[str]]) -> int:
    """Index of the first gold entry with a synonym equal to ``answer`` (lower-cased, as the evaluator reads both), else -1.

    ``answer`` may be one string or the synonyms of one submitted answer (``["IL-6", "interleukin 6"]``): as in
    ``ExactAnswer.containsAnswerSynonym``, it matches when any of its synonyms equals any synonym of an entry.
    """
    subs = {answer.lower()} if isinstance(answer, str) else {a.lower() for a in answer}
    for i, entry in enumerate(entries):
        if any(s.lower() in subs for s in entry):
            return i
    return -1


def factoid_scores(gold: Sequence[Sequence[Sequence[str]]], pred: Sequence[Sequence[str | Sequence[str]]],
                   k: int = 5) -> dict[str, float]:
    """BioASQ factoid measures (``EvaluatorTask1b -phaseB -e 5``), averaged over questions.

    Args:
        gold: per question, its gold entries, each a list of synonyms.
        pred: per question, the ranked answers (only the first ``k`` count), each a string or a list of synonyms.
    Returns:
        ``strict_accuracy`` (top-1 matches a synonym), ``lenient_accuracy``
        (any of the top ``k`` does) and ``mrr`` (1/rank of the first match in the
        top ``k``, 0 if none). Strings are compared lower-cased and otherwise exactly,
        as the official evaluator does. A question without answers scores 0.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold questions but {len(pred)} predicted")
    s = l = r = 0.0
    for g, p in zip(gold, pred):
        ranks = [i for i, a in enumerate(list(p)[:k]) if _syn_match(a, g) >= 0]
        if ranks:
            s += ranks[0] == 0
            l += 1
            r += 1.0 / (ranks[0] + 1)
    n = len(gold)
    return {"strict_accuracy": s / n if n else 0.0, "lenient_accuracy": l / n if n else 0.0, "mrr": r / n if n else 0.0, "n_questions": n}


def list_scores(gold: Sequence[Sequence[Sequence[str]]], pred: Sequence[Sequence[str | Sequence[str]]]) -> dict[str, float]:
    """BioASQ list measures: per-question P/R/F1, then their means over questions (a predicted answer is a string
    or a list of synonyms).

    Per question (as ``calculatePRFforListQuestions``): each predicted answer
    is a true positive if it matches a synonym of a not yet matched gold entry
    (that entry is then used up), else a false positive; then every gold entry
    left is a false negative unless a prediction not yet used in this second pass
    names it (a gold list naming one answer twice needs it predicted twice). An
    empty prediction scores 0.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold questions but {len(pred)} predicted")
    sp = sr = sf = 0.0
    for g, p in zip(gold, pred):
        if not p:
            continue
        remaining = [list(e) for e in g]
        tp = fp = 0
        for a in p:
            i = _syn_match(a, remaining)
            if i >= 0:
                tp += 1
                remaining.pop(i)
            else:
                fp += 1
        # the evaluator's second pass: each gold entry left is excused by a prediction naming it, which that
        # uses up (``response.containsAnswerSynonym(entry, true)`` removes it), else it is a false negative
        left = list(p)
        fn = 0
        for e in remaining:
            j = next((j for j, a in enumerate(left) if _syn_match(a, [e]) >= 0), -1)
            if j >= 0:
                left.pop(j)
            else:
                fn += 1
        prec = tp / (tp + fp)
        rec = tp / (tp + fn) if tp + fn else 0.0
        sp += prec
        sr += rec
        sf += 2 * prec * rec / (prec + rec) if prec and rec else 0.0
    n = len(gold)
    return {"precision": sp / n if n else 0.0, "recall": sr / n if n else 0.0, "f1": sf / n if n else 0.0, "n_questions": n}


def yesno_scores(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str] | None = None) -> dict[str, object]:
    """Accuracy and macro-F1 of yes/no(/maybe) answers.

    ``labels``: the classes averaged by macro-F1. BioASQ passes ``("yes", "no")``
    (its F1-yes and F1-no); the default, like sklearn's ``f1_score(average='macro')``
    used by PubMedQA, is every label seen in gold or predictions. A class never
    predicted has precision 0 (sklearn's ``zero_division=0``). A question left
    unanswered (``""``) is wrong, but ``""`` is not a class of the macro average.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold answers but {len(pred)} predicted")
    labs = list(labels) if labels is not None else sorted(set(gold) | {p for p in pred if p})
    per = {
        l: prf(sum(1 for g, p in zip(gold, pred) if g == p == l), sum(1 for p in pred if p == l), sum(1 for g in gold if g == l))
        for l in labs
    }
    n = len(gold)
    return {
        "accuracy": sum(1 for g, p in zip(gold, pred) if g == p) / n if n else 0.0,
        "macro_f1": sum(v["f1"] for v in per.values()) / len(per) if per else 0.0,
        "per_label": per,
        "n_questions": n,
    }


__all__ += [
    "micro_prf_over", "chemprot_scores", "ddi_scores", "binary_scores", "multilabel_micro_prf", "mean_sd",
    "factoid_scores", "list_scores", "yesno_scores", "CHEMPROT_EVAL_LABELS", "DDI_EVAL_LABELS",
]
