"""QA task: windows with answer targets, n-best decoding with exact offsets, pooling over passages, heads."""

from collections import Counter

import pytest
import torch

from biobert.io.squad import QAExample
from biobert.tasks.qa import QAModel, QAPredictor, QASpec, build_qa_features, new_qa_model, pool_answers, qa_collate, qa_loss, select_answers
from biobert.types import Span

CTX = "Mutations in the CFTR gene are the cause of cystic fibrosis in many families."


def ex(i="q_001", context=CTX, answer="CFTR", qtype="factoid", label=None, qid="q"):
    a = ()
    if answer:
        k = context.index(answer)
        a = (Span(k, k + len(answer), "answer", text=answer),)
    return QAExample(i, "Which gene causes cystic fibrosis?", context, qid, qtype, a, ((answer,),) if answer else (), label)


def test_pool_sums_case_insensitive_duplicates_and_drops():
    nb = [
        [{"text": "CFTR", "probability": 0.5, "passage": 0, "start": 17, "end": 21}, {"text": "", "probability": 0.3},
         {"text": "x" * 101, "probability": 0.2}],
        [{"text": "cftr", "probability": 0.4, "passage": 1, "start": 0, "end": 4}, {"text": "ENaC", "probability": 0.6, "passage": 1}],
    ]
    pooled = pool_answers(nb)
    assert [(a["text"], round(a["score"], 6), a["count"]) for a in pooled] == [("CFTR", 0.9, 2), ("ENaC", 0.6, 1)]
    assert pooled[0]["passage"] == 0 and pooled[0]["start"] == 17  # most probable occurrence
    sp = QASpec(factoid_top_k=1, list_threshold=0.5, list_top_k=5)
    assert [a["text"] for a in select_answers(pooled, "factoid", sp)] == ["CFTR"]
    assert [a["text"] for a in select_answers(pooled, "list", sp)] == ["CFTR", "ENaC"]
    assert [a["text"] for a in select_answers(pooled, "list", QASpec(list_threshold=0.7))] == ["CFTR"]
    assert select_answers([], "list", sp) == []


@pytest.fixture(scope="module")
def tok(tiny_bert):
    from biobert.encoders import load_tokenizer

    return load_tokenizer(str(tiny_bert))


def test_features_window_long_passages_and_target_the_answer(tok):
    long_ctx = "Patients were studied for years . " * 12 + CTX
    e = ex(context=long_ctx)
    st = Counter()
    sp = QASpec(max_length=48, stride=12, max_query_length=4)
    feats = build_qa_features([e], tok, sp, st)
    assert len(feats) > 1 and st["passages_windowed"] == 1 and st["questions_cut_to_max_query_length"] == 1
    assert all(len(f["input_ids"]) <= 48 for f in feats)
    hits = [j for j, f in enumerate(feats) if f["start_positions"] > 0]
    assert hits and st["windows_without_answer"] == len(feats) - len(hits)
    # a window without the answer is trained to point at [CLS] (position 0), as BERT's run_squad does, not ignored
    assert all(f["start_positions"] == f["end_positions"] == 0 for j, f in enumerate(feats) if j not in hits)
    # the target subword starts exactly at the answer's first character
    from biobert.text.windows import make_windows

    enc = tok(long_ctx, add_special_tokens=False, return_offsets_mapping=True)
    q_len = feats[0]["ctx_offset"] - 2
    cap = 48 - q_len - 3
    windows = make_windows(len(enc["input_ids"]), cap, min(12, cap - 1))
    j = hits[0]
    f = feats[j]
    start_tok = windows[j].start + f["start_positions"] - f["ctx_offset"]
    end_tok = windows[j].start + f["end_positions"] - f["ctx_offset"]
    assert enc["offset_mapping"][start_tok][0] == long_ctx.index("CFTR")
    assert enc["offset_mapping"][end_tok][1] == long_ctx.index("CFTR") + 4
    assert f["token_type_ids"][f["ctx_offset"]] == 1 and f["token_type_ids"][1] == 0
    # a passage without the answer is dropped from training and counted
    st2 = Counter()
    assert build_qa_features([ex(answer=None)], tok, sp, st2) == [] and st2["examples_without_answer_dropped"] == 1


