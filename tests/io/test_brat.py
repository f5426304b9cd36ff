"""brat standoff: reading, writing, round trips, line breaks and typed errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from biobert.errors import ConfigError, DataFormatError, OffsetError
from biobert.io import guess_format, read, write
from biobert.io.brat import read_brat, write_brat
from biobert.types import Document, Relation, Span

TEXT = "BRCA1 and BRCA 2 raise breast cancer risk.\r\nIL-6\x96induced TNF-α (±\u00a05 %) rose.\n"
ANN = "\n".join([
    "T1\tGene 0 5\tBRCA1",
    "T2\tGene 10 14;15 16\tBRCA 2",
    "T3\tDisease 23 36\tbreast cancer",
    "T4\tGene 57 62\tTNF-α",
    "R1\tAssociation Arg1:T1 Arg2:T3",
    "N1\tReference T3 MESH:D001943\tbreast cancer",
    "N2\tReference T1 NCBIGene:672\tBRCA1",
    "A1\tNegated T4",
    "#1\tAnnotatorNotes T1\tcheck",
    "",
])


def pair(tmp_path: Path, name: str = "doc1", text: str = TEXT, ann: str = ANN) -> Path:
    (tmp_path / f"{name}.txt").write_text(text, encoding="utf-8", newline="")
    (tmp_path / f"{name}.ann").write_text(ann, encoding="utf-8", newline="")
    return tmp_path / f"{name}.ann"


def test_read_spans_fragments_ids_relations_and_kept_lines(tmp_path):
    [d] = read_brat(pair(tmp_path))
    assert d.id == "doc1" and d.text == TEXT  # \r\n kept: brat counts it as two characters
    assert [(s.start, s.end, s.label, s.text) for s in d.spans] == [
        (0, 5, "Gene", "BRCA1"), (10, 16, "Gene", "BRCA 2"), (23, 36, "Disease", "breast cancer"), (57, 62, "Gene", "TNF-α")]
    assert all(d.text[s.start:s.end] == s.text for s in d.spans)
    assert d.metadata["brat_fragments"] == {"10 16 Gene": [[10, 14], [15, 16]]}
    assert d.spans[0].ids == (("NCBIGene", "NCBIGene:672"),) and d.spans[2].ids == (("MESH", "D001943"),)
    [r] = d.relations
    assert (r.head, r.tail, r.label) == (d.spans[0], d.spans[2], "Association")
    assert d.metadata["brat_other"] == ["A1\tNegated T4", "#1\tAnnotatorNotes T1\tcheck"]


def test_round_trip_is_lossless(tmp_path):
    (tmp_path / "in").mkdir()
    docs = read_brat(pair(tmp_path / "in"))
    counts = write_brat(docs, tmp_path / "out")
    assert counts == {"documents": 1, "spans": 4, "relations": 1, "ids": 2, "ids_respelled": 0, "fragmented_spans": 1,
                      "spans_split_at_line_breaks": 0, "spans_trimmed_at_line_breaks": 0, "other_lines": 2, "missing_id_placeholders_not_written": 0,
                      "document_relations_not_written": 0, "composite_names_not_written": 0}
    back = read(tmp_path / "out")  # a directory of .ann files is recognised as brat
    assert guess_format(tmp_path / "out") == "brat"
    assert (tmp_path / "out" / "doc1.txt").read_bytes() == TEXT.encode("utf-8")
    d, b = docs[0], back[0]
    assert (b.text, b.spans, b.relations) == (d.text, d.spans, d.relations)
    assert b.metadata["brat_fragments"] == d.metadata["brat_fragments"]
    assert b.metadata["brat_other"] == d.metadata["brat_other"]


def test_span_across_a_line_break_is_written_as_fragments(tmp_path):
    text = "Familial adenomatous\npolyposis and colon cancer."
    doc = Document("x", text).with_spans([Span(0, 30, "Disease")])
    counts = write([doc], tmp_path, "brat")  # through the registry, by name
    assert counts["spans_split_at_line_breaks"] == 1
    assert (tmp_path / "x.ann").read_text(encoding="utf-8") == "T1\tDisease 0 20;21 30\tFamilial adenomatous polyposis\n"
    [back] = read(tmp_path / "x.ann")
    assert back.spans == doc.spans and back.spans[0].text == "Familial adenomatous\npolyposis"
    ided = Document("z", "BRCA1").with_spans([Span(0, 5, "Gene", ids=(("OMIM", "OMIM:113705"), ("NCBIGene", "672")))])
    write_brat([ided], tmp_path / "z")
    # db:id for every pair, so PubTator's whole "OMIM:113705" comes back whole (see test_pubtator_ids_keep_their_prefix)
    assert "Reference T1 OMIM:113705\t" in (tmp_path / "z" / "z.ann").read_text(encoding="utf-8")
    assert read_brat(tmp_path / "z")[0].spans[0].ids == (("OMIM", "OMIM:113705"), ("NCBIGene", "NCBIGene:672"))
    with pytest.raises(OffsetError, match="E113"):
        write_brat([Document("y", "a\n\nb").with_spans([Span(1, 3, "X")])], tmp_path / "y")


def test_relation_with_a_foreign_argument_and_bad_ids_are_refused(tmp_path):
    a, b = Span(0, 1, "X", text="a"), Span(2, 3, "X", text="b")
    doc = Document("d", "a b").with_spans([a]).with_relations([Relation(a, b, "R")])
    with pytest.raises(OffsetError, match="E112"):
        write_brat([doc], tmp_path)
    with pytest.raises(ConfigError, match="E426"):
        write_brat([Document("../evil", "x")], tmp_path)
    with pytest.raises(ConfigError, match="E429"):
        write_brat([Document("d", "x")], io.StringIO())
    with pytest.raises(ConfigError, match="E429"):
        read_brat(io.StringIO(ANN))


@pytest.mark.parametrize("line,code,expected", [
    ("T1\tGene 0 5\tBRCX1", "E241", "'BRCX1' at 0 5"),
    ("T1\tGene 0 500\tBRCA1", "E241", "offsets within"),
    ("T1\tGene 0-5\tBRCA1", "E240", "<type> <start> <end>"),
    ("R1\tAssociation Arg1:T1 Arg2:T9", "E242", "annotation id"),
    ("N1\tReference T7 MESH:D1\tx", "E242", "annotation id"),
    ("R1\tAssociation T1 T3", "E240", "Arg1:<id>"),
    ("X1\tsomething", "E240", "a line starting with"),
])
def test_malformed_lines_name_file_line_and_expectation(tmp_path, line, code, expected):
    ann = pair(tmp_path, ann="T1\tGene 0 5\tBRCA1\nT3\tDisease 23 36\tbreast cancer\n" + line + "\n")
    with pytest.raises(DataFormatError) as e:
        read_brat(ann)
    err = e.value
    assert err.code == code and err.path == str(ann) and err.line == 3 and expected in err.expected


def test_missing_text_file_and_empty_directory(tmp_path):
    (tmp_path / "lonely.ann").write_text("T1\tX 0 1\ta\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="E243.*lonely.txt"):
        read(tmp_path / "lonely.ann")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="E243"):
        read_brat(tmp_path / "empty")


def test_non_utf8_files_give_a_typed_error_with_the_line(tmp_path):
    (tmp_path / "d.txt").write_bytes(b"ok\nbad \xff byte\n")
    (tmp_path / "d.ann").write_text("T1\tX 0 2\tok\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_brat(tmp_path / "d.ann")
    assert e.value.code == "E200" and e.value.line == 2 and e.value.path == str(tmp_path / "d.txt")
    (tmp_path / "d.txt").write_text("ok\n", encoding="utf-8")
    (tmp_path / "d.ann").write_bytes(b"T1\tX 0 2\tok\nT2\tX 0 2\t\xfe\n")
    with pytest.raises(DataFormatError) as e:
        read_brat(tmp_path / "d.ann")
    assert e.value.code == "E200" and e.value.line == 2


@pytest.mark.parametrize("label", ["Gene or gene product", "Gene\tX", "", "Gene\n"])
def test_writer_refuses_labels_the_reader_would_reject(tmp_path, label):
    doc = Document("d", "BRCA1").with_spans([Span(0, 5, label)])
    with pytest.raises(DataFormatError) as e:
        write_brat([Document("ok", "x"), doc], tmp_path / "out")
    assert e.value.code == "E245" and e.value.path == str(tmp_path / "out" / "d.ann") and repr(label) in e.value.found
    assert not (tmp_path / "out").exists()  # checked before anything is written: no half-written corpus


def test_writer_refuses_relation_labels_and_ids_a_line_cannot_hold(tmp_path):
    a, b = Span(0, 1, "X"), Span(2, 3, "X")
    doc = Document("d", "a b").with_spans([a, b])
    with pytest.raises(DataFormatError, match="E245.*relation label"):
        write_brat([doc.with_relations([Relation(doc.spans[0], doc.spans[1], "part of")])], tmp_path)
    for ids in [(("MESH", "D00 1"),), (("ME:SH", "D001"),), (("MESH", ""),)]:
        with pytest.raises(DataFormatError, match="E245"):
            write_brat([Document("d", "a").with_spans([Span(0, 1, "X", ids=ids)])], tmp_path)


def test_duplicate_annotation_id_is_an_error_not_an_overwrite(tmp_path):
    ann = pair(tmp_path, text="ab cd", ann="T1\tX 0 2\tab\nR1\tRel Arg1:T1 Arg2:T1\nT1\tX 3 5\tcd\n")
    with pytest.raises(DataFormatError) as e:
        read_brat(ann)
    assert (e.value.code, e.value.path, e.value.line) == ("E244", str(ann), 3) and "line 1" in e.value.expected


def test_two_documents_with_one_id_are_refused(tmp_path):
    with pytest.raises(DataFormatError) as e:
        write_brat([Document("d", "first"), Document("e", "x"), Document("d", "second")], tmp_path / "out")
    assert e.value.code == "E246" and e.value.path == str(tmp_path / "out" / "d.ann") and "0 and 2" in e.value.found
    assert not (tmp_path / "out").exists()


def test_pubtator_ids_keep_their_prefix_through_brat(tmp_path):
    from biobert.io.pubtator import read_pubtator, write_pubtator

    src = ("1|t|BRCA1 and breast cancer.\n1|a|Cisplatin helps.\n"
           "1\t0\t5\tBRCA1\tGene\tOMIM:114480\n"
           "1\t10\t23\tbreast cancer\tDisease\tD001943\n"
           "1\t25\t34\tCisplatin\tChemical\tMESH:D002945|CHEBI:27899\n\n")
    docs = read_pubtator(io.StringIO(src))
    counts = write_brat(docs, tmp_path)
    ann = (tmp_path / "1.ann").read_text(encoding="utf-8")
    # a prefixed id is written as it is (it was OMIM:OMIM:114480); the bare MeSH id gets its db and loses it on reading
    assert "Reference T1 OMIM:114480\tBRCA1" in ann and "Reference T2 MESH:D001943\t" in ann
    assert counts["ids_respelled"] == 1  # MESH:D002945 reads back as PubTator's D002945
    back = read_brat(tmp_path)
    out = io.StringIO()
    write_pubtator(back, out)
    assert [l.split("\t")[-1] for l in out.getvalue().splitlines() if l.count("\t") >= 5] == [
        "OMIM:114480", "D001943", "D002945|CHEBI:27899"]
    (tmp_path / "1.ann").write_text(ann.replace("OMIM:114480", "OMIM:OMIM:114480"), encoding="utf-8")
    assert read_brat(tmp_path)[0].spans[0].ids == (("OMIM", "OMIM:114480"),)  # as older versions wrote it


def test_brat_ids_keep_their_database_in_other_formats(tmp_path):
    """A brat N line's HGNC:1100 was read as ("HGNC", "1100") and written to PubTator and BioC as a bare 1100."""
    from biobert.io.pubtator import write_pubtator

    (tmp_path / "d.txt").write_text("BRCA1 here.", encoding="utf-8")
    (tmp_path / "d.ann").write_text("T1\tGene 0 5\tBRCA1\nN1\tReference T1 HGNC:1100\tBRCA1\n", encoding="utf-8")
    docs = read_brat(tmp_path)
    out = io.StringIO()
    write_pubtator(docs, out)
    assert out.getvalue().splitlines()[2] == "d\t0\t5\tBRCA1\tGene\tHGNC:1100"
    counts = write_brat(docs, tmp_path / "again")
    assert "Reference T1 HGNC:1100\t" in (tmp_path / "again" / "d.ann").read_text() and not counts["ids_respelled"]


