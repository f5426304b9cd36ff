"""QA readers: SQuAD (BioBERT BioASQ files), official BioASQ JSON, PubMedQA."""

import io as stdio
import json
from collections import Counter

import pytest

from biobert.errors import DataFormatError
from biobert.io.bioasq import find_answers, normalise_exact_answer, read_bioasq
from biobert.io.pubmedqa import read_pubmedqa
from biobert.io.squad import read_squad

QID = "56bc751eac7ad10019000013"


def squad_obj():
    return {
        "version": "BioASQ8b",
        "data": [
            {
                "paragraphs": [
                    {"context": "Acrokeratosis paraneoplastica (Bazex syndrome): a case.",
                     "qas": [{"id": f"{QID}_001", "question": "Synonym?", "answers": [{"text": "Bazex syndrome", "answer_start": 31}]}]},
                    {"context": "Bazex Syndrome is rare.",
                     "qas": [{"id": f"{QID}_002", "question": "Synonym?", "answers": [{"text": "Bazex Syndrome", "answer_start": 0}]}]},
                    {"context": "Other text about CFTR.",
                     "qas": [{"id": "q-plain", "question": "Gene?", "answers": [{"text": "CFTR", "answer_start": 17}]}]},
                ]
            }
        ],
    }


def test_squad_groups_bioasq_ids_and_builds_gold(tmp_path):
    p = tmp_path / "train.json"
    p.write_text(json.dumps(squad_obj()), encoding="utf-8")
    stats = Counter()
    exs = read_squad(p, stats=stats)
    assert [e.question_id for e in exs] == [QID, QID, "q-plain"]
    assert stats["examples"] == 3 and stats["questions"] == 2
    a = exs[0].answers[0]
    assert exs[0].context[a.start : a.end] == "Bazex syndrome"
    assert exs[0].gold == (("Bazex syndrome", "Bazex Syndrome"),) == exs[1].gold
    assert exs[2].gold == (("CFTR",),)
    none = read_squad(p, question_id_sep=None)
    assert none[0].question_id == f"{QID}_001"


def test_squad_errors(tmp_path):
    bad = squad_obj()
    bad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 30
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(DataFormatError) as ei:
        read_squad(p)
    assert ei.value.code == "E271" and "realign_answers" in str(ei.value)
    # an answer one character off is moved to its text when asked, and counted; too far off is still E271
    stats = Counter()
    exs = read_squad(p, realign=2, stats=stats)
    a = exs[0].answers[0]
    assert exs[0].context[a.start:a.end] == "Bazex syndrome" and a.start == 31 and stats["answers_realigned"] == 1
    with pytest.raises(DataFormatError, match="E271"):
        read_squad(p, realign=0)
    bad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 20
    p.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(DataFormatError, match="E271"):
        read_squad(p, realign=5)  # 11 characters away
    with pytest.raises(DataFormatError) as ei:
        read_squad(stdio.StringIO('{"data": [{"paragraphs": [{"qas": []}]}]}'))
    assert ei.value.code == "E270"
    with pytest.raises(DataFormatError) as ei:
        read_squad(stdio.StringIO('{"data": [\n oops'))
    assert ei.value.code == "E274" and ei.value.line == 2


def bioasq_obj():
    return {
        "questions": [
            {"id": "f1", "type": "factoid", "body": "Which gene causes cystic fibrosis?",
             "exact_answer": [["CFTR", "cystic fibrosis transmembrane conductance regulator"]],
             "ideal_answer": ["CFTR."],
             "snippets": [{"text": "Mutations in the cftr gene cause it.", "document": "http://x/1"},
                          {"text": "Unrelated snippet."}]},
            {"id": "f2", "type": "factoid", "body": "Old style?", "exact_answer": ["TP53", "p53"],
             "snippets": [{"text": "The p53 protein and TP53 gene."}]},
            {"id": "l1", "type": "list", "body": "List genes.", "exact_answer": [["BRCA1"], ["BRCA2", "FANCD1"]],
             "snippets": [{"text": "BRCA1 and FANCD1 are genes."}]},
            {"id": "y1", "type": "yesno", "body": "Is it?", "exact_answer": "Yes", "snippets": [{"text": "It is."}]},
            {"id": "s1", "type": "summary", "body": "Describe.", "ideal_answer": ["It is."], "snippets": [{"text": "Text."}]},
            {"id": "e1", "type": "factoid", "body": "No snippets?", "exact_answer": [["x"]], "snippets": []},
        ]
    }


