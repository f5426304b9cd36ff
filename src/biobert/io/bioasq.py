"""The official BioASQ Task B JSON: ``{"questions": [{"id", "body", "type", "snippets", "exact_answer", "ideal_answer"}]}``.

Each question becomes one :class:`~biobert.io.squad.QAExample` per snippet
(``id = <question id>_<nnn>``, ``question_id`` = the BioASQ id), so the
extractive model reads every snippet and pools the answers per question.

``exact_answer`` is normalised to ``gold`` entries of synonyms:

* factoid: ``["a", "b"]`` (older years: synonyms of one answer) or
  ``[["a", "b"], ...]`` (newer years) -> ``(("a", "b"), ...)``;
* list: ``[["a", "a2"], ["b"]]`` -> ``(("a", "a2"), ("b",))``;
* yesno: ``"yes"`` / ``"no"``, or a one-element list ``["yes"]`` (some BioASQ
  files), in any case -> ``label`` (the official evaluator keeps ``"yes"`` if
  the lower-cased answer contains ``yes``, else ``"no"`` if it contains ``no``);
* summary: no exact answer; ``ideal_answer`` is kept in ``metadata``.

No ``exact_answer`` (test files) or an empty one (``[]``) means no gold: ``gold``
is ``()`` / ``label`` is ``None``, counted as ``questions_without_gold``; the
question is still read (for prediction), and :func:`biobert.recipes.qa.score_answers`
leaves it out of the scores and counts it. Anything else that is not one of the
shapes above (a number, a dict, a synonym that is not a string, a list nested too
deep, an empty entry, a yes/no answer that is neither) is an E276 error naming the
question, never turned into text.

:func:`read_bioasq_gold` reads only the gold of a golden file, by question id, to score passages read from
elsewhere (BioBERT's SQuAD-format ``BioASQ-test-*.json``, which carry no answers).

Training targets (``answers``) are the case-insensitive whole-word occurrences of every
gold synonym in the snippet (leftmost first); snippets without one are kept
for prediction and counted (``snippets_without_answer``).

Errors (:class:`~biobert.errors.DataFormatError`): E274 not JSON; E272 not
shaped like BioASQ (no ``questions`` list, a question without ``body`` /
``type`` / ``id``, a snippet without ``text``, an unknown type); E276 an
``exact_answer`` that cannot be read as gold (see above); E275 a submission
(:func:`read_bioasq_answers`) of the wrong shape.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping

from biobert.errors import DataFormatError
from biobert.io._common import PathOrStream
from biobert.io.squad import QAExample, load_json
from biobert.types import Span

__all__ = ["read_bioasq", "read_bioasq_gold", "normalise_exact_answer", "find_answers", "QTYPES", "bioasq_submission", "read_bioasq_answers"]

QTYPES = ("factoid", "list", "yesno", "summary")


def normalise_exact_answer(qtype: str, exact: Any, *, path: str = "<string>",
                           qid: str | None = None) -> tuple[tuple[str, ...], ...]:
    """BioASQ ``exact_answer`` -> entries of synonyms (empty for yes/no and summary, and for no gold: ``None``
    or ``[]``).

    Args:
        path, qid: the file and question named by an error.

    Raises:
        DataFormatError: E276 ``exact_answer`` is neither a string, a list of strings nor a list whose entries
            are strings or non-empty lists of strings (nothing is turned into text with ``str()``).
    """
    if qtype not in ("factoid", "list") or exact is None:
        return ()

    def bad() -> DataFormatError:
        return DataFormatError("E276", path, None, f"exact_answer of {qtype} question {qid!r} as a string, a list of "
                               "strings or a list of non-empty lists of strings", found=repr(exact))

    if isinstance(exact, str):
        return ((exact,),)
    if not isinstance(exact, list):
        raise bad()
    if not exact:
        return ()  # no gold answer: the question is left out of scoring (and counted) by score_answers
    if all(isinstance(x, str) for x in exact):
        # factoid before BioASQ 3: a flat list of synonyms of one answer; list: one item per entry
        return (tuple(exact),) if qtype == "factoid" else tuple((x,) for x in exact)
    out = []
    for entry in exact:
        if isinstance(entry, str):
            out.append((entry,))
        elif isinstance(entry, list) and entry and all(isinstance(x, str) for x in entry):
            out.append(tuple(entry))
        else:
            raise bad()
    return tuple(out)


def find_answers(context: str, gold: tuple[tuple[str, ...], ...]) -> tuple[Span, ...]:
    """Case-insensitive whole-word occurrences of every gold synonym in ``context``, leftmost (then longest) first.

    ``p53`` is not found inside ``TP53``: a match may not start or end inside a word.
    """
    found: dict[tuple[int, int], Span] = {}
    for entry in gold:
        for syn in entry:
            s = syn.strip()
            if not s:
                continue
            # searched in the context itself, not in context.lower(): lower() makes "İ" two characters, and the
            # indices of that string would miss every later match in the original. IGNORECASE matches one
            # character for one, so a match has the synonym's length; the lower() test keeps what counts as equal
            pattern = re.compile(re.escape(s), re.IGNORECASE)
            m = pattern.search(context)
            while m is not None:
                i, j = m.start(), m.end()
                inside_word = (s[0].isalnum() and i > 0 and context[i - 1].isalnum()) or (
                    s[-1].isalnum() and j < len(context) and context[j].isalnum())
                if context[i:j].lower() == s.lower() and not inside_word:
                    found.setdefault((i, j), Span(i, j, "answer", text=context[i:j]))
                m = pattern.search(context, i + 1)  # overlapping occurrences too
    return tuple(sorted(found.values(), key=lambda a: (a.start, -(a.end - a.start))))


def _yesno(raw: Any) -> str | None:
    """``"yes"`` / ``"no"`` from a yes/no ``exact_answer``: a string or a one-element list of one (``["Yes "]``),
    read as the official evaluator reads it (contains ``yes``, else contains ``no``); ``None`` when unreadable."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if not isinstance(raw, str):
        return None
    low = raw.strip().lower()
    return "yes" if "yes" in low else "no" if "no" in low else None


