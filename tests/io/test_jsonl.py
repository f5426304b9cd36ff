"""JSON Lines of Document: lossless round trip and located errors."""

from __future__ import annotations

import json

import pytest

from biobert.errors import DataFormatError
from biobert.io import read, reads, write, writes
from biobert.io.jsonl import read_jsonl
from biobert.types import Document, Relation, Span


def _docs() -> list[Document]:
    text = "TNF-α\u00a0blockade ± methotrexate\x96induced\u2028hepatotoxicity\x85 in Ca²⁺-free medium."
    a = Span(0, 5, "Gene", ids=(("NCBIGene", "7124"),))
    b = Span(17, 29, "Chemical", score=0.75)
    c = Span(38, 52, "Disease", ids=(("MESH", "D056486"),))
    doc = Document("p1", text, metadata={"passages": [{"type": "title", "offset": 0, "length": len(text)}], "note": "ü"},
                   sentences=((0, len(text)),), tokens=((0, 5), (6, 14))).with_spans([a, b, c])
    doc = doc.with_relations([Relation(doc.spans[1], doc.spans[2], "induces", score=0.5)])
    return [doc, Document("p2", "")]


def test_round_trip_is_lossless(tmp_path):
    docs = _docs()
    assert docs[0].text[17:29] == "methotrexate" and docs[0].text[38:52] == "hepatotoxicity"
    path = tmp_path / "docs.jsonl"
    assert write(docs, path) == {"docs": 2}
    assert read(path) == docs


def test_one_document_per_line_even_with_unicode_line_separators():
    out = writes(_docs(), "jsonl")
    # U+2028 and U+0085 would split the line for str.splitlines(); they are written escaped
    assert len(out.splitlines()) == 2
    assert "α" in out and "\\u2028" in out and "\\u0085" in out
    assert json.loads(out.splitlines()[0])["spans"][0]["text"] == "TNF-α"


def test_blank_lines_are_skipped():
    line = json.dumps(Document("x", "abc").to_dict())
    assert [d.id for d in reads(f"\n{line}\n\n{line}\n", "jsonl")] == ["x", "x"]


@pytest.mark.parametrize(
    "bad, code",
    [
        ('{"id": "x", "text": "abc"', "E230"),  # truncated JSON
        ("[1, 2]", "E231"),  # JSON, but not an object
        ('{"id": "x"}', "E231"),  # no text
        ('{"id": "x", "text": "abc", "spans": [{"start": 1, "end": 9, "label": "X"}]}', "E231"),  # span beyond the text
        ('{"id": "x", "text": "abc", "spans": [{"start": 0, "end": 1, "label": "X", "text": "b"}]}', "E231"),  # wrong mention
    ],
)
def test_errors_carry_line_numbers(tmp_path, bad, code):
    good = json.dumps(Document("ok", "fine").to_dict())
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n\n{bad}\n{good}\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_jsonl(path)
    assert (e.value.code, e.value.line, e.value.path) == (code, 3, str(path))


@pytest.mark.parametrize(
    "span, field",
    [
        ({"start": 0.7, "end": 2.9, "label": "X"}, "spans[0].start"),  # int() would have truncated to (0, 2)
        ({"start": 0, "end": 2.0, "label": "X"}, "spans[0].end"),
        ({"start": True, "end": 2, "label": "X"}, "spans[0].start"),  # bool is not an offset
        ({"start": 0, "end": 1, "label": None}, "spans[0].label"),  # not the string "None"
        ({"start": 0, "end": 1, "label": 7}, "spans[0].label"),
        ({"start": 0, "end": 1, "label": "X", "ids": [["MESH", None]]}, "spans[0].ids[0]"),
        ({"start": 0, "end": 1, "label": "X", "score": "high"}, "spans[0].score"),
    ],
)
def test_wrongly_typed_span_fields_name_file_line_and_field(tmp_path, span, field):
    good = json.dumps(Document("ok", "fine").to_dict())
    bad = json.dumps({"id": "x", "text": "abc", "spans": [span]})
    path = tmp_path / "bad.jsonl"
    path.write_text(f"{good}\n{bad}\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_jsonl(path)
    assert (e.value.code, e.value.line, e.value.path) == ("E232", 2, str(path))
    assert field in e.value.expected


@pytest.mark.parametrize("obj, field", [
    ({"id": None, "text": "abc"}, "'id'"),
    ({"id": "x", "text": None}, "'text'"),
    ({"id": "x", "text": "abc", "tokens": [[0.5, 2]]}, "tokens[0]"),
    ({"id": "x", "text": "abc", "metadata": None}, "'metadata'"),
    ({"id": "x", "text": "abc", "relations": [{"head": {"start": 0, "end": 1, "label": "X"},
                                              "tail": {"start": 0, "end": 1, "label": "X"}, "label": None}]}, "relations[0].label"),
])
def test_null_document_fields_are_typed_errors(tmp_path, obj, field):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(obj) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_jsonl(path)
    assert (e.value.code, e.value.line, e.value.path) == ("E232", 1, str(path)) and field in e.value.expected


def test_relation_arguments_outside_the_text_are_refused(tmp_path):
    rel = {"head": {"start": 0, "end": 9, "label": "X"}, "tail": {"start": 0, "end": 1, "label": "X"}, "label": "R"}
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "abc", "relations": [rel]}) + "\n", encoding="utf-8")
    with pytest.raises(DataFormatError) as e:
        read_jsonl(path)
    assert (e.value.code, e.value.line) == ("E231", 1) and "E102" in e.value.found


def test_spans_without_text_are_filled_and_sorted_like_with_spans():
    line = json.dumps({"id": "x", "text": "abc", "spans": [{"start": 2, "end": 3, "label": "X"}, {"start": 0, "end": 1, "label": "X"}],
                       "relations": [{"head": {"start": 2, "end": 3, "label": "X"}, "tail": {"start": 0, "end": 1, "label": "X"}, "label": "R"}]})
    (doc,) = reads(line + "\n", "jsonl")
    expected = Document("x", "abc").with_spans([Span(2, 3, "X"), Span(0, 1, "X")])
    assert doc.spans == expected.spans and [s.text for s in doc.spans] == ["a", "c"]
    [r] = doc.relations
    assert (r.head, r.tail) == (expected.spans[1], expected.spans[0])


def test_lone_surrogates_are_written_as_json_escapes_and_read_back(tmp_path):
    """A JSON "\\ud83d" escape reads as a lone surrogate, which UTF-8 cannot encode: the JSON writers escape it
    again instead of failing, so the document round-trips unchanged."""
    from biobert.io.jsonl import read_json, read_jsonl, write_json, write_jsonl

    doc = Document("d", "pain \ud83d relief").with_spans([Span(0, 4, "Disease")])
    for write, read, name in [(write_jsonl, read_jsonl, "x.jsonl"), (write_json, read_json, "x.json")]:
        write([doc], tmp_path / name)
        assert "\\ud83d" in (tmp_path / name).read_text(encoding="utf-8")
        assert read(tmp_path / name) == [doc]
