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
