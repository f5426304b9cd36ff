"""QA recipe: read questions -> (optional SQuAD stage) -> fine-tune -> evaluate -> save (+ cross-validation by question).

    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig, finetune_qa, cv_qa
    summary = cv_qa(load_config(QAConfig, "configs/qa/bioasq7b_factoid_cv.yaml"))

Formats (``data.format``): ``squad`` (SQuAD JSON, BioBERT's BioASQ files),
``bioasq`` (official BioASQ JSON) and ``pubmedqa``. ``task`` picks the head
and the metric: ``factoid`` (span head; strict / lenient accuracy and MRR over
the top 5), ``list`` (span head; mean P/R/F1) or ``yesno`` (classification
head; accuracy and macro-F1; PubMedQA's yes/no/maybe included).

``pre_stage`` trains on another data set first (SQuAD, then BioASQ, as
BioBERT does); see ``configs/qa/bioasq_after_squad.yaml``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from biobert import distributed
from biobert.config import to_dict
from biobert.errors import ConfigError, TrainingError
from biobert.io.squad import QAExample, group_by_question
from biobert.settings import expand_path
from biobert.train import TrainConfig, describe as describe_training

__all__ = ["QADataConfig", "QAStageConfig", "QAConfig", "read_qa", "read_golden", "attach_gold", "evaluate_qa", "score_answers", "combine_batches",
           "finetune_qa", "cv_qa", "cv_folds_by_question", "merge_duplicate_passages", "count_duplicate_passages"]

log = logging.getLogger(__name__)

TASKS = ("factoid", "list", "yesno")
DEFAULT_SELECT = {"factoid": "mrr", "list": "f1", "yesno": "accuracy"}


@dataclass
class QADataConfig:
    """Where the questions are (paths may use ``{data}``)."""

    format: str
    train: str | None = None
    dev: str | None = None
    #: one test file, or a list of test batches (BioASQ: scored per batch, reported as the mean over batches)
    test: str | list[str] | None = None
    #: gold answers kept apart from the test passages, one file per test file: the official BioASQ golden JSON
    #: (``7B1_golden.json``) for BioBERT's answer-less ``BioASQ-test-*.json``, PubMedQA's ``test_ground_truth.json``
    golden: str | list[str] | None = None
    #: BioASQ question types to keep (default: the task's type)
    types: list[str] | None = None
    #: k-fold cross-validation by question over the training file (no dev, no test file)
    cv_folds: int | None = None
    cv_seed: int = 0
    #: use only the first N training questions (quick runs; recorded in the report)
    limit_questions: int | None = None
    #: SQuAD-format answers whose answer_start misses the text by at most this many characters are moved to the
    #: nearest occurrence and counted (``answers_realigned``); 0: such an answer is error E271
    realign_answers: int = 0

    def validate(self, where: str = "data") -> None:
        """Check the values at config load, before any file is read.

        Raises:
            ConfigError: E480 unknown format, E482 cv_folds below 2, E415 any other value out of range.
        """
        from biobert.config import check_range

        where = where or "data"
        if self.format not in ("squad", "bioasq", "pubmedqa"):
            raise ConfigError(f"E480 {where}.format: unknown QA data format {self.format!r}; expected squad, bioasq or pubmedqa")
        if self.cv_folds is not None and self.cv_folds < 2:
            raise ConfigError(f"E482 {where}.cv_folds: cross-validation needs at least 2 folds, got {self.cv_folds}")
        check_range(self.limit_questions, f"{where}.limit_questions", ge=1)
        check_range(self.realign_answers, f"{where}.realign_answers", ge=0)
        if self.golden is not None and len(_as_list(self.golden)) != len(_as_list(self.test)):
            raise ConfigError(
                f"E479 {where}.golden: one golden file per test file is needed, got {len(_as_list(self.golden))} golden "
                f"file(s) for {len(_as_list(self.test))} test file(s)"
            )

    def test_batches(self) -> list[tuple[str, str | None]]:
        """``(test file, its golden file or None)`` per test batch."""
        tests = _as_list(self.test)
        golden = _as_list(self.golden) or [None] * len(tests)
        return list(zip(tests, golden))


def _as_list(value: str | list[str] | None) -> list[str]:
    """A setting that takes one path or a list of paths, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


@dataclass
class QAStageConfig:
    """An earlier fine-tuning stage on another data set (SQuAD before BioASQ)."""

    train: str
    format: str = "squad"
    epochs: int = 2
    lr: float = 3e-5
    batch_size: int = 12
    max_steps: int | None = None

    def validate(self, where: str = "pre_stage") -> None:
        """Check the values at config load (E480 format, E415 out of range)."""
        from biobert.config import check_range

        where = where or "pre_stage"
        if self.format not in ("squad", "bioasq", "pubmedqa"):
            raise ConfigError(f"E480 {where}.format: unknown QA data format {self.format!r}; expected squad, bioasq or pubmedqa")
        check_range(self.epochs, f"{where}.epochs", ge=1)
        check_range(self.lr, f"{where}.lr", gt=0, lt=float("inf"))
        check_range(self.batch_size, f"{where}.batch_size", ge=1)
        check_range(self.max_steps, f"{where}.max_steps", ge=1)


