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
