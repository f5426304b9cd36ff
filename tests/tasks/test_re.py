"""RE task: input styles, windows centred on the pair, pooling, multi-label, candidates, save/load."""

from collections import Counter

import pytest
import torch

from biobert.types import Document, Relation, Span
from biobert.tasks.re import (
    RelationModel,
    RESpec,
    build_re_features,
    candidate_pairs,
    derive_masks,
    encode_pair,
    new_relation_model,
    pair_of,
    re_collate,
    re_loss,
    render_pair,
)

TEXT = "Tamoxifen reduces breast cancer risk in BRCA1 carriers."
CHEM = Span(0, 9, "Chemical", text="Tamoxifen")
DIS = Span(18, 31, "Disease", text="breast cancer")
GENE = Span(40, 45, "Gene", text="BRCA1")


def spec(**kw):
    base = dict(labels=["0", "1"], negative_label="0", masks={"Gene": "@GENE$", "Disease": "@DISEASE$"}, max_length=32)
    base.update(kw)
    return RESpec(**base)


def test_render_styles():
    s, h, t = render_pair(TEXT, GENE, DIS, spec(style="mask"))
    assert s == "Tamoxifen reduces @DISEASE$ risk in @GENE$ carriers."
    assert s[h[0] : h[1]] == "@GENE$" and s[t[0] : t[1]] == "@DISEASE$"
    s, h, t = render_pair(TEXT, GENE, DIS, spec(style="markers"))
    assert s == "Tamoxifen reduces [E2]breast cancer[/E2] risk in [E1]BRCA1[/E1] carriers."
    assert s[h[0] : h[1]] == "[E1]BRCA1[/E1]"
    s, h, t = render_pair(TEXT, GENE, DIS, spec(style="markers+mask"))
    assert s[t[0] : t[1]] == "[E2]@DISEASE$[/E2]"
    # a type without a known mask gets the template
    s, _, _ = render_pair(TEXT, CHEM, GENE, spec(style="mask"))
    assert s.startswith("@CHEMICAL$ reduces")
    with pytest.raises(ValueError):
        render_pair(TEXT, Span(18, 24, "Disease"), DIS, spec())


def test_bad_spec_values():
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError):
        spec(style="brackets")
    with pytest.raises(ConfigError):
        spec(pooling="max")


def test_derive_masks_from_preanonymised_data():
    docs = [Document(str(i), t).with_spans([]).with_relations([Relation(Span(a, a + 6, "Gene", text="@GENE$"), Span(b, b + 9, "Disease", text="@DISEASE$"), "1")])
            for i, (t, a, b) in enumerate([("@GENE$ x @DISEASE$", 0, 9), ("y @GENE$ @DISEASE$", 2, 9)])]
    assert derive_masks(docs) == {"Disease": "@DISEASE$", "Gene": "@GENE$"}
    raw = [Document("r", TEXT, relations=(Relation(GENE, DIS, "1"),)), Document("s", "TP53 and colon cancer", relations=(Relation(Span(0, 4, "Gene"), Span(9, 21, "Disease"), "0"),))]
    assert derive_masks(raw) == {"Disease": "@DISEASE$", "Gene": "@GENE$"}


@pytest.fixture(scope="module")
def tok(tiny_bert):
    from biobert.encoders import load_tokenizer

    t = load_tokenizer(str(tiny_bert))
    from biobert.tasks.re import add_marker_tokens

    add_marker_tokens(t, spec(style="markers"))
    return t


def test_encode_pair_positions_point_at_markers(tok):
    sp = spec(style="markers", pooling="entity_start")
    f = encode_pair(tok, TEXT, GENE, DIS, sp, Counter())
    toks = tok.convert_ids_to_tokens(f["input_ids"])
    assert toks[0] == "[CLS]" and toks[-1] == "[SEP]"
    assert toks[f["head_pos"]] == "[E1]" and toks[f["tail_pos"]] == "[E2]"
    assert not f["too_long"]