def test_missing_id_placeholders_are_counted_not_written(tmp_path):
    doc = Document("d", "a b").with_spans([Span(0, 3, "Disease", ids=(("MESH", "D002544"), ("", "-1")))])
    counts = write_brat([doc], tmp_path)
    assert counts["ids"] == 1 and counts["missing_id_placeholders_not_written"] == 1
    assert read_brat(tmp_path)[0].spans[0].ids == (("MESH", "D002544"),)


def test_document_level_relations_and_composite_names_are_counted_not_written(tmp_path):
    """PubTator CID lines join concept ids and composite names belong to mention parts: brat has no form for
    either, so the writer says how many it left out."""
    from biobert.io.pubtator import read_pubtator

    src = ("7|t|Lithium and tremor or seizure.\n7|a|x\n"
           "7\t0\t7\tLithium\tChemical\tD008094\n"
           "7\t12\t29\ttremor or seizure\tDisease\tD014202|D012640\ttremor|seizure\n"
           "7\tCID\tD008094\tD014202\n\n")
    counts = write_brat(read_pubtator(io.StringIO(src)), tmp_path)
    assert counts["document_relations_not_written"] == 1 and counts["composite_names_not_written"] == 1


def test_annotation_ids_are_kept_so_attribute_note_and_equivalence_lines_keep_their_targets(tmp_path):
    """T ids out of text order (as brat numbers them when annotating): renumbering them in text order made
    ``A1 Negated T1`` name another span, and the notes / equivalences too, without a word."""
    text = "BRCA1 binds BARD1 in human cells.\n"
    ann = "\n".join([
        "T3\tGene 12 17\tBARD1",
        "T1\tSpecies 21 26\thuman",
        "T2\tGene 0 5\tBRCA1",
        "R5\tBinds Arg1:T2 Arg2:T3",
        "A1\tNegated T1",
        "#1\tAnnotatorNotes T3\tcheck",
        "#2\tAnnotatorNotes R5\tcheck too",
        "*\tEquiv T2 T3",
        "",
    ])
    (tmp_path / "in").mkdir()
    [d] = read_brat(pair(tmp_path / "in", text=text, ann=ann))
    assert d.metadata["brat_ids"] == {"12 17 Gene": ["T3"], "21 26 Species": ["T1"], "0 5 Gene": ["T2"]}
    assert d.metadata["brat_relation_ids"] == {"Binds 0 5 Gene 12 17 Gene": ["R5"]}
    write_brat([d], tmp_path / "out")
    lines = (tmp_path / "out" / "doc1.ann").read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(ann.splitlines())  # the same lines, ids included
    # a span without a kept id gets a new one that no kept line refers to
    new = d.with_spans([*d.spans, Span(27, 32, "Cell")])
    write_brat([new], tmp_path / "out2")
    written = (tmp_path / "out2" / "doc1.ann").read_text(encoding="utf-8").splitlines()
    assert "T4\tCell 27 32\tcells" in written and "A1\tNegated T1" in written and "T1\tSpecies 21 26\thuman" in written


