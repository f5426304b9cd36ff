from collections import Counter

import pytest

from biobert.text.abbreviations import find_abbreviations, propagate_abbreviations
from biobert.text.words import tokenize_words
from biobert.types import Document, Span


@pytest.mark.parametrize(
    "text, pairs",
    [
        ("Mutations in Cowden disease (CD) are rare.", [("Cowden disease", "CD")]),
        ("spinocerebellar ataxia type 2 (SCA2) is", [("spinocerebellar ataxia type 2", "SCA2")]),
        ("T-cell prolymphocytic leukemia (T-PLL) and", [("T-cell prolymphocytic leukemia", "T-PLL")]),
        ("hereditary nonpolyposis colorectal cancer (HNPCC; ref 3)", [("hereditary nonpolyposis colorectal cancer", "HNPCC")]),
        ("the proopiomelanocortin (POMC) gene", [("proopiomelanocortin", "POMC")]),
        ("in 20 patients (15%) with (p < 0.05) or (n = 3)", []),  # no letters / too many words / no match
        ("G(M2) gangliosidosis (GM2)", [("G(M2) gangliosidosis", "GM2")]),  # "(M2)" has no long form before it
        ("a tumour\n(TU) here", []),
        ("in the\u00a0Duchenne muscular dystrophy (DMD)", [("Duchenne muscular dystrophy", "DMD")]),  # the long form never crosses a line
        ("von Hippel-Lindau (VHL) disease and Duchenne\u00a0muscular dystrophy (DMD)",
         [("von Hippel-Lindau", "VHL"), ("Duchenne\u00a0muscular dystrophy", "DMD")]),
    ],
)
def test_find_abbreviations(text, pairs):
    found = find_abbreviations(text)
    assert [(a.long(text), a.short(text)) for a in found] == pairs
    for a in found:  # ranges index the text itself
        assert text[a.short_start - 1] == "(" or text[a.short_start - 1] == " "


TEXT = (
    "Cowden disease (CD) is rare. We saw CD in 3 families; CDs and CD4 are other words. "
    "The proopiomelanocortin (POMC) gene: POMC was normal."
)


def _span(text, mention, label="Disease", nth=0, score=0.9):
    i = -1
    for _ in range(nth + 1):
        i = text.index(mention, i + 1)
    return Span(i, i + len(mention), label, score)


def test_propagation_adds_short_forms_of_entities_and_removes_those_of_non_entities():
    doc = Document("d", TEXT).with_spans([
        _span(TEXT, "Cowden disease", score=0.8),
        _span(TEXT, "POMC", nth=1, score=0.4),  # a gene tagged as a disease
    ])
    stats = Counter()
    out = propagate_abbreviations(doc, stats)
    got = [(s.text, s.label, s.score) for s in out.spans]
    assert got == [("Cowden disease", "Disease", 0.8), ("CD", "Disease", 0.8), ("CD", "Disease", 0.8)]
    assert all(out.text[s.start:s.end] == s.text for s in out.spans)
    assert stats == Counter(abbreviation_definitions=2, abbreviation_spans_added=2, abbreviation_spans_removed=1)


def test_propagation_keeps_spans_that_already_cover_a_short_form_and_uses_the_first_definition():
    text = "Crohn disease (CD) and CD patients. cluster of differentiation (CD) markers, CD here."
    doc = Document("d", text).with_spans([_span(text, "Crohn disease"), _span(text, "CD patients")])
    out = propagate_abbreviations(doc, Counter())
    # "CD patients" already covers that CD; the second definition of CD is ignored (one sense per document)
    assert [s.text for s in out.spans] == ["Crohn disease", "CD", "CD patients", "CD", "CD"]


def test_propagation_without_definitions_returns_the_document_unchanged():
    doc = Document("d", "No abbreviations here.").with_spans([Span(3, 16, "Disease")])
    assert propagate_abbreviations(doc) is doc


