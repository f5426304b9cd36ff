"""BioC JSON: collections, PubTator3's export wrapper, JSON lines, byte offsets, typed errors, round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biobert.errors import ConfigError, DataFormatError
from biobert.io import guess_format, read, reads, write, writes
from biobert.io.bioc import read_bioc, read_bioc_json

FIX = Path(__file__).parent / "fixtures"
BIOC = FIX / "cdr_sample.BioC.xml"

TITLE = "Interleukin-1β and α-synuclein in Parkinson’s disease"
ABSTRACT = "We measured IL-1β in 12 patients (±SD) with Parkinson’s disease."


def _utf8_offset(text: str, char_offset: int) -> int:
    return len(text[:char_offset].encode("utf-8"))


def _pubtator3(byte_offsets: bool) -> dict:
    """A document shaped like PubTator3's /publications/export/biocjson answer (keys it leaves out, a boolean infon)."""
    full = TITLE + " " + ABSTRACT
    mentions = [("Interleukin-1β", "Gene", "3552"), ("α-synuclein", "Gene", "6622"), ("Parkinson’s disease", "Disease", "MESH:D010300"),
                ("IL-1β", "Gene", "3552"), ("patients", "Species", "9606")]
    anns, seen = [], 0
    for i, (m, label, ident) in enumerate(mentions):
        start = full.index(m, seen if m != "Parkinson’s disease" or i == 2 else len(TITLE))
        off = _utf8_offset(full, start) if byte_offsets else start
        length = len(m.encode("utf-8")) if byte_offsets else len(m)
        anns.append({"id": str(i), "infons": {"identifier": ident, "type": label, "valid": True, "database": None},
                     "text": m, "locations": [{"offset": off, "length": length}]})
    abs_off = _utf8_offset(full, len(TITLE) + 1) if byte_offsets else len(TITLE) + 1
    title_anns = [a for a in anns if a["locations"][0]["offset"] < abs_off]
    abs_anns = [a for a in anns if a["locations"][0]["offset"] >= abs_off]
    return {"PubTator3": [{
        "_id": "38000001|None", "id": "38000001", "infons": {}, "relations": [],
        "passages": [
            {"infons": {"type": "title"}, "offset": 0, "text": TITLE, "annotations": title_anns},
            {"infons": {"type": "abstract"}, "offset": abs_off, "text": ABSTRACT, "annotations": abs_anns, "relations": []},
        ],
    }]}


def test_pubtator3_export_is_read_with_character_offsets(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_pubtator3(byte_offsets=False), ensure_ascii=False), encoding="utf-8")
    assert guess_format(path) == "json"  # biobert's JSON or BioC JSON: the reader tells them apart
    (doc,) = read(path)
    assert read(path, fmt="biocjson") == [doc]
    assert doc.id == "38000001" and doc.text == TITLE + " " + ABSTRACT
    assert [(s.text, s.label) for s in doc.spans][:2] == [("Interleukin-1β", "Gene"), ("α-synuclein", "Gene")]
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans) and len(doc.spans) == 5
    assert "source_offsets" not in doc.metadata
    gene = doc.spans[0]
    assert gene.ids and gene.ids[0][1].endswith("3552")


def test_utf8_byte_offsets_are_detected_and_converted(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(_pubtator3(byte_offsets=True), ensure_ascii=False), encoding="utf-8")
    (doc,) = read_bioc_json(path)
    assert doc.metadata["source_offsets"] == "utf-8 bytes"
    assert doc.text == TITLE + " " + ABSTRACT
    assert [s.text for s in doc.spans] == ["Interleukin-1β", "α-synuclein", "Parkinson’s disease", "IL-1β", "patients"]
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
    assert [p["offset"] for p in doc.metadata["passages"]] == [0, len(TITLE) + 1]  # characters now
    # read as characters, the same file is wrong, and says so (file, document, annotation)
    with pytest.raises(DataFormatError) as e:
        read_bioc_json(path, offsets="chars")
    assert e.value.code == "E220" and str(path) in str(e.value) and "38000001" in str(e.value)
    with pytest.raises(ConfigError, match="E434"):
        read_bioc_json(path, offsets="words")


def test_byte_offsets_in_bioc_xml_too():
    docs = read_bioc_json(_io(_pubtator3(byte_offsets=True)))
    xml = writes(docs, "bioc")  # written back with character offsets
    assert read_bioc(_io(xml))[0].spans == docs[0].spans
    # the same XML with byte offsets is converted on reading
    wrong = xml
    for s in sorted(docs[0].spans, key=lambda s: -s.start):
        b = _utf8_offset(docs[0].text, s.start)
        wrong = wrong.replace(f'offset="{s.start}" length="{s.end - s.start}"', f'offset="{b}" length="{len(s.text.encode())}"')
    wrong = wrong.replace(f"<offset>{len(TITLE) + 1}</offset>", f"<offset>{_utf8_offset(docs[0].text, len(TITLE) + 1)}</offset>")
    assert wrong != xml
    back = read_bioc(_io(wrong))[0]
    assert back.spans == docs[0].spans and back.metadata["source_offsets"] == "utf-8 bytes"


