from collections import Counter

import pytest
import torch

from biobert.tasks.ner import (
    NERPredictor,
    SubwordEncoder,
    allowed_o_matrix,
    build_features,
    document_sentences,
    labels_for_types,
    ner_collate,
    ner_loss,
    trim_unseen_edges,
)
from biobert.types import Document, Span
from tests.nerdata import gold_docs


@pytest.fixture(scope="module")
def tok(tiny_bert):
    from biobert.encoders import load_tokenizer

    return load_tokenizer(str(tiny_bert))


class _FakeTagger(torch.nn.Module):
    """Labels O / B / I: a token id in ``label_of`` gets that label, every other token O."""

    def __init__(self, label_of: dict[int, int], strength: float = 10.0):
        super().__init__()
        self.label_of = label_of
        self.strength = strength

    def forward(self, input_ids, attention_mask):
        logits = torch.full((*input_ids.shape, 3), -5.0)
        logits[..., 0] = 0.0
        for tid, label in self.label_of.items():
            logits[..., label] = torch.where(input_ids == tid, self.strength, logits[..., label])
        return type("O", (), {"logits": logits})


def test_sentences_and_tags_from_raw_document():
    text = "BRCA1-associated cancer. Second p53mutant sentence about breast cancer."
    doc = Document("d", text).with_spans([Span(0, 5, "Gene"), Span(32, 35, "Gene"), Span(57, 70, "Disease"), Span(57, 63, "Disease")])
    stats = Counter()
    sents = document_sentences(doc, 0, with_gold=True, stats=stats)
    assert len(sents) == 2
    words = [text[a:b] for a, b in sents[1].words]
    assert "p53" in words and "mutant" in words  # boundary forced inside "p53mutant"
    tagged = {text[a:b]: t for (a, b), t in zip(sents[1].words, sents[1].tags)}
    assert tagged["p53"] == "B-Gene" and tagged["breast"] == "B-Disease" and tagged["cancer"] == "I-Disease"
    assert stats["spans_overlapping_dropped"] == 1  # nested "breast" inside "breast cancer"


def test_gold_span_across_sentence_cut_merges_sentences():
    text = "Infection with E. Coli. Strain was fatal."
    # a (made-up) span over the splitter's cut point
    doc = Document("d", text).with_spans([Span(15, 30, "Species")])
    stats = Counter()
    sents = document_sentences(doc, 0, with_gold=True, stats=stats)
    assert stats["sentences_merged"] >= 0
    assert any(t.startswith("B-") for s in sents for t in s.tags)
    assert sum(t.startswith("B-") for s in sents for t in s.tags) == 1


def test_words_without_subwords_become_unk(tok):
    enc = SubwordEncoder(tok)
    stats = Counter()
    (ids, starts), = enc.encode([["BRCA1", "\x96", "cancer"]], stats)
    assert stats["words_without_subwords"] == 1
    assert len(starts) == 3 and ids[starts[1]] == tok.unk_token_id


def test_long_sentence_is_windowed_not_truncated(tok):
    words = ["BRCA1", "mutations", "cause", "breast", "cancer"] * 60
    text = " ".join(words)
    doc = Document("d", text, sentences=((0, len(text)),))
    doc = doc.with_spans([Span(0, 5, "Gene")])
    labels = labels_for_types(["Gene"])
    stats = Counter()
    sents = document_sentences(doc, 0, with_gold=True, stats=stats)
    feats = build_features(sents, [text], SubwordEncoder(tok), {l: i for i, l in enumerate(labels)}, max_length=64, stride=16, stats=stats)
    assert len(feats) > 1 and stats["sentences_windowed"] == 1
    assert all(len(f["input_ids"]) <= 64 for f in feats)
    n_labelled = sum(1 for f in feats for l in f["labels"] if l != -100)
    assert n_labelled >= len(words)  # every word labelled at least once (overlaps twice)