def test_bioasq_types_gold_and_answers(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps(bioasq_obj()), encoding="utf-8")
    stats = Counter()
    exs = read_bioasq(p, stats=stats)
    by = {e.id: e for e in exs}
    f1 = by["f1_001"]
    assert f1.question_id == "f1" and f1.qtype == "factoid" and f1.metadata["document"] == "http://x/1"
    assert [(a.start, a.end, a.text) for a in f1.answers] == [(17, 21, "cftr")]
    assert by["f1_002"].answers == () and stats["snippets_without_answer"] == 1
    assert by["f2_001"].gold == (("TP53", "p53"),)
    assert [a.text for a in by["f2_001"].answers] == ["p53", "TP53"]
    assert by["l1_001"].gold == (("BRCA1",), ("BRCA2", "FANCD1"))
    assert by["y1_001"].label == "yes" and by["s1_001"].metadata["ideal_answer"] == ["It is."]
    assert stats["questions_without_snippets"] == 1 and stats["questions_type=factoid"] == 3
    assert {e.qtype for e in read_bioasq(p, types=("list",))} == {"list"}


def test_bioasq_helpers_and_errors():
    assert normalise_exact_answer("list", ["a", "b"]) == (("a",), ("b",))
    assert normalise_exact_answer("yesno", "yes") == ()
    assert [a.text for a in find_answers("IL-6 and il-6", (("IL-6",),))] == ["IL-6", "il-6"]
    with pytest.raises(DataFormatError) as ei:
        read_bioasq(stdio.StringIO('{"questions": [{"id": "a", "body": "b", "type": "essay"}]}'))
    assert ei.value.code == "E272"
    with pytest.raises(DataFormatError) as ei:
        read_bioasq(stdio.StringIO('{"questions": [{"id": "a", "body": "b", "type": "factoid", "snippets": [{}]}]}'))
    assert ei.value.code == "E272"


def test_pubmedqa(tmp_path):
    obj = {
        "101": {"QUESTION": "Does X help?", "CONTEXTS": ["First part.", "Second part."], "LABELS": ["A", "B"],
                "final_decision": "maybe", "LONG_ANSWER": "Perhaps.", "YEAR": "2001"},
        "7": {"QUESTION": "Is Y bad?", "CONTEXTS": ["Only."], "final_decision": "no"},
    }
    p = tmp_path / "pq.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    exs = read_pubmedqa(p)
    assert [e.id for e in exs] == ["101", "7"]  # file order kept
    assert exs[0].context == "First part. Second part." and exs[0].label == "maybe" and exs[0].qtype == "yesno"
    assert exs[0].metadata["long_answer"] == "Perhaps."
    obj["7"]["final_decision"] = "perhaps"
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(DataFormatError) as ei:
        read_pubmedqa(p)
    assert ei.value.code == "E273"
    del obj["7"]["final_decision"]
    p.write_text(json.dumps(obj), encoding="utf-8")
    assert read_pubmedqa(p, labelled=False)[1].label is None


def test_bioasq_submission_round_trip_and_errors(tmp_path):
    from biobert.io.bioasq import bioasq_submission, read_bioasq_answers

    answers = {"a" * 24: {"type": "factoid", "answers": [{"text": "CFTR", "score": 0.9}, {"text": "HTT", "score": 0.1}]},
               "b" * 24: {"type": "yesno", "answer": "no", "probs": {"yes": 0.2, "no": 0.8}}}
    sub = bioasq_submission(answers)
    assert sub["questions"][0]["exact_answer"] == [["CFTR"], ["HTT"]] and sub["questions"][1]["exact_answer"] == "no"
    path = tmp_path / "sub.json"
    path.write_text(json.dumps(sub))
    back = read_bioasq_answers(path)
    assert [a["text"] for a in back["a" * 24]["answers"]] == ["CFTR", "HTT"] and back["b" * 24]["answer"] == "no"
    # synonyms and plain strings are both entries; the first synonym names the entry
    path.write_text(json.dumps({"questions": [{"id": "q1", "type": "list", "exact_answer": [["a", "a2"], "b"]}]}))
    assert [a["text"] for a in read_bioasq_answers(path)["q1"]["answers"]] == ["a", "b"]
    path.write_text(json.dumps({"questions": [{"id": "q2", "type": "factoid", "exact_answer": "CFTR"}]}))
    assert read_bioasq_answers(path)["q2"] == {"type": "factoid", "answers": [{"text": "CFTR"}]}
    for bad in ({"answers": []}, {"questions": [{"exact_answer": []}]}, {"questions": [{"id": "q", "exact_answer": 3}]}):
        path.write_text(json.dumps(bad))
        with pytest.raises(DataFormatError, match="E275"):
            read_bioasq_answers(path)