def _questions(obj: Any, name: str) -> list[dict[str, Any]]:
    """The ``questions`` of a BioASQ object, each checked to have a string ``id``, ``body`` and a known ``type``.

    Raises:
        DataFormatError: E272.
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("questions"), list):
        raise DataFormatError("E272", name, None, "an object {'questions': [...]}", found=str(obj)[:120])
    for qi, q in enumerate(obj["questions"]):
        if not isinstance(q, dict) or not all(isinstance(q.get(k), str) for k in ("id", "body", "type")):
            raise DataFormatError("E272", name, None, f"questions[{qi}] with string 'id', 'body' and 'type'", found=str(q)[:120])
        if q["type"] not in QTYPES:
            raise DataFormatError("E272", name, None, f"type of questions[{qi}] in {QTYPES}", found=q["type"])
    return obj["questions"]


def _question_gold(q: Mapping[str, Any], name: str) -> tuple[tuple[tuple[str, ...], ...], str | None]:
    """``(gold entries, yes/no label)`` of one checked question (both empty when it has no gold).

    Raises:
        DataFormatError: E276 an ``exact_answer`` that cannot be read as gold.
    """
    qtype, exact = q["type"], q.get("exact_answer")
    gold = normalise_exact_answer(qtype, exact, path=name, qid=q["id"])
    label = None
    if qtype == "yesno" and exact not in (None, []):
        label = _yesno(exact)
        if label is None:
            raise DataFormatError("E276", name, None, f"exact_answer of yesno question {q['id']!r} as 'yes' or 'no' "
                                  "(or a one-element list of it)", found=repr(exact))
    return gold, label


def read_bioasq_gold(path: PathOrStream, stats: Counter | None = None) -> dict[str, dict[str, Any]]:
    """The gold answers of an official BioASQ (golden) file by question id: ``{id: {"type", "gold", "label"}}``,
    to score passages read from elsewhere, such as BioBERT's SQuAD-format test files (``BioASQ-test-factoid-7b-1.json``),
    which carry the snippets but no answers. Questions without snippets are kept: only their gold is needed.

    Args:
        stats: counter with ``golden_questions`` and ``golden_questions_without_gold`` (no or an empty ``exact_answer``,
            summary questions included).

    Raises:
        DataFormatError: E274 not JSON; E272 not shaped like BioASQ; E276 an unreadable ``exact_answer``.
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    out: dict[str, dict[str, Any]] = {}
    for q in _questions(obj, name):
        gold, label = _question_gold(q, name)
        stats["golden_questions"] += 1
        if not gold and label is None:
            stats["golden_questions_without_gold"] += 1
        out[q["id"]] = {"type": q["type"], "gold": gold, "label": label}
    return out