def test_long_text_window_is_centred_on_the_pair(tok):
    filler = "the gene was studied in patients . " * 20
    text = filler + TEXT + " " + filler
    g = Span(GENE.start + len(filler), GENE.end + len(filler), "Gene")
    d = Span(DIS.start + len(filler), DIS.end + len(filler), "Disease")
    st = Counter()
    sp = spec(style="markers", pooling="entity_start", max_length=40)
    f = encode_pair(tok, text, g, d, sp, st)
    toks = tok.convert_ids_to_tokens(f["input_ids"])
    assert len(toks) == 40 and st["pairs_windowed"] == 1
    assert toks[f["head_pos"]] == "[E1]" and toks[f["tail_pos"]] == "[E2]" and "[/E1]" in toks and "[/E2]" in toks
    # arguments too far apart for one window: flagged, counted, dropped from training
    far = filler + filler
    text2 = "BRCA1 " + far + "breast cancer"
    g2, d2 = Span(0, 5, "Gene"), Span(len(text2) - 13, len(text2), "Disease")
    st2 = Counter()
    f2 = encode_pair(tok, text2, g2, d2, sp, st2)
    assert f2["too_long"] and st2["pairs_too_long"] == 1 and len(f2["input_ids"]) == 40
    doc = Document("x", text2, relations=(Relation(g2, d2, "1"),))
    st3 = Counter()
    assert build_re_features([doc], tok, sp, st3) == [] and st3["pairs_too_long_dropped"] == 1


def test_features_single_and_multi_label(tok):
    docs = [
        Document("a", TEXT, relations=(Relation(GENE, DIS, "1"),)),
        Document("b", TEXT, relations=(Relation(GENE, DIS, "0"),)),
    ]
    feats = build_re_features(docs, tok, spec())
    assert [f["labels"] for f in feats] == [1, 0]
    ml = spec(labels=["CPR:3", "CPR:4"], negative_label="False", multi_label=True)
    two = Document("c", TEXT, relations=(Relation(GENE, DIS, "CPR:3"), Relation(GENE, DIS, "CPR:4")))
    assert pair_of(two)[2] == ["CPR:3", "CPR:4"]
    neg = Document("d", TEXT, relations=(Relation(GENE, DIS, "False"),))
    feats = build_re_features([two, neg], tok, ml)
    assert [f["labels"] for f in feats] == [[1.0, 1.0], [0.0, 0.0]]
    b = re_collate(feats, 0)
    assert b["labels"].dtype == torch.float32 and b["input_ids"].shape[0] == 2
    from biobert.errors import TrainingError

    with pytest.raises(TrainingError):
        build_re_features([two], tok, spec(labels=["CPR:3", "CPR:4"]))  # two labels in single-label mode


@pytest.mark.parametrize("pooling,multi", [("cls", False), ("mean", False), ("entity_start", True)])
def test_model_forward_loss_and_roundtrip(tiny_bert, tok, tmp_path, pooling, multi):
    from biobert.encoders import load_tokenizer

    t = load_tokenizer(str(tiny_bert))
    sp = spec(style="markers", pooling=pooling, multi_label=multi, labels=["1"] if multi else ["0", "1"])
    t.add_tokens([f"extra{i}" for i in range(400)])  # make the vocabulary outgrow the 400 embeddings
    model = new_relation_model(str(tiny_bert), t, sp)
    assert all(m in t.get_vocab() for m in sp.markers)
    assert model.encoder.get_input_embeddings().num_embeddings == len(t)  # resized
    docs = [Document("a", TEXT, relations=(Relation(GENE, DIS, "1"),)), Document("b", TEXT, relations=(Relation(DIS, GENE, "0"),))]
    batch = re_collate(build_re_features(docs, t, sp), t.pad_token_id)
    loss = re_loss(model, batch)
    loss.backward()
    assert loss.item() > 0
    model.eval()
    model.save_pretrained(tmp_path)
    t.save_pretrained(tmp_path)
    back = RelationModel.from_dir(tmp_path, len(sp.labels), pooling)
    with torch.no_grad():
        a = model(batch["input_ids"], batch["attention_mask"], batch["head_pos"], batch["tail_pos"])
        b = back(batch["input_ids"], batch["attention_mask"], batch["head_pos"], batch["tail_pos"])
    assert torch.allclose(a, b, atol=1e-5)