def test_predictor_offsets_index_the_passage_and_yesno_head(tiny_bert, tok, tmp_path):
    sp = QASpec(max_length=40, stride=8, max_query_length=10, n_best=5, class_labels=["yes", "no", "maybe"])
    model = new_qa_model(str(tiny_bert), len(sp.class_labels))
    exs = [ex("q_001"), ex("q_002", context="Cystic fibrosis is caused by CFTR. " * 6), ex("y_001", qtype="yesno", label="yes", qid="y", answer=None)]
    feats = build_qa_features(exs, tok, sp)
    assert any(f["class_label"] == 0 for f in feats) and any(f["start_positions"] == -100 for f in feats)
    loss = qa_loss(model, qa_collate(feats, tok.pad_token_id))
    loss.backward()
    pred = QAPredictor(model, tok, sp)
    runs = pred.run(exs)
    for e, r in zip(exs, runs):
        assert abs(sum(a["probability"] for a in r["nbest"]) - 1) < 1e-6
        for a in r["nbest"]:
            assert e.context[a["start"] : a["end"]] == a["text"] and len(a["text"]) > 0
        assert set(r["class_probs"]) == {"yes", "no", "maybe"}
    ans = pred.answer(exs)
    assert set(ans) == {"q", "y"}
    assert len(ans["q"]["answers"]) <= 5 and ans["y"]["answer"] in ("yes", "no", "maybe")
    for a in ans["q"]["answers"]:
        assert exs[a["passage"]].context[a["start"] : a["end"]] == a["text"]
    model.eval()
    model.save_pretrained(tmp_path)
    back = QAModel.from_dir(tmp_path, 3)
    b = qa_collate(feats[:2], tok.pad_token_id)
    with torch.no_grad():
        x, y = model(b["input_ids"], b["attention_mask"], b["token_type_ids"]), back(b["input_ids"], b["attention_mask"], b["token_type_ids"])
    assert all(torch.allclose(u, v, atol=1e-5) for u, v in zip(x, y))


def test_yesno_head_mean_pooling_roundtrip_and_ignores_padding(tiny_bert, tmp_path):
    """``cls_pooling="mean"``: padding leaves the class logits unchanged, the choice is saved in the spec and
    ``QAModel.from_dir`` rebuilds the same head; an unknown pooling is a typed error."""
    from biobert.errors import ConfigError

    model = new_qa_model(str(tiny_bert), 3, pooling="mean").eval()
    ids = torch.tensor([[2, 40, 41, 42, 3]])
    padded = torch.tensor([[2, 40, 41, 42, 3, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0, 0]])
    with torch.no_grad():
        a = model(ids, torch.ones_like(ids))[2]
        b = model(padded, mask)[2]
        c = QAModel(model.span_model, 3, pooling="cls")
        c.cls_head.load_state_dict(model.cls_head.state_dict())
        assert not torch.allclose(a, c.eval()(ids, torch.ones_like(ids))[2])  # the setting is used
    assert torch.allclose(a, b, atol=1e-5)
    assert QASpec.from_meta(QASpec(cls_pooling="mean").to_meta()).cls_pooling == "mean"
    model.save_pretrained(tmp_path)
    back = QAModel.from_dir(tmp_path, 3, pooling="mean")
    with torch.no_grad():
        assert torch.allclose(a, back(ids, torch.ones_like(ids))[2], atol=1e-5)
    with pytest.raises(ConfigError):
        new_qa_model(str(tiny_bert), 3, pooling="max")