def test_short_forms_inside_a_longer_word_are_not_added():
    """'TNF' in 'TNF\u03b1' is inside one word (Greek letters are letters); a span there could not be written as CoNLL."""
    text = "Tumor necrosis factor (TNF) was studied. The TNF\u03b1 and NO\u00b3 values, and TNF-\u03b1 too."
    doc = Document("d", text).with_spans([_span(text, "Tumor necrosis factor", label="Gene")])
    out = propagate_abbreviations(doc, Counter())
    words = {(a, b) for a, b in tokenize_words(text)}
    added = [s for s in out.spans if s.text == "TNF"]
    assert [text[s.end] for s in added] == [")", "-"]  # the definition and "TNF-\u03b1", not "TNF\u03b1"
    assert all((s.start in {a for a, _ in words}) and (s.end in {b for _, b in words}) for s in out.spans)


def test_short_forms_stay_when_their_long_form_is_only_partly_tagged():
    """A span touching the long form without defining it (it does not end where the long form ends) says nothing
    about the short form: its spans are neither propagated nor removed."""
    text = "Cowden disease (CD) is rare. CD patients were seen."
    doc = Document("d", text).with_spans([_span(text, "Cowden", label="Disease"), _span(text, "CD", nth=0),
                                          _span(text, "CD", nth=1)])
    stats = Counter()
    out = propagate_abbreviations(doc, stats)
    assert [s.text for s in out.spans] == ["Cowden", "CD", "CD"] and stats["abbreviation_spans_removed"] == 0


@pytest.mark.parametrize(
    "text, pairs",
    [
        # 10 characters is the longest short form, 11 is too long
        ("Alpha Beta Charlie Delta Echo Foxtrot Golf Hotel India Juliet (ABCDEFGHIJ) and",
         [("Alpha Beta Charlie Delta Echo Foxtrot Golf Hotel India Juliet", "ABCDEFGHIJ")]),
        ("Alpha Beta Charlie Delta Echo Foxtrot Golf Hotel India Juliet Kilo (ABCDEFGHIJK) and", []),
        ("Alpha particle (A)", []),  # one character is too short
        ("Alpha Beta Charlie (A B C)", []),  # three words are too many
        ("alpha beta (*AB)", []),  # a short form starts with a letter or digit
        ("the 5HT receptor (HR)", []),  # "H" after a digit does not start a word
        ("Alpha x x x Bravo (AB)", []),  # the long form is at most min(|SF| + 5, 2 |SF|) = 4 words
        ("x A B (A-B)", []),  # a long form no longer than its short form
        ("CD4 cells (CD4)", []),  # the short form is a word of the long form
        ("Cowden disease\t(CD)", [("Cowden disease", "CD")]),  # a tab before the parenthesis is no part of it
        ("hereditary nonpolyposis colorectal cancer (HNPCC; ref, 3)",
         [("hereditary nonpolyposis colorectal cancer", "HNPCC")]),  # the first separator cuts
        ("Cowden disease ( CD)", [("Cowden disease", "CD")]),  # the short form's range skips the space
        ("non-Hodgkin lymphoma (HL)", [("non-Hodgkin lymphoma", "HL")]),  # the long form starts at the word's start
    ],
)
def test_find_abbreviations_schwartz_hearst_limits(text, pairs):
    assert [(a.long(text), a.short(text)) for a in find_abbreviations(text)] == pairs


def test_a_span_that_starts_before_the_long_form_defines_nothing_and_removes_nothing():
    text = "Familial Cowden disease (CD) and CD here."
    doc = Document("d", text).with_spans([_span(text, "Familial Cowden disease")])
    stats = Counter()
    out = propagate_abbreviations(doc, stats)
    assert [s.text for s in out.spans] == ["Familial Cowden disease"]
    assert stats["abbreviation_spans_added"] == 0 and stats["abbreviation_spans_removed"] == 0


def test_propagation_uses_the_documents_own_words():
    # a reader's tokens ("CD-like" one word) decide the word boundaries, not a fresh tokenisation
    text = "Cowden disease (CD) and CD-like cases."
    doc = Document("d", text, tokens=((0, 6), (7, 14), (15, 16), (16, 18), (18, 19), (20, 23), (24, 31), (32, 37),
                                      (37, 38)))
    doc = doc.with_spans([_span(text, "Cowden disease")])
    out = propagate_abbreviations(doc, Counter())
    assert [(s.start, s.text) for s in out.spans] == [(0, "Cowden disease"), (16, "CD")]
