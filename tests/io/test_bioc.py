"""BioC XML: passages at offsets, discontinuous and composite annotations, relations, round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from biobert.errors import DataFormatError
from biobert.io import read, reads, write, writes
from biobert.io.bioc import read_bioc, write_bioc
from biobert.io.pubtator import read_pubtator

FIX = Path(__file__).parent / "fixtures"
BIOC = FIX / "cdr_sample.BioC.xml"
PUBTATOR = FIX / "cdr_sample.PubTator.txt"


def _doc(body: str) -> str:
    return f"<?xml version='1.0' encoding='UTF-8'?><collection><source>s</source><date>d</date><key>k</key><document><id>D1</id>{body}</document></collection>"


def test_passages_and_spans_match_the_pubtator_version():
    docs = read(BIOC)
    assert [d.id for d in docs] == ["227508", "gap1"]
    pub = read_pubtator(PUBTATOR)[0]
    d = docs[0]
    assert d.text == pub.text  # title at 0, abstract at len(title) + 1: the same text as PubTator's
    assert [p["offset"] for p in d.metadata["passages"]] == [0, 83]
    assert d.metadata["passages"][0]["infons"] == {"type": "title"}
    cdr_spans = [s for s in d.spans if s.label != "Species"]
    assert cdr_spans == list(pub.spans)  # offsets, labels, ids and mention texts
    assert d.metadata["relations"] == [["CID", "D008750", "D006973"]]
    assert all(doc.text[s.start : s.end] == s.text for doc in docs for s in doc.spans)


def test_discontinuous_annotation_gives_one_span_per_location():
    d = read_bioc(BIOC)[0]
    species = [(s.start, s.end, s.text, s.ids) for s in d.spans if s.label == "Species"]
    assert species == [(0, 3, "Nal", (("NCBITaxon", "NCBITaxon:10116"),)), (77, 81, "rats", (("NCBITaxon", "NCBITaxon:10116"),))]
    assert d.metadata["discontinuous_annotations"] == 1
    assert d.metadata["discontinuous_groups"] == [["Species", [[0, 3], [77, 81]]]]


def test_individual_mentions_are_set_aside_unless_asked_for():
    d = read_bioc(BIOC)[0]
    aside = d.metadata["individual_mentions"]
    assert [(m["locations"], m["text"]) for m in aside] == [([[180, 186], [200, 208]], "ocular toxicity"), ([[191, 208]], "auditory toxicity")]
    assert not any(s.start == 191 for s in d.spans)
    d2 = read_bioc(BIOC, individual_mentions=True)[0]
    assert "individual_mentions" not in d2.metadata
    parts = [(s.start, s.end, s.text) for s in d2.spans if s.label == "Disease" and s.start >= 180 and (s.start, s.end) != (180, 208)]
    assert parts == [(180, 186, "ocular"), (191, 208, "auditory toxicity"), (200, 208, "toxicity")]
    assert d2.metadata["discontinuous_annotations"] == 2


def test_span_relation_from_annotation_nodes():
    d = read_bioc(BIOC)[0]
    (rel,) = d.relations
    assert rel.label == "ANTAGONIST"
    assert (rel.head.text, rel.head.start, rel.tail.text, rel.tail.start) == ("Naloxone", 0, "clonidine", 50)


def test_gaps_between_passages_are_filled_with_spaces():
    d = read_bioc(BIOC)[1]
    assert d.text == "ΔF508 CFTR." + " " * 9 + "Cystic fibrosis (CF)."
    assert [(s.start, s.end, s.text) for s in d.spans] == [(0, 5, "ΔF508"), (20, 35, "Cystic fibrosis"), (37, 39, "CF")]
    assert d.metadata["infons"] == {"note": "passages with a gap"}


@pytest.mark.parametrize("individual", [False, True])
def test_round_trip(tmp_path, individual):
    docs = read_bioc(BIOC, individual_mentions=individual)
    out = tmp_path / "out.xml"
    report = write(docs, out)
    assert report["docs"] == 2 and report["relations"] == 2
    assert read_bioc(out, individual_mentions=individual) == docs


def test_pubtator_to_bioc_and_back():
    pub = read_pubtator(PUBTATOR)
    back = reads(writes(pub, "bioc"), "bioc")
    assert [d.text for d in back] == [d.text for d in pub]
    assert [d.spans for d in back] == [d.spans for d in pub]
    assert [d.metadata["relations"] for d in back] == [d.metadata["relations"] for d in pub]
    xml = writes(pub, "bioc")
    assert '<infon key="Chemical">D008750</infon>' in xml and "<location offset=\"63\" length=\"4\"/>" in xml


def test_annotation_text_mismatch_names_document_and_annotation():
    body = ("<passage><offset>0</offset><text>TNF-α blockade</text>"
            "<annotation id='A7'><infon key='type'>Gene</infon><location offset='0' length='4'/><text>TNF-α</text></annotation>"
            "</passage>")
    with pytest.raises(DataFormatError) as e:
        reads(_doc(body), "bioc")
    assert e.value.code == "E220" and e.value.line == 1  # the line of the <annotation> (this XML is one line)
    assert "D1" in e.value.expected and "A7" in e.value.expected and e.value.found == "TNF-"


def test_location_outside_text_and_overlapping_passages():
    body = "<passage><offset>0</offset><text>abc</text><annotation id='1'><infon key='type'>X</infon><location offset='2' length='5'/><text>c</text></annotation></passage>"
    with pytest.raises(DataFormatError, match="E221"):
        reads(_doc(body), "bioc")
    body = "<passage><offset>0</offset><text>abcdef</text></passage><passage><offset>3</offset><text>def</text></passage>"
    with pytest.raises(DataFormatError, match="E221"):
        reads(_doc(body), "bioc")


def test_annotation_without_type():
    body = "<passage><offset>0</offset><text>abc</text><annotation id='1'><location offset='0' length='1'/><text>a</text></annotation></passage>"
    with pytest.raises(DataFormatError) as e:
        reads(_doc(body), "bioc")
    assert e.value.code == "E222"


def test_malformed_xml_reports_line(tmp_path):
    path = tmp_path / "bad.xml"
    path.write_text("<?xml version='1.0'?>\n<collection>\n<document>\n<id>1</id>\n</collection>\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_bioc(path)
    assert e.value.code == "E223" and e.value.line == 5 and e.value.path == str(path)


def test_write_plain_document_and_read_back(tmp_path):
    from biobert.types import Document, Span

    doc = Document("n1", "Na⁺/K⁺-ATPase ± ouabain").with_spans([Span(0, 13, "Gene", ids=(("NCBIGene", "476"),)), Span(16, 23, "Chemical")])
    out = tmp_path / "plain.xml"
    write_bioc([doc], out)
    (back,) = read_bioc(out)
    assert back.text == doc.text and back.spans == doc.spans
    assert '<infon key="NCBI Gene">476</infon>' in out.read_text(encoding="utf-8")


def test_passages_that_leave_text_out_are_replaced_by_one_passage():
    from biobert.types import Document, Span

    doc = Document("p", "Title.\nBody with aspirin.", metadata={"passages": [{"type": "title", "offset": 0, "length": 6}]})
    doc = doc.with_spans([Span(17, 24, "Chemical")])
    (back,) = reads(writes([doc], "bioc"), "bioc")
    assert back.text == doc.text and back.spans == doc.spans
    assert [(p["offset"], p["length"]) for p in back.metadata["passages"]] == [(0, len(doc.text))]


def test_composite_names_survive_pubtator_to_bioc_to_pubtator():
    original = PUBTATOR.read_text(encoding="utf-8")  # has "ocular toxicity|auditory toxicity" in a 7th column
    xml = writes(read_pubtator(PUBTATOR), "bioc")
    # marked as CDR's BioC marks composite mentions, with the names in an infon of their own
    assert '<infon key="CompositeRole">CompositeMention</infon>' in xml
    assert '<infon key="CompositeNames">ocular toxicity|auditory toxicity</infon>' in xml
    back = reads(xml, "bioc")
    assert back[0].metadata["composite_names"] == [[180, 208, "Disease", "ocular toxicity|auditory toxicity"]]
    assert writes(back, "pubtator") == original


def test_cdr_individual_mentions_give_the_composite_names():
    # CDR's own BioC spells the parts as IndividualMention annotations after the composite one
    (d, _) = read_bioc(BIOC)
    assert d.metadata["composite_names"] == [[180, 208, "Disease", "ocular toxicity|auditory toxicity"]]
    line = "227508\t180\t208\tocular and auditory toxicity\tDisease\tD014786|D006311\tocular toxicity|auditory toxicity"
    assert line in writes([d], "pubtator").split("\n")


def test_composite_ids_with_a_missing_part_round_trip():
    pub = "5|t|Artery and sinus occlusion\n5|a|x\n5\t0\t26\tArtery and sinus occlusion\tDisease\tD002544|-1\tartery occlusion|sinus occlusion\n\n"
    xml = writes(reads(pub, "pubtator"), "bioc")
    assert '<infon key="MESH">D002544|-1</infon>' in xml  # the placeholder does not turn MESH into "identifier"
    (back,) = reads(xml, "bioc")
    assert back.spans[0].ids == (("MESH", "D002544"), ("", "-1"))
    assert writes([back], "pubtator") == pub


@pytest.mark.parametrize("fmt", ["bioc", "biocjson"])
def test_span_and_relation_scores_are_written_and_read_back(fmt):
    from biobert.types import Document, Relation, Span

    head, tail = Span(0, 7, "Chemical", score=0.875), Span(8, 12, "Disease", score=0.5)
    doc = Document("s", "Aspirin pain").with_spans([head, tail]).with_relations([Relation(head, tail, "CID", score=0.25)])
    (back,) = reads(writes([doc], fmt), fmt)
    assert [s.score for s in back.spans] == [0.875, 0.5] and back.relations[0].score == 0.25
    assert "span_infons" not in back.metadata  # a numeric score is the span's, not an extra infon


def test_non_numeric_score_infon_stays_an_infon():
    body = ("<passage><offset>0</offset><text>abc</text><annotation id='1'><infon key='type'>X</infon>"
            "<infon key='score'>high</infon><location offset='0' length='1'/><text>a</text></annotation></passage>")
    (d,) = reads(_doc(body), "bioc")
    assert d.spans[0].score is None and d.metadata["span_infons"][0]["infons"] == {"score": "high"}


def test_characters_xml_cannot_hold_are_replaced_one_for_one_and_counted(tmp_path):
    from biobert.types import Document, Span

    # form feed and NUL (PDF-extracted text), U+FFFF, a lone surrogate; also in an id and a label
    text = "breast cancer.\x0cBRCA1\x00 \uffff \ud83d TP53."
    doc = Document("d\x0b1", text).with_spans([Span(0, 13, "Dis\x01ease"), Span(15, 20, "Gene"), Span(26, 30, "Gene")])
    out = tmp_path / "ff.xml"
    report = write_bioc([doc], out)
    assert report["replaced_characters"] == 6
    (back,) = read_bioc(out)
    assert back.id == "d 1" and back.text == "breast cancer. BRCA1    \ufffd TP53."
    assert len(back.text) == len(text)
    assert [(s.start, s.end, s.label, s.text) for s in back.spans] == [
        (0, 13, "Dis ease", "breast cancer"), (15, 20, "Gene", "BRCA1"), (26, 30, "Gene", "TP53")]


def test_bioc_json_keeps_what_xml_cannot_hold(tmp_path):
    from biobert.types import Document, Span

    doc = Document("j", "a\x0cb \ud83d TP53").with_spans([Span(6, 10, "Gene")])
    out = tmp_path / "j.bioc.json"
    assert write([doc], out, "biocjson")["replaced_characters"] == 0
    (back,) = read(out, "biocjson")
    assert back.text == doc.text and back.spans == doc.spans


def test_tag_style_bioc_output_with_form_feed(tmp_path):
    # biobert tag --output-format bioc: the file is opened first, the collection written at close
    from biobert.tagging import open_writer
    from biobert.types import Document, Span

    out = tmp_path / "ff.xml"
    with open_writer(out, "bioc") as writer:
        writer.write([Document("0", "breast cancer.\x0cBRCA1.\n").with_spans([Span(15, 20, "Gene", score=0.9)])])
        writer.close()
    assert writer.counts["replaced_characters"] == 1
    (back,) = read_bioc(out)
    assert back.text == "breast cancer. BRCA1.\n" and back.spans[0].text == "BRCA1" and back.spans[0].score == 0.9


@pytest.mark.parametrize("xml, root", [("<html><body>x</body></html>", "html"),
                                       ('<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle/></PubmedArticleSet>', "PubmedArticleSet")])
def test_xml_that_is_not_a_bioc_collection_is_refused(xml, root):
    """The bioc package reads any XML as an empty collection; zero documents and no error would hide a wrong file."""
    from biobert.io import reads

    with pytest.raises(DataFormatError) as e:
        reads(xml, "bioc")
    assert e.value.code == "E226" and root in e.value.found


@pytest.mark.parametrize("annotation, code", [
    ("<infon key='type'>Gene</infon><location offset='0' length='4'/><text>TNF-α</text>", "E220"),  # text mismatch
    ("<infon key='type'>Gene</infon><location offset='0' length='99'/><text>TNF-α</text>", "E221"),  # beyond the text
    ("<location offset='0' length='5'/><text>TNF-α</text>", "E222"),  # no type
    ("<infon key='type'>Gene</infon><text>TNF-α</text>", "E224"),  # no location
])
def test_annotation_errors_name_the_line_of_the_annotation(tmp_path, annotation, code):
    """Errors in the content of a BioC file name its line, as the other readers' errors do: the annotation
    ids alone are ambiguous across passages and hard to find in a large collection."""
    xml = "\n".join([
        "<?xml version='1.0' encoding='UTF-8'?>",
        "<!DOCTYPE collection SYSTEM 'BioC.dtd'>",
        "<collection><source>s</source><date>d</date><key>k</key>",
        "<document><id>D0</id><passage><offset>0</offset><text>fine</text></passage></document>",
        "<document><id>D1</id>",
        "<passage><offset>0</offset><text>TNF-α blockade</text>",
        "<annotation id='A1'><infon key='type'>Gene</infon><location offset='0' length='5'/><text>TNF-α</text></annotation>",
        f"<annotation id='A7'>{annotation}</annotation>",
        "</passage></document></collection>",
    ])
    path = tmp_path / "c.xml"
    path.write_text(xml, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read(path)
    assert (e.value.code, e.value.path, e.value.line) == (code, str(path), 8)
    assert "A7" in str(e.value) and "D1" in str(e.value)


def test_overlapping_passages_name_the_line_of_their_document(tmp_path):
    xml = ("<?xml version='1.0' encoding='UTF-8'?>\n<collection><source>s</source><date>d</date><key>k</key>\n"
           "<document><id>D1</id>\n<passage><offset>0</offset><text>abcdef</text></passage>\n"
           "<passage><offset>3</offset><text>def</text></passage></document></collection>\n")
    with pytest.raises(DataFormatError) as e:
        reads(xml, "bioc")
    assert e.value.code == "E221" and e.value.line == 3


def test_relation_node_naming_no_annotation_is_counted_and_logged(caplog):
    """A node refid that names no annotation (a typo, an annotation left out) cannot give a Relation; the relation
    is kept in ``metadata["relations"]`` by its refids, as before, but now counted and logged, not moved in silence."""
    xml = _doc("<passage><offset>0</offset><text>TNF-a blockade helps</text>"
               "<annotation id='A1'><infon key='type'>Gene</infon><location offset='0' length='5'/><text>TNF-a</text></annotation>"
               "<annotation id='A2'><infon key='type'>Process</infon><location offset='6' length='8'/><text>blockade</text></annotation>"
               "<relation id='R1'><infon key='relation'>Target</infon><node refid='A1' role='head'/><node refid='A2' role='tail'/></relation>"
               "<relation id='R7'><infon key='relation'>Bind</infon><node refid='A1' role='head'/><node refid='A9' role='tail'/></relation>"
               "</passage>")
    with caplog.at_level("WARNING", logger="biobert.io.bioc"):
        (d,) = reads(xml, "bioc")
    assert [(r.head.text, r.label, r.tail.text) for r in d.relations] == [("TNF-a", "Target", "blockade")]
    assert d.metadata["relations"] == [["Bind", "A1", "A9"]]
    assert d.metadata["unresolved_relations"] == 1
    [rec] = [r for r in caplog.records if "R7" in r.getMessage()]
    assert rec.levelname == "WARNING" and "<string>" in rec.getMessage() and "D1" in rec.getMessage() and "A9" in rec.getMessage()
    # relations whose nodes all resolve, and concept relations (no nodes, CDR CID), are not counted
    assert "unresolved_relations" not in read_bioc(BIOC)[0].metadata


def test_annotation_and_relation_ids_roles_and_infons_round_trip(tmp_path):
    from biobert.io import read, write

    xml = """<?xml version='1.0' encoding='utf-8'?>