def test_squad_reads_biobert_yesno_files(tmp_path):
    # BioBERT's BioASQ yes/no files put the answer string where SQuAD has a list
    data = {"data": [{"paragraphs": [
        {"context": "Losartan did not reduce atrophy.", "qas": [{"id": "a" * 24 + "_001", "question": "Does losartan help?", "answers": "no", "is_impossible": True}]},
        {"context": "Aspirin lowers risk.", "qas": [{"id": "b" * 24 + "_001", "question": "Does aspirin help?", "answers": "Yes"}]},
    ]}]}
    path = tmp_path / "yesno.json"
    path.write_text(json.dumps(data))
    stats = Counter()
    exs = read_squad(path, stats=stats)
    assert [(e.qtype, e.label, e.question_id) for e in exs] == [("yesno", "no", "a" * 24), ("yesno", "yes", "b" * 24)]
    assert stats["yesno"] == 2 and stats["unanswerable"] == 0
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"] = "perhaps"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="E270"):
        read_squad(path)


def test_squad_list_files_give_one_gold_entry_per_answer(tmp_path):
    from biobert.recipes.qa import read_qa

    qid = "c" * 24
    data = {"data": [{"paragraphs": [
        {"context": "BRCA1 and BRCA2 are genes.", "qas": [{"id": qid + "_001", "question": "Which genes?", "answers": [
            {"text": "BRCA1", "answer_start": 0}, {"text": "BRCA2", "answer_start": 10}]}]},
        {"context": "brca1 again.", "qas": [{"id": qid + "_002", "question": "Which genes?", "answers": [{"text": "brca1", "answer_start": 0}]}]},
    ]}]}
    path = tmp_path / "list.json"
    path.write_text(json.dumps(data))
    exs = read_qa("squad", path, ["list"])
    assert {e.qtype for e in exs} == {"list"} and exs[0].gold == (("BRCA1",), ("BRCA2",))
    assert read_qa("squad", path, ["factoid"])[0].gold == (("BRCA1", "BRCA2", "brca1"),)  # read as synonyms of one answer


def _bioasq(tmp_path, **q):
    base = {"id": "q1", "body": "Which gene?", "type": "factoid", "snippets": [{"text": "CFTR causes CF."}]}
    p = tmp_path / "gold.json"
    p.write_text(json.dumps({"questions": [{**base, **q}]}), encoding="utf-8")
    return p


def test_bioasq_yesno_gold_as_a_one_element_list(tmp_path):
    """``"exact_answer": ["yes"]`` used to give label None (scored as wrong); case and spaces do not matter."""
    for raw, label in ((["yes"], "yes"), ([" No "], "no"), ("YES", "yes"), (["Yes, it is."], "yes")):
        assert read_bioasq(_bioasq(tmp_path, type="yesno", exact_answer=raw))[0].label == label
    stats = Counter()
    for raw in (None, []):  # test files: no gold, counted
        kw = {} if raw is None else {"exact_answer": raw}
        assert read_bioasq(_bioasq(tmp_path, type="yesno", **kw), stats=stats)[0].label is None
    assert stats["questions_without_gold"] == 2
    for raw in (["yes", "no"], [["yes"]], 5, "maybe", {"yes": 1}):
        with pytest.raises(DataFormatError, match="E276") as ei:
            read_bioasq(_bioasq(tmp_path, type="yesno", exact_answer=raw))
        assert ei.value.path.endswith("gold.json") and "'q1'" in str(ei.value)


def test_bioasq_unreadable_gold_is_a_typed_error_not_text(tmp_path):
    """Numbers, dicts, non-string synonyms and over-nested lists used to crash (TypeError) or become text
    ("None", "['CFTR']")."""
    for qtype, raw in (("factoid", 5), ("factoid", {"CFTR": 1}), ("factoid", [["CFTR", None]]), ("list", [[["CFTR"]]]),
                       ("list", [["CFTR"], []]), ("factoid", [[]]), ("list", [1, 2])):
        with pytest.raises(DataFormatError, match="E276") as ei:
            read_bioasq(_bioasq(tmp_path, type=qtype, exact_answer=raw))
        assert ei.value.code == "E276" and ei.value.path.endswith("gold.json") and "'q1'" in str(ei.value)
    with pytest.raises(DataFormatError, match="E276"):
        normalise_exact_answer("factoid", 5)
    # an empty exact_answer is no gold (not a gold entry without synonyms), counted
    stats = Counter()
    ex = read_bioasq(_bioasq(tmp_path, exact_answer=[]), stats=stats)[0]
    assert ex.gold == () and ex.answers == () and stats["questions_without_gold"] == 1
    assert normalise_exact_answer("list", [["a", "a2"], "b"]) == (("a", "a2"), ("b",))