EVENT_TEXT = "IL-2 activates NF-kB in T cells.\n"
EVENT_ANN = "\n".join([
    "T1\tProtein 0 4\tIL-2",
    "T2\tPositive_regulation 5 14\tactivates",
    "T3\tProtein 15 20\tNF-kB",
    "R2\tBinds Arg1:T1 Arg2:T3",
    "R1\tCause Arg1:E1 Arg2:T3",
    "E1\tPositive_regulation:T2 Cause:T1 Theme:T3",
    "A1\tNegated E1",
    "*\tEquiv T1 T3",
    "",
])


def test_relation_with_an_event_argument_is_kept_verbatim(tmp_path, caplog):
    """A relation may name an event (brat allows it); no Relation can hold an event, so the line is kept in
    ``brat_other`` and written back, like the event itself, instead of failing the file with E242."""
    (tmp_path / "in").mkdir()
    with caplog.at_level("INFO", logger="biobert.io.brat"):
        [d] = read_brat(pair(tmp_path / "in", text=EVENT_TEXT, ann=EVENT_ANN))
    assert [(r.head.text, r.label, r.tail.text) for r in d.relations] == [("IL-2", "Binds", "NF-kB")]
    # in file order: the kept relation line before the event it names, as in the file
    assert d.metadata["brat_other"] == ["R1\tCause Arg1:E1 Arg2:T3", "E1\tPositive_regulation:T2 Cause:T1 Theme:T3",
                                        "A1\tNegated E1", "*\tEquiv T1 T3"]
    assert "1 relation(s) with an event argument kept verbatim" in caplog.text
    counts = write_brat([d], tmp_path / "out")
    assert counts["relations"] == 1 and counts["other_lines"] == 4
    lines = (tmp_path / "out" / "doc1.ann").read_text(encoding="utf-8").splitlines()
    assert sorted(lines) == sorted(EVENT_ANN.splitlines())  # the same lines, ids included
    # a new relation gets an id that the kept R1 line does not already hold
    t1, _, t3 = d.spans
    write_brat([d.with_relations([*d.relations, Relation(t3, t1, "Binds")])], tmp_path / "out2")
    ids = [l.split("\t")[0] for l in (tmp_path / "out2" / "doc1.ann").read_text(encoding="utf-8").splitlines()]
    assert sorted(i for i in ids if i.startswith("R")) == ["R1", "R2", "R3"]


