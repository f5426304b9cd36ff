"""score_answers on BioASQ gold and submissions: yes/no list forms, questions without gold, wrong shapes."""

import json
from collections import Counter

import pytest

from biobert.errors import ConfigError
from biobert.io.bioasq import read_bioasq, read_bioasq_answers
from biobert.recipes.qa import score_answers


def _write(path, questions):
    path.write_text(json.dumps({"questions": questions}), encoding="utf-8")
    return path


def test_perfect_yesno_submission_in_list_form_scores_one(tmp_path):
    """Gold and submission both write ``["yes"]``: a perfect submission used to score 0.5 (gold label None) or
    crash with KeyError 'answer' (submission)."""
    gold = _write(tmp_path / "gold.json", [
        {"id": "a", "type": "yesno", "body": "Is it?", "exact_answer": ["yes"], "snippets": [{"text": "It is."}]},
        {"id": "b", "type": "yesno", "body": "Is it?", "exact_answer": ["no"], "snippets": [{"text": "It is not."}]}])
    sub = _write(tmp_path / "sub.json", [{"id": "a", "type": "yesno", "exact_answer": ["yes"]},
                                         {"id": "b", "type": "yesno", "exact_answer": ["no"]}])
    res = score_answers(read_bioasq(gold), read_bioasq_answers(sub), "yesno")
    assert res["accuracy"] == 1.0 and res["macro_f1"] == 1.0 and res["n_questions"] == 2


def test_questions_without_gold_are_skipped_and_counted(tmp_path):
    gold = _write(tmp_path / "gold.json", [
        {"id": "f1", "type": "factoid", "body": "Which?", "exact_answer": [["CFTR"]], "snippets": [{"text": "CFTR."}]},
        {"id": "f2", "type": "factoid", "body": "Which?", "exact_answer": [], "snippets": [{"text": "HTT."}]},
        {"id": "f3", "type": "factoid", "body": "Which?", "snippets": [{"text": "APOE."}]}])
    answers = {"f1": {"answers": [{"text": "CFTR"}]}, "f2": {"answers": [{"text": "HTT"}]}}
    stats = Counter()
    res = score_answers(read_bioasq(gold), answers, "factoid", stats=stats)
    # f2 and f3 have no gold: left out (scoring them as wrong would give 1/3)
    assert res["strict_accuracy"] == 1.0 and res["n_questions"] == 1 and res["n_questions_without_gold"] == 2
    assert stats["questions_without_gold_skipped"] == 2 and stats["questions_unanswered"] == 0


def test_predictions_of_the_wrong_shape_score_zero_and_are_counted(tmp_path):
    gold = read_bioasq(_write(tmp_path / "gold.json", [
        {"id": "y", "type": "yesno", "body": "Is it?", "exact_answer": "yes", "snippets": [{"text": "It is."}]},
        {"id": "f", "type": "factoid", "body": "Which?", "exact_answer": "CFTR", "snippets": [{"text": "CFTR."}]}]))
    stats = Counter()
    res = score_answers([e for e in gold if e.qtype == "yesno"], {"y": {"answers": [{"text": "yes"}]}}, "yesno", stats=stats)
    assert res["accuracy"] == 0.0 and stats["predictions_without_yesno_answer"] == 1
    res = score_answers([e for e in gold if e.qtype == "factoid"], {"f": {"answer": "yes"}}, "factoid", stats=stats)
    assert res["mrr"] == 0.0 and stats["predictions_without_span_answers"] == 1
    with pytest.raises(ConfigError, match="E481"):
        score_answers(gold, {}, "summary")


def test_attach_gold_from_a_golden_file_counts_what_does_not_match(tmp_path):
    from biobert.recipes.qa import attach_gold, read_golden, read_qa

    golden = _write(tmp_path / "7B1_golden.json", [
        {"id": "a" * 24, "type": "list", "body": "Which genes?", "exact_answer": [["BRCA1"], ["BRCA2"]], "snippets": []},
        {"id": "b" * 24, "type": "factoid", "body": "Which gene?", "exact_answer": [["CFTR"]], "snippets": []}])
    test = tmp_path / "BioASQ-test-list-7b-1.json"
    test.write_text(json.dumps({"data": [{"paragraphs": [
        {"context": "BRCA1 and BRCA2.", "qas": [{"id": "a" * 24 + "_001", "question": "Which genes?"}]},
        {"context": "Nothing.", "qas": [{"id": "c" * 24 + "_001", "question": "Other?"}]}]}]}))
    stats = Counter()
    exs = attach_gold(read_qa("squad", test, None, stats), read_golden("squad", golden, stats), stats)
    assert [(e.question_id, e.qtype, e.gold) for e in exs] == [("a" * 24, "list", (("BRCA1",), ("BRCA2",))), ("c" * 24, "factoid", ())]
    assert stats["questions_not_in_golden"] == 1 and stats["golden_questions_not_in_data_type=factoid"] == 1
    res = score_answers(exs, {"a" * 24: {"answers": [{"text": "brca1"}, {"text": "BRCA2"}]}}, "list")
    assert res["f1"] == 1.0 and res["n_questions"] == 1 and res["n_questions_without_gold"] == 1


def test_a_submitted_answer_is_scored_by_its_first_synonym_only_as_the_official_evaluator_does(tmp_path):
    # EvaluatorTask1b -e 5 reads submissions with readExactAnswerListOfArraysv3: "only first of synonyms taken
    # into account" (gold synonyms all count)
    gold = read_bioasq(_write(tmp_path / "gold.json", [
        {"id": "f", "type": "factoid", "body": "Which?", "exact_answer": [["IL-6", "interleukin 6"]], "snippets": [{"text": "IL-6."}]},
        {"id": "l", "type": "list", "body": "Which?", "exact_answer": [["A"], ["B"]], "snippets": [{"text": "A and B."}]}]))
    stats = Counter()
    sub = read_bioasq_answers(_write(tmp_path / "sub.json", [
        {"id": "f", "type": "factoid", "exact_answer": [["wrong", "IL-6"], ["x"]]},
        {"id": "l", "type": "list", "exact_answer": [["z", "A"], ["B"]]}]), stats)
    assert stats["submitted_synonyms_not_scored"] == 2
    f = score_answers([e for e in gold if e.qtype == "factoid"], sub, "factoid")
    assert (f["strict_accuracy"], f["lenient_accuracy"], f["mrr"]) == (0.0, 0.0, 0.0)
    sub2 = read_bioasq_answers(_write(tmp_path / "sub2.json", [{"id": "f", "type": "factoid", "exact_answer": [["x"], ["Interleukin 6", "y"]]}]))
    f = score_answers([e for e in gold if e.qtype == "factoid"], sub2, "factoid")
    assert (f["strict_accuracy"], f["lenient_accuracy"], f["mrr"]) == (0.0, 1.0, 0.5)  # any gold synonym still counts
    li = score_answers([e for e in gold if e.qtype == "list"], sub, "list")
    assert (li["precision"], li["recall"], li["f1"]) == (0.5, 0.5, 0.5)