def test_soft_targets_follow_each_window_and_line_up_with_the_labelled_positions(tok):
    """Teacher rows travel with the words: every window carries the rows of the words it labels, in order, and a
    batch's rows line up one to one with ``logits[labels != -100]``, where the distillation loss reads them."""
    words = ["BRCA1", "mutations", "cause", "breast", "cancer"] * 60
    text = " ".join(words)
    doc = Document("d", text, sentences=((0, len(text)),)).with_spans([Span(0, 5, "Gene")])
    labels = labels_for_types(["Gene"])
    sents = document_sentences(doc, 0, with_gold=True)
    soft = [torch.softmax(torch.randn(len(words), len(labels)), -1)]
    l2i = {l: i for i, l in enumerate(labels)}
    feats = build_features(sents, [text], SubwordEncoder(tok), l2i, max_length=64, stride=16, soft=soft)
    assert len(feats) > 1
    for f in feats:
        lab = torch.tensor(f["labels"])
        assert f["soft"].shape == (int((lab != -100).sum()), len(labels))
    # the first window starts at word 0, the last one ends at the last word
    assert torch.equal(feats[0]["soft"], soft[0][: len(feats[0]["soft"])])
    assert torch.equal(feats[-1]["soft"], soft[0][len(words) - len(feats[-1]["soft"]):])
    batch = ner_collate(feats[:2])
    assert batch["soft"].shape[0] == int((batch["labels"] != -100).sum())
    with pytest.raises(ValueError, match="first-subword"):
        build_features(sents, [text], SubwordEncoder(tok), l2i, max_length=64, stride=16, soft=soft, label_all_subwords=True)


def test_distillation_loss_mixes_gold_and_teacher_terms():
    class Fake(torch.nn.Module):
        def __init__(self, logits):
            super().__init__()
            self.l = logits

        def forward(self, input_ids, attention_mask):
            return type("O", (), {"logits": self.l})()

    logits = torch.randn(1, 4, 3)
    labels = torch.tensor([[-100, 0, 2, -100]])
    batch = {"input_ids": torch.zeros(1, 4, dtype=torch.long), "attention_mask": torch.ones(1, 4), "labels": labels}
    ce = ner_loss(Fake(logits), batch)
    own = torch.softmax(logits[0, 1:3], -1)
    # a teacher that agrees with the model exactly adds nothing: (1 - w) * CE
    assert torch.allclose(ner_loss(Fake(logits), dict(batch, soft=own), distill=(0.25, 2.0)), 0.75 * ce)
    other = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])
    kd = torch.nn.functional.kl_div(torch.log_softmax(logits[0, 1:3], -1), other, reduction="batchmean")
    assert torch.allclose(ner_loss(Fake(logits), dict(batch, soft=other), distill=(1.0, 1.0)), kd)
    assert torch.allclose(ner_loss(Fake(logits), dict(batch, soft=other)), ce)  # no distill setting: gold only


def test_partial_label_loss_equals_ce_for_single_corpus_and_ignores_unannotated_types():
    labels = labels_for_types(["Chem", "Gene"])  # O B-Chem I-Chem B-Gene I-Gene
    allowed = allowed_o_matrix(labels, [["Chem", "Gene"], ["Chem"]])
    assert allowed[0].tolist() == [True, False, False, False, False]
    assert allowed[1].tolist() == [True, False, False, True, True]

    class Fake(torch.nn.Module):
        def __init__(self, logits):
            super().__init__()
            self.l = logits

        def forward(self, input_ids, attention_mask):
            return type("O", (), {"logits": self.l})

    logits = torch.tensor([[[0.0, 0.0, 0.0, 5.0, 0.0]]])  # confident B-Gene on an O word
    batch = {"input_ids": torch.zeros(1, 1, dtype=torch.long), "attention_mask": torch.ones(1, 1, dtype=torch.long),
             "labels": torch.tensor([[0]]), "corpus": torch.tensor([0])}
    full = ner_loss(Fake(logits), batch, allowed, 0)
    assert full == pytest.approx(float(torch.nn.functional.cross_entropy(logits[0], torch.tensor([0]))), rel=1e-5)
    batch["corpus"] = torch.tensor([1])  # corpus that does not annotate Gene: no penalty for predicting B-Gene
    partial = ner_loss(Fake(logits), batch, allowed, 0)
    assert partial < 0.05 < full


