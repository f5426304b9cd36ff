"""SQuAD-format QA files (v1.1 / v2.0), including BioBERT's BioASQ training files, and the QA example type.

A QA example is one (question, passage) pair: :class:`QAExample`. Answer
positions are :class:`~biobert.types.Span` s over the passage (``context``)
with exact character offsets (``context[a.start:a.end] == a.text``).
Examples of the same question share ``question_id``: BioBERT's BioASQ files
repeat a question once per snippet with ids ``<bioasq-id>_<nnn>``, and the
reader groups them back by the part before the last ``_``
(``question_id_sep``), so that answers can be pooled over all snippets of a
question and cross-validation can split by question.

``gold`` holds the question-level gold answer(s) in BioASQ's shape: a tuple
of entries, each a tuple of synonyms. For a factoid question read from SQuAD
format it is one entry whose synonyms are all distinct answer strings of the
question's rows (the BioASQ files give one answer per snippet; the
spellings differ between snippets).

Errors (:class:`~biobert.errors.DataFormatError`): E274 not JSON; E270 not
SQuAD-shaped (``data`` / ``paragraphs`` / ``qas`` / ``context``); E271 an
answer whose ``answer_start`` does not point at its ``text`` in the context.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from biobert.errors import DataFormatError, OffsetError
from biobert.io._common import PathOrStream, describe, read_all
from biobert.types import Span

__all__ = ["QAExample", "read_squad", "load_json", "group_by_question", "with_question_gold"]

_BIOASQ_ID = re.compile(r"^[0-9a-f]{24}_\d+$")


@dataclass(frozen=True)
class QAExample:
    """One question with one passage.

    Args:
        id: unique id of this (question, passage) pair.
        question: the question text.
        context: the passage (snippet, abstract...).
        question_id: id shared by all passages of the same question.
        qtype: ``factoid`` | ``list`` | ``yesno`` | ``summary``.
        answers: answer occurrences in ``context`` (training targets), as spans labelled ``answer``.
        gold: question-level gold answers: entries of synonyms (evaluation targets).
        label: the class of a yes/no(/maybe) question.
        metadata: anything else from the source (document URL, long answer, ...).
    """

    id: str
    question: str
    context: str
    question_id: str = ""
    qtype: str = "factoid"
    answers: tuple[Span, ...] = ()
    gold: tuple[tuple[str, ...], ...] = ()
    label: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for a in self.answers:
            if a.end > len(self.context) or (a.text is not None and self.context[a.start : a.end] != a.text):
                raise OffsetError(f"E105 answer ({a.start}, {a.end}) {a.text!r} does not lie in the context of {self.id!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "question": self.question, "context": self.context, "question_id": self.question_id,
            "qtype": self.qtype, "answers": [a.to_dict() for a in self.answers], "gold": [list(g) for g in self.gold],
            "label": self.label, "metadata": dict(self.metadata),
        }


def load_json(path: PathOrStream) -> tuple[Any, str]:
    """Parse a JSON file; E274 with the line of the syntax error."""
    name, _ = describe(path)
    raw = read_all(path)
    try:
        return json.loads(raw), name
    except json.JSONDecodeError as exc:
        raise DataFormatError("E274", name, exc.lineno, "a JSON document", found=exc.msg) from None


def group_by_question(examples: Iterable[QAExample]) -> dict[str, list[QAExample]]:
    """Examples grouped by ``question_id``, in first-seen order."""
    out: dict[str, list[QAExample]] = {}
    for e in examples:
        out.setdefault(e.question_id or e.id, []).append(e)
    return out


def with_question_gold(examples: list[QAExample]) -> list[QAExample]:
    """Fill empty ``gold`` from the answer strings of each question: a factoid question gets one entry (its
    answer strings are synonyms), a list question one entry per answer string (case-insensitively distinct)."""
    from dataclasses import replace

    groups = group_by_question(examples)
    gold: dict[str, tuple[tuple[str, ...], ...]] = {}
    for qid, exs in groups.items():
        syns = list(dict.fromkeys(a.text for e in exs for a in e.answers if a.text))
        if exs[0].qtype == "list":
            firsts = {}
            for t in syns:
                firsts.setdefault(t.lower(), t)
            gold[qid] = tuple((t,) for t in firsts.values())
        else:
            gold[qid] = (tuple(syns),) if syns else ()
    return [e if e.gold or e.qtype not in ("factoid", "list") else replace(e, gold=gold[e.question_id or e.id]) for e in examples]


def _nearest(ctx: str, text: str, start: int, window: int) -> int | None:
    """The occurrence of ``text`` in ``ctx`` starting closest to ``start``, at most ``window`` characters away."""
    lo = max(0, start - window)
    best = None
    i = ctx.find(text, lo)
    while i != -1 and i <= start + window:
        if best is None or abs(i - start) < abs(best - start):
            best = i
        i = ctx.find(text, i + 1)
    return best


def read_squad(
    path: PathOrStream,
    *,
    question_id_sep: str | None = "auto",
    qtype: str = "factoid",
    stats: Counter | None = None,
    realign: int = 0,
) -> list[QAExample]:
    """Read a SQuAD-format file into :class:`QAExample` s (one per question per paragraph).

    Args:
        question_id_sep: how to find the question an id belongs to: ``"auto"``
            groups BioASQ-style ids (``<24 hex>_<n>``) by the part before ``_``
            and leaves other ids alone; a string splits every id at its last
            occurrence; ``None`` makes every id its own question.
        qtype: question type given to every example.
        stats: counter receiving ``examples``, ``questions``, ``unanswerable``, ``yesno``, ``answers_realigned``.
        realign: an answer whose ``answer_start`` misses its text by at most this many characters is moved to the
            nearest occurrence of the text (counted as ``answers_realigned``); 0 (the default): every such
            answer is E271. Converters that count offsets in bytes or strip characters shift answers a little.

    BioBERT's yes/no files (``"answers": "yes"`` or ``"no"`` instead of a list) give ``yesno`` examples
    whose ``label`` is the answer.
    """
    stats = stats if stats is not None else Counter()
    obj, name = load_json(path)
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise DataFormatError("E270", name, None, "a SQuAD object {'data': [{'paragraphs': [...]}]}", found=str(obj)[:120])
    out: list[QAExample] = []
    for di, art in enumerate(obj["data"]):
        paras = art.get("paragraphs") if isinstance(art, dict) else None
        if not isinstance(paras, list):
            raise DataFormatError("E270", name, None, f"data[{di}].paragraphs to be a list", found=str(art)[:120])
        for pi, para in enumerate(paras):
            ctx = para.get("context") if isinstance(para, dict) else None
            qas = para.get("qas") if isinstance(para, dict) else None
            if not isinstance(ctx, str) or not isinstance(qas, list):
                raise DataFormatError("E270", name, None, f"data[{di}].paragraphs[{pi}] with a string 'context' and a list 'qas'", found=str(para)[:120])
            for qi, qa in enumerate(qas):
                if not isinstance(qa, dict) or not isinstance(qa.get("question"), str):
                    raise DataFormatError("E270", name, None, f"a 'question' string in data[{di}].paragraphs[{pi}].qas[{qi}]", found=str(qa)[:120])
                qid = str(qa.get("id", f"{di}.{pi}.{qi}"))
                raw_answers = qa.get("answers", []) or []
                label = None
                if isinstance(raw_answers, str):
                    # BioBERT's BioASQ yes/no files: "answers": "yes" | "no" (with "is_impossible" = the answer is no)
                    if raw_answers.lower() not in ("yes", "no"):
                        raise DataFormatError("E270", name, None, f"answers of {qid} as a list of {{'text', 'answer_start'}} or 'yes'/'no'", found=raw_answers[:120])
                    label, raw_answers = raw_answers.lower(), []
                    stats["yesno"] += 1
                elif not isinstance(raw_answers, list):
                    raise DataFormatError("E270", name, None, f"answers of {qid} as a list of {{'text', 'answer_start'}} or 'yes'/'no'", found=str(raw_answers)[:120])
                answers = []
                for a in raw_answers:
                    try:
                        text, start = a["text"], a["answer_start"]
                    except (KeyError, TypeError):
                        raise DataFormatError("E270", name, None, f"answers of {qid} as {{'text', 'answer_start'}}", found=str(a)[:120]) from None
                    # a number text or a fractional start would otherwise fail with a bare TypeError or be cut silently;
                    # "17" and 17.0 are accepted, as some converters write the offset so
                    # ASCII digits only: "²".isdigit() is true but int() refuses it (a bare ValueError)
                    if (isinstance(start, str) and start.strip().isascii() and start.strip().isdigit()) or (
                            isinstance(start, float) and start.is_integer()):
                        start = int(start)
                    if not isinstance(text, str) or isinstance(start, bool) or not isinstance(start, int):
                        raise DataFormatError("E270", name, None, f"answers of {qid} with a string 'text' and an integer 'answer_start'", found=str(a)[:120])
                    # a negative start would index from the end of the context (and then fail as an OffsetError without the file)
                    if start < 0 or ctx[start : start + len(text)] != text:
                        near = _nearest(ctx, text, start, realign) if realign and text else None
                        if near is None:
                            hint = "" if realign else " (data.realign_answers: N moves it to the nearest occurrence within N characters, counted)"
                            raise DataFormatError(
                                "E271", name, None, f"answer {text!r} of {qid} at context[{start}:{start + len(text)}]{hint}",
                                found=ctx[max(start, 0) : max(start, 0) + len(text)],
                            )
                        stats["answers_realigned"] += 1
                        start = near
                    answers.append(Span(start, start + len(text), "answer", text=text))
                if not answers and label is None:
                    stats["unanswerable"] += 1
                if question_id_sep == "auto":
                    group = qid.rsplit("_", 1)[0] if _BIOASQ_ID.match(qid) else qid
                elif question_id_sep:
                    group = qid.rsplit(question_id_sep, 1)[0]
                else:
                    group = qid
                out.append(QAExample(qid, qa["question"], ctx, group, "yesno" if label else qtype,
                                     tuple(dict.fromkeys(answers)), label=label))
    stats["examples"] += len(out)
    stats["questions"] += len({e.question_id for e in out})
    return with_question_gold(out)
