import pytest

from biobert.text import make_windows, split_sentences, tokenize_words
from biobert.text.windows import best_window

NASTY = (
    "Levels of TNF-\u03b1 were 5.3\u00b10.2 ng/ml\u00a0in patients (n\u2009=\u200912) \u2013 see Fig. 2. "
    "The 2\u00b2 test\x96 of [3H]-thymidine and 1,2-dimethyl(benzene) failed. E. coli grew."
)


def test_words_cover_all_nonspace_and_index_the_original():
    words = tokenize_words(NASTY)
    covered = set()
    for a, b in words:
        assert NASTY[a:b].strip() == NASTY[a:b] and NASTY[a:b]
        covered.update(range(a, b))
    assert covered == {i for i, c in enumerate(NASTY) if not c.isspace()}
    assert "\u03b1" in [NASTY[a:b] for a, b in words] or "TNF" in [NASTY[a:b] for a, b in words]


def test_forced_boundaries():
    t = "BRCA1-associated p53mutant"
    words = [t[a:b] for a, b in tokenize_words(t, boundaries=[20])]
    assert words == ["BRCA1", "-", "associated", "p53", "mutant"]


def test_sentences_keep_abbreviations_and_cover_text():
    sents = split_sentences(NASTY)
    texts = [NASTY[a:b] for a, b in sents]
    assert texts[0].endswith("Fig. 2.")
    assert texts[-1] == "E. coli grew."
    assert len(texts) == 3
    covered = set()
    for a, b in sents:
        covered.update(range(a, b))
    assert {i for i, c in enumerate(NASTY) if not c.isspace()} <= covered


def test_newline_separates_blocks():
    t = "Title of paper\nAbstract starts here. Next one."
    assert [t[a:b] for a, b in split_sentences(t)] == ["Title of paper", "Abstract starts here.", "Next one."]


def test_windows_cover_and_max_context():
    ws = make_windows(300, 126, 32)
    assert ws[0].start == 0 and ws[-1].end == 300
    assert all(b.start < a.end for a, b in zip(ws, ws[1:]))  # overlapping, no gaps
    for p in range(300):
        w = ws[best_window(ws, p)]
        assert w.start <= p < w.end
    assert make_windows(10, 126, 32) == [make_windows(10, 126, 32)[0]]
    with pytest.raises(ValueError):
        make_windows(10, 5, 5)


def test_invisible_format_characters_join_words_or_separate():
    t = "cis\u00adplatin and BRCA\u200b1 \u200b in \ufeffmice\u00ad"
    assert [t[a:b] for a, b in tokenize_words(t)] == ["cis\u00adplatin", "and", "BRCA\u200b1", "in", "mice"]


def test_soft_hyphenated_chemical_is_tagged_whole(tagger_dir):
    from biobert import Tagger

    doc = Tagger.load(str(tagger_dir))("cis\u00adplatin nephrotoxicity")
    assert doc.tokens[0] == (0, 10)  # one word, which the tokenizer reads as "cisplatin"
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)


def test_combining_marks_stay_with_their_letter():
    """NFD text ("Be\u0301hcet") must split like NFC text ("B\u00e9hcet"): a mark is not a word of its own."""
    nfd, nfc = "Be\u0301hcet disease, na\u0308ive T-cells", "B\u00e9hcet disease, na\u00efve T-cells"
    words = [nfd[a:b] for a, b in tokenize_words(nfd)]
    assert words == ["Be\u0301hcet", "disease", ",", "na\u0308ive", "T", "-", "cells"]
    assert len(words) == len(tokenize_words(nfc))
    # a mark with no letter before it is still a word of its own, never dropped
    assert [t[a:b] for t in [" \u0301x"] for a, b in tokenize_words(t)] == ["\u0301", "x"]


def test_tokenizable_replaces_lone_surrogates_one_for_one():
    from collections import Counter

    from biobert.text.words import tokenizable

    stats = Counter()
    s = "breast cancer \ud83d and BRCA1"
    out = tokenizable(s, stats)
    assert len(out) == len(s) and out[14] == "\ufffd" and stats["surrogates_replaced"] == 1
    assert tokenizable("no surrogates \U0001f600", stats) == "no surrogates \U0001f600" and stats["surrogates_replaced"] == 1


def test_best_window_gives_every_position_the_most_context_on_its_short_side():
    # computed here, not with Window.context: a context measured on one side only made the last window win
    from biobert.text.windows import Window

    ws = make_windows(300, 126, 32)
    for p in range(300):
        w = ws[best_window(ws, p)]
        short = min(p - w.start, w.end - 1 - p)
        assert short == max(min(p - v.start, v.end - 1 - p) for v in ws if v.start <= p < v.end), p
    assert best_window(ws, 120) == 1  # 26 subwords of context left in window 1, 5 right in window 0
    assert best_window([Window(0, 10), Window(5, 15)], 7) == 0  # ties: the first window


def test_initials_do_not_end_a_sentence():
    text = "Cells were grown as described by J. Smith and colleagues. Growth fell."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Cells were grown as described by J. Smith and colleagues.", "Growth fell."]


def test_windows_are_exactly_capacity_long_and_overlap_by_exactly_stride():
    from biobert.text.windows import Window

    # 300 positions, 126 per window, 32 shared: starts advance by 94 and only the last window is short
    assert make_windows(300, 126, 32) == [Window(0, 126), Window(94, 220), Window(188, 300)]
    assert make_windows(127, 126, 0) == [Window(0, 126), Window(126, 127)]
    assert make_windows(126, 126, 32) == [Window(0, 126)]
    with pytest.raises(ValueError):
        make_windows(10, 5, -1)  # a negative stride would leave gaps between windows
    with pytest.raises(ValueError):
        make_windows(10, 0, 0)


def test_best_window_rejects_a_position_no_window_covers():
    from biobert.text.windows import Window

    with pytest.raises(ValueError):
        best_window([Window(0, 5), Window(3, 8)], 8)
    with pytest.raises(ValueError):
        best_window([], 0)
    assert Window(0, 5).context(5) == -1 and Window(0, 5).context(4) == 0


def test_boundaries_on_word_edges_make_no_empty_words():
    # a cut at a word's start or end (or outside the region) changes nothing: no (a, a) word appears
    assert tokenize_words("BRCA1 gene", boundaries=[0, 6, 10, 3]) == [(0, 3), (3, 5), (6, 10)]
    assert tokenize_words("xx BRCA1 gene", start=3, boundaries=[3]) == [(3, 8), (9, 13)]


def test_underscore_is_a_word_of_its_own_and_never_dropped():
    t = "IL_6 _x_"
    assert [t[a:b] for a, b in tokenize_words(t)] == ["IL", "_", "6", "_", "x", "_"]


def test_spacing_and_enclosing_marks_also_stay_with_their_letter():
    # Mc (Devanagari vowel sign, visarga) and Me (enclosing circle) are combining marks too, not only Mn
    for t in ["\u0915\u093e\u0930", "x\u0903y", "a\u20ddb"]:
        assert tokenize_words(t) == [(0, 3)], t


def test_tokenizable_counts_every_surrogate_and_nothing_when_there_is_none():
    from collections import Counter

    from biobert.text.words import tokenizable

    stats = Counter()
    assert tokenizable("clean text", stats) == "clean text" and "surrogates_replaced" not in stats
    assert tokenizable("\ud83d a \udc00", stats) == "\ufffd a \ufffd" and stats["surrogates_replaced"] == 2
