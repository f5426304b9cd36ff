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
from typing import Any, Mapping

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream
from biobert.io.squad import QAExample, load_json
from biobert.types import Span

__all__ = ["read_bioasq", "normalise_exact_answer", "find_answers", "QTYPES", "bioasq_submission", "read_bioasq_answers"]

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


def bioasq_submission(answers: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Answers as ``{question id: {"type", "answers" | "answer"}}`` (``QAPredictor.answer``) -> the BioASQ
    Task B phase B submission JSON, ``{"questions": [{"id", "type", "exact_answer"}]}``.

    Factoid and list answers become ``[["first"], ["second"], ...]`` in rank order (one entity, no synonyms,
    as BioBERT's ``transform_nbset2bioasqform`` wrote them); yes/no answers are ``"yes"`` / ``"no"``.
    No ``ideal_answer`` is written: the models here do not generate one.
    """
    out = []
    for qid, res in answers.items():
        qtype = res.get("type", "factoid")
        if "answer" in res:
            exact: Any = res["answer"]
        else:
            exact = [[a["text"]] for a in res.get("answers", [])]
        out.append({"id": qid, "type": qtype, "exact_answer": exact})
    return {"questions": out}


def read_bioasq_answers(path: PathOrStream) -> dict[str, dict[str, Any]]:
    """Read a BioASQ phase B submission (any system's) into ``{question id: {"type", "answers" | "answer"}}``,
    the shape :func:`biobert.recipes.qa.score_answers` scores.

    A factoid or list entry may list synonyms (``[["a", "a2"], ["b"]]``) or be a plain string; each entry is one
    ranked answer, named by its first synonym. Yes/no answers are read as the official evaluator reads them
    (``yes`` if the lower-cased answer contains it, else ``no``).

    Raises:
        DataFormatError: E274 not JSON; E275 not a submission (no ``questions`` list, a question without a
            string ``id``, an ``exact_answer`` of the wrong shape).
    """
    obj, name = load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("questions"), list):
        raise DataFormatError("E275", name, None, "a submission {'questions': [{'id', 'exact_answer'}]}", found=str(obj)[:120])
    out: dict[str, dict[str, Any]] = {}
    for qi, q in enumerate(obj["questions"]):
        if not isinstance(q, dict) or not isinstance(q.get("id"), str):
            raise DataFormatError("E275", name, None, f"questions[{qi}] with a string 'id'", found=str(q)[:120])
        exact = q.get("exact_answer")
        qtype = q.get("type")
        if isinstance(exact, str) and (qtype == "yesno" or (qtype is None and _yesno(exact))):
            out[q["id"]] = {"type": "yesno", "answer": _yesno(exact) or exact.lower()}
            continue
        if exact is None:
            exact = []
        elif isinstance(exact, str):  # a single factoid answer written as a bare string
            exact = [exact]
        if not isinstance(exact, list):
            raise DataFormatError("E275", name, None, f"questions[{qi}].exact_answer as a list of answers or 'yes'/'no'", found=str(exact)[:120])
        texts = []
        for entry in exact:
            if isinstance(entry, list):
                entry = next((x for x in entry if isinstance(x, str)), None)
            if not isinstance(entry, str):
                raise DataFormatError("E275", name, None, f"questions[{qi}].exact_answer entries as strings or lists of strings", found=str(exact)[:120])
            texts.append(entry)
        out[q["id"]] = {"type": qtype or "factoid", "answers": [{"text": t} for t in texts]}
    return out
