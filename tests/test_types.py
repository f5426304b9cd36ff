import json

import pytest

from biobert.errors import OffsetError
from biobert.types import Document, Relation, Span


def test_json_roundtrip():
    d = Document("1", "BRCA1 causes cancer.").with_spans([Span(0, 5, "Gene", ids=(("NCBIGene", "672"),)), Span(13, 19, "Disease", 0.9)])
    d = d.with_relations([Relation(d.spans[0], d.spans[1], "causes", 0.7)])
    d2 = Document.from_dict(json.loads(json.dumps(d.to_dict())))
    assert d2 == d
    assert [d2.text[s.start:s.end] for s in d2.spans] == ["BRCA1", "cancer"]


def test_offset_invariant_is_enforced():
    with pytest.raises(OffsetError, match="E103"):
        Document("x", "abc def", spans=(Span(0, 3, "T", text="abd"),))
    with pytest.raises(OffsetError, match="E102"):
        Document("x", "abc", spans=(Span(0, 9, "T"),))
    with pytest.raises(OffsetError, match="E101"):
        Span(5, 2, "T")


def test_frozen():
    s = Span(0, 1, "T")
    with pytest.raises(AttributeError):
        s.start = 3  # type: ignore[misc]


def test_from_dict_refuses_what_it_would_have_to_convert():
    from biobert.errors import DataFormatError

    for bad, field in [
        ({"id": "x", "text": "abc", "spans": [{"start": 0.7, "end": 2.9, "label": "X"}]}, "spans[0].start"),
        ({"id": "x", "text": "abc", "spans": [{"start": 0, "end": False, "label": "X"}]}, "spans[0].end"),
        ({"id": "x", "text": "abc", "spans": [{"start": 0, "end": 1, "label": None}]}, "spans[0].label"),
        ({"id": None, "text": "abc"}, "'id'"),
        ({"id": 1.5, "text": "abc"}, "'id'"),
        ({"id": "x", "text": "abc", "sentences": [[0, True]]}, "sentences[0]"),
    ]:
        with pytest.raises(DataFormatError) as e:
            Document.from_dict(bad)
        assert e.value.code == "E232" and field in e.value.expected, bad
    with pytest.raises(DataFormatError, match="E231.*'spans\\[0\\].label'"):
        Document.from_dict({"text": "abc", "spans": [{"start": 0, "end": 1}]})
    assert Document.from_dict({"text": "abc"}) == Document("", "abc")  # a missing id is still allowed
    assert Document.from_dict({"id": 8638876, "text": "abc"}).id == "8638876"  # a PMID as a JSON number


def test_relation_arguments_must_fit_the_text():
    far = Span(0, 9, "X")
    with pytest.raises(OffsetError, match="E102"):
        Document("x", "abc", relations=(Relation(far, Span(0, 1, "X"), "R"),))
    with pytest.raises(OffsetError, match="E103"):
        Document("x", "abc", relations=(Relation(Span(0, 1, "X", text="b"), Span(0, 1, "X"), "R"),))
    rel = {"head": far.to_dict(), "tail": Span(0, 1, "X").to_dict(), "label": "R"}
    with pytest.raises(OffsetError, match="E102"):
        Document.from_dict({"id": "x", "text": "abc", "relations": [rel]})


def test_from_dict_fills_and_sorts_spans_like_with_spans():
    d = Document.from_dict({"id": "x", "text": "abc", "spans": [{"start": 2, "end": 3, "label": "X"}, {"start": 0, "end": 1, "label": "X", "text": None}]})
    assert d == Document("x", "abc").with_spans([Span(2, 3, "X"), Span(0, 1, "X")])
    assert [s.text for s in d.spans] == ["a", "c"]


def test_a_span_with_several_ids_round_trips_through_json():
    import json

    from biobert.types import Document, Span

    s = Span(0, 7, "Disease", 0.5, (("MESH", "D001943"), ("OMIM", "OMIM:114480")))
    d = Document("d", "Cancers here.").with_spans([s])
    back = Document.from_dict(json.loads(json.dumps(d.to_dict())))
    assert back.spans[0].ids == s.ids and back == d  # a composite mention keeps every id, in order