def test_bioasq_submission_yesno_list_form_and_bad_synonyms(tmp_path):
    from biobert.io.bioasq import read_bioasq_answers

    path = tmp_path / "sub.json"
    path.write_text(json.dumps({"questions": [
        {"id": "y1", "type": "yesno", "exact_answer": ["yes"]},
        {"id": "y2", "type": "yesno", "exact_answer": [" No"]},
        {"id": "y3", "exact_answer": ["no"]},  # untyped: read as yes/no when it is exactly yes or no
        {"id": "f1", "exact_answer": [["CFTR"]]}]}))
    back = read_bioasq_answers(path)
    assert back["y1"] == {"type": "yesno", "answer": "yes"} and back["y2"]["answer"] == "no" and back["y3"]["answer"] == "no"
    assert back["f1"] == {"type": "factoid", "answers": [{"text": "CFTR"}]}
    for bad in ([{"id": "q", "type": "factoid", "exact_answer": [["CFTR", None]]}],
                [{"id": "q", "type": "list", "exact_answer": [[["CFTR"]]]}],
                [{"id": "q", "type": "yesno", "exact_answer": ["yes", "no"]}],
                [{"id": "q", "type": "yesno", "exact_answer": 1}]):
        path.write_text(json.dumps({"questions": bad}))
        with pytest.raises(DataFormatError, match="E275"):
            read_bioasq_answers(path)


def _squad_answers(tmp_path, answers):
    ctx = "Mutations in the CFTR gene cause cystic fibrosis."
    p = tmp_path / "squad.json"
    p.write_text(json.dumps({"data": [{"paragraphs": [{"context": ctx, "qas": [
        {"id": "q1", "question": "Which gene?", "answers": answers}]}]}]}), encoding="utf-8")
    return p


def test_squad_answer_values_of_the_wrong_type_are_typed_errors(tmp_path):
    """``"answers": 5`` and ``"text": 5`` used to raise a bare TypeError; a negative ``answer_start`` an OffsetError
    without the file; a fractional one was cut silently."""
    for answers, code in ((5, "E270"), ({"text": "CFTR"}, "E270"), ([{"text": 5, "answer_start": 0}], "E270"),
                          ([{"text": "CFTR", "answer_start": 17.9}], "E270"), ([{"text": "CFTR", "answer_start": True}], "E270"),
                          ([{"text": "CFTR", "answer_start": 17 - 49}], "E271")):
        with pytest.raises(DataFormatError) as ei:
            read_squad(_squad_answers(tmp_path, answers))
        assert ei.value.code == code and ei.value.path.endswith("squad.json") and "q1" in str(ei.value)
    for start in ("17", 17.0):  # offsets some converters write
        a = read_squad(_squad_answers(tmp_path, [{"text": "CFTR", "answer_start": start}]))[0].answers[0]
        assert (a.start, a.end, a.text) == (17, 21, "CFTR")


def test_biobert_yesno_test_file_without_answers_is_read_as_yesno(tmp_path):
    """BioBERT's BioASQ-test-yesno-*.json have no answers: read for yes/no questions they used to become factoid
    questions, which a yes/no model then skipped (``biobert answer --type yesno`` answered nothing)."""
    from biobert.recipes.qa import read_qa

    path = tmp_path / "BioASQ-test-yesno-7b-1.json"
    path.write_text(json.dumps({"version": "BioASQ7b", "data": [{"title": "BioASQ7b", "paragraphs": [
        {"context": "The APOE allele increases the risk.", "qas": [{"question": "Is APOE a risk factor?", "id": "d" * 24 + "_001"}]},
        {"context": "APOE4 carriers are at risk.", "qas": [{"question": "Is APOE a risk factor?", "id": "d" * 24 + "_002"}]}]}]}))
    exs = read_qa("squad", path, ["yesno"])
    assert [(e.qtype, e.question_id, e.label) for e in exs] == [("yesno", "d" * 24, None)] * 2
    assert {e.qtype for e in read_qa("squad", path, None)} == {"factoid"}