def test_biobert_answer_cleanup_keeps_offsets_exact():
    from collections import Counter

    from biobert.tasks.qa import biobert_trim, clean_answers

    assert biobert_trim("CFTR.") == (0, 1) and biobert_trim("(CFTR)") == (1, 1) and biobert_trim("CFTR") == (0, 0)
    assert biobert_trim("CFTR (gene") is None and biobert_trim("a) b") is None
    assert biobert_trim("(a) (b)") == (0, 0)  # two pairs: kept as is, like the original
    ctx = "The gene (CFTR) and TP53, (mutated in cancer"
    items = [{"text": ctx[a:b], "start": a, "end": b, "probability": 0.1} for a, b in ((9, 15), (20, 25), (26, 44), (4, 8))]
    stats = Counter()
    out = clean_answers(items, "biobert", stats)
    assert [o["text"] for o in out] == ["CFTR", "TP53", "gene"]
    assert all(ctx[o["start"]:o["end"]] == o["text"] for o in out)
    assert stats == Counter(answers_trimmed=2, answers_dropped_unbalanced=1)
    assert clean_answers(items, "none") == items


def test_encoder_without_segment_embeddings_gets_no_token_type_ids(tok):
    # a RoBERTa-style encoder (type_vocab_size 1) behind a BERT tokenizer, as klue/roberta-base ships: the tokenizer
    # declares token_type_ids, and the passage's type 1 failed inside the encoder with a bare IndexError
    from transformers import XLMRobertaConfig, XLMRobertaForQuestionAnswering

    torch.manual_seed(0)
    cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                           intermediate_size=64, max_position_embeddings=130, type_vocab_size=1, pad_token_id=tok.pad_token_id)
    model = QAModel(XLMRobertaForQuestionAnswering(cfg))
    sp = QASpec(max_length=40, stride=8, max_query_length=10, n_best=5)
    feats = build_qa_features([ex()], tok, sp)
    assert "token_type_ids" in feats[0]  # the premise: the tokenizer asks for them
    qa_loss(model, qa_collate(feats, tok.pad_token_id)).backward()
    run, = QAPredictor(model, tok, sp).run([ex()])
    assert all(CTX[a["start"] : a["end"]] == a["text"] for a in run["nbest"])


