"""The original BioCreative VI ChemProt release: abstracts + entities + relations TSVs -> Documents and RE pairs."""

from collections import Counter
from pathlib import Path

import pytest

from biobert.errors import DataFormatError
from biobert.io.chemprot_bc6 import chemprot_bc6_files, chemprot_bc6_pairs, read_chemprot_bc6

TITLE = "Aspirin inhibits COX-1 activity"
ABSTRACT = "We studied aspirin and celecoxib. Celecoxib blocks COX-2 selectively. Ibuprofen was not related to PTGS1."
# (T#, type, mention, occurrence): offsets index title + one character + abstract, as in the release
ENTITIES = [("T1", "CHEMICAL", "Aspirin"), ("T2", "GENE-Y", "COX-1"), ("T3", "CHEMICAL", "aspirin"), ("T4", "CHEMICAL", "celecoxib"),
            ("T5", "CHEMICAL", "Celecoxib"), ("T6", "GENE-Y", "COX-2"), ("T7", "CHEMICAL", "Ibuprofen"), ("T8", "GENE-N", "PTGS1")]
GOLD = "10001\tCPR:4\tArg1:T1\tArg2:T2\n10001\tCPR:4\tArg1:T5\tArg2:T6\n10001\tCPR:3\tArg1:T4\tArg2:T2\n"
RELATIONS = ("10001\tCPR:4\tY \tINHIBITOR\tArg1:T1\tArg2:T2\n10001\tCPR:4\tY \tINHIBITOR\tArg1:T5\tArg2:T6\n"
             "10001\tCPR:1\tN \tPART-OF\tArg1:T7\tArg2:T8\n")


def entity_lines() -> list[str]:
    text = TITLE + " " + ABSTRACT
    out = []
    for tid, etype, mention in ENTITIES:
        a = text.index(mention)
        out.append(f"10001\t{tid}\t{etype}\t{a}\t{a + len(mention)}\t{mention}")
    return out


def write_split(root: Path, split: str = "training", gold: str | None = GOLD, relations: str | None = RELATIONS,
                entities: list[str] | None = None) -> Path:
    """A split directory as the release unpacks it (test files carry ``_gs``)."""
    gs = "_gs" if split == "test" else ""
    d = root / f"chemprot_{split}{gs}"
    d.mkdir(parents=True)
    (d / f"chemprot_{split}_abstracts{gs}.tsv").write_text(f"10001\t{TITLE}\t{ABSTRACT}\n", encoding="utf-8")
    (d / f"chemprot_{split}_entities{gs}.tsv").write_text("\n".join(entities or entity_lines()) + "\n", encoding="utf-8")
    if gold is not None:
        (d / f"chemprot_{split}_gold_standard.tsv").write_text(gold, encoding="utf-8")
    if relations is not None:
        (d / f"chemprot_{split}_relations{gs}.tsv").write_text(relations, encoding="utf-8")
    return d


def test_abstract_documents_have_exact_spans_and_gold_relations(tmp_path):
    d = write_split(tmp_path, "test")
    stats = Counter()
    (doc,) = read_chemprot_bc6(d, stats=stats)
    assert doc.id == "10001" and doc.text == TITLE + "\n" + ABSTRACT  # the title is a sentence of its own
    assert [(s.text, s.label) for s in doc.spans][:2] == [("Aspirin", "Chemical"), ("COX-1", "Gene")]
    assert all(doc.text[s.start : s.end] == s.text for s in doc.spans) and len(doc.spans) == 8
    # the gold standard (evaluated relations) is preferred over the relations file
    assert [(r.head.text, r.tail.text, r.label) for r in doc.relations] == [
        ("Aspirin", "COX-1", "CPR:4"), ("Celecoxib", "COX-2", "CPR:4"), ("celecoxib", "COX-1", "CPR:3")]
    assert doc.metadata["entities"]["T8"] == {"type": "GENE-N", "start": doc.text.index("PTGS1"), "end": doc.text.index("PTGS1") + 5}
    assert stats["abstracts"] == 1 and stats["entities"] == 8 and stats["relations"] == 3
    # any file of the split names it too
    assert chemprot_bc6_files(d / "chemprot_test_entities_gs.tsv") == chemprot_bc6_files(d)


