"""The official BioASQ Task B JSON: ``{"questions": [{"id", "body", "type", "snippets", "exact_answer", "ideal_answer"}]}``.

Each question becomes one :class:`~biobert.io.squad.QAExample` per snippet
(``id = <question id>_<nnn>``, ``question_id`` = the BioASQ id), so the
extractive model reads every snippet and pools the answers per question.

``exact_answer`` is normalised to ``gold`` entries of synonyms:

* factoid: ``["a", "b"]`` (older years: synonyms of one answer) or
  ``[["a", "b"], ...]`` (newer years) -> ``(("a", "b"), ...)``;
* list: ``[["a", "a2"], ["b"]]`` -> ``(("a", "a2"), ("b",))``;
* yesno: ``"yes"`` / ``"no"`` -> ``label`` (the official evaluator keeps
  ``"yes"`` if the lower-cased answer contains ``yes``, else ``"no"`` if it
  contains ``no``);
* summary: no exact answer; ``ideal_answer`` is kept in ``metadata``.

Training targets (``answers``) are the case-insensitive whole-word occurrences of every
gold synonym in the snippet (leftmost first); snippets without one are kept
for prediction and counted (``snippets_without_answer``).

Errors (:class:`~biobert.errors.DataFormatError`): E274 not JSON; E272 not
shaped like BioASQ (no ``questions`` list, a question without ``body`` /
``type`` / ``id``, a snippet without ``text``, an unknown type).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream
from biobert.io.squad import QAExample, load_json
from biobert.types import Span

__all__ = ["read_bioasq", "normalise_exact_answer", "find_answers", "QTYPES"]

QTYPES = ("factoid", "list", "yesno", "summary")


def normalise_exact_answer(qtype: str, exact: Any) -> tuple[tuple[str, ...], ...]:
    """BioASQ ``exact_answer`` -> entries of synonyms (empty for yes/no and summary)."""
    if qtype not in ("factoid", "list") or exact is None:
        return ()
    if isinstance(exact, str):
        return ((exact,),)
    if all(isinstance(x, str) for x in exact):
        # factoid before BioASQ 3: a flat list of synonyms of one answer; list: one item per entry
        return (tuple(exact),) if qtype == "factoid" else tuple((x,) for x in exact)
    out = []
    for entry in exact:
        syns = (entry,) if isinstance(entry, str) else tuple(str(s) for s in entry)
        if syns:
            out.append(syns)
    return tuple(out)


def find_answers(context: str, gold: tuple[tuple[str, ...], ...]) -> tuple[Span, ...]:
    """Case-insensitive whole-word occurrences of every gold synonym in ``context``, leftmost (then longest) first.

    ``p53`` is not found inside ``TP53``: a match may not start or end inside a word.
    """
    low = context.lower()
    found: dict[tuple[int, int], Span] = {}
    for entry in gold:
        for syn in entry:
            s = syn.strip()
            if not s:
                continue
            i = low.find(s.lower())
            while i >= 0:
                # lower() can change lengths for a few characters; keep only exact-length matches
                j = i + len(s)
                inside_word = (s[0].isalnum() and i > 0 and context[i - 1].isalnum()) or (
                    s[-1].isalnum() and j < len(context) and context[j].isalnum())
                if context[i:j].lower() == s.lower() and not inside_word:
                    found.setdefault((i, j), Span(i, j, "answer", text=context[i:j]))
                i = low.find(s.lower(), i + 1)
    return tuple(sorted(found.values(), key=lambda a: (a.start, -(a.end - a.start))))


def _yesno(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    low = raw.lower()
    return "yes" if "yes" in low else "no" if "no" in low else None


def read_bioasq(path: PathOrStream, *, types: tuple[str, ...] | None = None, stats: Counter | None = None) -> list[QAExample]:
    """Read official BioASQ JSON into one QAExample per (question, snippet).

    Args:
        types: keep only these question types (default: all).
        stats: counter with ``questions``, ``questions_type=X``, ``examples``,
            ``snippets_without_answer``, ``questions_without_snippets`` (skipped).
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("questions"), list):
        raise DataFormatError("E272", name, None, "an object {'questions': [...]}", found=str(obj)[:120])
    out: list[QAExample] = []
    for qi, q in enumerate(obj["questions"]):
        if not isinstance(q, dict) or not all(isinstance(q.get(k), str) for k in ("id", "body", "type")):
            raise DataFormatError("E272", name, None, f"questions[{qi}] with string 'id', 'body' and 'type'", found=str(q)[:120])
        qtype = q["type"]
        if qtype not in QTYPES:
            raise DataFormatError("E272", name, None, f"type of questions[{qi}] in {QTYPES}", found=qtype)
        if types is not None and qtype not in types:
            continue
        stats["questions"] += 1
        stats[f"questions_type={qtype}"] += 1
        gold = normalise_exact_answer(qtype, q.get("exact_answer"))
        label = _yesno(q.get("exact_answer")) if qtype == "yesno" else None
        snippets = q.get("snippets") or []
        if not snippets:
            stats["questions_without_snippets"] += 1
            continue
        meta_q = {"ideal_answer": q.get("ideal_answer")} if q.get("ideal_answer") is not None else {}
        for si, sn in enumerate(snippets):
            if not isinstance(sn, dict) or not isinstance(sn.get("text"), str):
                raise DataFormatError("E272", name, None, f"questions[{qi}].snippets[{si}] with a string 'text'", found=str(sn)[:120])
            ctx = sn["text"]
            answers = find_answers(ctx, gold) if gold else ()
            if qtype in ("factoid", "list") and not answers:
                stats["snippets_without_answer"] += 1
            meta = dict(meta_q)
            if "document" in sn:
                meta["document"] = sn["document"]
            out.append(QAExample(f"{q['id']}_{si + 1:03d}", q["body"], ctx, q["id"], qtype, answers, gold, label, meta))
    stats["examples"] += len(out)
    return out
