"""PubTator reading and writing on fixtures shaped like NCBI-disease and BC5CDR."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from biobert.errors import ConfigError, DataFormatError
from biobert.io import read, reads, write, writes
from biobert.io.pubtator import read_pubtator, write_pubtator
from biobert.types import Document, Relation, Span

FIX = Path(__file__).parent / "fixtures"
NCBI = FIX / "ncbi_sample.txt"
CDR = FIX / "cdr_sample.PubTator.txt"


def test_ncbi_like_file_with_leading_blank_line():
    docs = read(NCBI)  # a .txt file, recognised as PubTator by its first record
    assert [d.id for d in docs] == ["10192393", "8528200"]
    d = docs[0]
    title = "A common human skin tumour is caused by activating mutations in β-catenin."
    assert d.text.startswith(title + " Most colon cancers")
    assert d.metadata["passages"] == [
        {"type": "title", "offset": 0, "length": 74},
        {"type": "abstract", "offset": 75, "length": 271},
    ]
    got = {(s.start, s.end, s.label): (s.text, s.ids) for s in d.spans}
    assert got[(15, 26, "DiseaseClass")] == ("skin tumour", (("MESH", "D012878"),))
    assert got[(178, 206, "CompositeMention")] == ("colon and some other cancers", (("MESH", "D003110"), ("MESH", "D009369")))
    assert got[(254, 272, "SpecificDisease")] == ("Myotonic dystrophy", (("OMIM", "OMIM:160900"),))
    assert got[(274, 276, "SpecificDisease")] == ("DM", (("MESH", "D009223"),))  # stray space before the id removed
    assert got[(282, 329, "SpecificDisease")][1] == (("MESH", "D004829+D003294"),)
    for doc in docs:
        assert all(doc.text[s.start : s.end] == s.text for s in doc.spans)
    # a record with an empty abstract line keeps the PubTator layout: title + " " + ""
    assert docs[1].text == "Tumour suppressor Å in 8 kindreds. "
    assert docs[1].metadata["passages"][1] == {"type": "abstract", "offset": 35, "length": 0}


def test_cdr_like_file_awkward_characters_composite_and_relations():
    docs = read_pubtator(CDR)
    assert [d.id for d in docs] == ["227508", "354896"]
    d = docs[0]
    # NEL (U+0085) and LINE SEPARATOR (U+2028) are not line breaks in PubTator: they stay in the abstract
    assert "\x85End\u2028of" in d.text and "\u00a0nM" in d.text and "methyldopa\x96treated" in d.text
    assert len(d.text) == 295
    spans = [(s.start, s.end, s.label, s.text) for s in d.spans]
    assert spans[:6] == [
        (0, 8, "Chemical", "Naloxone"),
        (50, 59, "Chemical", "clonidine"),
        (63, 67, "Chemical", "Ca²⁺"),
        (100, 112, "Disease", "hypertensive"),
        (119, 132, "Chemical", "[3H]-naloxone"),
        (144, 156, "Chemical", "α-methyldopa"),
    ]
    assert spans[-1] == (249, 294, "Chemical", "(S)-2-amino-3-(4-hydroxyphenyl)propanoic acid")
    assert d.spans[4].ids == ()  # "-1": not normalisable
    assert d.metadata["composite_names"] == [[180, 208, "Disease", "ocular toxicity|auditory toxicity"]]
    assert d.metadata["relations"] == [["CID", "D008750", "D006973"], ["CID", "D003000", "D014786"]]
    assert docs[1].metadata["relations"] == [["CID", "D008012", "D006323"]]
    assert all(doc.text[s.start : s.end] == s.text for doc in docs for s in doc.spans)


def test_round_trip_is_byte_identical_for_the_cdr_fixture():
    original = CDR.read_text(encoding="utf-8")
    docs = read_pubtator(CDR)
    assert writes(docs, "pubtator") == original
    assert reads(original, "pubtator") == docs


def test_round_trip_ncbi_fixture(tmp_path):
    docs = read_pubtator(NCBI)
    out = tmp_path / "ncbi.PubTator"
    report = write(docs, out)
    assert report == {"docs": 2, "mentions": 9, "relations": 0, "replaced_characters": 0, "dropped_scores": 0,
                      "relation_arguments_named_by_text": 0, "relation_argument_ids_not_written": 0, "ids_database_not_written": 0,
                      "empty_abstracts_added": 0}
    assert read(out) == docs


@pytest.mark.parametrize(
    "content, code, line",
    [
        ("1|t|Aspirin.\n1|a|Given.\n1\t0\t7\tAspirn\tChemical\tD001241\n", "E211", 3),  # mention text differs
        ("1|t|Aspirin.\n1|a|Given.\n1\t0\t70\tAspirin\tChemical\tD001241\n", "E211", 3),  # beyond the text
        ("\n\n1|t|A.\n1|a|B.\n2\t0\t1\tA\tChemical\t-1\n", "E212", 5),  # PMID of another record
        ("1|a|Abstract first.\n", "E210", 1),
        ("1|t|T.\n1|a|A.\n1\t0\t1\tT\n", "E210", 3),  # mention line with too few columns
        ("1|t|T.\n1|a|A.\ngarbage\n", "E212", 3),
        ("1|t|T.\n1|a|A.\n1\tCID\n", "E210", 3),
        ("1|t|T.\n1|a|A.\n1\t0\tfive\tT\tChemical\n", "E210", 3),  # end offset not a number: not a relation
        ("1|t|T.\n1|a|A.\n1\n", "E210", 3),  # a bare PMID
        ("1\t0\t1\tT\tChemical\t-1\n", "E210", 1),  # mention before any title
        ("1|t|Title\n1\t-1\t5\tTitle\tX\t-1\n", "E213", 2),  # negative start: not a relation "-1"
        ("1|t|Title\n1\t0\t-5\tTitle\tX\t-1\n", "E213", 2),  # negative end
        ("1|t|Title\n1\t0\t²\tTitle\tX\t-1\n", "E214", 2),  # "²".isdigit() is True, int("²") fails
        ("1|t|Title\n1\t٠\t5\tTitle\tX\t-1\n", "E214", 2),  # Arabic-Indic zero: int() would read it as 0
        ("1|t|T.\r1|a|A.\r1\t0\t1\tX\tChemical\t-1\r", "E211", 3),  # CR-only lines, numbered as such
    ],
)
def test_malformed_records(tmp_path, content, code, line):
    path = tmp_path / "bad.PubTator.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_pubtator(path)
    assert (e.value.code, e.value.line, e.value.path) == (code, line, str(path))


def test_mismatch_message_names_expected_and_found():
    with pytest.raises(DataFormatError) as e:
        reads("9|t|β-blockers.\n9|a|x\n9\t0\t9\tβ-blocker\tChemical\t-1\n9\t0\t5\tbeta-\tChemical\t-1\n", "pubtator")
    assert e.value.line == 4 and "beta-" in e.value.expected and e.value.found == "β-blo"


def test_padded_mention_column_is_accepted_and_recorded():
    # NCBI-disease train has one mention column with trailing spaces; its offsets are right
    (doc,) = reads('5|t|febrile seizures " plus "\n5|a|x\n5\t0\t25\tfebrile seizures " plus "  \tSpecificDisease\tD003294\n', "pubtator")
    assert doc.spans[0].text == 'febrile seizures " plus "'
    assert doc.metadata["padded_mentions"] == 1


def test_records_without_blank_separator_and_without_abstract():
    docs = reads("1|t|Only a title.\n1\t0\t4\tOnly\tX\t\n2|t|Second.\n2|a|Abstract.\n", "pubtator")
    assert [(d.id, d.text) for d in docs] == [("1", "Only a title."), ("2", "Second. Abstract.")]
    assert docs[0].metadata["passages"] == [{"type": "title", "offset": 0, "length": 13}]
    assert docs[0].spans[0].ids == ()
    # the empty id column comes back empty (test_empty_id_column_is_written_back_as_it_was)
    assert writes(docs, "pubtator").startswith("1|t|Only a title.\n1\t0\t4\tOnly\tX\t\n\n2|t|")


def test_write_document_without_passages_and_span_relations():
    text = "Cisplatin nephrotoxicity\nCisplatin causes nephrotoxicity\tin rats."
    head, tail = Span(0, 9, "Chemical", ids=(("MESH", "D002945"),)), Span(10, 24, "Disease")
    doc = Document("42", text).with_spans([head, tail]).with_relations([Relation(head, tail, "CID")])
    buf = io.StringIO()
    report = write_pubtator([doc], buf)
    assert buf.getvalue() == (
        "42|t|Cisplatin nephrotoxicity\n"
        "42|a|Cisplatin causes nephrotoxicity in rats.\n"
        "42\t0\t9\tCisplatin\tChemical\tD002945\n"
        "42\t10\t24\tnephrotoxicity\tDisease\t-1\n"
        "42\tCID\tD002945\tnephrotoxicity\n\n"
    )
    assert report["replaced_characters"] == 1  # the tab; the title/abstract line break is the separator
    assert report["relation_arguments_named_by_text"] == 1  # the disease has no id: named by its mention, said
    assert report["relation_argument_ids_not_written"] == report["ids_database_not_written"] == 0
    gene = Span(0, 9, "Gene", ids=(("NCBIGene", "672"), ("HGNC", "HGNC:1100")))
    rep = write_pubtator([Document("5", "Cisplatin x").with_spans([gene]).with_relations([Relation(gene, gene, "R")])], io.StringIO())
    # 672 reads back as ("ID", "672"); the relation line names 672 only
    assert rep["ids_database_not_written"] == 1 and rep["relation_argument_ids_not_written"] == 2
    (back,) = reads(buf.getvalue(), "pubtator")
    assert back.spans == doc.spans  # offsets survive the replacement
    assert back.metadata["relations"] == [["CID", "D002945", "nephrotoxicity"]]


def test_write_plain_text_document_gets_empty_abstract():
    out = writes([Document("7", "Aspirin.").with_spans([Span(0, 7, "Chemical")])], "pubtator")
    assert out == "7|t|Aspirin.\n7|a|\n7\t0\t7\tAspirin\tChemical\t-1\n\n"


def test_write_rejects_ids_that_are_not_pmids():
    with pytest.raises(ConfigError):
        writes([Document("a|b", "x")], "pubtator")


COMPOSITE = (
    "8638876|t|Occlusion.\n"
    "8638876|a|Coexistence of the cerebral artery and the venous sinus occlusion.\n"
    "8638876\t0\t9\tOcclusion\tDisease\t-1\n"
    "8638876\t30\t76\tcerebral artery and the venous sinus occlusion\tDisease\tD002544|-1\t"
    "cerebral artery occlusion|the venous sinus occlusion\n"
    "8638876\tCID\tD000001\tD002544\n\n"
)


def test_composite_ids_keep_the_position_of_a_missing_id():
    (doc,) = reads(COMPOSITE, "pubtator")
    plain, comp = doc.spans
    # one pair per part, aligned with the names of the 7th column; "-1" alone still means "no id"
    assert comp.ids == (("MESH", "D002544"), ("", "-1"))
    assert plain.ids == ()
    assert writes([doc], "pubtator") == COMPOSITE
    # a relation argument is named by its first real id, never by the placeholder
    rel_doc = doc.with_relations([Relation(Span(0, 9, "Disease", ids=(("", "-1"), ("MESH", "D1"))), comp, "R")])
    assert writes([rel_doc], "pubtator").endswith("8638876\tR\tD1\tD002544\n\n")


def test_cr_only_line_endings_read_like_lf(tmp_path):
    lf = CDR.read_bytes()
    path = tmp_path / "mac.PubTator.txt"
    path.write_bytes(lf.replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    assert read_pubtator(path) == read_pubtator(CDR)


def test_scores_cannot_be_written_and_are_counted():
    head, tail = Span(0, 7, "Chemical", score=0.9), Span(8, 12, "Disease", score=0.8)
    doc = Document("3", "Aspirin pain").with_spans([head, tail]).with_relations([Relation(head, tail, "CID", score=0.7)])
    report = write_pubtator([doc], io.StringIO())
    assert report["dropped_scores"] == 3 and report["mentions"] == 2 and report["relations"] == 1


def test_lone_surrogate_is_replaced_one_for_one_and_counted(tmp_path):
    doc = Document("4", "Emoji \ud83d broken, aspirin.").with_spans([Span(16, 23, "Chemical")])
    out = tmp_path / "s.pubtator"
    report = write_pubtator([doc], out)
    assert report["replaced_characters"] == 1
    (back,) = read_pubtator(out)
    assert back.text[6] == "\ufffd" and back.spans[0].text == "aspirin"


def test_unencodable_text_in_other_writers_is_a_typed_error(tmp_path):
    # CoNLL keeps tokens as they are and UTF-8 cannot hold a lone surrogate: E229 instead of UnicodeEncodeError
    # (the JSON writers escape it instead: tests/io/test_jsonl.py)
    out = tmp_path / "s.conll"
    with pytest.raises(DataFormatError) as e:
        write([Document("doc-7", "broken \ud83d here")], out)
    assert e.value.code == "E229" and e.value.path == str(out) and "ud83d" in e.value.found


def test_empty_id_column_is_written_back_as_it_was():
    """An empty id column (a trailing tab), a blank one or none at all mean "no id" like ``-1``, and a Span holds
    ``()`` for all of them; the column is kept in ``metadata["id_columns"]`` so the round trip does not turn it
    into ``-1``."""
    src = ("5|t|Aspirin eases pain in rats.\n5|a|\n"
           "5\t0\t7\tAspirin\tChemical\t\n"
           "5\t8\t13\teases\tX\t-1\n"
           "5\t14\t18\tpain\tDisease\t \n"
           "5\t22\t26\trats\tSpecies\n\n")
    (doc,) = reads(src, "pubtator")
    assert [s.ids for s in doc.spans] == [(), (), (), ()]
    assert doc.metadata["id_columns"] == [[0, 7, "Chemical", ""], [14, 18, "Disease", " "], [22, 26, "Species", None]]
    assert writes([doc], "pubtator") == src
    assert reads(writes([doc], "pubtator"), "pubtator") == [doc]
    # a span given an id since it was read is written with that id, not with the old empty column
    linked = doc.with_spans([Span(0, 7, "Chemical", ids=(("MESH", "D001241"),)), *doc.spans[1:]])
    assert "5\t0\t7\tAspirin\tChemical\tD001241\n" in writes([linked], "pubtator")


def test_a_text_without_title_structure_is_written_with_an_empty_abstract_and_counted(tmp_path):
    from biobert.io.pubtator import read_pubtator, write_pubtator

    doc = Document(id="9", text="TNF-α activates β-catenin.", spans=(Span(0, 5, "Gene"),))
    report = write_pubtator([doc], tmp_path / "a.pubtator")
    assert "9|a|\n" in (tmp_path / "a.pubtator").read_text(encoding="utf-8")  # both lines, as PubTator has them
    # the record reads back as title + " " + "" (as BioC's passage offsets would give it): one character more,
    # which the report now says instead of changing the text unseen
    assert report["empty_abstracts_added"] == 1
    back = read_pubtator(tmp_path / "a.pubtator")[0]
    assert back.text == doc.text + " " and back.spans[0].text == "TNF-α"
    assert write_pubtator([back], tmp_path / "b.pubtator")["empty_abstracts_added"] == 0  # its passages say where


def test_a_pmid_that_opens_a_second_record_is_warned_about_with_both_lines(caplog):
    text = "123|t|First.\n123|a|A.\n123|t|Again.\n123|a|B.\n\n124|t|Other.\n124|a|C.\n"
    with caplog.at_level("WARNING", logger="biobert.io.pubtator"):
        docs = reads(text, "pubtator")
    assert [d.id for d in docs] == ["123", "123", "124"]
    assert "<string>:3: PMID 123 opens a second record (the first at line 1)" in caplog.text


@pytest.mark.parametrize("label,ids", [
    ("a\tb", ()), ("x\ny", ()), ("x\ry", ()),
    ("X", (("ID", "a|b"),)), ("X", (("ID", "a\tb"),)), ("X", (("ID", "a\nb"),)), ("X", (("ID", " a"),)),
])
def test_a_label_or_id_its_column_cannot_hold_is_refused_before_the_record_is_written(label, ids):
    # a tab started another column (label "a\tb" read back as label "a" with id "b"), a line break another line
    # (an unreadable file), a "|" in an id another id, and the reader strips an id's spaces
    good = Document(id="1", text="abc").with_spans([Span(0, 3, "X", ids=(("ID", "a,b"),))])
    bad = Document(id="2", text="abc").with_spans([Span(0, 3, label, ids=ids)])
    buf = io.StringIO()
    with pytest.raises(DataFormatError, match="E217") as e:
        write_pubtator([good, bad], buf)
    assert "'2'" in str(e.value)
    assert buf.getvalue() == "1|t|abc\n1|a|\n1\t0\t3\tabc\tX\ta,b\n\n"  # nothing of the bad record
    assert reads(buf.getvalue(), "pubtator")[0].spans[0].ids == (("ID", "a,b"),)  # "," is no separator: one id
    a, b = Span(0, 1, "X", text="a"), Span(2, 3, "X", text="c")
    rel = Document(id="3", text="abc").with_spans([a, b]).with_relations([Relation(a, b, "R\tS")])
    with pytest.raises(DataFormatError, match="E217"):
        writes([rel], "pubtator")


@pytest.mark.parametrize("sep", ["\u2028", "\xa0", "\x0b", "\x85", "\u3000"])
def test_an_unusual_whitespace_separator_is_written_as_the_space_and_counted(sep):
    passages = [{"type": "title", "offset": 0, "length": 5}, {"type": "abstract", "offset": 6, "length": 8}]
    d = Document(id="1", text=f"Title{sep}Abstract", metadata={"passages": passages}).with_spans([Span(0, 14, "X")])
    buf = io.StringIO()
    report = write_pubtator([d], buf)
    # the reader puts " " between title and abstract: the mention holds it too (it kept the original: E211)
    [back] = reads(buf.getvalue(), "pubtator")
    assert back.text == "Title Abstract" and back.spans[0].text == "Title Abstract"
    assert report["replaced_characters"] == 1
    plain = Document(id="1", text="Title Abstract", metadata={"passages": passages})
    assert write_pubtator([plain], io.StringIO())["replaced_characters"] == 0


# -- mutation-testing gaps (round 3) ---------------------------------------------------------------------


@pytest.mark.parametrize("content", [
    "1|t|Title\n1\t0\t5\tTitle\tX\t-1\n1|a|Abstract\n",  # an abstract line after a mention line
    "1|t|Title\n1|a|Abstract\n1\tCID\tD1\n",  # a relation line needs two ids
])
def test_lines_out_of_place_are_e210(content):
    from biobert.errors import DataFormatError
    from biobert.io.pubtator import read_pubtator

    with pytest.raises(DataFormatError, match="E210"):
        read_pubtator(io.StringIO(content))


@pytest.mark.parametrize("pmid", [" 1", "1 "])
def test_a_pmid_with_spaces_at_its_ends_cannot_be_written(pmid):
    from biobert.errors import ConfigError
    from biobert.io.pubtator import write_pubtator

    with pytest.raises(ConfigError, match="E215"):
        write_pubtator([Document(pmid, "Title")], io.StringIO())


def test_a_record_with_an_abstract_passage_keeps_its_abstract_line_even_when_empty():
    from biobert.io.pubtator import write_pubtator

    passages = [{"type": "title", "offset": 0, "length": 5}, {"type": "abstract", "offset": 6, "length": 0}]
    buf = io.StringIO()
    write_pubtator([Document("1", "Title", metadata={"passages": passages})], buf)
    assert buf.getvalue() == "1|t|Title\n1|a|\n\n"


def test_a_repeated_pmid_warning_names_the_first_record(caplog):
    from biobert.io.pubtator import read_pubtator

    with caplog.at_level("WARNING"):
        read_pubtator(io.StringIO("7|t|A\n\n7|t|B\n\n7|t|C\n"))
    msgs = [r.getMessage() for r in caplog.records if "second record" in r.getMessage()]
    assert len(msgs) == 2 and all("the first at line 1" in m for m in msgs)