def test_pairs_per_sentence_with_cpr_groups_and_counted_misses(tmp_path):
    stats, skipped = Counter(), []
    pairs = chemprot_bc6_pairs(read_chemprot_bc6(write_split(tmp_path)), stats=stats, skipped=skipped)
    assert [(p.id, p.text, p.relations[0].label) for p in pairs] == [
        ("10001.T1.T2", TITLE, "CPR:4"),
        ("10001.T5.T6", "Celecoxib blocks COX-2 selectively.", "CPR:4"),
        ("10001.T7.T8", "Ibuprofen was not related to PTGS1.", "False"),
    ]
    for p in pairs:
        r = p.relations[0]
        assert (r.head.label, r.tail.label) == ("Chemical", "Gene")
        assert all(p.text[s.start : s.end] == s.text for s in (r.head, r.tail)) and {r.head, r.tail} == set(p.spans)
    # celecoxib (sentence 2) -> COX-1 (title) crosses sentences: not a candidate, kept as a gold miss
    assert stats["gold_not_a_candidate"] == 1 and stats["pairs"] == 3 and stats["pairs_label=False"] == 1
    assert [(s["label"], s["rule"]) for s in skipped] == [("CPR:3", "gold_not_a_candidate")]


def test_relations_file_when_there_is_no_gold_standard(tmp_path):
    stats = Counter()
    pairs = chemprot_bc6_pairs(read_chemprot_bc6(write_split(tmp_path, gold=None)), stats=stats)
    # CPR:1 is not evaluated: scored as no relation (and counted)
    assert [p.relations[0].label for p in pairs] == ["CPR:4", "CPR:4", "False"]
    assert stats["pairs_not_evaluated_group_as_negative=CPR:1"] == 1


def test_two_evaluated_groups_on_one_pair(tmp_path):
    gold = GOLD + "10001\tCPR:9\tArg1:T1\tArg2:T2\n"
    stats, skipped = Counter(), []
    pairs = chemprot_bc6_pairs(read_chemprot_bc6(write_split(tmp_path, gold=gold)), stats=stats, skipped=skipped)
    assert pairs[0].relations[0].label == "CPR:4" and stats["gold_extra_label_on_pair"] == 1
    assert ("CPR:9", "gold_extra_label_on_pair") in [(s["label"], s["rule"]) for s in skipped]


@pytest.mark.parametrize(
    "change,code,line",
    [
        (lambda e: e[:1] + ["10001\tT2\tGENE-Y\t8\t13\tCOX-1"] + e[2:], "E265", 2),       # offsets one word off
        (lambda e: e + ["10001\tT9\tCHEMICAL\t5\t999\tx"], "E265", 9),                    # beyond the text
        (lambda e: e + ["10001\tT9\tCHEMICAL\tfive\t9\tx"], "E264", 9),                   # not an integer
        (lambda e: e + ["10001\tT9\tPROTEIN\t0\t7\tAspirin"], "E264", 9),                 # unknown type
        (lambda e: e + ["10002\tT9\tCHEMICAL\t0\t7\tAspirin"], "E266", 9),                # unknown PMID
        (lambda e: e + ["10001\tT1\tCHEMICAL\t0\t7\tAspirin"], "E267", 9),                # T1 twice
        (lambda e: e + ["10001\tT9\tCHEMICAL\t0\t7"], "E264", 9),                         # a column missing
    ],
)
def test_entity_errors_name_the_file_and_line(tmp_path, change, code, line):
    d = write_split(tmp_path, entities=change(entity_lines()))
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_bc6(d)
    assert ei.value.code == code and ei.value.line == line
    assert ei.value.path == str(d / "chemprot_training_entities.tsv")


@pytest.mark.parametrize(
    "gold,code",
    [("10001\tCPR:4\tArg1:T1\tArg2:T99\n", "E266"), ("10001\tCPR4\tArg1:T1\tArg2:T2\n", "E264"),
     ("10001\tCPR:4\tT1\tT2\n", "E264"), ("10001\tCPR:4\tArg1:T1\n", "E264")],
)
def test_relation_errors(tmp_path, gold, code):
    d = write_split(tmp_path, gold=gold)
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_bc6(d)
    assert ei.value.code == code and ei.value.line == 1 and ei.value.path.endswith("chemprot_training_gold_standard.tsv")


def test_a_split_without_relations_is_an_error(tmp_path):
    d = write_split(tmp_path, gold=None, relations=None)
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_bc6(d)
    assert ei.value.code == "E268" and "_gold_standard" in str(ei.value)