@dataclass
class QAConfig:
    """A QA fine-tuning run. One YAML file per paper table row (configs/qa/)."""

    data: QADataConfig
    task: str = "factoid"
    out: str = "runs/qa"
    encoder: str = "minilm"
    #: labels of the yes/no head; default: yes, no (+ maybe for PubMedQA)
    class_labels: list[str] | None = None
    max_length: int = 384
    #: subwords shared by consecutive windows of a long passage (the OVERLAP); not used when doc_stride is set
    stride: int = 128
    max_query_length: int = 64
    #: the STEP between window starts, as BERT's / BioBERT's doc_stride (128 with max_length 384: windows overlap by
    #: 384 - question - 3 - 128 subwords, 189 after a 64-subword question, where stride: 128 overlaps by 128).
    #: None: windows overlap by `stride`. Saved in biobert.json, so a loaded model windows passages the same way.
    doc_stride: int | None = None
    n_best: int = 20
    max_answer_length: int = 30
    max_answer_chars: int = 100
    list_threshold: float = 0.5
    list_top_k: int = 10
    dropout: float | None = None
    #: what the yes/no head reads: "cls" ([CLS], BERT) or "mean" (mean over tokens; what sentence encoders learnt)
    cls_pooling: str = "cls"
    #: "none" or "biobert" (BioBERT's textrip before pooling: trailing ,/./space, enclosing parentheses; see QASpec)
    answer_cleanup: str = "none"
    pre_stage: QAStageConfig | None = None
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=5e-5, epochs=3, batch_size=16, select_metric="auto"))
    save_half: bool = False
    name: str | None = None

    def validate(self, where: str = "") -> None:
        """Check the values at config load, before any data or model is read (see :mod:`biobert.config`).

        Raises:
            ConfigError: E481 task, E485 cls_pooling, E489 answer_cleanup, E480/E482 data, E415 any other value
                out of range.
        """
        from biobert.config import check_range
        from biobert.tasks.qa import ANSWER_CLEANUPS, CLS_POOLINGS

        def key(k: str) -> str:
            return f"{where}.{k}" if where else k

        if self.task not in TASKS:
            raise ConfigError(f"E481 {key('task')}: QA task must be one of {TASKS}, got {self.task!r}")
        if self.answer_cleanup not in ANSWER_CLEANUPS:
            raise ConfigError(f"E489 {key('answer_cleanup')} must be one of {ANSWER_CLEANUPS}, got {self.answer_cleanup!r}")
        if self.cls_pooling not in CLS_POOLINGS:
            raise ConfigError(f"E485 {key('cls_pooling')}: QA cls_pooling must be one of {CLS_POOLINGS}, got {self.cls_pooling!r}")
        self.data.validate(key("data"))
        if self.pre_stage is not None:
            self.pre_stage.validate(key("pre_stage"))
        for name in ("max_length", "max_query_length", "n_best", "max_answer_length", "max_answer_chars", "list_top_k"):
            check_range(getattr(self, name), key(name), ge=1)
        check_range(self.stride, key("stride"), ge=0)
        # the windows must share at least max_answer_length - 1 subwords (after the longest question), or an answer
        # that crosses from one window into the next would lie in no window: not trainable, not predictable
        answer_room = self.max_answer_length - 1 if self.task != "yesno" else 0
        check_range(self.doc_stride, key("doc_stride"), ge=1,
                    le=self.max_length - self.max_query_length - 3 - answer_room,
                    note="the step between passage windows; it may not exceed max_length - max_query_length - 3 "
                         "(the passage room) less max_answer_length - 1, so that windows overlap enough for every "
                         "answer to lie whole in one window")
        check_range(self.list_threshold, key("list_threshold"), ge=0, le=1)
        check_range(self.dropout, key("dropout"), ge=0, lt=1)
        # "auto" and "f1" pick the task's usual metric (DEFAULT_SELECT); the rest are what score_answers reports
        reported = {"factoid": ("strict_accuracy", "lenient_accuracy", "mrr"), "list": ("precision", "recall"),
                    "yesno": ("accuracy", "macro_f1")}[self.task]
        self.train.validate(key("train"), metrics=("auto", "f1", *reported))


def read_qa(fmt: str, path: str | Path, types: Sequence[str] | None = None, stats: Counter | None = None,
            labelled: bool = True, realign: int = 0) -> list[QAExample]:
    """Read QA examples in ``fmt`` (``squad`` | ``bioasq`` | ``pubmedqa``).

    ``labelled=False`` accepts PubMedQA entries without ``final_decision`` (to answer them, or to score them
    against ``test_ground_truth.json``, :func:`attach_gold`); SQuAD and BioASQ questions without answers are
    always accepted (and counted).
    """
    stats = stats if stats is not None else Counter()
    p = expand_path(path)
    if fmt == "squad":
        from biobert.io.squad import read_squad

        # SQuAD files carry no question type: a file read for list questions holds list questions (BioBERT's
        # BioASQ-*-list-*.json); yes/no files are recognised by their "yes"/"no" answers, and a file read for
        # yes/no questions only holds yes/no questions even without answers (BioBERT's BioASQ-test-yesno-*.json,
        # which would otherwise be read as factoid questions and skipped by a yes/no model)
        wanted = [t for t in (types or []) if t in ("factoid", "list", "yesno")]
        return read_squad(p, qtype=wanted[0] if len(wanted) == 1 else "factoid", stats=stats, realign=realign)
    if fmt == "bioasq":
        from biobert.io.bioasq import read_bioasq

        return read_bioasq(p, types=tuple(types) if types else None, stats=stats)
    if fmt == "pubmedqa":
        from biobert.io.pubmedqa import read_pubmedqa

        return read_pubmedqa(p, labelled=labelled, stats=stats)
    raise ConfigError(f"E480 unknown QA data format {fmt!r}; expected squad, bioasq or pubmedqa")


