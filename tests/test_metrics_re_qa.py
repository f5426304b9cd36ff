"""RE / QA metrics on hand-computed cases (and against sklearn where it defines the metric)."""

import pytest

from biobert.metrics import (
    binary_scores,
    chemprot_scores,
    ddi_scores,
    factoid_scores,
    list_scores,
    mean_sd,
    micro_prf_over,
    multilabel_micro_prf,
    yesno_scores,
)


def test_chemprot_micro_excludes_false():
    gold = ["CPR:3", "CPR:4", "False", "CPR:9", "False", "CPR:4"]
    pred = ["CPR:3", "False", "CPR:4", "CPR:9", "False", "CPR:5"]
    m = chemprot_scores(gold, pred)
    # tp: CPR:3, CPR:9 = 2; predicted positives: CPR:3, CPR:4, CPR:9, CPR:5 = 4; gold positives: 4
    assert (m["tp"], m["n_pred"], m["n_gold"]) == (2, 4, 4)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5) and m["f1"] == pytest.approx(0.5)
    assert m["per_label"]["CPR:4"]["n_gold"] == 2 and m["per_label"]["CPR:4"]["tp"] == 0


def test_chemprot_matches_sklearn_micro_with_labels():
    sk = pytest.importorskip("sklearn.metrics")
    gold = ["CPR:3", "CPR:4", "False", "CPR:9", "False", "CPR:4", "CPR:6", "CPR:5", "False"]
    pred = ["CPR:3", "False", "CPR:4", "CPR:9", "False", "CPR:5", "CPR:6", "CPR:5", "CPR:9"]
    p, r, f, _ = sk.precision_recall_fscore_support(gold, pred, labels=["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"], average="micro")
    m = chemprot_scores(gold, pred)
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((p, r, f))


def test_ddi_micro_over_four_types():
    gold = ["effect", "mechanism", "false", "advise", "int", "false"]
    pred = ["effect", "effect", "advise", "advise", "false", "false"]
    m = ddi_scores(gold, pred)
    # tp effect, advise = 2; predicted positives 4; gold positives 4
    assert m["f1"] == pytest.approx(0.5) and m["n_pred"] == 4 and m["n_gold"] == 4


def test_binary_positive_class_and_specificity():
    m = binary_scores(["1", "1", "0", "0", "1"], ["1", "0", "1", "0", "1"])
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(2 / 3) and m["f1"] == pytest.approx(2 / 3)
    assert m["accuracy"] == pytest.approx(3 / 5) and m["specificity"] == pytest.approx(0.5)
    assert binary_scores(["1", "1"], ["1", "0"])["specificity"] is None  # no gold negatives: undefined, not 0
    none = binary_scores(["1", "0"], ["0", "0"])
    assert none["precision"] == 0.0 and none["f1"] == 0.0


def test_micro_over_and_multilabel():
    m = micro_prf_over(["a", "b", "x"], ["a", "a", "b"], ["a", "b"])
    assert (m["tp"], m["n_pred"], m["n_gold"]) == (1, 3, 2)
    ml = multilabel_micro_prf([{"a", "b"}, set(), {"c"}], [{"a"}, {"b"}, {"c", "a"}])
    # gold pairs 3, predicted 4, tp 2
    assert (ml["tp"], ml["n_pred"], ml["n_gold"]) == (2, 4, 3)
    with pytest.raises(ValueError):
        micro_prf_over(["a"], [], ["a"])


def test_factoid_strict_lenient_mrr():
    gold = [[["BRCA1", "breast cancer 1"]], [["TP53"]], [["CFTR"]], [["HTT"]], [["APOE", "apolipoprotein E"]]]
    pred = [
        ["brca1", "x"],                      # top-1 correct (case-insensitive)  -> 1, 1, 1
        ["a", "b", "tp53"],                  # rank 3                            -> 0, 1, 1/3
        ["a", "b", "c", "d", "e", "CFTR"],   # rank 6: beyond the top 5          -> 0, 0, 0
        [],                                   # no answer                         -> 0, 0, 0
        [" APOE", "Apolipoprotein E"],       # surrounding space is not trimmed; synonym at rank 2 -> 0, 1, 1/2
    ]
    m = factoid_scores(gold, pred)
    assert m["strict_accuracy"] == pytest.approx(1 / 5)
    assert m["lenient_accuracy"] == pytest.approx(3 / 5)
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 1 / 2) / 5)