def test_predictor_offsets_on_long_nasty_input(tiny_bert, tok):
    from transformers import AutoModelForTokenClassification

    labels = labels_for_types(["Gene"])
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(str(tiny_bert), num_labels=len(labels))
    # force "always B-Gene / I-Gene" so that many spans are produced
    with torch.no_grad():
        model.classifier.bias[:] = torch.tensor([-10.0, 5.0, 4.0])
    pred = NERPredictor(model, tok, labels, max_length=32, stride=8)
    piece = "TNF-\u03b1 at 5.3\u00b10.2\u00a0ng/ml \x96 2\u00b2 [3H]-thymidine \u2013 BRCA1, "
    text = piece * 60
    stats = Counter()
    doc, = pred.predict_documents([Document("x", text)], stats=stats)
    assert stats["sentences_windowed"] > 0 and stats["words_without_subwords"] > 0
    assert len(doc.spans) > 0
    for s in doc.spans:
        assert doc.text[s.start:s.end] == s.text
    # every non-space character is in a token
    covered = set()
    for a, b in doc.tokens:
        covered.update(range(a, b))
    assert covered == {i for i, c in enumerate(text) if not c.isspace()}


# --- neighbouring-sentence context (FLERT) ------------------------------------------------------------


def test_neighbour_context_stays_inside_a_group():
    from biobert.tasks.ner import neighbour_context

    ids = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [10]]
    ctx = neighbour_context(ids, ["a", "a", "a", "b"], 3)
    assert ctx[0] == ([], [4, 5, 6])
    assert ctx[1] == ([1, 2, 3], [6, 7, 8])
    assert ctx[2] == ([3, 4, 5], [])  # sentence 3 is another text
    assert ctx[3] == ([], [])
    assert neighbour_context(ids, ["a"] * 4, 0) == [([], [])] * 4
    assert neighbour_context(ids, None, 5) == [([], [])] * 4


def test_window_input_shares_the_room_and_prefers_the_sentence_itself():
    from biobert.text.windows import Window
    from biobert.tasks.ner import window_input

    ids = list(range(100, 110))
    left, right = [1, 2, 3, 4, 5, 6], [7, 8]
    # whole sentence, plenty of room: all wanted context, right side limited by what exists
    inp, nl, nr = window_input(ids, Window(0, 10), left, right, max_length=64, context=4)
    assert (nl, nr) == (4, 2) and inp == [3, 4, 5, 6] + ids + [7, 8]
    # room for 4 context positions only (16 - 2 - 10): shared evenly
    inp, nl, nr = window_input(ids, Window(0, 10), left, right, max_length=16, context=4)
    assert (nl, nr) == (2, 2) and len(inp) == 14 and inp[nl:nl + 10] == ids
    # right side has nothing: the left side takes all the room
    inp, nl, nr = window_input(ids, Window(0, 10), left, [], max_length=16, context=4)
    assert (nl, nr) == (4, 0)
    # a middle window reads the sentence's own neighbouring subwords first
    inp, nl, nr = window_input(ids, Window(3, 6), left, right, max_length=64, context=2)
    assert inp == [101, 102, 103, 104, 105, 106, 107] and (nl, nr) == (2, 2)
    # no context: the window alone
    assert window_input(ids, Window(3, 6), left, right, max_length=64, context=0) == ([103, 104, 105], 0, 0)