def test_answers_never_start_or_end_with_whitespace_from_untrimmed_byte_level_offsets(tiny_modernbert):
    # ModernBERT's byte-level BPE gives "Ġcystic" the range of " cystic"; answers came out as " cystic fibrosis"
    from biobert.encoders import load_tokenizer

    tok = load_tokenizer(str(tiny_modernbert))
    assert tok("a cystic", add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"][1][0] == 1  # the premise
    torch.manual_seed(0)
    sp = QASpec(max_length=64, stride=8, max_query_length=10, n_best=20)
    model = new_qa_model(str(tiny_modernbert))
    run, = QAPredictor(model, tok, sp).run([ex()])
    assert len(run["nbest"]) > 5
    for a in run["nbest"]:
        assert CTX[a["start"] : a["end"]] == a["text"] == a["text"].strip(), a
    feats = build_qa_features([ex()], tok, sp)
    f = feats[0]
    answer = tok.convert_ids_to_tokens(f["input_ids"][f["start_positions"] : f["end_positions"] + 1])
    assert "".join(answer).lstrip("\u0120") == "CFTR"


def test_doc_stride_is_the_step_between_windows_as_in_bert(tok):
    """BERT's / BioBERT's ``doc_stride`` (128 with max_seq_length 384) is the step between window starts, where
    ``stride`` is the overlap: with ``doc_stride`` the windows start every ``doc_stride`` subwords, every subword
    is covered, and an answer that crosses a window boundary lies whole in the next window."""
    from biobert.tasks.qa import _Layout

    long_ctx = "Patients were studied for years . " * 12 + CTX
    enc = tok(long_ctx, add_special_tokens=False)["input_ids"]
    e = ex(context=long_ctx)
    sp = QASpec(max_length=48, max_query_length=4, doc_stride=10)
    layout = _Layout(tok, sp)
    windows = layout.encode([e], Counter())[0].windows
    cap = 48 - 4 - 3
    assert [w.start for w in windows] == list(range(0, 10 * len(windows), 10))  # the STEP, not the overlap
    assert all(w.end - w.start == cap for w in windows[:-1]) and windows[-1].end == len(enc)
    assert [w.start for w in _Layout(tok, QASpec(max_length=48, max_query_length=4, stride=10)).encode([e], Counter())[0].windows][:2] == [0, cap - 10]
    # a step longer than the window is cut to the window (as run_squad's min(length, doc_stride)): nothing skipped
    wide = _Layout(tok, QASpec(max_length=48, max_query_length=4, doc_stride=1000)).encode([e], Counter())[0].windows
    assert [w.start for w in wide[1:]] == [w.end for w in wide[:-1]]
    # the answer ("CFTR") is the target of every window that holds it whole
    st = Counter()
    feats = build_qa_features([e], tok, sp, st)
    hits = [f for f in feats if f["start_positions"] > 0]
    assert len(feats) == len(windows) and hits and st["answers_in_no_single_window"] == 0
    # with no overlap, an answer cut by a window boundary lies in no window: counted, not silently untrainable
    cut = ex(context=long_ctx, answer="cystic fibrosis")
    offs = tok(long_ctx, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    first = next(i for i, (_, y) in enumerate(offs) if y > long_ctx.index("cystic fibrosis"))
    sp0 = QASpec(max_length=first + 1 + 4 + 3, max_query_length=4, doc_stride=first + 1)  # a window ends on "cystic"
    assert _Layout(tok, sp0).encode([cut], Counter())[0].windows[0].end == first + 1  # the premise
    st0 = Counter()
    build_qa_features([cut], tok, sp0, st0)
    assert st0["answers_in_no_single_window"] == 1 and st0["windows_without_answer"] == st0["features"]


def test_doc_stride_is_saved_in_the_spec_and_predictions_use_it(tiny_bert, tok):
    """The spec (``biobert.json``) carries ``doc_stride``, so a loaded model windows passages as in training; a spec
    saved before the setting existed keeps the overlap meaning."""
    sp = QASpec(max_length=48, max_query_length=4, doc_stride=10, n_best=5)
    assert QASpec.from_meta(sp.to_meta()).doc_stride == 10
    old = sp.to_meta()
    del old["doc_stride"]
    assert QASpec.from_meta(old).doc_stride is None
    torch.manual_seed(0)
    model = new_qa_model(str(tiny_bert))
    long_ctx = "Patients were studied for years . " * 12 + CTX
    st = Counter()
    run, = QAPredictor(model, tok, sp).run([ex(context=long_ctx)], st)
    assert st["extra_windows"] > 0 and run["nbest"]
    assert all(long_ctx[a["start"]:a["end"]] == a["text"] for a in run["nbest"])


def test_long_answers_dropped_by_pooling_and_cut_questions_are_counted_once(tok):
    st = Counter()
    pool_answers([[{"text": "x" * 101, "probability": 0.9}, {"text": "", "probability": 0.1}]], 100, st)
    assert st == Counter(answers_longer_than_max_chars_dropped=1)  # the question was left with no answer, unsaid
    # one question asked of three passages is one question cut (it was counted once per passage)
    st = Counter()
    build_qa_features([ex(i=f"q_00{k}") for k in range(3)], tok, QASpec(max_length=48, stride=12, max_query_length=4), st)
    assert st["questions_cut_to_max_query_length"] == 1


class _PeakReader(torch.nn.Module):
    """Start logits peak at one token id, end logits at another: the decoded span is known in advance."""

    def __init__(self, start_id, end_id, n_classes=0, marker=None):
        super().__init__()
        self.start_id, self.end_id, self.n_classes, self.marker = start_id, end_id, n_classes, marker

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        start = torch.where(input_ids == self.start_id, 10.0, 0.0)
        end = torch.where(input_ids == self.end_id, 10.0, 0.0)
        cls = None
        if self.n_classes:  # class logits: "yes" when the window holds the marker token, else "no"
            has = (input_ids == self.marker).any(-1).float()
            cls = torch.stack([has * 4 - 2, 2 - has * 4], -1)
        return start, end, cls


def test_the_decoded_answer_is_the_peak_span_and_respects_max_answer_length(tok):
    from biobert.tasks.qa import QAPredictor

    ctx = "The gene cystic fibrosis transmembrane regulator is mutated here ."
    pieces = tok(ctx, add_special_tokens=False)["input_ids"]
    words = ctx.split()
    first, last = (tok(w, add_special_tokens=False)["input_ids"] for w in ("cystic", "regulator"))
    n_sub = len(tok("cystic fibrosis transmembrane regulator", add_special_tokens=False)["input_ids"])
    assert first[0] in pieces and pieces.count(first[0]) == 1 and pieces.count(last[-1]) == 1, words
    e = QAExample("q_001", "Which gene?", ctx, "q", "factoid")
    model = _PeakReader(first[0], last[-1])
    out = QAPredictor(model, tok, QASpec(n_best=3, max_answer_length=n_sub)).run([e])[0]
    # a context offset one subword off would give the neighbouring span
    assert out["nbest"][0]["text"] == "cystic fibrosis transmembrane regulator"
    short = QAPredictor(model, tok, QASpec(n_best=3, max_answer_length=n_sub - 1)).run([e])[0]
    assert all(a["text"] != "cystic fibrosis transmembrane regulator" for a in short["nbest"])


def test_yes_no_probabilities_are_the_mean_over_passages_and_windows(tok):
    from biobert.tasks.qa import QAPredictor

    marker = tok("mutated", add_special_tokens=False)["input_ids"][0]
    spec = QASpec(span=False, class_labels=["yes", "no"], max_length=32, stride=8, max_query_length=8)
    model = _PeakReader(-1, -1, n_classes=2, marker=marker)
    passages = ["Nothing relevant is said in this passage .", "CFTR is mutated in these patients .", "It is mutated again ."]
    exs = [QAExample(f"q_00{i}", "Is CFTR altered?", p, "q", "yesno") for i, p in enumerate(passages)]
    res = QAPredictor(model, tok, spec).answer(exs)["q"]
    py, pn = torch.softmax(torch.tensor([2.0, -2.0]), 0).tolist(), torch.softmax(torch.tensor([-2.0, 2.0]), 0).tolist()
    # one passage says no, two say yes: the first passage alone would answer "no"
    assert res["answer"] == "yes" and res["probs"]["yes"] == pytest.approx((pn[0] + 2 * py[0]) / 3, abs=1e-5)


def test_yes_no_probabilities_of_a_long_passage_are_the_mean_over_all_its_windows(tok):
    """Survivor Q8: the class probabilities of one passage are pooled over every window it was cut into, not
    read off its first window. The marker word ("mutated") is in a later window, never in the first."""
    from biobert.tasks.qa import QAPredictor, _Layout

    marker = tok("mutated", add_special_tokens=False)["input_ids"][0]
    spec = QASpec(span=False, class_labels=["yes", "no"], max_length=32, stride=4, max_query_length=8)
    model = _PeakReader(-1, -1, n_classes=2, marker=marker)
    passage = " ".join(["Nothing relevant is said in this passage ."] * 4) + " CFTR is mutated in these patients ."
    e = QAExample("q_001", "Is CFTR altered?", passage, "q", "yesno")
    enc = _Layout(tok, spec).encode([e], Counter())[0]
    has = [marker in enc.c_ids[w.start:w.end] for w in enc.windows]
    # the first window alone would say "no" (which later windows hold the marker depends on the tiny vocabulary)
    assert len(has) >= 3 and not has[0] and any(has), has
    out = QAPredictor(model, tok, spec).run([e])[0]
    py = torch.softmax(torch.tensor([2.0, -2.0]), 0)[0].item()
    want = sum(py if h else 1 - py for h in has) / len(has)
    assert out["class_probs"]["yes"] == pytest.approx(want, abs=1e-5)
    assert out["class_probs"]["no"] == pytest.approx(1 - want, abs=1e-5)