<collection><source>x</source><date>x</date><key>x</key><document><id>7</id>
<passage><offset>0</offset><text>BRCA1 causes breast cancer and TP53 too.</text>
<annotation id="T5"><infon key="type">Gene</infon><location offset="0" length="5"/><text>BRCA1</text></annotation>
<annotation id="T6"><infon key="type">Disease</infon><location offset="13" length="13"/><text>breast cancer</text></annotation>
<annotation id="T7"><infon key="type">Gene</infon><location offset="31" length="4"/><text>TP53</text></annotation>
<relation id="R9"><infon key="type">Assoc</infon><infon key="novel">yes</infon>
<node refid="T6" role="Disease"/><node refid="T5" role="Gene"/></relation>
<relation id="R2"><infon key="type">Triple</infon><node refid="T5" role="a"/><node refid="T6" role="b"/><node refid="T7" role="c"/></relation>
</passage></document></collection>"""
    (tmp_path / "in.xml").write_text(xml, encoding="utf-8")
    doc = read(tmp_path / "in.xml")[0]
    assert [(r.head.text, r.tail.text, r.label) for r in doc.relations] == [("breast cancer", "BRCA1", "Assoc")]
    # a relation of three nodes is no two-argument Relation: kept by its refids rather than cut to two
    assert doc.metadata["relations"] == [["Triple", "T5", "T6", "T7"]]
    write([doc], tmp_path / "out.xml")
    out = (tmp_path / "out.xml").read_text(encoding="utf-8")
    # these used to come back as ids 0/1/2, relation R0 with a "relation" infon, roles head/tail, no "novel"
    for piece in ('annotation id="T5"', 'annotation id="T6"', 'annotation id="T7"', 'relation id="R9"',
                  '<infon key="type">Assoc</infon>', '<infon key="novel">yes</infon>', 'refid="T6" role="Disease"',
                  'refid="T5" role="Gene"'):
        assert piece in out, piece
    assert read(tmp_path / "out.xml")[0] == doc


def _astral_xml(with_text: bool) -> str:
    # "😀😀 Aspirin causes asthma.": Java tools count each emoji as two UTF-16 code units, so Aspirin is at 5
    text = '<text>Aspirin</text>' if with_text else ''
    return f"""<?xml version='1.0' encoding='utf-8'?>
