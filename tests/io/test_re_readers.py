"""RE readers: BioBERT / BLUE masked TSV (GAD, ChemProt, DDI), SciBERT ChemProt JSONL, DDI-2013 XML."""

import io as stdio
import json
from collections import Counter

import pytest

from biobert.errors import DataFormatError
from biobert.io.chemprot_jsonl import read_chemprot_jsonl, strip_markers
from biobert.io.ddi import read_ddi
from biobert.io.re_tsv import read_biobert_re_tsv, read_chemprot_tsv, read_ddi_tsv


def _check(doc):
    for s in doc.spans:
        assert doc.text[s.start : s.end] == s.text
    r = doc.relations[0]
    assert r.head in doc.spans and r.tail in doc.spans


def test_gad_train_without_header(tmp_path):
    p = tmp_path / "train.tsv"
    p.write_text("The @GENE$ variant is associated with @DISEASE$.\t1\n@DISEASE$ is not linked to @GENE$ here.\t0\n", encoding="utf-8")
    docs = read_biobert_re_tsv(p)
    assert [d.relations[0].label for d in docs] == ["1", "0"]
    d = docs[1]
    _check(d)
    r = d.relations[0]
    assert (r.head.label, r.head.text, r.tail.label, r.tail.text) == ("Gene", "@GENE$", "Disease", "@DISEASE$")
    assert r.tail.start == 0 and d.id == "train:2"


def test_euadr_test_with_header(tmp_path):
    p = tmp_path / "test.tsv"
    p.write_text("index\tsentence\tlabel\n0\tA @GENE$ and @DISEASE$ row.\t1\n7\t@GENE$ @DISEASE$\t0\n", encoding="utf-8")
    docs = read_biobert_re_tsv(p)
    assert [d.id for d in docs] == ["test:0", "test:7"]
    for d in docs:
        _check(d)


@pytest.mark.parametrize(
    "content,code",
    [
        ("only one column\n", "E250"),
        ("index\tsentence\tlabel\n \tA @GENE$ @DISEASE$\t1\n", "E253"),  # an empty index (string ids are BLUE's)
        ("A @GENE$ without disease\t1\n", "E251"),
        ("A @GENE$ and @DISEASE$\tmaybe\n", "E252"),
        ("Two @GENE$ @GENE$ @DISEASE$\t1\n", "E251"),
    ],
)
def test_tsv_errors_name_file_and_line(tmp_path, content, code):
    p = tmp_path / "bad.tsv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as ei:
        read_biobert_re_tsv(p)
    assert ei.value.code == code and ei.value.path == str(p) and ei.value.line is not None