def read_golden(fmt: str, path: str | Path, stats: Counter | None = None) -> dict[str, dict[str, Any]]:
    """Gold answers kept apart from the passages, by question id (``{id: {"type", "gold", "label"}}``): the official
    BioASQ golden JSON (``7B1_golden.json``) for ``squad`` / ``bioasq`` data (BioBERT's ``BioASQ-test-*.json``
    carry no answers), PubMedQA's ``test_ground_truth.json`` (``{pmid: label}``) for ``pubmedqa`` data.

    Raises:
        DataFormatError: E272 / E274 / E276 (BioASQ), E273 / E274 (PubMedQA).
        ConfigError: E480 an unknown format.
    """
    p = expand_path(path)
    if fmt in ("squad", "bioasq"):
        from biobert.io.bioasq import read_bioasq_gold

        return read_bioasq_gold(p, stats)
    if fmt == "pubmedqa":
        from biobert.io.pubmedqa import read_pubmedqa_labels

        return {pmid: {"type": "yesno", "gold": (), "label": label} for pmid, label in read_pubmedqa_labels(p, stats).items()}
    raise ConfigError(f"E480 unknown QA data format {fmt!r}; expected squad, bioasq or pubmedqa")


def attach_gold(examples: Sequence[QAExample], golden: dict[str, dict[str, Any]], stats: Counter | None = None) -> list[QAExample]:
    """``examples`` with the question type, gold entries and yes/no label of ``golden`` (:func:`read_golden`), matched
    by question id (``<bioasq id>`` for the passages ``<bioasq id>_<nnn>`` of BioBERT's test files, the PMID for
    PubMedQA).

    Nothing is dropped: a question missing from ``golden`` keeps what it had (``questions_not_in_golden``), and
    golden questions that no example asks are counted (``golden_questions_not_in_data``, and per type
    ``golden_questions_not_in_data_type=X``) since they cannot be answered, hence not scored.
    """
    from dataclasses import replace

    stats = stats if stats is not None else Counter()
    out, seen, missing = [], set(), set()
    for e in examples:
        qid = e.question_id or e.id
        g = golden.get(qid)
        if g is None:
            missing.add(qid)
            out.append(e)
            continue
        seen.add(qid)
        out.append(replace(e, qtype=g["type"], gold=tuple(g["gold"]), label=g["label"]))
    stats["questions_not_in_golden"] += len(missing)
    for qid, g in golden.items():
        if qid not in seen:
            stats["golden_questions_not_in_data"] += 1
            stats[f"golden_questions_not_in_data_type={g['type']}"] += 1
    return out


def merge_duplicate_passages(examples: Sequence[QAExample], stats: Counter | None = None) -> list[QAExample]:
    """One example per (question id, passage text): later rows with the same question and passage are dropped and
    counted (``duplicate_passages_dropped``), first-seen order kept.

    A repeated passage would train twice, and at test time its n-best answers would be pooled twice, so an answer
    found in a repeated snippet would get twice the probability. BioBERT's 7b factoid file repeats a snippet once
    per answer occurrence (631 of its 4,231 rows; the same snippet with the answer at another offset): the answer
    spans of a dropped row that the kept row lacks are added to it, after its own
    (``duplicate_passage_answers_merged``), so no answer is lost; the kept row's first answer stays the training
    target. A dropped row whose yes/no label differs from the kept one's is counted too
    (``duplicate_passages_with_other_label``): the first row's label is kept.
    """
    from dataclasses import replace

    stats = stats if stats is not None else Counter()
    kept: dict[tuple[str, str], int] = {}
    out: list[QAExample] = []
    for e in examples:
        key = (e.question_id or e.id, e.context)
        j = kept.get(key)
        if j is None:
            kept[key] = len(out)
            out.append(e)
            continue
        stats["duplicate_passages_dropped"] += 1
        first = out[j]
        have = {(a.start, a.end) for a in first.answers}
        new = tuple(a for a in e.answers if (a.start, a.end) not in have)
        if new:
            stats["duplicate_passage_answers_merged"] += len(new)
            first = replace(first, answers=first.answers + new)
        if e.label != first.label:
            stats["duplicate_passages_with_other_label"] += 1
        out[j] = first
    return out