def test_bioasq_submission_answers_are_their_first_synonyms(tmp_path):
    from collections import Counter

    from biobert.io.bioasq import read_bioasq_answers

    path = tmp_path / "sub.json"
    path.write_text(json.dumps({"questions": [{"id": "q1", "type": "factoid", "exact_answer": [["x", "CFTR"], ["HTT"]]}]}))
    stats = Counter()
    assert read_bioasq_answers(path, stats)["q1"]["answers"] == [{"text": "x"}, {"text": "HTT"}]
    assert stats == {"submitted_synonyms_not_scored": 1}


def test_bioasq_golden_file_by_question_id(tmp_path):
    from biobert.io.bioasq import read_bioasq_gold

    obj = bioasq_obj()
    obj["questions"][0]["snippets"] = []  # a golden question's gold is read whether or not it has snippets
    p = tmp_path / "7B1_golden.json"
    p.write_text(json.dumps(obj), encoding="utf-8")
    stats = Counter()
    gold = read_bioasq_gold(p, stats)
    assert gold["f1"] == {"type": "factoid", "gold": (("CFTR", "cystic fibrosis transmembrane conductance regulator"),), "label": None}
    assert gold["f2"]["gold"] == (("TP53", "p53"),) and gold["y1"] == {"type": "yesno", "gold": (), "label": "yes"}
    assert gold["s1"]["gold"] == () and stats["golden_questions"] == 6 and stats["golden_questions_without_gold"] == 1
    obj["questions"][1]["exact_answer"] = 5
    p.write_text(json.dumps(obj), encoding="utf-8")
    with pytest.raises(DataFormatError, match="E276") as ei:
        read_bioasq_gold(p)
    assert ei.value.path.endswith("7B1_golden.json") and "'f2'" in str(ei.value)


def test_pubmedqa_test_entries_without_labels_and_label_files(tmp_path):
    """The PubMedQA test half: entries whose labels are in test_ground_truth.json ``{pmid: label}``."""
    from biobert.io.pubmedqa import read_pubmedqa_labels

    entries = {"21645374": {"QUESTION": "Do mitochondria play a role?", "CONTEXTS": ["A.", "B."]},
               "9488747": {"QUESTION": "Does aspirin help?", "CONTEXTS": ["No effect."], "final_decision": "no"}}
    p = tmp_path / "test_set.json"
    p.write_text(json.dumps(entries), encoding="utf-8")
    stats = Counter()
    assert [e.label for e in read_pubmedqa(p, labelled=False, stats=stats)] == [None, "no"]
    assert stats["questions_without_gold"] == 1
    entries["9488747"]["final_decision"] = "No."  # a label that is there is checked, labelled or not
    p.write_text(json.dumps(entries), encoding="utf-8")
    with pytest.raises(DataFormatError, match="E273"):
        read_pubmedqa(p, labelled=False)
    truth = tmp_path / "test_ground_truth.json"
    truth.write_text(json.dumps({"21645374": "yes", "9488747": " Maybe"}))
    assert read_pubmedqa_labels(truth) == {"21645374": "yes", "9488747": "maybe"}
    for bad in ([], {"1": "perhaps"}, {"1": entries["21645374"]}):
        truth.write_text(json.dumps(bad))
        with pytest.raises(DataFormatError, match="E273") as ei:
            read_pubmedqa_labels(truth)
        assert ei.value.path.endswith("test_ground_truth.json")


def test_find_answers_keeps_offsets_after_a_character_that_lowercases_to_two():
    # "İ".lower() is two characters: indices into context.lower() missed every later match in the context
    [a] = find_answers("\u0130 BRCA1 causes it", (("BRCA1",),))
    assert (a.start, a.end, a.text) == (2, 7, "BRCA1")
    found = find_answers("\u0130\u0130 il-6 and IL-6; TIL-6", (("IL-6",),))
    assert [(a.start, a.text) for a in found] == [(3, "il-6"), (12, "IL-6")]  # not inside "TIL-6"
    # what counts as equal is still lower(): IGNORECASE alone would also take the long s "ſ" for "s"
    assert [a.start for a in find_answers("x ſ s S", (("s",),))] == [4, 6]


@pytest.mark.parametrize("start", ["\u00b2", "\u0663"])
def test_squad_answer_start_not_in_ascii_digits_is_e270(tmp_path, start):
    # "²".isdigit() is true but int() refused it with a bare ValueError; "٣" would be read as 3
    bad = squad_obj()
    bad["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = start
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(DataFormatError, match="E270"):
        read_squad(p)
    ok = squad_obj()
    a = ok["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]
    a["answer_start"] = f" {a['answer_start']}"  # a string of ASCII digits is still accepted
    p.write_text(json.dumps(ok), encoding="utf-8")
    assert read_squad(p)[0].answers
