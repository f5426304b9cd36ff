"""QA loading and answering checks: no QA head, max_length vs the model's positions, whole-word answers,
question types and the heads a model has."""

from collections import Counter

import pytest
import torch

from biobert.errors import ConfigError, ModelLoadError
from biobert.io.squad import QAExample
from biobert.tasks.qa import QAPredictor, QASpec, check_qtype, new_qa_model, snap_to_words
from biobert.text.words import tokenize_words

LONG = "Mutations in the CFTR gene cause cystic fibrosis in many patients with chronic lung disease. " * 12


@pytest.fixture(scope="module")
def tok(tiny_bert):
    from biobert.encoders import load_tokenizer

    return load_tokenizer(str(tiny_bert))


def _save_qa(out, tiny_bert, tok, meta=None, n_classes=0):
    from biobert.modeldir import save_model_dir

    torch.manual_seed(0)
    model = new_qa_model(str(tiny_bert), n_classes)
    if meta is None:  # a plain Hugging Face QA checkpoint: no biobert.json
        model.save_pretrained(out)
        tok.save_pretrained(out)
    else:
        save_model_dir(out, model, tok, meta)
    return out


@pytest.fixture(scope="module")
def span_dir(tiny_bert, tok, tmp_path_factory):
    spec = QASpec(max_length=64, stride=16, max_query_length=16)
    return _save_qa(tmp_path_factory.mktemp("qa_span"), tiny_bert, tok, {"task": "qa", "qa_task": "factoid", **spec.to_meta()})


@pytest.fixture(scope="module")
def yesno_dir(tiny_bert, tok, tmp_path_factory):
    spec = QASpec(span=False, class_labels=["yes", "no"], max_length=64, stride=16, max_query_length=16)
    return _save_qa(tmp_path_factory.mktemp("qa_yn"), tiny_bert, tok, {"task": "qa", "qa_task": "yesno", **spec.to_meta()}, 2)


# -- bug 1: a checkpoint without a QA head ---------------------------------------------------
def test_reader_refuses_checkpoints_without_a_qa_head(tiny_bert, span_dir, yesno_dir):
    """A plain encoder used to load and answer from a randomly initialised span head."""
    from biobert import Reader
    from biobert.tasks.qa import QAModel

    with pytest.raises(ModelLoadError, match="E334") as ei:
        Reader.load(tiny_bert)
    assert "no trained question-answering head" in str(ei.value) and "biobert finetune qa" in str(ei.value)
    with pytest.raises(ModelLoadError, match="E334"):
        QAModel.from_dir(tiny_bert)
    # real QA directories (span head; yes/no-only) still load
    assert Reader.load(span_dir).spec.span and Reader.load(yesno_dir).spec.class_labels == ["yes", "no"]


def test_plain_token_classifier_checkpoint_has_no_qa_head(tiny_bert, tok, tmp_path):
    from transformers import BertForTokenClassification

    from biobert import Reader

    BertForTokenClassification.from_pretrained(str(tiny_bert), num_labels=3).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="E334"):
        Reader.load(tmp_path)


# -- bug 2: max_length longer than the model's positions --------------------------------------
def test_checkpoint_without_biobert_json_is_capped_to_the_model(tiny_bert, tok, tmp_path, caplog):
    from biobert import Reader

    d = _save_qa(tmp_path / "plain", tiny_bert, tok)
    with caplog.at_level("WARNING"):
        reader = Reader.load(d)
    assert reader.spec.max_length == 128 and reader.spec.stride < 128 and reader.load_stats["max_length_capped_to_model"] == 1
    assert "W330" in caplog.text
    res = reader("Which gene causes cystic fibrosis?", [LONG])  # 163+ subwords: used to be a RuntimeError
    assert reader.last_stats["passages_windowed"] == 1
    assert all(LONG[a["start"]:a["end"]] == a["text"] for a in res["answers"])


def test_explicit_max_length_over_the_model_is_a_typed_error(tiny_bert, tok, tmp_path):
    from biobert import Reader

    model = new_qa_model(str(tiny_bert))
    with pytest.raises(ConfigError, match="E494"):
        QAPredictor(model, tok, QASpec(max_length=384))
    QAPredictor(model, tok, QASpec(max_length=128))  # the limit itself is fine
    d = _save_qa(tmp_path / "big", tiny_bert, tok, {"task": "qa", "qa_task": "factoid", **QASpec(max_length=300).to_meta()})
    with pytest.raises(ConfigError, match="E494"):
        Reader.load(d)


# -- bug 3: answers are whole words -------------------------------------------------------------
def test_snap_to_words():
    ctx = "TNF-alpha rises in patients, naive cells"
    words = tokenize_words(ctx)
    assert snap_to_words(words, 1, 3) == (0, 3)  # "NF" -> "TNF" ("-" is a word of its own)
    assert snap_to_words(words, 23, 27) == (19, 27)  # "ents" -> "patients"
    assert snap_to_words(words, 19, 28) == (19, 28)  # already whole words (punctuation included)
    assert snap_to_words(words, 31, 38) == (29, 40)  # "ive cel" -> "naive cells"


