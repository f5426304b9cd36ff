import random

import pytest

from biobert.metrics import conlleval_scores, entity_scores


def test_hand_computed():
    gold = [["B-D", "I-D", "O", "B-C"], ["O", "B-D"]]
    pred = [["B-D", "I-D", "O", "O"], ["B-C", "I-D"]]  # second sentence: B-C then I-D (new chunk D at 1)
    m = conlleval_scores(gold, pred)
    # gold chunks: (0,0-2,D) (0,3-4,C) (1,1-2,D); pred: (0,0-2,D) (1,0-1,C) (1,1-2,D)
    assert m["tp"] == 2 and m["n_pred"] == 3 and m["n_gold"] == 3
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["per_type"]["C"]["f1"] == 0.0
    assert m["per_type"]["D"]["f1"] == 1.0


def test_agrees_with_seqeval_strict_on_random_sequences():
    seqeval = pytest.importorskip("seqeval.metrics")
    from seqeval.scheme import IOB2

    rng = random.Random(7)
    labels = ["O", "O", "O", "B-Dis", "I-Dis", "B-Chem", "I-Chem"]
    gold, pred = [], []
    for _ in range(300):
        n = rng.randint(1, 15)
        g = [rng.choice(labels) for _ in range(n)]
        # seqeval strict IOB2 rejects invalid gold; repair gold into valid BIO
        for i, t in enumerate(g):
            if t.startswith("I-") and (i == 0 or g[i - 1] == "O" or g[i - 1][2:] != t[2:]):
                g[i] = "B-" + t[2:]
        p = [t if rng.random() < 0.7 else rng.choice(labels) for t in g]
        for i, t in enumerate(p):  # keep predictions valid too: strict mode differs on invalid I by design
            if t.startswith("I-") and (i == 0 or p[i - 1] == "O" or p[i - 1][2:] != t[2:]):
                p[i] = "B-" + t[2:]
        gold.append(g)
        pred.append(p)
    ours = conlleval_scores(gold, pred)
    assert ours["precision"] == pytest.approx(seqeval.precision_score(gold, pred, mode="strict", scheme=IOB2))
    assert ours["recall"] == pytest.approx(seqeval.recall_score(gold, pred, mode="strict", scheme=IOB2))
    assert ours["f1"] == pytest.approx(seqeval.f1_score(gold, pred, mode="strict", scheme=IOB2))


def test_agrees_with_seqeval_default_mode_on_invalid_sequences():
    # seqeval's default (non-strict) mode is a port of conlleval: invalid I-after-O starts a chunk
    seqeval = pytest.importorskip("seqeval.metrics")
    rng = random.Random(3)
    labels = ["O", "B-A", "I-A", "I-B", "B-B"]
    gold = [[rng.choice(labels) for _ in range(rng.randint(1, 12))] for _ in range(300)]
    pred = [[t if rng.random() < 0.6 else rng.choice(labels) for t in g] for g in gold]
    assert conlleval_scores(gold, pred)["f1"] == pytest.approx(seqeval.f1_score(gold, pred))


def test_empty():
    assert entity_scores([], [])["f1"] == 0.0


def test_percent_rounds_the_table_figures():
    from biobert.metrics import percent, prf

    assert percent(prf(2, 3, 4)) == {"precision": 66.67, "recall": 50.0, "f1": 57.14}
    assert percent({"accuracy": 0.5526}, keys=("accuracy",), digits=1) == {"accuracy": 55.3}


def test_untyped_i_after_o_matches_and_per_type_precision_and_recall_are_not_swapped():
    assert conlleval_scores([["O", "B", "I"]], [["O", "I", "I"]])["tp"] == 1
    m = conlleval_scores([["B-A", "O", "O"]], [["B-A", "O", "B-A"]])["per_type"]["A"]
    assert (m["precision"], m["recall"], m["n_pred"], m["n_gold"]) == (0.5, 1.0, 2, 1)


def test_a_type_only_predicted_still_gets_a_per_type_row():
    s = entity_scores([("d", 0, 2, "A")], [("d", 0, 2, "A"), ("d", 3, 4, "B")])
    assert set(s["per_type"]) == {"A", "B"}
    assert s["per_type"]["B"]["n_pred"] == 1 and s["per_type"]["B"]["precision"] == 0.0


def test_conlleval_rejects_a_sentence_whose_tag_counts_differ():
    with pytest.raises(ValueError, match="sentence 1"):
        conlleval_scores([["B-X"], ["O", "B-X"]], [["B-X"], ["B-X"]])


def test_conlleval_rejects_different_sentence_counts():
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted"):
        conlleval_scores([["B-X"], ["O"]], [["B-X"]])