def test_context_features_label_only_the_sentence(tok):
    from biobert.tasks.ner import sentence_groups

    text = "BRCA1 mutations cause breast cancer. Tamoxifen lowers the risk. Aspirin helps."
    doc = Document("d", text).with_spans([Span(0, 5, "Gene"), Span(22, 35, "Disease")])
    labels = labels_for_types(["Disease", "Gene"])
    l2i = {l: i for i, l in enumerate(labels)}
    sents = document_sentences(doc, 0, with_gold=True)
    assert len(sents) == 3
    plain = build_features(sents, [text], SubwordEncoder(tok), l2i, max_length=64, stride=16)
    stats = Counter()
    ctx = build_features(sents, [text], SubwordEncoder(tok), l2i, max_length=64, stride=16, context=8,
                         groups=sentence_groups(sents, [doc.metadata]), stats=stats)
    assert stats["context_subwords"] > 0
    for p, c in zip(plain, ctx):
        assert len(c["input_ids"]) > len(p["input_ids"]) and len(c["input_ids"]) <= 64
        assert [l for l in c["labels"] if l != -100] == [l for l in p["labels"] if l != -100]
        # the sentence's own subwords sit inside the context, in order
        core = p["input_ids"][1:-1]
        k = c["labels"].index(next(l for l in c["labels"] if l != -100))
        assert c["input_ids"][k:k + len(core)] == core
    # the middle sentence sees the end of the first and the start of the last
    # (up to 8 subwords each side: a neighbour shorter than that is seen whole)
    first_ids, own, last_ids = (plain[i]["input_ids"][1:-1] for i in range(3))
    n, m = min(8, len(first_ids)), min(8, len(last_ids))
    assert ctx[1]["input_ids"] == [ctx[1]["input_ids"][0], *first_ids[-n:], *own, *last_ids[:m], ctx[1]["input_ids"][-1]]


def test_independent_texts_are_never_each_others_context():
    from biobert.tasks.ner import Sentence, sentence_groups

    sents = [Sentence(0, [(0, 1)]), Sentence(1, [(0, 1)]), Sentence(2, [(0, 1)]), Sentence(3, [(0, 1)])]
    g = sentence_groups(sents, [{}, {}, {"context_group": "f.tsv"}, {"context_group": "f.tsv"}])
    assert g[0] != g[1] and g[2] == g[3] and g[1] != g[2]


def test_predictor_with_context_reads_each_word_at_its_own_position(tok):
    """A fake model tags exactly the subword 'cancer'; with context the window starts after the left context."""
    cancer = tok.convert_tokens_to_ids("cancer")
    assert cancer != tok.unk_token_id
    labels = labels_for_types(["Disease"])

    Fake = lambda: _FakeTagger({cancer: 1})  # noqa: E731

    text = "Breast cancer is common. The cancer grows. Nothing here at all. Colon cancer too."
    for context in (0, 6, 50):
        pred = NERPredictor(Fake(), tok, labels, max_length=16, stride=4, context=context)
        doc, = pred.predict_documents([Document("d", text)])
        assert [s.text for s in doc.spans] == ["cancer"] * 3, context
        assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)


def test_conll_files_without_docstart_are_one_running_text(tmp_path):
    from biobert.io.conll import read_conll

    p = tmp_path / "x.tsv"
    p.write_text("A\tO\nb\tB\n\nC\tO\n\n", encoding="utf-8")
    docs = read_conll(p)
    assert len(docs) == 2 and docs[0].metadata["context_group"] == docs[1].metadata["context_group"]
    q = tmp_path / "y.tsv"
    q.write_text("-DOCSTART-\tO\n\nA\tO\n\n-DOCSTART-\tO\n\nC\tO\n\n", encoding="utf-8")
    assert all("context_group" not in d.metadata for d in read_conll(q))


def test_trim_unseen_edges_keeps_inner_unseen_words_and_drops_edges():
    tags = ["B-Gene", "I-Gene", "I-Gene", "O", "B-Chem", "I-Chem", "O", "B-Gene"]
    new, n = trim_unseen_edges(tags, {2, 4, 7})
    assert new == ["B-Gene", "I-Gene", "O", "O", "O", "B-Chem", "O", "O"] and n == 3
    inner = ["B-Gene", "I-Gene", "I-Gene"]
    assert trim_unseen_edges(inner, {1}) == (inner, 0)  # inside an entity: kept
    assert trim_unseen_edges(["O", "I", "I"], {0}) == (["O", "I", "I"], 0)  # untyped, I after O: unchanged