def test_nbest_spans_are_widened_to_whole_words_and_deduplicated(tiny_bert, tok):
    """Crafted logits whose best spans start or end inside a multi-subword word: every n-best answer is whole
    words of the passage, spans equal after widening are merged (best score kept), and both are counted."""
    model = new_qa_model(str(tiny_bert)).eval()
    spec = QASpec(max_length=64, stride=16, max_query_length=16, n_best=5)
    pred = QAPredictor(model, tok, spec)
    ctx = "Acrokeratosis paraneoplastica is rare."
    e = QAExample("q_001", "Which syndrome?", ctx, "q", "factoid")
    enc = pred.layout.encode([e], Counter())[0]
    word_of = [next(i for i, (a, b) in enumerate(tokenize_words(ctx)) if a <= s < b) for s, _ in enc.offsets]
    first = [j for j in range(len(word_of)) if word_of[j] == 0]
    assert len(first) >= 3, enc.offsets  # "Acrokeratosis" is several subwords in the tiny vocabulary
    off = len(enc.q_ids) + 2
    n = off + len(enc.c_ids) + 1
    st, en = [-10.0] * n, [-10.0] * n
    st[off + first[1]] = 5.0  # starts inside "Acrokeratosis"
    st[off + first[2]] = 4.0  # also inside: the same word once widened
    en[off + first[1]] = 5.0  # ends inside it
    en[off + first[2]] = 4.5  # so do (first[1], first[2]) and (first[2], first[2]): all "Acrokeratosis"
    stats = Counter()
    items = pred._nbest(e, enc, [(st, en, None)], 0, stats)
    words = tokenize_words(ctx)
    starts, ends = {a for a, _ in words}, {b for _, b in words}
    assert items and all(ctx[i["start"]:i["end"]] == i["text"] for i in items)
    assert all(i["start"] in starts and i["end"] in ends for i in items)
    assert items[0]["text"] == "Acrokeratosis" and items[0]["score"] == 10.0
    assert len({(i["start"], i["end"]) for i in items}) == len(items)
    assert stats["answer_spans_snapped_to_words"] >= 1 and stats["answer_spans_merged_after_snapping"] >= 2
    assert abs(sum(i["probability"] for i in items) - 1) < 1e-6


def test_reader_answers_never_cut_words(span_dir):
    from biobert import Reader

    reader = Reader.load(span_dir)
    ps = ["single passage string", LONG, "TNF-\u03b1 and IL-6 (interleukin\u20116) rise in sepsis; \u0394F508 is common."]
    for qt in ("factoid", "list"):
        res = reader("Which gene?", ps, qtype=qt)
        assert res["answers"]
        for a in res["answers"]:
            p = ps[a["passage"]]
            assert p[a["start"]:a["end"]] == a["text"]
            words = tokenize_words(p)
            assert any(w[0] == a["start"] for w in words) and any(w[1] == a["end"] for w in words), a


# -- bug 5: question types and the heads a model has --------------------------------------------
def test_question_types_are_validated(span_dir, yesno_dir):
    from biobert import Reader

    assert check_qtype(" Factoid ") == "factoid" and check_qtype("YESNO") == "yesno"
    span, yn = Reader.load(span_dir), Reader.load(yesno_dir)
    assert span("Which gene?", "CFTR causes it.", qtype="Factoid")["type"] == "factoid"
    assert span("Which genes?", "CFTR causes it.", qtype="LIST")["type"] == "list"
    with pytest.raises(ConfigError, match="E493.*summary.*not supported"):
        span("Describe it.", "CFTR causes it.", qtype="summary")
    with pytest.raises(ConfigError, match="E493"):
        span("Which gene?", "CFTR causes it.", qtype="essay")
    with pytest.raises(ConfigError, match="E493"):
        span("Which gene?", [], qtype="essay")  # checked with no passages too
    with pytest.raises(ModelLoadError, match="E332"):
        span("Is it?", "CFTR causes it.", qtype="yesno")
    for qt in ("factoid", "list", "List"):
        with pytest.raises(ModelLoadError, match="E335"):
            yn("Which gene?", "CFTR causes it.", qtype=qt)
    res = yn("Is it?", "CFTR causes it.", qtype="YesNo")
    assert res["type"] == "yesno" and res["answer"] in ("yes", "no")
    assert yn("Is it?", "CFTR causes it.")["type"] == "yesno"
    with pytest.raises(TypeError):
        span("Which gene?", [None])
    # the predictor refuses such questions before running the model
    ex = QAExample("f_001", "Which gene?", "CFTR.", "f", "factoid")
    with pytest.raises(ModelLoadError, match="E335"):
        yn.predictor.answer([ex])
    with pytest.raises(ConfigError, match="E493"):
        span.predictor.answer([QAExample("s_001", "Describe.", "CFTR.", "s", "summary")])


def test_max_input_length_reads_positions_and_tokenizer():
    from types import SimpleNamespace as NS

    from biobert.tasks.qa import max_input_length

    bert = NS(config=NS(max_position_embeddings=512, model_type="bert"))
    roberta = NS(config=NS(max_position_embeddings=514, model_type="roberta", pad_token_id=1))
    assert max_input_length(bert) == 512 and max_input_length(roberta) == 512
    assert max_input_length(bert, NS(model_max_length=256)) == 256
    assert max_input_length(bert, NS(model_max_length=int(1e30))) == 512  # transformers' "no limit" sentinel
    assert max_input_length(NS()) is None