def _io(obj):
    import io

    return io.StringIO(obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False))


def test_biobert_json_is_read_back_and_told_from_bioc_json(tmp_path):
    docs = read(BIOC)
    out = tmp_path / "tagged.json"
    assert write(docs, out) == {"docs": 2}
    assert isinstance(json.loads(out.read_text(encoding="utf-8")), list)  # an array of Document objects
    assert read(out) == docs
    served = json.dumps({"documents": [d.to_dict() for d in docs]})  # what POST /tag answers
    assert reads(served, "json") == docs
    assert reads(json.dumps(docs[0].to_dict()), "json") == docs[:1]
    bad = docs[0].to_dict()
    bad["spans"][0]["end"] = 10**6
    with pytest.raises(DataFormatError, match="E231"):
        reads(json.dumps([bad]), "json")


def test_round_trip_equals_the_xml_reading(tmp_path):
    docs = read(BIOC)
    out = tmp_path / "cdr.bioc.json"
    report = write(docs, out)
    assert report["docs"] == 2 and report["annotations"] > 0
    back = read(out)
    assert [d.to_dict() for d in back] == [d.to_dict() for d in docs]
    assert json.loads(out.read_text(encoding="utf-8"))["documents"][0]["id"] == "227508"


def test_document_list_and_json_lines():
    one = _pubtator3(byte_offsets=False)["PubTator3"][0]
    two = dict(one, id="38000002")
    assert [d.id for d in reads(json.dumps([one, two]), "biocjson")] == ["38000001", "38000002"]
    lines = json.dumps(one, ensure_ascii=False) + "\n\n" + json.dumps(two, ensure_ascii=False) + "\n"
    assert [d.id for d in reads(lines, "biocjson")] == ["38000001", "38000002"]


@pytest.mark.parametrize(
    "content, where",
    [
        ("{not json", "BioC JSON"),
        ('{"results": []}', "'documents'"),
        ('[{"id": "1"}]', "'passages' field in document 1"),
        ('[{"passages": []}]', "'id' field in [0]"),
        ('[{"id": "1", "passages": [{"text": "x"}]}]', "'offset' field in document 1 passages[0]"),
        ('[{"id": "1", "passages": [{"offset": 0, "text": "x", "annotations": [{"id": "a", "infons": {"type": "T"}}]}]}]',
         "'locations' field in document 1 passages[0].annotations[0]"),
        ('[{"id": "1", "passages": [{"offset": "0", "text": "x"}]}]', "'offset' in document 1 passages[0] of type int"),
    ],
)
def test_malformed_json_names_the_file_and_the_field(tmp_path, content, where):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read(path)
    assert e.value.code == "E225" and str(path) in str(e.value) and where in str(e.value)


def test_max_chars_refuses_a_far_passage_offset_before_building_the_text():
    """BioC JSON as BioC XML: a passage at offset 2e9 made a 2-billion-character text before any limit was checked;
    with max_chars the reader raises E228 at once (also when auto offsets would try the byte and UTF-16 readings)."""
    import tracemalloc

    far = {"documents": [{"id": "1", "passages": [{"offset": 2_000_000_000, "text": "BRCA1 α"}]}]}
    tracemalloc.start()
    try:
        with pytest.raises(DataFormatError, match="E228 .*at most 1000 characters.*document 1: .*2000000007 characters"):
            reads(json.dumps(far), "biocjson", max_chars=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak
    near = {"documents": [{"id": "1", "passages": [{"offset": 10, "text": "BRCA1"}]}]}
    assert reads(json.dumps(near), "biocjson", max_chars=15)[0].text == " " * 10 + "BRCA1"


def test_max_chars_lets_byte_offsets_that_fit_through():
    """A document whose offsets are UTF-8 bytes reads longer as characters than it is: the limit is checked on the
    reading that fits its annotations, not refused because the character reading would pass it."""
    doc = {"id": "1", "passages": [
        {"offset": 0, "text": "αβγ BRCA1", "annotations": [  # 12 bytes, 9 characters
            {"id": "a", "infons": {"type": "Gene"}, "text": "BRCA1", "locations": [{"offset": 7, "length": 5}]}]},
        {"offset": 13, "text": "x"}]}  # as characters: 14 in all; as bytes: 9 + 1 + 1
    d = reads(json.dumps({"documents": [doc]}), "biocjson", max_chars=11)[0]
    assert d.text == "αβγ BRCA1 x" and d.metadata["source_offsets"] == "utf-8 bytes"
    assert [d.text[s.start:s.end] for s in d.spans] == ["BRCA1"]
    with pytest.raises(DataFormatError, match="E228"):
        reads(json.dumps({"documents": [doc]}), "biocjson", max_chars=10)
