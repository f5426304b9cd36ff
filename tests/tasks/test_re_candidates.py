"""RE candidates and the Extractor's options: nothing skipped without a count, no option silently ignored."""

import logging
from collections import Counter

import pytest

from biobert.errors import ConfigError
from biobert.tasks.re import RESpec, candidate_pairs, check_type_pairs, parse_type_pairs
from biobert.types import Document, Span

TEXT = "BRCA1 causes breast cancer. TP53 is linked to lung cancer."


def sp(a, b, label):
    return Span(a, b, label, text=TEXT[a:b])


def test_overlapping_pairs_are_skipped_and_counted():
    stats = Counter()
    # the same range with two labels, and a Gene nested in a Disease: neither pair can be rendered
    doc = Document("d", TEXT).with_spans([sp(0, 5, "Gene"), sp(0, 5, "Disease"), sp(13, 26, "Disease"), sp(13, 19, "Gene")])
    c = candidate_pairs(doc, [("Gene", "Disease")], stats=stats)
    assert sorted((h.start, h.end, t.start, t.end) for h, t, _, _ in c) == [(0, 5, 13, 26), (13, 19, 0, 5)]
    assert stats["pairs_overlapping_skipped"] == 2  # Gene(0,5)-Disease(0,5) and Gene(13,19)-Disease(13,26)
    # pairs that the types or the scope rule out anyway are not counted as skipped for overlapping
    stats = Counter()
    candidate_pairs(doc, [("Chemical", "Gene")], stats=stats)
    assert stats["pairs_overlapping_skipped"] == 0
    stats = Counter()
    candidate_pairs(doc, None, stats=stats)  # any two spans, both directions
    assert stats["pairs_overlapping_skipped"] == 4


def test_zero_width_spans_are_no_relation_arguments():
    stats = Counter()
    doc = Document("d", TEXT).with_spans([sp(5, 5, "Gene"), sp(13, 26, "Disease"), sp(0, 5, "Gene")])
    c = candidate_pairs(doc, [("Gene", "Disease")], stats=stats)
    assert [(h.start, h.end, t.start) for h, t, _, _ in c] == [(0, 5, 13)]
    assert all(h.end > h.start and t.end > t.start for h, t, _, _ in c)
    assert stats["spans_empty_skipped"] == 1


@pytest.mark.parametrize("value, want", [("Chemical:Gene,Gene:Chemical", [("Chemical", "Gene"), ("Gene", "Chemical")]),
                                         ("Gene:Disease", [("Gene", "Disease")]),
                                         ("Chemical:Gene, Gene:Chemical", [("Chemical", "Gene"), ("Gene", "Chemical")])])
def test_parse_type_pairs(value, want):
    assert parse_type_pairs(value) == want


@pytest.mark.parametrize("value", ["Gene", "Gene:", ":Gene", "A:B:C", "Gene:Disease,", "", "Gene:Disease,,A:B"])
def test_parse_type_pairs_rejects_malformed_items(value):
    with pytest.raises(ConfigError, match="E436"):
        parse_type_pairs(value)


@pytest.mark.parametrize("value", [[], ["GD"], [("Gene",)], [("Gene", "")], [("Gene", 3)], "Gene:Disease"])
def test_check_type_pairs_rejects_empty_and_malformed(value):
    with pytest.raises(ConfigError, match="E436"):
        check_type_pairs(value)


# -- the Extractor, on a tiny random model ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def extractor_parts(tiny_bert):
    from biobert.encoders import load_tokenizer
    from biobert.tasks.re import new_relation_model

    spec = RESpec(labels=["0", "1"], masks={"Gene": "@GENE$", "Disease": "@DISEASE$"}, max_length=32,
                  type_pairs=[["Gene", "Disease"]])
    tok = load_tokenizer(str(tiny_bert))
    return new_relation_model(str(tiny_bert), tok, spec).eval(), tok, spec


def make(parts, **kw):
    from biobert.pipeline import Extractor

    return Extractor(*parts, **kw)