def test_predictor_never_ends_an_entity_on_a_control_character(tok):
    """A fake model tags every position as inside an entity; the \\x96 the tokenizer deletes must not join the span."""
    gene = tok("BRCA1", add_special_tokens=False)["input_ids"][0]
    assert gene != tok.unk_token_id
    labels = labels_for_types(["Gene"])  # O, B-Gene, I-Gene

    Fake = lambda: _FakeTagger({gene: 1, tok.unk_token_id: 2})  # noqa: E731

    text = "BRCA1\x96induced loss. \x96 alone."
    stats = Counter()
    # argmax: the lone "\x96" (I after O) would open an entity of its own; both edges are trimmed
    doc, = NERPredictor(Fake(), tok, labels, decode="argmax").predict_documents([Document("d", text)], stats)
    assert [s.text for s in doc.spans] == ["BRCA1"]
    assert stats["entity_edges_trimmed_unseen_word"] == 2
    assert stats["words"] == 8 and stats["words_without_subwords"] == 2  # each word counted once


def test_predictor_with_abbreviations_tags_the_short_form_of_a_tagged_long_form(tok):
    cancer = tok.convert_tokens_to_ids("cancer")
    labels = labels_for_types(["Disease"])

    Fake = lambda: _FakeTagger({cancer: 1})  # noqa: E731

    text = "Breast cancer (BC) is common. Many BC patients."
    for on, expected in ((False, ["cancer"]), (True, ["cancer", "BC", "BC"])):
        stats = Counter()
        doc, = NERPredictor(Fake(), tok, labels, abbreviations=on).predict_documents([Document("d", text)], stats)
        assert [s.text for s in doc.spans] == expected
        assert stats["abbreviation_spans_added"] == (2 if on else 0)


def test_viterbi_decoding_drops_an_i_that_no_b_opens(tok):
    """A fake model gives 'cancer' I-Disease (2) over O (0) and B (-5): argmax + conlleval make it an entity,
    constrained Viterbi reads O, the likeliest valid sequence (B on 'The' would cost more than O on 'cancer');
    a B before it keeps the entity whole."""
    from biobert.errors import ConfigError

    cancer = tok.convert_tokens_to_ids("cancer")
    breast = tok.convert_tokens_to_ids("breast")
    assert cancer != tok.unk_token_id and breast != tok.unk_token_id
    labels = labels_for_types(["Disease"])  # O, B-Disease, I-Disease
    text = "The cancer grows. And breast cancer too."
    argmax, = NERPredictor(_FakeTagger({cancer: 2}, 2.0), tok, labels, decode="argmax").predict_documents([Document("d", text)])
    assert [s.text for s in argmax.spans] == ["cancer", "cancer"]
    viterbi, = NERPredictor(_FakeTagger({cancer: 2}, 2.0), tok, labels, decode="viterbi").predict_documents([Document("d", text)])
    assert viterbi.spans == ()
    both, = NERPredictor(_FakeTagger({cancer: 2, breast: 1}, 2.0), tok, labels, decode="viterbi").predict_documents([Document("d", text)])
    assert [s.text for s in both.spans] == ["breast cancer"]
    assert both.spans[0].score == pytest.approx(0.880, abs=1e-3)  # the mean probability of the chosen tags
    with pytest.raises(ConfigError, match="E492"):
        NERPredictor(_FakeTagger({}), tok, labels, decode="beam")


def test_viterbi_over_windows_keeps_entities_that_cross_window_edges(tok):
    """A sentence far longer than one window: every 'breast cancer' (B then I) is found whole by both decoders,
    wherever the window edges fall, and Viterbi runs over the merged sentence, not per window."""
    cancer = tok.convert_tokens_to_ids("cancer")
    breast = tok.convert_tokens_to_ids("breast")
    labels = labels_for_types(["Disease"])
    text = " ".join(["and breast cancer with"] * 40)  # one sentence of 160 words
    for decode in ("argmax", "viterbi"):
        stats = Counter()
        pred = NERPredictor(_FakeTagger({breast: 1, cancer: 2}, 2.0), tok, labels, max_length=16, stride=4, decode=decode)
        doc, = pred.predict_documents([Document("d", text)], stats)
        assert stats["sentences_windowed"] == 1
        assert [s.text for s in doc.spans] == ["breast cancer"] * 40, decode
        assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)


