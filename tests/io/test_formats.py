

def test_conll_and_text_count_relations_and_spans_they_cannot_hold(tmp_path):
    from biobert import io as bio
    from biobert.types import Document, Relation, Span

    a, b = Span(0, 7, "Chemical", ids=(("MESH", "D001241"),)), Span(15, 21, "Disease")
    doc = Document(id="1", text="Aspirin causes asthma.", spans=(a, b), relations=(Relation(a, b, "CID"),),
                   metadata={"relations": [["CID", "D001241", "D001249"]], "composite_names": [[0, 7, "Chemical", "a|b"]]})
    rep = bio.write([doc], tmp_path / "d.conll", fmt="conll")
    assert (rep["relations_not_written"], rep["document_relations_not_written"], rep["composite_names_not_written"]) == (1, 1, 1)
    assert rep["ids_not_written"] == 1 and "spans_not_written" not in rep
    rep = bio.write([doc], tmp_path / "d.txt", fmt="text")
    assert rep["spans_not_written"] == 2 and rep["relations_not_written"] == 1
    # what callers pass on (the HTTP service's output_* counts): every loss, none of the plain totals
    assert bio.changes(rep) == {"spans_not_written": 2, "relations_not_written": 1, "document_relations_not_written": 1,
                                "composite_names_not_written": 1, "ids_not_written": 1}
    assert "relations_not_written" not in bio.write([doc], tmp_path / "d.jsonl", fmt="jsonl")