@pytest.mark.parametrize("kw, code", [({"type_pairs": []}, "E436"), ({"type_pairs": [("Gene",)]}, "E436"),
                                      ({"window_chars": -5}, "E437"), ({"window_chars": 2.5}, "E437"),
                                      ({"min_score": 5}, "E438"), ({"min_score": -0.1}, "E438"),
                                      ({"min_score": float("nan")}, "E438"), ({"scope": "document"}, "E443")])
def test_extractor_rejects_bad_options(kw, code):
    from biobert.pipeline import Extractor

    spec = RESpec(labels=["0", "1"], type_pairs=[["Gene", "Disease"]])
    with pytest.raises(ConfigError, match=code):
        Extractor(None, None, spec, **kw)  # checked before anything touches the model


def test_extractor_type_pairs_none_means_the_models_own(extractor_parts):
    assert make(extractor_parts).type_pairs == [("Gene", "Disease")]
    assert make(extractor_parts, type_pairs=[["Disease", "Gene"]]).type_pairs == [("Disease", "Gene")]
    model, tok, spec = extractor_parts
    bare = RESpec(labels=spec.labels, masks=spec.masks, max_length=32)  # saved without type pairs: every pair
    assert make((model, tok, bare)).type_pairs is None


def test_extractor_counts_skipped_spans_and_pairs(extractor_parts):
    ex = make(extractor_parts)
    doc = Document("d", TEXT).with_spans([sp(0, 5, "Gene"), sp(0, 5, "Disease"), sp(13, 26, "Disease"), sp(13, 19, "Gene"),
                                         sp(28, 28, "Gene")])
    out = ex(doc, tagger=False)
    assert ex.last_stats["candidates"] == 2
    assert ex.last_stats["pairs_overlapping_skipped"] == 2 and ex.last_stats["spans_empty_skipped"] == 1
    for r in out.relations:
        assert r.head.end > r.head.start and r.tail.end > r.tail.start
        assert TEXT[r.head.start:r.head.end] == r.head.text and TEXT[r.tail.start:r.tail.end] == r.tail.text


def test_extractor_warns_when_the_tagger_can_fill_no_type_pair(extractor_parts, caplog):
    class Tagger:
        types = ["Chemical", "Species"]

        def __call__(self, docs):
            return [d.with_spans([Span(0, 5, "Chemical")]) for d in docs]

    ex = make(extractor_parts)
    tagger = Tagger()
    with caplog.at_level(logging.WARNING, logger="biobert.pipeline"):
        ex("BRCA1 causes breast cancer.", tagger=tagger)
        ex("BRCA1 causes breast cancer.", tagger=tagger)
    assert [r.message[:4] for r in caplog.records].count("W305") == 1  # once per tagger, not once per call
    assert ex.last_stats["type_pairs_unmatched_by_tagger"] == 1
    # a tagger that can fill the pair: no warning, no counter
    caplog.clear()
    tagger.types = ["Gene", "Disease"]
    assert ex.check_tagger(tagger) == 0 and not caplog.records
    ex("BRCA1 causes breast cancer.", tagger=False)
    assert "type_pairs_unmatched_by_tagger" not in ex.last_stats
    # partly fillable: counted, but relations are still possible, so no warning
    assert make(extractor_parts, type_pairs=[("Gene", "Disease"), ("Chemical", "Gene")]).check_tagger(tagger) == 1
    assert not caplog.records


def test_two_spans_of_one_type_make_one_candidate_pair_not_two():
    from biobert.tasks.re import candidate_pairs

    text = "Aspirin increases the effect of warfarin."
    doc = Document("d", text).with_spans([Span(0, 7, "Drug"), Span(32, 40, "Drug")])
    pairs = candidate_pairs(doc, None)
    # DDI-style same-type pairs in both directions would give every interaction twice
    assert [(h.text, t.text) for h, t, *_ in pairs] == [("Aspirin", "warfarin")]