def read_bioasq(path: PathOrStream, *, types: tuple[str, ...] | None = None, stats: Counter | None = None) -> list[QAExample]:
    """Read official BioASQ JSON into one QAExample per (question, snippet).

    Args:
        types: keep only these question types (default: all).
        stats: counter with ``questions``, ``questions_type=X``, ``examples``,
            ``snippets_without_answer``, ``questions_without_snippets`` (skipped),
            ``questions_without_gold`` (factoid/list/yes-no questions with no or an empty ``exact_answer``; kept).

    Raises:
        DataFormatError: E274 / E272 (module docstring); E276 an unreadable ``exact_answer``.
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    out: list[QAExample] = []
    for qi, q in enumerate(_questions(obj, name)):
        qtype = q["type"]
        if types is not None and qtype not in types:
            continue
        stats["questions"] += 1
        stats[f"questions_type={qtype}"] += 1
        gold, label = _question_gold(q, name)
        if (qtype in ("factoid", "list") and not gold) or (qtype == "yesno" and label is None):
            stats["questions_without_gold"] += 1
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


def read_bioasq_answers(path: PathOrStream, stats: Counter | None = None) -> dict[str, dict[str, Any]]:
    """Read a BioASQ phase B submission (any system's) into ``{question id: {"type", "answers" | "answer"}}``,
    the shape :func:`biobert.recipes.qa.score_answers` scores.

    A factoid or list entry may list synonyms (``[["a", "a2"], ["b"]]``) or be a plain string; each entry is one
    ranked answer, its first synonym. The others are not scored, as the official evaluator (``-e 5``, BioASQ 5
    onwards: "only first of synonyms taken into account" for submissions) does not score them either; they are
    counted (``stats["submitted_synonyms_not_scored"]``) so that a submission relying on them shows. Yes/no answers (``"yes"`` or a one-element list ``["yes"]``) are read
    as the official evaluator reads them (``yes`` if the lower-cased answer contains it, else ``no``); an untyped
    question is yes/no when its answer reads so (a one-element list only when it is exactly yes or no).

    Raises:
        DataFormatError: E274 not JSON; E275 not a submission (no ``questions`` list, a question without a
            string ``id``, an ``exact_answer`` of the wrong shape, a synonym that is not a string).
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
        one = exact[0] if isinstance(exact, list) and len(exact) == 1 else exact
        if qtype == "yesno" and exact not in (None, []):  # no answer: scored as such by score_answers
            if not isinstance(one, str):
                raise DataFormatError("E275", name, None, f"questions[{qi}] ({q['id']}) yes/no exact_answer as 'yes'/'no' "
                                      "or a one-element list of it", found=str(exact)[:120])
            # an unreadable answer is kept as written: it is scored as wrong, like the official evaluator does
            out[q["id"]] = {"type": "yesno", "answer": _yesno(one) or one.strip().lower()}
            continue
        if qtype is None and ((isinstance(exact, str) and _yesno(exact))
                              or (exact is not one and isinstance(one, str) and one.strip().lower() in ("yes", "no"))):
            out[q["id"]] = {"type": "yesno", "answer": _yesno(one)}
            continue
        if exact is None:
            exact = []
        elif isinstance(exact, str):  # a single factoid answer written as a bare string
            exact = [exact]
        if not isinstance(exact, list):
            raise DataFormatError("E275", name, None, f"questions[{qi}].exact_answer as a list of answers or 'yes'/'no'", found=str(exact)[:120])
        ranked: list[dict[str, Any]] = []
        for entry in exact:
            syns = entry if isinstance(entry, list) and entry and all(isinstance(x, str) for x in entry) else [entry]
            if not isinstance(syns[0], str):
                raise DataFormatError("E275", name, None, f"questions[{qi}] ({q['id']}) exact_answer entries as strings or "
                                      "non-empty lists of strings", found=str(exact)[:120])
            if len(syns) > 1 and stats is not None:
                stats["submitted_synonyms_not_scored"] += len(syns) - 1
            ranked.append({"text": syns[0]})
        out[q["id"]] = {"type": qtype or "factoid", "answers": ranked}
    return out