def test_candidate_pairs_respect_types_and_sentences():
    text = "BRCA1 causes breast cancer. TP53 is mutated in colorectal cancer."
    spans = [Span(0, 5, "Gene"), Span(13, 26, "Disease"), Span(28, 32, "Gene"), Span(47, 64, "Disease")]
    doc = Document("d", text).with_spans(spans)
    c = candidate_pairs(doc, [("Gene", "Disease")])
    assert [(doc.span_text(h), doc.span_text(t)) for h, t, _, _ in c] == [("BRCA1", "breast cancer"), ("TP53", "colorectal cancer")]
    assert [(a, b) for _, _, a, b in c] == [(0, 27), (28, 65)]
    # window scope crosses sentences: every Gene -> Disease pair whose starts are <= 40 chars apart
    w = candidate_pairs(doc, [("Gene", "Disease")], scope="window", window_chars=40)
    assert sorted((h.start, t.start) for h, t, _, _ in w) == [(0, 13), (28, 13), (28, 47)]
    assert [(a, b) for h, t, a, b in w if (h.start, t.start) == (28, 13)] == [(0, 65)]
    anyp = candidate_pairs(doc, None)
    assert all(not (h.label == t.label and h.start > t.start) for h, t, _, _ in anyp)


def test_mean_pooling_ignores_padding(tiny_bert, tok):
    """Mean pooling averages the input's own tokens only: padding a sequence must not change its logits."""
    sp = spec(pooling="mean")
    model = new_relation_model(str(tiny_bert), tok, sp).eval()
    ids = torch.tensor([[2, 40, 41, 42, 3]])
    padded = torch.tensor([[2, 40, 41, 42, 3, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0, 0]])
    with torch.no_grad():
        a = model(ids, torch.ones_like(ids))
        b = model(padded, mask)
    assert torch.allclose(a, b, atol=1e-5)


def test_predictor_counts_a_lone_surrogate_once_per_text_not_per_candidate_pair(tiny_bert):
    from biobert.encoders import load_tokenizer
    from biobert.tasks.re import REPredictor

    t = load_tokenizer(str(tiny_bert))
    sp = spec(style="markers")
    model = new_relation_model(str(tiny_bert), t, sp).eval()
    text = TEXT[:36] + "\ud800" + TEXT[37:]  # one lone surrogate in place of a space
    stats = Counter()
    out = REPredictor(model, t, sp).predict([(text, CHEM, DIS), (text, DIS, GENE), (text, CHEM, GENE)], stats)
    assert len(out) == 3 and stats["surrogates_replaced"] == 1  # was 3: one per rendered pair


def test_multi_label_predictions_use_the_spec_threshold(tiny_bert):
    import math

    from biobert.encoders import load_tokenizer
    from biobert.tasks.re import REPredictor

    class Fixed(torch.nn.Module):  # every pair: probability 0.4 for the one label
        def forward(self, input_ids, attention_mask, head_pos, tail_pos):
            return torch.full((input_ids.shape[0], 1), math.log(0.4 / 0.6))

    t = load_tokenizer(str(tiny_bert))
    for threshold, want in ((0.3, ["1"]), (0.5, [])):
        sp = spec(style="markers", multi_label=True, labels=["1"], threshold=threshold)
        (out,) = REPredictor(Fixed(), t, sp).predict([(TEXT, GENE, DIS)])
        assert out["labels"] == want, threshold  # a fixed 0.5 ignored the setting