def test_list_mean_prf_uses_up_gold_entries():
    gold = [[["a", "a1"], ["b"], ["c"]], [["x"]]]
    pred = [["A", "a1", "b", "d"], []]
    # q1: "A" -> entry a (tp, entry used up); "a1" -> no entry left with it (fp); "b" tp; "d" fp;
    # entry c not named (fn): P 2/4, R 2/3, F 4/7. q2: empty answer -> 0.
    m = list_scores(gold, pred)
    assert m["precision"] == pytest.approx(0.25)
    assert m["recall"] == pytest.approx(1 / 3)
    assert m["f1"] == pytest.approx((4 / 7) / 2)


def test_yesno_accuracy_and_macro_f1():
    gold = ["yes", "yes", "no", "no", "yes"]
    pred = ["yes", "no", "no", "yes", "yes"]
    m = yesno_scores(gold, pred, ["yes", "no"])
    # F1 yes = 2/3 (P 2/3, R 2/3); F1 no = 1/2 (P 1/2, R 1/2)
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1 / 2) / 2)


def test_yesno_maybe_matches_sklearn_macro():
    sk = pytest.importorskip("sklearn.metrics")
    gold = ["yes", "no", "maybe", "yes", "no", "maybe", "yes"]
    pred = ["yes", "yes", "no", "yes", "no", "yes", "no"]  # "maybe" never predicted: its precision is 0
    m = yesno_scores(gold, pred)
    assert m["macro_f1"] == pytest.approx(sk.f1_score(gold, pred, average="macro", zero_division=0))
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(gold, pred))


def test_mean_sd():
    assert mean_sd([1.0, 2.0, 3.0]) == {"mean": 2.0, "sd": 1.0, "n": 3}
    assert mean_sd([0.5])["sd"] == 0.0
    assert mean_sd([]) == {"mean": None, "sd": None, "n": 0}  # not a score of 0
    assert mean_sd([None, 0.5, None]) == {"mean": 0.5, "sd": 0.0, "n": 1}  # a fold or seed without a score
    assert mean_sd([mean_sd([])["mean"]])["n"] == 0


def test_submitted_answers_with_synonyms_match_on_any_of_them():
    """``ExactAnswer.containsAnswerSynonym``: a submitted answer ``["x", "CFTR"]`` is right when any of its synonyms
    is a gold synonym; only its first one used to be compared (rank 2 below was scored as a miss)."""
    gold = [[["CFTR", "cystic fibrosis transmembrane conductance regulator"]]]
    m = factoid_scores(gold, [["chloride", ["x", "Cystic fibrosis transmembrane conductance regulator"], "CFTR"]])
    assert m["strict_accuracy"] == 0 and m["lenient_accuracy"] == 1 and m["mrr"] == pytest.approx(1 / 2)
    m = list_scores([[["BRCA1"], ["BRCA2", "FANCD1"]]], [[["breast cancer 1", "brca1"], ["FANCD1"]]])
    assert m["precision"] == 1 and m["recall"] == 1


def test_list_second_pass_uses_up_predictions_as_the_official_evaluator_does():
    # gold names A three times, one prediction A: tp 1 (first pass); second pass: the prediction excuses one of
    # the two entries left and is used up, the other is a false negative -> R 1/2 (not 1)
    m = list_scores([[["A"], ["A"], ["A"]]], [["A"]])
    assert (m["precision"], m["recall"]) == (1.0, 0.5)
    # a prediction may excuse an entry left whose synonym it shares (gold [A, X], [X]; predicted X): R 1
    m = list_scores([[["A", "X"], ["X"]]], [["x"]])
    assert (m["precision"], m["recall"]) == (1.0, 1.0)


def test_binary_counts_every_non_positive_prediction_on_a_negative_as_a_true_negative():
    from biobert.metrics import binary_scores

    s = binary_scores(["0", "0", "1"], ["2", "0", "1"])  # "2" is not the positive class: a negative, rightly
    assert s["accuracy"] == 1.0 and s["specificity"] == 1.0


def test_multilabel_restricts_gold_as_well_as_predictions_to_the_labels():
    from biobert.metrics import multilabel_micro_prf

    s = multilabel_micro_prf([["a", "b"], ["c"]], [["a"], ["c"]], labels=["a", "c"])
    assert (s["tp"], s["n_pred"], s["n_gold"], s["recall"]) == (2, 2, 2, 1.0)


def test_an_unanswered_question_is_wrong_but_no_class_of_the_macro_average():
    from biobert.metrics import yesno_scores

    s = yesno_scores(["yes", "no", "no"], ["yes", "", "no"])
    assert set(s["per_label"]) == {"yes", "no"}
    assert s["macro_f1"] == pytest.approx((1.0 + 2 / 3) / 2) and s["accuracy"] == pytest.approx(2 / 3)