<collection><source>x</source><date>x</date><key>x</key><document><id>1</id>
<passage><offset>0</offset><text>\U0001F600\U0001F600 Aspirin causes asthma.</text>
<annotation id="A"><infon key="type">Chemical</infon><location offset="5" length="7"/>{text}</annotation>
</passage></document></collection>"""


def test_utf16_offsets_are_read_explicitly_or_found_by_auto(tmp_path):
    (tmp_path / "t.xml").write_text(_astral_xml(True), encoding="utf-8")
    doc = read_bioc(tmp_path / "t.xml")  # auto: characters fail (E220), bytes fail, UTF-16 code units fit
    assert [s.text for s in doc[0].spans] == ["Aspirin"] and doc[0].metadata["source_offsets"] == "utf-16 code units"
    assert doc[0].spans[0].start == 3
    # without <text> nothing shows which unit was meant: the caller says so
    (tmp_path / "n.xml").write_text(_astral_xml(False), encoding="utf-8")
    assert [s.text for s in read_bioc(tmp_path / "n.xml", offsets="utf16")[0].spans] == ["Aspirin"]
    with pytest.raises(DataFormatError, match="E220.*UTF-16"):
        read_bioc(tmp_path / "t.xml", offsets="chars")


def test_when_no_offset_unit_fits_the_error_says_which_were_tried(tmp_path):
    bad = _astral_xml(True).replace('offset="5"', 'offset="7"')  # (9 would be the UTF-8 byte reading)
    (tmp_path / "b.xml").write_text(bad, encoding="utf-8")
    with pytest.raises(DataFormatError, match="E220.*character, UTF-8 byte and UTF-16 offsets were tried"):
        read_bioc(tmp_path / "b.xml")


def test_an_annotation_is_written_into_the_passage_that_holds_it(tmp_path):
    import xml.etree.ElementTree as ET

    from biobert.types import Document, Span

    text = "Aspirin study. Asthma was seen."
    doc = Document("1", text, metadata={"passages": [{"type": "title", "offset": 0, "length": 14},
                                                      {"type": "abstract", "offset": 15, "length": 16}]})
    doc = doc.with_spans([Span(0, 7, "Chemical"), Span(15, 21, "Disease")])
    write_bioc([doc], tmp_path / "o.xml")
    passages = ET.parse(tmp_path / "o.xml").getroot().find("document").findall("passage")
    assert [[a.find("text").text for a in p.findall("annotation")] for p in passages] == [["Aspirin"], ["Asthma"]]


@pytest.mark.parametrize("fmt", ["bioc", "biocjson"])
def test_whitespace_only_text_is_a_passage_and_whitespace_outside_passages_is_counted(fmt):
    from biobert.io import changes
    from biobert.io.bioc import write_bioc_json
    from biobert.types import Document, Span

    import io as stdio

    writer = write_bioc if fmt == "bioc" else write_bioc_json
    # no passage was written for a text of whitespace only: "   " read back as "", a span on " " raised E221
    for text, spans in ((" ", [Span(0, 1, "X")]), ("   ", [])):
        buf = stdio.StringIO()
        report = writer([Document(id="d", text=text).with_spans(spans)], buf)
        [back] = reads(buf.getvalue(), fmt)
        assert back.text == text and [(s.start, s.end) for s in back.spans] == [(s.start, s.end) for s in spans]
        assert changes(report) == {}
    passages = [{"type": "title", "offset": 0, "length": 5}, {"type": "abstract", "offset": 7, "length": 8}]
    doc = Document(id="d", text="Title\n\nAbstract  ", metadata={"passages": passages})
    buf = stdio.StringIO()
    report = writer([doc], buf)
    [back] = reads(buf.getvalue(), fmt)
    assert back.text == "Title  Abstract"  # the gap as spaces, the trailing spaces gone: 2 + 2 characters
    assert changes(report) == {"whitespace_outside_passages_changed": 4}
    same = Document(id="d", text="Title  Abstract", metadata={"passages": passages})
    assert changes(writer([same], stdio.StringIO())) == {}


@pytest.mark.parametrize("fmt", ["bioc", "biocjson"])
@pytest.mark.parametrize("ident", ["a|b", " a"])
def test_an_id_the_joined_id_infon_cannot_hold_is_refused(tmp_path, fmt, ident):
    from biobert.types import Document, Span

    # a span's ids share one infon joined by "|": "a|b" read back as two ids, " a" as "a", uncounted
    d = Document(id="1", text="abc").with_spans([Span(0, 3, "X", ids=(("ID", ident),))])
    with pytest.raises(DataFormatError, match="E227") as e:
        write([d], tmp_path / "o.out", fmt=fmt)
    assert str(tmp_path / "o.out") in str(e.value) and not (tmp_path / "o.out").exists()
    ok = Document(id="1", text="abc").with_spans([Span(0, 3, "X", ids=(("MESH", "D002544"), ("", "-1")))])
    assert reads(writes([ok], fmt), fmt)[0].spans[0].ids == (("MESH", "D002544"), ("", "-1"))


def _peak_bytes(fn):
    """``fn()``'s result or exception, and the most memory Python allocated while it ran."""
    import tracemalloc

    tracemalloc.start()
    try:
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - returned for the caller to check
            out = exc
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_max_chars_refuses_a_far_passage_offset_before_building_the_text():
    """A 200-byte file with <offset>300000000</offset> made a 300-million-character text (the gap filled with
    spaces) before anything could refuse it; with max_chars the reader raises E228 first, allocating nothing large,
    and counts every document of the collection against the one limit."""
    far = _doc("<passage><offset>30000000</offset><text>BRCA1</text></passage>")
    err, peak = _peak_bytes(lambda: read_bioc(__import__("io").StringIO(far), max_chars=1000))
    assert isinstance(err, DataFormatError) and err.code == "E228", err
    assert "30000005 characters" in str(err) and peak < 5_000_000, peak
    two = ("<?xml version='1.0' encoding='UTF-8'?><collection><source>s</source><date>d</date><key>k</key>"
           + "".join(f"<document><id>D{i}</id><passage><offset>0</offset><text>{'a' * 600}</text></passage></document>"
                     for i in range(2)) + "</collection>")
    assert len(reads(two, "bioc", max_chars=1200)) == 2
    with pytest.raises(DataFormatError, match="E228 .*at most 1000 characters.*document D1: .*1200 characters"):
        reads(two, "bioc", max_chars=1000)
    assert reads(far, "bioc")[0].text.endswith(" BRCA1")  # no limit given: files are read as before


def test_byte_offsets_after_a_long_gap_keep_no_entry_per_gap_position():
    """With byte (or UTF-16) offsets, every position of the gap before a passage got its own dictionary entry:
    a 2-million-unit gap held 2 million entries (about 200 MB). Gaps are ranges now; offsets inside them still map."""
    gap = 2_000_000
    body = (f"<passage><offset>0</offset><text>α-x</text></passage>"
            f"<passage><offset>{gap}</offset><text>BRCA1 β</text>"
            f"<annotation id='1'><infon key='type'>Gene</infon><location offset='{gap}' length='5'/><text>BRCA1</text></annotation>"
            f"</passage>")
    doc, peak = _peak_bytes(lambda: read_bioc(__import__("io").StringIO(_doc(body)), offsets="bytes")[0])
    assert not isinstance(doc, Exception), doc
    (s,) = doc.spans
    assert doc.text[s.start:s.end] == "BRCA1" and s.start == gap - 1  # "α" is 2 bytes, 1 character
    assert [p["offset"] for p in doc.metadata["passages"]] == [0, gap - 1]
    assert peak < 40_000_000, peak