def test_a_pair_that_exactly_fills_the_window_fits_and_one_subword_more_is_too_long(tok):
    """Survivor R7: the window boundary. A pair whose marked arguments span exactly ``max_length - 2`` subwords fits
    in one window (both arguments whole, markers included); one subword more and it is flagged too long. A pair at
    the very end of a long text gets the last ``max_length - 2`` subwords (the window is clamped, not shifted off)."""
    sp = spec(style="markers", pooling="entity_start", max_length=20)
    cap = sp.max_length - 2
    filler = "the gene was studied in patients . " * 6

    def pair_span(gap_words):
        mid = " ".join(["the"] * gap_words)
        text = filler + "BRCA1 " + mid + " cancer " + filler
        g = Span(len(filler), len(filler) + 5, "Gene")
        k = text.index(" cancer ", g.end) + 1
        d = Span(k, k + 6, "Disease")
        rendered, (h0, _), (_, t1) = render_pair(text, g, d, sp)
        between = tok(rendered[h0:t1], add_special_tokens=False)["input_ids"]
        return text, g, d, len(between)

    sizes = {gap: pair_span(gap) for gap in range(1, 16)}
    exact = next(v for v in sizes.values() if v[3] == cap)
    over = next(v for v in sizes.values() if v[3] == cap + 1)
    st = Counter()
    f = encode_pair(tok, *exact[:3], sp, st)
    toks = tok.convert_ids_to_tokens(f["input_ids"])
    assert not f["too_long"] and st == Counter(pairs_windowed=1)
    assert toks[1] == "[E1]" and toks[-2] == "[/E2]" and len(toks) == sp.max_length
    assert toks[f["head_pos"]] == "[E1]" and toks[f["tail_pos"]] == "[E2]"
    st = Counter()
    assert encode_pair(tok, *over[:3], sp, st)["too_long"] and st["pairs_too_long"] == 1

    # a pair at the end of a long text: the window is the text's last cap subwords
    text = filler + "BRCA1 causes cancer"
    g, d = Span(len(filler), len(filler) + 5, "Gene"), Span(len(text) - 6, len(text), "Disease")
    f = encode_pair(tok, text, g, d, sp, Counter())
    rendered = render_pair(text, g, d, sp)[0]
    all_ids = tok(rendered, add_special_tokens=False)["input_ids"]
    assert f["input_ids"][1:-1] == all_ids[-cap:] and not f["too_long"]


def test_window_scope_includes_starts_exactly_window_chars_apart_and_shows_both_sentences():
    """Survivor R7 (candidates): with ``scope="window"`` a pair across a sentence edge is kept when its starts are at
    most ``window_chars`` apart (inclusive), and its context runs from the head's sentence to the tail's."""
    text = "BRCA1 is a gene. Breast cancer is common. TP53 too."
    g, d = Span(0, 5, "Gene"), Span(17, 30, "Disease")
    doc = Document("d", text).with_spans([g, d])
    assert [(h.start, t.start, a, b) for h, t, a, b in candidate_pairs(doc, [("Gene", "Disease")], scope="window", window_chars=17)] \
        == [(0, 17, 0, 41)]
    assert candidate_pairs(doc, [("Gene", "Disease")], scope="window", window_chars=16) == []
    assert candidate_pairs(doc, [("Gene", "Disease")], scope="sentence") == []