def test_relation_argument_defined_nowhere_is_still_an_error(tmp_path):
    ann = pair(tmp_path, text=EVENT_TEXT, ann=EVENT_ANN.replace("Arg1:E1", "Arg1:E7"))
    with pytest.raises(DataFormatError) as e:
        read_brat(ann)
    assert (e.value.code, e.value.line, e.value.found) == ("E242", 5, "E7") and "event" in e.value.expected


def test_discontinuous_annotations_written_to_other_formats_are_counted(tmp_path):
    """PubTator (or JSONL, CoNLL) cannot hold fragments: it gets the hull, and the report says so (brat and BioC
    write the fragments)."""
    from biobert.io import write

    (tmp_path / "d.txt").write_text("Breast and ovarian cancer.", encoding="utf-8")
    (tmp_path / "d.ann").write_text("T1\tDisease 0 6;19 25\tBreast cancer\nT2\tDisease 11 25\tovarian cancer\n", encoding="utf-8")
    docs = read_brat(tmp_path)
    assert write(docs, tmp_path / "o.pubtator")["discontinuous_spans_written_as_hull"] == 1
    assert "discontinuous_spans_written_as_hull" not in write(docs, tmp_path / "b", fmt="brat")


def test_ids_that_other_formats_would_read_otherwise_are_refused_or_counted(tmp_path):
    """ID:672 is the bare 672 (not "ID:672"); a '|' in an N line would be one id here and two elsewhere; CoNLL
    and text have no place for ids: counted."""
    from biobert.errors import DataFormatError
    from biobert.io import write

    (tmp_path / "d.txt").write_text("BRCA1 here.", encoding="utf-8")
    (tmp_path / "d.ann").write_text("T1\tGene 0 5\tBRCA1\nN1\tReference T1 ID:D003920\tBRCA1\n", encoding="utf-8")
    assert read_brat(tmp_path)[0].spans[0].ids == (("ID", "D003920"),)
    (tmp_path / "d.ann").write_text("T1\tGene 0 5\tBRCA1\nN1\tReference T1 MESH:D001|D002\tBRCA1\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="E240") as e:
        read_brat(tmp_path)
    assert e.value.line == 2
    doc = Document("z", "BRCA1").with_spans([Span(0, 5, "Gene", ids=(("MESH", "D001|D002"),))])
    with pytest.raises(DataFormatError, match="E245"):
        write_brat([doc], tmp_path / "out")
    two = Document("z", "BRCA1 x").with_spans([Span(0, 5, "Gene", ids=(("MESH", "D001"), ("", "-1"), ("OMIM", "OMIM:1")))])
    assert write([two], tmp_path / "z.conll", fmt="conll")["ids_not_written"] == 2  # the -1 placeholder is no id
    assert "ids_not_written" not in write([two], tmp_path / "z.pubtator", fmt="pubtator")


def test_discontinuous_annotations_become_multi_location_bioc_annotations(tmp_path):
    from biobert.io import write

    (tmp_path / "d.txt").write_text("Breast and ovarian cancer.", encoding="utf-8")
    (tmp_path / "d.ann").write_text("T1\tDisease 0 6;19 25\tBreast cancer\nT2\tDisease 11 25\tovarian cancer\n"
                                    "T3\tGene 0 6\tBreast\nR1\tRel Arg1:T1 Arg2:T3\n", encoding="utf-8")
    docs = read_brat(tmp_path)
    for fmt, name in (("bioc", "o.xml"), ("biocjson", "o.json")):
        # used to be the hull 0-25 "Breast and ovarian cancer", counted as discontinuous_spans_written_as_hull
        assert "discontinuous_spans_written_as_hull" not in write(docs, tmp_path / name, fmt=fmt)
        [b] = read(tmp_path / name, fmt=fmt)
        assert b.metadata["discontinuous_groups"] == [["Disease", [[0, 6], [19, 25]]]]
        assert {(s.start, s.end, s.label) for s in b.spans} == {(0, 6, "Disease"), (19, 25, "Disease"), (11, 25, "Disease"), (0, 6, "Gene")}
        [r] = b.relations  # the relation that named the discontinuous mention names its first location
        assert (r.head.key, r.tail.key, r.label) == ((0, 6, "Disease"), (0, 6, "Gene"), "Rel")
    assert docs[0].metadata["brat_fragments"]  # the caller's documents are not changed


def test_span_starting_or_ending_with_a_line_break_is_counted_as_trimmed(tmp_path):
    from biobert.io import changes

    d = Document(id="d", text="ab\ncd").with_spans([Span(0, 3, "Y"), Span(2, 5, "X")])
    rep = write([d], tmp_path, fmt="brat")
    back = read(tmp_path, fmt="brat")[0]
    # a brat fragment cannot hold a line break: the spans read back as their trimmed forms, which is counted
    assert sorted((s.start, s.end, s.label) for s in back.spans) == [(0, 2, "Y"), (3, 5, "X")]
    assert all(back.text[s.start:s.end] == s.text for s in back.spans)
    assert rep["spans_trimmed_at_line_breaks"] == 2
    assert changes(rep) == {"spans_trimmed_at_line_breaks": 2}
    inner = Document(id="e", text="ab\ncd").with_spans([Span(0, 5, "Z")])  # break inside: same span back
    assert "spans_trimmed_at_line_breaks" not in changes(write([inner], tmp_path / "e", fmt="brat"))


@pytest.mark.parametrize("bad", [
    Document(id="b", text="x\ud83dy"),
    Document(id="b", text="xy").with_spans([Span(0, 2, "X\ud83d")]),
    Document(id="b\ud83d", text="xy"),
])
def test_a_lone_surrogate_is_refused_before_any_file_is_written(tmp_path, bad):
    # was a bare UnicodeEncodeError after the earlier documents' files were written
    with pytest.raises(DataFormatError, match="E229") as e:
        write_brat([Document(id="a", text="fine"), bad], tmp_path / "out")
    assert "'b" in str(e.value)
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