def test_chemprot_tsv_labels_and_skipped_rows(tmp_path):
    p = tmp_path / "dev.tsv"
    p.write_text(
        "sentence\tlabel\n"
        "BC6ENTC inhibits BC6ENTG and BC6OTHER .\tCPR:4\n"
        "CHEM (PGH) synthase BC6ENTG .\tCPR:4\n"
        "BC6ENTG was not bound by BC6ENTC .\tFalse\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_tsv(p)
    assert ei.value.code == "E251" and ei.value.line == 3
    stats, skipped = Counter(), []
    docs = read_chemprot_tsv(p, missing_mask="skip", stats=stats, skipped=skipped)
    assert len(docs) == 2 and stats["rows_skipped_mask_count"] == 1
    assert skipped == [{"line": 3, "label": "CPR:4", "sentence": "CHEM (PGH) synthase BC6ENTG ."}]
    r = docs[1].relations[0]
    assert (r.head.label, r.tail.label, r.label) == ("Chemical", "Gene", "False")
    assert r.tail.start == 0  # the head (chemical) comes after the tail here
    for d in docs:
        _check(d)


def test_chemprot_tsv_blue_and_biobert_spellings(tmp_path):
    """BLUE's test.tsv (string pair ids, @CHEMICAL$ / @GENE$, "false", one @CHEM-GENE$ mask for overlapping
    arguments) and BioBERT's header-less train.tsv ("cpr:4"): labels come out as the ChemProt metric
    spells them, so no gold positive is silently scored as an unknown class."""
    blue = tmp_path / "test.tsv"
    blue.write_text(
        "index\tsentence\tlabel\n"
        "23264615.T19.T41\t@CHEMICAL$ inhibits @GENE$ activity .\tCPR:4\n"
        "23264615.T20.T41\t@GENE$ was not bound by @CHEMICAL$ .\tfalse\n"
        "10064839.T1.T2\t@CHEM-GENE$ levels rose .\tCPR:3\n",
        encoding="utf-8",
    )
    stats, skipped = Counter(), []
    docs = read_chemprot_tsv(blue, missing_mask="skip", stats=stats, skipped=skipped)
    assert [d.id for d in docs] == ["test:23264615.T19.T41", "test:23264615.T20.T41"]
    assert [d.relations[0].label for d in docs] == ["CPR:4", "False"]
    r = docs[1].relations[0]
    assert (r.head.label, r.head.text, r.tail.label, r.tail.text) == ("Chemical", "@CHEMICAL$", "Gene", "@GENE$")
    assert docs[0].metadata["group"] == docs[1].metadata["group"] == "23264615"  # one abstract: one side of a dev split
    assert skipped == [{"line": 4, "label": "CPR:3", "sentence": "@CHEM-GENE$ levels rose ."}]
    assert stats["labels_renamed_false_to_False"] == 1
    for d in docs:
        _check(d)
    biobert = tmp_path / "train.tsv"
    biobert.write_text("@CHEMICAL$ inhibits @GENE$ .\tcpr:4\n@GENE$ and @CHEMICAL$ .\tfalse\n", encoding="utf-8")
    assert [d.relations[0].label for d in read_chemprot_tsv(biobert)] == ["CPR:4", "False"]
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_tsv(stdio.StringIO("@CHEMICAL$ x @GENE$ .\tcpr:7\n"))
    assert ei.value.code == "E252" and ei.value.line == 1


def test_ddi_tsv_biobert_and_blue_masks():
    """DDI in the BioBERT (@DRUG$ twice, "DDI-effect") and BLUE (typed @drug$ / @brand$ ...) TSV layouts."""
    text = (
        "index\tsentence\tlabel\n"
        "DDI-DrugBank.d519.s3.p3\t@DRUG$ increases the levels of @DRUG$ .\tDDI-mechanism\n"
        "DDI-DrugBank.d519.s3.p4\t@drug$ and @drug_n$ together .\tDDI-false\n"
        "DDI-MedLine.d12.s0.p0\tAvoid @group$ with @BRAND$ .\tDDI-advise\n"
        "DDI-MedLine.d12.s1.p0\t@drug-drug$ toxicity .\tDDI-effect\n"
    )
    with pytest.raises(DataFormatError) as ei:
        read_ddi_tsv(stdio.StringIO(text))
    assert ei.value.code == "E251" and ei.value.line == 5
    stats, skipped = Counter(), []
    docs = read_ddi_tsv(stdio.StringIO(text), missing_mask="skip", stats=stats, skipped=skipped)
    assert [d.relations[0].label for d in docs] == ["mechanism", "false", "advise"]  # as the DDI metric spells them
    assert [(d.relations[0].head.label, d.relations[0].tail.label) for d in docs] == [("drug", "drug"), ("drug", "drug_n"), ("group", "brand")]
    assert docs[0].relations[0].head.start == 0 and docs[0].relations[0].tail.text == "@DRUG$"
    assert [d.metadata["group"] for d in docs] == ["DDI-DrugBank.d519", "DDI-DrugBank.d519", "DDI-MedLine.d12"]
    assert skipped == [{"line": 5, "label": "effect", "sentence": "@drug-drug$ toxicity ."}]
    for d in docs:
        _check(d)
    with pytest.raises(DataFormatError) as ei:
        read_ddi_tsv(stdio.StringIO("@DRUG$ and @DRUG$\tDDI-maybe\n"))
    assert ei.value.code == "E252"


def test_strip_markers_nested_and_greater_than():
    clean, spans = strip_markers("X >> y: << EGFR >> binds [[ gefitinib ]] >> z")
    assert clean == "X >> y: EGFR binds gefitinib >> z"
    assert [clean[a:b] for a, b in spans] == ["EGFR", "gefitinib"]
    clean, spans = strip_markers("<< the [[ IL-6 ]] receptor >> is blocked")
    assert clean == "the IL-6 receptor is blocked"
    assert [clean[a:b] for a, b in spans] == ["the IL-6 receptor", "IL-6"]
    with pytest.raises(ValueError):
        strip_markers("<< a [[ b >> c ]]")


def test_chemprot_jsonl(tmp_path):
    p = tmp_path / "train.txt"
    rows = [
        {"text": "<< Epidermal growth factor receptor >> inhibitors include [[ gefitinib ]] (Iressa).", "label": "INHIBITOR", "metadata": []},
        {"text": "[[ Tamoxifen ]] is an antagonist of << ER >> .", "label": "ANTAGONIST", "metadata": []},
    ]
    p.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    docs = read_chemprot_jsonl(p)
    assert docs[0].text == "Epidermal growth factor receptor inhibitors include gefitinib (Iressa)."
    r = docs[0].relations[0]
    assert (r.head.text, r.tail.text, r.label) == ("Epidermal growth factor receptor", "gefitinib", "INHIBITOR")
    assert docs[1].relations[0].head.text == "ER" and docs[1].relations[0].tail.text == "Tamoxifen"
    for d in docs:
        _check(d)


@pytest.mark.parametrize(
    "line,code",
    [("not json", "E254"), ("[1, 2]", "E254"), ('{"text": "a"}', "E255"), ('{"text": "no markers", "label": "X"}', "E256")],
)
def test_chemprot_jsonl_errors(line, code):
    with pytest.raises(DataFormatError) as ei:
        read_chemprot_jsonl(stdio.StringIO(line + "\n"))
    assert ei.value.code == code and ei.value.line == 1


DDI_XML = """<?xml version="1.0" encoding="UTF-8"?>
<document id="DDI-MedLine.d1">
    <sentence id="DDI-MedLine.d1.s0" text="Aspirin increases warfarin effects.">
        <entity id="DDI-MedLine.d1.s0.e0" charOffset="0-6" type="drug" text="Aspirin"/>
        <entity id="DDI-MedLine.d1.s0.e1" charOffset="18-25" type="drug" text="warfarin"/>
        <pair id="DDI-MedLine.d1.s0.p0" e1="DDI-MedLine.d1.s0.e0" e2="DDI-MedLine.d1.s0.e1" ddi="true" type="effect"/>
    </sentence>
    <sentence id="DDI-MedLine.d1.s1" text="Avoid alpha- or beta-adrenergic blocking agents with MAOIs.">
        <entity id="DDI-MedLine.d1.s1.e0" charOffset="6-11;21-46" type="group" text="alpha-adrenergic blocking agents"/>
        <entity id="DDI-MedLine.d1.s1.e1" charOffset="16-46" type="group" text="beta-adrenergic blocking agents"/>
        <entity id="DDI-MedLine.d1.s1.e2" charOffset="53-57" type="group" text="MAOIs"/>
        <pair id="DDI-MedLine.d1.s1.p0" e1="DDI-MedLine.d1.s1.e0" e2="DDI-MedLine.d1.s1.e1" ddi="false"/>
        <pair id="DDI-MedLine.d1.s1.p1" e1="DDI-MedLine.d1.s1.e0" e2="DDI-MedLine.d1.s1.e2" ddi="true" type="advise"/>
        <pair id="DDI-MedLine.d1.s1.p2" e1="DDI-MedLine.d1.s1.e1" e2="DDI-MedLine.d1.s1.e2" ddi="true"/>
    </sentence>
    <sentence id="DDI-MedLine.d1.s2" text="No interactions were found."/>
</document>
"""


def test_ddi_pairs_offsets_and_counted_rules(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "d1.xml").write_text(DDI_XML, encoding="utf-8")
    stats, skipped = Counter(), []
    docs = read_ddi(tmp_path, stats=stats, skipped=skipped)  # a directory is searched recursively
    assert [d.id for d in docs] == ["DDI-MedLine.d1.s0.p0", "DDI-MedLine.d1.s1.p1"]
    r = docs[0].relations[0]
    assert (r.head.text, r.tail.text, r.label, r.head.label) == ("Aspirin", "warfarin", "effect", "drug")
    # inclusive "0-6" is text[0:7]; the discontinuous "6-11;21-46" becomes its hull
    h = docs[1].relations[0].head
    assert (h.start, h.end, h.text) == (6, 47, "alpha- or beta-adrenergic blocking agents")
    for d in docs:
        _check(d)
    assert stats["discontinuous_entities"] == 1 and stats["discontinuous_text_mismatch"] == 0
    assert stats["pairs_dropped_overlapping_args"] == 1 and stats["pairs_dropped_true_without_type"] == 1
    assert stats["sentences_without_pairs"] == 1 and stats["pairs"] == 2
    assert {s["rule"] for s in skipped} == {"pairs_dropped_overlapping_args", "pairs_dropped_true_without_type"}
    dropped = read_ddi(tmp_path / "sub" / "d1.xml", discontinuous="drop", stats=Counter())
    assert [d.id for d in dropped] == ["DDI-MedLine.d1.s0.p0"]


@pytest.mark.parametrize(
    "bad,code",
    [('charOffset="0-6"', "E258"), ('text="Aspirin"', "E259"), ("<document", "E257")],
)
def test_ddi_errors(tmp_path, bad, code):
    repl = {"E258": 'charOffset="0-x6"', "E259": 'text="Asprin"', "E257": "<document<"}[code]
    p = tmp_path / "bad.xml"
    p.write_text(DDI_XML.replace(bad, repl, 1), encoding="utf-8")
    with pytest.raises(DataFormatError) as ei:
        read_ddi(p)
    assert ei.value.code == code and ei.value.path == str(p)
    assert ei.value.line == {"E258": 4, "E259": 4, "E257": 2}[code]  # the line of the element at fault


@pytest.mark.parametrize("old,new,expected,line", [
    ('<entity id="DDI-MedLine.d1.s0.e1"', '<entity id="DDI-MedLine.d1.s0.e0"', "each entity id once", 5),
    ('ddi="true" type="effect"', 'ddi="yes" type="effect"', 'ddi="true" or ddi="false", found \'yes\'', 6),
    ('ddi="true" type="effect"', 'type="effect"', 'ddi="true" or ddi="false"', 6),
])
def test_ddi_duplicate_entities_and_unknown_ddi_values_are_refused(tmp_path, old, new, expected, line):
    """Both were read silently: a second entity with an id replaced the first, and any ddi value but "false"
    (or none) made a positive pair."""
    p = tmp_path / "bad.xml"
    p.write_text(DDI_XML.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(DataFormatError, match="E259") as ei:
        read_ddi(p)
    assert expected in str(ei.value) and ei.value.line == line