def test_entity_start_pooling_reads_the_head_start_then_the_tail_start(tiny_bert, tok):
    """Survivor R11: the classifier sees [hidden at head start ; hidden at tail start], in that order."""
    sp = spec(style="markers", pooling="entity_start")
    model = new_relation_model(str(tiny_bert), tok, sp).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.normal_()
    f = encode_pair(tok, TEXT, GENE, DIS, sp, Counter())
    b = re_collate([f], tok.pad_token_id)
    assert f["head_pos"] != f["tail_pos"]
    with torch.no_grad():
        got = model(b["input_ids"], b["attention_mask"], b["head_pos"], b["tail_pos"])
        hidden = model.encoder(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state[0]
        want = model.classifier(torch.cat([hidden[f["head_pos"]], hidden[f["tail_pos"]]]))
        swapped = model.classifier(torch.cat([hidden[f["tail_pos"]], hidden[f["head_pos"]]]))
    assert torch.allclose(got[0], want, atol=1e-5)
    assert not torch.allclose(want, swapped, atol=1e-3)


def test_re_batches_mask_their_padding_and_a_pair_predicts_the_same_alone_or_padded(tiny_bert, tok):
    """Survivor R13: ``re_collate`` marks real tokens 1 and padding 0, and the predictor passes that mask on, so a short
    pair batched with a long one gets the probabilities it gets alone."""
    from biobert.tasks.re import REPredictor

    sp = spec(style="markers")
    short = encode_pair(tok, TEXT, GENE, DIS, sp, Counter())
    long_text = TEXT + " The gene was studied in many patients with breast cancer and their families."
    long = encode_pair(tok, long_text, GENE, DIS, sp, Counter())
    b = re_collate([short, long], tok.pad_token_id)
    n, m = len(short["input_ids"]), len(long["input_ids"])
    assert m > n + 5
    assert b["attention_mask"].tolist() == [[1] * n + [0] * (m - n), [1] * m]
    assert b["input_ids"][0, n:].tolist() == [tok.pad_token_id] * (m - n)
    model = new_relation_model(str(tiny_bert), tok, sp).eval()
    torch.manual_seed(0)
    with torch.no_grad():
        model.classifier.weight.normal_()
    pred = REPredictor(model, tok, sp)
    alone = pred.predict([(TEXT, GENE, DIS)])[0]["probs"]
    together = pred.predict([(TEXT, GENE, DIS), (long_text, GENE, DIS)])[0]["probs"]
    assert together == pytest.approx(alone, abs=1e-5)
    with torch.no_grad():  # the mask matters: attending to the padding gives other logits
        masked = model(b["input_ids"], b["attention_mask"])[0]
        unmasked = model(b["input_ids"], torch.ones_like(b["attention_mask"]))[0]
    assert not torch.allclose(masked, unmasked, atol=1e-4)


def test_pair_of_gathers_the_labels_of_its_own_pair_only_in_order_without_repeats(tok):
    """Survivor R14: the gold labels of an RE example are those of every relation on the first relation's
    (head, tail) pair, in order, once each; relations on another pair (other tail, reversed direction, same
    range with another type) are not, and neither are they in the multi-label training target."""
    chem = Span(0, 9, "Chemical")
    doc = Document("d", TEXT, relations=(
        Relation(GENE, DIS, "CPR:3"), Relation(GENE, chem, "CPR:4"), Relation(DIS, GENE, "CPR:5"),
        Relation(GENE, DIS, "CPR:9"), Relation(GENE, DIS, "CPR:3"), Relation(chem, DIS, "CPR:6"),
        Relation(GENE, Span(DIS.start, DIS.end, "Phenotype"), "CPR:4")))
    head, tail, labels = pair_of(doc)
    assert (head, tail) == (GENE, DIS) and labels == ["CPR:3", "CPR:9"]
    ml = spec(labels=["CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9"], negative_label="False", multi_label=True)
    assert build_re_features([doc], tok, ml)[0]["labels"] == [1.0, 0.0, 0.0, 0.0, 1.0]
    single = Document("s", TEXT, relations=(Relation(GENE, DIS, "1"), Relation(DIS, GENE, "0"), Relation(GENE, DIS, "1")))
    assert pair_of(single)[2] == ["1"] and build_re_features([single], tok, spec())[0]["labels"] == 1