def test_sentencepiece_word_spelled_marker_and_unk_is_unseen(tiny_xlmr):
    """ALBERT / DeBERTa-v3 / XLM-R spell \\x96 as ``▁`` + ``<unk>``: the model saw nothing of it either, so it must
    not end an entity (``BRCA1\\x96induced`` gives ``BRCA1``)."""
    from biobert.encoders import load_tokenizer

    xtok = load_tokenizer(str(tiny_xlmr))
    marker = xtok.convert_tokens_to_ids("\u2581")
    (ids, starts), = SubwordEncoder(xtok).encode([["BRCA1", "\x96", "induced"]])
    assert ids[starts[1]:starts[2]] == [marker, xtok.unk_token_id]  # the premise
    labels = labels_for_types(["Gene"])
    fake = _FakeTagger({ids[0]: 1, marker: 2, xtok.unk_token_id: 2})
    stats = Counter()
    doc, = NERPredictor(fake, xtok, labels, decode="argmax").predict_documents([Document("d", "BRCA1\x96induced")], stats)
    assert [s.text for s in doc.spans] == ["BRCA1"]
    assert stats["entity_edges_trimmed_unseen_word"] == 1


def test_all_subword_labels_continue_an_entity_with_i(tok):
    """label_all_subwords: the subwords after a B-X word's first are I-X (a B-X on each would teach several
    entity starts per word); an I-X word is I-X throughout."""
    text = "naloxonehydrochloride and naloxonehydrochloride ."
    doc = Document("d", text, sentences=((0, len(text)),)).with_spans([Span(0, 21, "Chem"), Span(26, 47, "Chem")])
    doc2 = Document("e", "naloxone hydrochloride", sentences=((0, 22),)).with_spans([Span(0, 22, "Chem")])
    labels = labels_for_types(["Chem"])
    l2i = {l: i for i, l in enumerate(labels)}
    enc = SubwordEncoder(tok)
    n_sub = len(tok.tokenize("naloxonehydrochloride"))
    assert n_sub >= 3  # the precondition: one word, several subwords
    sents = document_sentences(doc, 0, with_gold=True) + document_sentences(doc2, 1, with_gold=True)
    f1, f2 = build_features(sents, [text, "naloxone hydrochloride"], enc, l2i, max_length=64, stride=16, label_all_subwords=True)
    lab = f1["labels"][1:-1]
    assert lab[:n_sub] == [l2i["B-Chem"]] + [l2i["I-Chem"]] * (n_sub - 1)
    second = [l for l in f2["labels"][1:-1]]
    n_first = len(tok.tokenize("naloxone"))
    assert second[n_first:] == [l2i["I-Chem"]] * (len(second) - n_first)  # the I-Chem word: I-Chem on every subword


def test_a_span_score_is_the_mean_of_its_words_probabilities(tok):
    import math

    breast, cancer = (tok.convert_tokens_to_ids(t) for t in ("breast", "cancer"))
    assert tok.unk_token_id not in (breast, cancer)

    class Graded(torch.nn.Module):  # B on "breast" at logit 3, I on "cancer" at logit 1, O (0) elsewhere
        def forward(self, input_ids, attention_mask):
            logits = torch.full((*input_ids.shape, 3), -5.0)
            logits[..., 0] = 0.0
            logits[..., 1] = torch.where(input_ids == breast, 3.0, logits[..., 1])
            logits[..., 2] = torch.where(input_ids == cancer, 1.0, logits[..., 2])
            return type("O", (), {"logits": logits})

    p = lambda s: math.exp(s) / (math.exp(s) + 1 + math.exp(-5))  # noqa: E731
    for decode in ("argmax", "viterbi"):
        pred = NERPredictor(Graded(), tok, labels_for_types(["Disease"]), max_length=16, stride=4, decode=decode)
        doc, = pred.predict_documents([Document("d", "breast cancer is common.")])
        assert [s.text for s in doc.spans] == ["breast cancer"]
        assert doc.spans[0].score == pytest.approx((p(3.0) + p(1.0)) / 2, abs=1e-5)  # not the first word's alone