def count_duplicate_passages(examples: Sequence[QAExample], stats: Counter) -> list[QAExample]:
    """Training examples as they are, with the rows that repeat a (question id, passage) counted
    (``duplicate_passages_trained``).

    Training keeps them, as BioBERT did: its 7b factoid file repeats a snippet once per occurrence of the answer,
    and each row teaches another answer position. Evaluation merges them (:func:`merge_duplicate_passages`),
    where a repeat would pool the same answers twice."""
    seen: set[tuple[str, str]] = set()
    for e in examples:
        key = (e.question_id or e.id, e.context)
        if key in seen:
            stats["duplicate_passages_trained"] += 1
        seen.add(key)
    return list(examples)


def cv_folds_by_question(examples: Sequence[QAExample], k: int, seed: int = 0) -> list[list[str]]:
    """Question ids cut into ``k`` folds after a seeded shuffle (all passages of a question stay together)."""
    qids = list(group_by_question(examples))
    random.Random(seed).shuffle(qids)
    return [qids[j::k] for j in range(k)]


def evaluate_qa(predictor: Any, examples: Sequence[QAExample], task: str, stats: Counter | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Question-level scores of ``predictor`` (see the module docstring). Returns (metrics, answers by question id)."""
    answers = predictor.answer(examples, stats)
    return score_answers(examples, answers, task, predictor.spec.class_labels), answers


def score_answers(examples: Sequence[QAExample], answers: dict[str, Any], task: str,
                  class_labels: Sequence[str] = ("yes", "no"), stats: Counter | None = None) -> dict[str, Any]:
    """Question-level scores of ``answers`` (``{question id: {"answers": [{"text"}...]} | {"answer"}}``, from a
    model or read from a submission with :func:`biobert.io.bioasq.read_bioasq_answers`) against the gold of
    ``examples``.

    A gold question with no answer scores 0 and is counted (``stats["questions_unanswered"]``). A question
    without gold (a factoid/list question with an empty or no ``exact_answer``, a yes/no question without a
    label) cannot be scored: it is left out of every score and of ``n_questions``, and counted
    (``stats["questions_without_gold_skipped"]``, ``n_questions_without_gold``). A prediction of the wrong shape
    for ``task`` (no ``answer`` for yes/no, no ``answers`` for factoid/list) scores 0 and is counted
    (``predictions_without_yesno_answer`` / ``predictions_without_span_answers``).

    Raises:
        ConfigError: E481 ``task`` is not factoid, list or yesno.
    """
    from biobert import metrics as M

    if task not in TASKS:
        raise ConfigError(f"E481 QA task must be one of {TASKS}, got {task!r}")
    stats = stats if stats is not None else Counter()
    all_groups = group_by_question(examples)
    groups = {q: exs for q, exs in all_groups.items() if _has_gold(exs[0], task)}
    # nothing to compare with: scoring these as wrong would understate every score
    n_without_gold = len(all_groups) - len(groups)
    stats["questions_without_gold_skipped"] += n_without_gold
    missing = [q for q in groups if q not in answers]
    stats["questions_unanswered"] += len(missing)
    needed = "answer" if task == "yesno" else "answers"
    bad_shape = [q for q in groups if q in answers and needed not in answers[q]]
    if bad_shape:
        stats["predictions_without_yesno_answer" if task == "yesno" else "predictions_without_span_answers"] += len(bad_shape)
    if task == "yesno":
        gold = [exs[0].label for exs in groups.values()]
        pred = [answers[q].get("answer") or "" if q in answers else "" for q in groups]
        out: dict[str, Any] = M.yesno_scores(gold, pred, None if len(class_labels) > 2 else class_labels)
        out["metric"] = "accuracy; macro-F1 over " + ("the labels present (sklearn average='macro')" if len(class_labels) > 2 else "yes and no")
    else:
        gold = [exs[0].gold for exs in groups.values()]
        pred = [[a["text"] for a in answers[q].get("answers", [])] if q in answers else [] for q in groups]
        if task == "factoid":
            out = M.factoid_scores(gold, pred)
            out["metric"] = "BioASQ factoid: strict accuracy (top 1), lenient accuracy (top 5), MRR (top 5); lower-cased exact match"
        else:
            out = M.list_scores(gold, pred)
            out["metric"] = "BioASQ list: mean P/R/F1 over questions"
    out["n_questions"] = len(groups)
    out["n_questions_without_gold"] = n_without_gold
    out["n_passages"] = len(examples)
    return out


def _has_gold(e: QAExample, task: str) -> bool:
    """Whether a question (its first passage) can be scored: a yes/no label, or gold answer entries."""
    return e.label is not None if task == "yesno" else bool(e.gold)


def require_scoreable(examples: Sequence[QAExample], task: str, where: str, path: Any) -> None:
    """Refuse (before any training) an evaluation split none of whose questions has gold to score against.

    Every score would be 0 over no question: dev selection would pick the first epoch, and a test score of 0
    would read as a result.

    Raises:
        TrainingError: E535 ``examples`` are not empty but no question has gold.
    """
    groups = group_by_question(examples)
    if groups and not any(_has_gold(exs[0], task) for exs in groups.values()):
        hint = (" Test files such as BioBERT's BioASQ-test-*.json carry no answers: set data.golden to the official "
                "golden file (7B1_golden.json; PubMedQA: test_ground_truth.json)" if where.startswith("data.test") else "")
        raise TrainingError(f"E535 {where} {path}: none of its {len(groups)} {task} question(s) has a gold answer "
                            f"to score.{hint}")


def combine_batches(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Mean over test batches of every numeric score (how BioASQ results are reported per year); the batches
    weigh equally, whatever their number of questions."""
    keys = [k for k, v in results[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("n_")]
    return {k: sum(float(r[k]) for r in results) / len(results) for k in keys}


def _card(cfg: QAConfig, spec: Any, test: dict[str, Any] | None, command: str | None) -> str:
    lines = [f"# {cfg.name or 'biobert QA model'}", "",
             f"Question-answering model fine-tuned with `biobert` (task `{cfg.task}`).", "",
             f"* Encoder: `{cfg.encoder}`; span head: {spec.span}; classification labels: {spec.class_labels or 'none'}",
             f"* max_length {spec.max_length}, "
             + (f"doc_stride {spec.doc_stride} (step between windows)" if spec.doc_stride is not None
                else f"stride {spec.stride} (overlap of windows)")
             + f", max_query_length {spec.max_query_length}, "
             f"n_best {spec.n_best}, max_answer_length {spec.max_answer_length}",
             f"* {describe_training(cfg.train)}"
             + (f"; first stage on `{cfg.pre_stage.train}`" if cfg.pre_stage else ""), "", "## Test results", ""]
    lines += [json.dumps({k: v for k, v in test.items() if not isinstance(v, (dict, list))}), ""] if test else ["(no test set configured)", ""]
    for b in (test or {}).get("batches", []):  # BioASQ test batches: each one, then their mean above
        lines += [f"* `{Path(b['file']).name}`: " + json.dumps({k: v for k, v in b.items() if k != "file" and not isinstance(v, (dict, list))})]
    if test and test.get("batches"):
        lines.append("")
    lines += ["## Use", "", "```python", "from biobert import Reader", "reader = Reader.load('<this directory>')",
              "reader('Which gene is mutated in cystic fibrosis?', ['Mutations in the CFTR gene cause cystic fibrosis.'])",
              "```", "", "## Reproduce", "", "```", command or "biobert finetune qa --config <config.yaml>", "```", ""]
    return "\n".join(lines)


def _spec_for(cfg: QAConfig, examples: Sequence[QAExample]) -> Any:
    from biobert.tasks.qa import ANSWER_CLEANUPS, QASpec

    if cfg.task not in TASKS:
        raise ConfigError(f"E481 QA task must be one of {TASKS}, got {cfg.task!r}")
    if cfg.answer_cleanup not in ANSWER_CLEANUPS:
        raise ConfigError(f"E489 answer_cleanup must be one of {ANSWER_CLEANUPS}, got {cfg.answer_cleanup!r}")
    labels: list[str] = []
    if cfg.task == "yesno":
        labels = list(cfg.class_labels) if cfg.class_labels else (
            ["yes", "no", "maybe"] if cfg.data.format == "pubmedqa" or any(e.label == "maybe" for e in examples) else ["yes", "no"])
    seen = {e.label for e in examples if e.label is not None}
    if labels and not seen <= set(labels):
        raise ConfigError(
            f"E484 class_labels {labels} do not include the training labels {sorted(seen)} "
            "(in YAML quote them: [\"yes\", \"no\"]; bare yes/no are read as booleans)"
        )
    return QASpec(span=cfg.task != "yesno", class_labels=labels, max_length=cfg.max_length, stride=cfg.stride,
                  max_query_length=cfg.max_query_length, doc_stride=cfg.doc_stride, n_best=cfg.n_best, max_answer_length=cfg.max_answer_length,
                  max_answer_chars=cfg.max_answer_chars, list_threshold=cfg.list_threshold, list_top_k=cfg.list_top_k,
                  cls_pooling=cfg.cls_pooling, answer_cleanup=cfg.answer_cleanup)


def _load_splits(cfg: QAConfig, stats: dict[str, Counter]) -> tuple[dict[str, list[QAExample]], list[Path], list[list[QAExample]]]:
    """Train, dev and (all batches of) test examples, the files read, and the test examples per batch."""
    types = cfg.data.types or [cfg.task]
    splits, files = {}, []
    from biobert.train import require_data_path

    batches = cfg.data.test_batches()
    for s in ("train", "dev"):  # every configured path is checked before any is read (E423)
        if getattr(cfg.data, s):
            require_data_path(expand_path(getattr(cfg.data, s)), f"data.{s}")
    for i, (t, g) in enumerate(batches):
        where = "data.test" if isinstance(cfg.data.test, str) else f"data.test.{i}"
        require_data_path(expand_path(t), where)
        if g is not None:
            require_data_path(expand_path(g), where.replace("test", "golden"))

    def keep_types(exs: list[QAExample]) -> list[QAExample]:
        return exs if cfg.data.format == "pubmedqa" else [e for e in exs if e.qtype in types]

    for s in ("train", "dev"):
        p = getattr(cfg.data, s)
        # repeated (question, passage) rows: trained as BioBERT did, merged where they are scored
        once = count_duplicate_passages if s == "train" else merge_duplicate_passages
        splits[s] = once(keep_types(read_qa(cfg.data.format, p, types, stats[s], realign=cfg.data.realign_answers)),
                         stats[s]) if p else []
        if p:
            files.append(expand_path(p))
    per_batch: list[list[QAExample]] = []
    for t, g in batches:
        # with a golden file the test file may carry no answers (BioBERT's test batches, the PubMedQA test half);
        # the golden file gives each question its type, so the type filter comes after it
        exs = read_qa(cfg.data.format, t, types, stats["test"], labelled=g is None, realign=cfg.data.realign_answers)
        files.append(expand_path(t))
        if g is not None:
            exs = attach_gold(exs, read_golden(cfg.data.format, g, stats["test"]), stats["test"])
            files.append(expand_path(g))
        per_batch.append(merge_duplicate_passages(keep_types(exs), stats["test"]))
    splits["test"] = [e for b in per_batch for e in b]
    return splits, files, per_batch


def question_ids_sha256(examples: Sequence[QAExample]) -> str:
    """A hash of the question ids of ``examples`` (order-free): what a QA run trained on, for resume and CV."""
    return hashlib.sha256("\n".join(sorted({str(e.question_id or e.id) for e in examples})).encode()).hexdigest()


def examples_sha256(examples: Sequence[QAExample]) -> str:
    """A hash of what ``examples`` teach (ids, questions, passages, answers, gold, labels; order-free): an answer
    fixed or a label changed under the same question ids gives another hash."""
    rows = sorted(json.dumps([e.id, e.question_id, e.qtype, e.question, e.context, [(a.start, a.end) for a in e.answers],
                              [list(g) for g in e.gold], e.label], ensure_ascii=False) for e in examples)
    return hashlib.sha256("\n".join(rows).encode("utf-8", "surrogatepass")).hexdigest()


def _limit(examples: list[QAExample], n: int | None) -> list[QAExample]:
    if not n:
        return examples
    keep = set(list(group_by_question(examples))[:n])
    return [e for e in examples if (e.question_id or e.id) in keep]


def finetune_qa(cfg: QAConfig, resume: bool = True, command: str | None = None, progress: bool = True,
                splits: dict[str, list[QAExample]] | None = None) -> dict[str, Any]:
    """Fine-tune, evaluate and save one QA model. ``splits`` overrides reading the configured files (used by CV)."""
    from biobert.encoders import load_tokenizer
    from biobert.modeldir import save_model_dir
    from biobert.report import data_record, write_report
    from biobert.tasks.qa import QAPredictor, build_qa_features, check_max_length, new_qa_model, qa_collate, qa_loss
    from biobert.train import Trainer, require_data_path, encoder_fingerprint, run_fingerprint, set_seed

    t0 = time.time()
    set_seed(cfg.train.seed)
    if cfg.pre_stage is not None:  # checked before any model loads (E423)
        require_data_path(expand_path(cfg.pre_stage.train), "pre_stage.train")
    stats: dict[str, Counter] = {s: Counter() for s in ("pre_stage", "train", "dev", "test")}
    files: list[Path] = []
    test_batches: list[list[QAExample]] | None = None
    if splits is None:
        splits, files, test_batches = _load_splits(cfg, stats)
    splits = dict(splits)
    splits["train"] = _limit(splits["train"], cfg.data.limit_questions)
    if not splits["train"]:
        src = ", ".join(str(f) for f in files) or str(cfg.data.train)
        raise TrainingError(f"E534 no QA training examples were read from {src} (format {cfg.data.format}, task "
                            f"{cfg.task}; counts: {dict(stats['train']) or 'nothing read'})")
    # checked before training: hours of training then scores of 0 over no question would read as a result
    require_scoreable(splits["dev"], cfg.task, "data.dev", cfg.data.dev or "(the dev split)")
    if test_batches is not None:
        for i, ((path, _), batch) in enumerate(zip(cfg.data.test_batches(), test_batches)):
            # named as the path check (_load_splits) names it
            require_scoreable(batch, cfg.task, "data.test" if isinstance(cfg.data.test, str) else f"data.test.{i}", path)
    else:
        require_scoreable(splits["test"], cfg.task, "data.test", "(the test split)")
    spec = _spec_for(cfg, splits["train"])
    tcfg = copy.deepcopy(cfg.train)
    if tcfg.select_metric in ("auto", "f1"):  # list questions: "auto" is their f1 (it was left "auto": KeyError)
        tcfg.select_metric = DEFAULT_SELECT[cfg.task]
    tokenizer = load_tokenizer(cfg.encoder)
    model = new_qa_model(cfg.encoder, len(spec.class_labels), cfg.dropout, spec.cls_pooling)
    check_max_length(spec, model, tokenizer)  # before any training, not at the first long passage
    pad = tokenizer.pad_token_id or 0
    collate = lambda b: qa_collate(b, pad)  # noqa: E731
    out = Path(cfg.out)
    # what the run is: a checkpoint made with anything else is not resumed (E504); the test file only scores it.
    # The training questions are named too: cross-validation passes its folds' splits, not files.
    qids = question_ids_sha256(splits["train"])
    fingerprint = run_fingerprint(
        to_dict(cfg), {f"data.{s}": expand_path(getattr(cfg.data, s)) if getattr(cfg.data, s) else None for s in ("train", "dev")}
        | ({"pre_stage.train": expand_path(cfg.pre_stage.train)} if cfg.pre_stage is not None else {}),
        exclude=("data.test", "data.golden"), train_questions=qids, class_labels=list(spec.class_labels), select_metric=tcfg.select_metric,
        **encoder_fingerprint(cfg.encoder, tokenizer))  # the encoder's weights and vocabulary, not only its path
    stage_summary = None
    if cfg.pre_stage is not None:
        st = cfg.pre_stage
        stage_ex = count_duplicate_passages(read_qa(st.format, st.train, None, stats["pre_stage"]), stats["pre_stage"])
        files.append(expand_path(st.train))
        stage_feats = build_qa_features(stage_ex, tokenizer, spec, stats["pre_stage"], train_span=True)
        stage_cfg = TrainConfig(lr=st.lr, epochs=st.epochs, batch_size=st.batch_size, max_steps=st.max_steps,
                                seed=cfg.train.seed, warmup_ratio=cfg.train.warmup_ratio, log_every=cfg.train.log_every,
                                checkpoint_every=cfg.train.checkpoint_every)
        stage_summary = Trainer(model, stage_feats, collate, qa_loss, None, out / "stage-pre", stage_cfg, progress=progress,
                                fingerprint=fingerprint).train(resume=resume)
    feats = build_qa_features(splits["train"], tokenizer, spec, stats["train"])
    if not feats:
        raise TrainingError("E534 no QA training features could be built (no answers found in the passages?)")
    predictor = QAPredictor(model, tokenizer, spec)

    def evaluate(m: Any) -> dict[str, Any]:
        return evaluate_qa(predictor, splits["dev"], cfg.task)[0]

    summary = Trainer(model, feats, collate, qa_loss, evaluate if splits["dev"] else None, out, tcfg, progress=progress,
                      fingerprint=fingerprint).train(resume=resume)
    if not distributed.is_main():  # data-parallel run: process 0 tests and saves
        return distributed.wait_for_report(out / "report.json")
    model.eval()
    test = None
    if test_batches is not None and len(test_batches) > 1:
        # BioASQ reports each test batch and their mean (every batch weighs the same): the paper's protocol
        results, answers = [], {}
        for path, batch in zip(cfg.data.test_batches(), test_batches):
            r, a = evaluate_qa(predictor, batch, cfg.task, stats["test"])
            results.append({"file": path[0], **r})
            answers.update(a)
        test = {**combine_batches(results), "n_questions": sum(r["n_questions"] for r in results),
                "n_batches": len(results), "aggregation": "mean over test batches", "batches": results}
        (out / "test_answers.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif splits["test"]:
        test, answers = evaluate_qa(predictor, splits["test"], cfg.task, stats["test"])
        (out / "test_answers.json").write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    meta = {"task": "qa", "qa_task": cfg.task, "encoder": cfg.encoder, **spec.to_meta()}
    save_model_dir(out, model, tokenizer, meta, _card(cfg, spec, test, command), half=cfg.save_half)
    report = {
        "task": "qa",
        "qa_task": cfg.task,
        "command": command,
        "config": to_dict(cfg),
        "seed": cfg.train.seed,
        "select_metric": tcfg.select_metric if splits["dev"] else None,
        "data": data_record([f for f in files if f.is_file()]),
        "spec": spec.to_meta(),
        "counts": {s: dict(c) for s, c in stats.items()},
        "questions": {s: len(group_by_question(v)) for s, v in splits.items()},
        "train_questions_sha256": qids,
        "train_examples_sha256": examples_sha256(splits["train"]),
        "test_examples_sha256": examples_sha256(splits["test"]),
        "passages": {s: len(v) for s, v in splits.items()},
        "pre_stage": stage_summary,
        "train": summary,
        "best_dev": summary["best_dev"],
        "test": test,
        "wall_seconds": round(time.time() - t0, 1),
    }
    write_report(out / "report.json", report)
    distributed.barrier()  # releases the other processes (distributed.wait_for_report)
    return report


def _fold_counts(test: dict[str, Any], n_in_fold: int) -> dict[str, int | None]:
    """A fold's question counts for ``cv_report.json``: ``n_test_questions`` the questions its scores are over,
    ``n_questions_without_gold`` those of the fold that have no gold answer and were left out of every score
    (:func:`score_answers`), and ``n_questions_in_fold`` all of them (the two before, summed)."""
    return {"n_test_questions": test.get("n_questions"), "n_questions_without_gold": test.get("n_questions_without_gold"),
            "n_questions_in_fold": n_in_fold}


def cv_qa(cfg: QAConfig, resume: bool = True, command: str | None = None, progress: bool = True,
          only_folds: Sequence[int] | None = None) -> dict[str, Any]:
    """k-fold cross-validation by question over ``data.train`` (``data.cv_folds`` folds) into ``out/fold-<j>``.

    ``only_folds`` runs some folds (0-based); the report still covers every fold finished earlier in the same
    directory with the same settings (read from its ``fold-<j>/report.json``), says which folds are missing, and
    gives the mean over the folds it has. Per fold, ``n_test_questions`` counts the questions scored and
    ``n_questions_without_gold`` those left out of the scores for want of gold. Repeated (question, passage) rows
    train as they are (counted: ``duplicate_passages_trained``) and are merged in each test fold
    (:func:`merge_duplicate_passages`).

    Raises:
        ConfigError: E482 fewer than 2 folds, no data.train, or a fold number outside 0..k-1.
    """
    from biobert.metrics import mean_sd
    from biobert.report import data_record, write_report

    k = cfg.data.cv_folds
    if not k or k < 2:
        raise ConfigError("E482 cross-validation needs data.cv_folds >= 2")
    if not cfg.data.train:
        raise ConfigError("E482 cross-validation needs data.train")
    # cross-validation trains and scores on folds of data.train only: say so instead of dropping the files quietly
    ignored = {f"data.{s}": str(getattr(cfg.data, s)) for s in ("dev", "test") if getattr(cfg.data, s)}
    if ignored:
        log.warning("cross-validation uses data.train only; not read: %s", ignored)
    t0 = time.time()
    stats: Counter = Counter()
    types = cfg.data.types or [cfg.task]
    examples = read_qa(cfg.data.format, cfg.data.train, types, stats, realign=cfg.data.realign_answers)
    if cfg.data.format != "pubmedqa":
        examples = [e for e in examples if e.qtype in types]
    examples = _limit(count_duplicate_passages(examples, stats), cfg.data.limit_questions)
    # a fold trains on every row of its questions (as BioBERT did) and is scored on each passage once
    scored = merge_duplicate_passages(examples, stats)
    if only_folds is not None:
        bad = sorted({j for j in only_folds if not 0 <= j < k})
        if bad:
            raise ConfigError(f"E482 fold(s) {bad} do not exist: data.cv_folds is {k}, so folds are numbered 0..{k - 1}")
    folds = cv_folds_by_question(examples, k, cfg.data.cv_seed)
    keys = {"factoid": ("strict_accuracy", "lenient_accuracy", "mrr"), "list": ("precision", "recall", "f1"),
            "yesno": ("accuracy", "macro_f1")}[cfg.task]
    per_fold: dict[str, Any] = {}
    earlier: list[int] = []
    for j, test_q in enumerate(folds):
        tq = set(test_q)
        fcfg = copy.deepcopy(cfg)
        fcfg.out = str(Path(cfg.out) / f"fold-{j}")
        fcfg.data.limit_questions = None
        if only_folds is not None and j not in only_folds:
            # a fold finished by an earlier run with these settings stays in the report (it was overwritten)
            prev = Path(fcfg.out) / "report.json"
            rep = json.loads(prev.read_text(encoding="utf-8")) if prev.is_file() else None
            # the same settings and the same examples (a label fixed in the file changes the train or test hash)
            same = rep is not None and rep.get("config") == json.loads(json.dumps(to_dict(fcfg))) \
                and rep.get("train_examples_sha256") == examples_sha256([e for e in examples if e.question_id not in tq]) \
                and rep.get("test_examples_sha256") == examples_sha256([e for e in scored if e.question_id in tq])
            if same and rep.get("test"):
                per_fold[str(j)] = {m: rep["test"][m] for m in keys}
                per_fold[str(j)].update(_fold_counts(rep["test"], len(tq)), train_seconds=rep["train"]["train_seconds"],
                                        tokens_per_second=rep["train"]["tokens_per_second"], from_earlier_run=True)
                earlier.append(j)
            continue
        sp = {"train": [e for e in examples if e.question_id not in tq], "dev": [], "test": [e for e in scored if e.question_id in tq]}
        rep = finetune_qa(fcfg, resume=resume, command=command, progress=progress, splits=sp)
        per_fold[str(j)] = {m: rep["test"][m] for m in keys}
        per_fold[str(j)].update(_fold_counts(rep["test"], len(tq)), train_seconds=rep["train"]["train_seconds"],
                                tokens_per_second=rep["train"]["tokens_per_second"])
        if progress:
            print(f"[cv] fold {j}: " + " ".join(f"{m} {rep['test'][m]:.4f}" for m in keys), file=sys.stderr, flush=True)
    summary = {
        "task": "qa",
        "qa_task": cfg.task,
        "command": command,
        "config": to_dict(cfg),
        "data": data_record([expand_path(cfg.data.train)]),
        "counts": dict(stats),
        "folds": k,
        "folds_missing": [j for j in range(k) if str(j) not in per_fold],
        "folds_from_earlier_runs": earlier,
        "not_read_in_cv": ignored,
        "per_fold": per_fold,
        "mean": {m: mean_sd([v[m] for v in per_fold.values()]) for m in keys},
        "wall_seconds": round(time.time() - t0, 1),
    }
    write_report(Path(cfg.out) / "cv_report.json", summary)
    return summary
