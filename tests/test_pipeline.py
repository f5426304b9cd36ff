"""Tagger: loading, batching, offsets on long/nasty input, int8 and ONNX backends."""

import json
import shutil

import pytest
import torch

from biobert.errors import ModelLoadError
from biobert.types import Document




NASTY = "TNF-\u03b1 at 5.3\u00b10.2\u00a0ng/ml \x96 2\u00b2 [3H]-thymidine \u2013 BRCA1 (E. coli) "


def test_single_and_batch_calls(tagger_dir):
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    assert t.types == ["Gene"]
    d = t("BRCA1 mutations cause breast cancer.")
    assert isinstance(d, Document)
    docs = t(["one BRCA1", Document("x", "two TP53"), NASTY * 50])
    assert [x.id for x in docs] == ["0", "x", "2"]
    for x in docs:
        assert all(x.text[s.start:s.end] == s.text for s in x.spans)
    assert t.last_stats["sentences_windowed"] >= 1
    # batching does not change results
    assert t(NASTY * 50).spans == docs[2].spans
    with pytest.raises(TypeError):
        t([3])


def test_long_sentences_do_not_warn_about_the_maximum_length(tagger_dir):
    """A sentence longer than the encoder's maximum is windowed, so the tokenizer's 'indexing errors' warning
    (printed once per tokenizer) would only frighten users; it must not appear."""
    import logging

    from biobert.pipeline import Tagger

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    t = Tagger.load(tagger_dir)
    t.tokenizer.model_max_length = 16  # the tiny tokenizer has no maximum; BERT checkpoints say 512
    seen = Records()
    root = logging.getLogger("transformers")  # transformers' loggers stop propagating here
    root.addHandler(seen)
    try:
        d = t("BRCA1 " * 200)
    finally:
        root.removeHandler(seen)
    assert all(d.text[s.start:s.end] == s.text for s in d.spans)
    assert t.last_stats["sentences_windowed"] >= 1
    assert not [m for m in seen.messages if "maximum sequence length" in m]


def test_spans_and_relations_of_the_input_are_replaced_and_counted(tagger_dir):
    from biobert.pipeline import Tagger
    from biobert.types import Relation, Span

    t = Tagger.load(tagger_dir)
    text = "BRCA1 binds TP53."
    a, b = Span(0, 5, "Gene", text="BRCA1"), Span(12, 16, "Gene", text="TP53")
    d = t(Document("g", text, spans=(a, b), relations=(Relation(a, b, "binds"),), metadata={"source": "gold"}))
    assert d.relations == () and d.metadata == {"source": "gold"}
    assert t.last_stats["input_spans_replaced"] == 2 and t.last_stats["input_relations_dropped"] == 1
    t("BRCA1 binds TP53.")
    assert t.last_stats["input_spans_replaced"] == 0


def test_abbreviations_are_on_by_default_and_can_be_turned_off(tagger_dir):
    from biobert.pipeline import Tagger

    text = "BRCA1 mutations cause breast cancer (BC). BC is common."
    on, off = Tagger.load(tagger_dir), Tagger.load(tagger_dir, abbreviations=False)
    d_on, d_off = on(text), off(text)
    assert on.last_stats["abbreviation_definitions"] == 1 and "abbreviation_definitions" not in off.last_stats
    changed = on.last_stats["abbreviation_spans_added"] + on.last_stats["abbreviation_spans_removed"]
    assert len(d_on.spans) - len(d_off.spans) == on.last_stats["abbreviation_spans_added"] - on.last_stats["abbreviation_spans_removed"]
    assert changed == len(set(d_on.spans) ^ set(d_off.spans))  # every difference is counted


def test_missing_model_errors(tmp_path):
    from biobert.pipeline import Tagger

    with pytest.raises(ModelLoadError, match="E303"):
        Tagger.load(str(tmp_path / "nope"))
    with pytest.raises(ModelLoadError, match="E307"):
        Tagger.load(str(tmp_path), quantize="int4")


def test_int8_and_onnx_backends_agree_on_offsets(tagger_dir):
    pytest.importorskip("onnxruntime")
    from biobert.export import export_onnx, onnx_paths
    from biobert.pipeline import Tagger

    text = NASTY * 20
    ref = Tagger.load(tagger_dir)(text)
    with pytest.raises(ModelLoadError, match="E322.*never scored"):  # torch int8 is gated too
        Tagger.load(tagger_dir, backend="torch", quantize="int8")
    q = Tagger.load(tagger_dir, backend="torch", quantize="int8", allow_unchecked_int8=True)(text)
    assert all(q.text[s.start:s.end] == s.text for s in q.spans)
    with pytest.raises(ModelLoadError, match="E309"):
        Tagger.load(tagger_dir, backend="onnx")
    with pytest.raises(ModelLoadError, match="E309"):  # int8 defaults to the gated ONNX path
        Tagger.load(tagger_dir, quantize="int8")
    report = export_onnx(tagger_dir)
    assert onnx_paths(tagger_dir)["int8"].exists() and report["int8_offered"] is False
    o = Tagger.load(tagger_dir, backend="onnx")(text)
    # fp32 ONNX reproduces PyTorch (padding and windows included)
    assert [(s.start, s.end, s.label) for s in o.spans] == [(s.start, s.end, s.label) for s in ref.spans]
    # exported without --eval-data: the int8 model's cost is unknown, so it is not offered
    with pytest.raises(ModelLoadError, match="E322"):
        Tagger.load(tagger_dir, backend="onnx", quantize="int8")
    o8 = Tagger.load(tagger_dir, backend="onnx", quantize="int8", allow_unchecked_int8=True)(text)
    assert all(o8.text[s.start:s.end] == s.text for s in o8.spans)
    rp = onnx_paths(tagger_dir)["report"]
    measured = json.loads(rp.read_text())
    # a measured drop within the limit offers int8; each backend reads its own measurement
    rp.write_text(json.dumps(dict(measured, int8_f1_drop=0.3, torch_int8_f1_drop=2.0)))
    Tagger.load(tagger_dir, backend="onnx", quantize="int8")
    with pytest.raises(ModelLoadError, match="E308"):
        Tagger.load(tagger_dir, backend="torch", quantize="int8")
    # an export report that shows too large an F1 drop blocks int8, even when unchecked use is allowed
    rp.write_text(json.dumps(dict(measured, int8_f1_drop=2.0)))
    with pytest.raises(ModelLoadError, match="E308"):
        Tagger.load(tagger_dir, backend="onnx", quantize="int8", allow_unchecked_int8=True)
    # re-exporting without --eval-data replaces a measured report: the new int8 model is unmeasured again
    rp.write_text(json.dumps(dict(measured, int8_f1_drop=0.1)))
    export_onnx(tagger_dir)
    with pytest.raises(ModelLoadError, match="E322"):
        Tagger.load(tagger_dir, backend="onnx", quantize="int8")


def test_int8_keeps_first_attention_layer_fp32(tagger_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    import shutil

    import onnx

    from biobert.export import export_onnx, onnx_paths

    d = tmp_path / "m"
    shutil.copytree(tagger_dir, d, ignore=shutil.ignore_patterns("onnx", "checkpoints"))
    report = export_onnx(d)
    kept = report["int8_fp32_nodes"]
    assert kept and all("layer.0/attention/" in n for n in kept)
    graph = onnx.load(str(onnx_paths(d)["int8"])).graph
    names = {n.name: n.op_type for n in graph.node}
    assert all(names.get(n) == "MatMul" for n in kept)  # still float MatMuls
    n_int = sum(t == "MatMulInteger" for t in names.values())
    assert n_int > 0  # the rest is quantised
    report = export_onnx(d, keep_fp32=())
    assert report["int8_fp32_nodes"] == []
    graph = onnx.load(str(onnx_paths(d)["int8"])).graph
    # the 4 weight MatMuls of layer 0's attention (Q, K, V, output) are now quantised too
    assert sum(n.op_type == "MatMulInteger" for n in graph.node) == n_int + 4


def test_load_by_hub_id_reads_the_repos_biobert_json(tagger_dir, tmp_path):
    """The hub path is real code: a fresh process loads a hub id from an (offline) HF cache, with the
    repo's window settings and labels; an id that is neither cached nor reachable fails with E301."""
    import json
    import subprocess
    import sys

    from .conftest import fake_hub_cache

    src = tmp_path / "src"
    shutil.copytree(tagger_dir, src)
    meta = json.loads((src / "biobert.json").read_text())
    meta["stride"] = 7  # a non-default value that can only come from the repo's biobert.json
    (src / "biobert.json").write_text(json.dumps(meta))
    env = fake_hub_cache(tmp_path / "hf", "biobert-test/tiny-tagger", src)
    code = (
        "import json; from biobert import Tagger; from biobert.errors import ModelLoadError\n"
        "t = Tagger.load('biobert-test/tiny-tagger'); d = t('BRCA1 and TP53 genes.')\n"
        "assert all(d.text[s.start:s.end] == s.text for s in d.spans)\n"
        "try:\n    Tagger.load('biobert-test/not-cached'); code = None\n"
        "except ModelLoadError as e:\n    code = str(e)[:4]\n"
        "print(json.dumps({'stride': t.predictor.stride, 'labels': t.labels, 'missing': code}))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"stride": 7, "labels": ["O", "B-Gene", "I-Gene"], "missing": "E301"}


def test_device_and_precision_options(tagger_dir):
    import torch

    from biobert import Tagger
    from biobert.errors import BiobertError

    text = "BRCA1 and TP53 are mutated in breast cancer. " * 3
    fp32 = Tagger.load(tagger_dir, device="cpu")(text)
    bf16 = Tagger.load(tagger_dir, device="cpu", precision="bf16")
    assert next(bf16.model.parameters()).dtype == torch.bfloat16
    doc = bf16(text)
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
    assert {(s.start, s.end) for s in doc.spans} and fp32.spans
    with pytest.raises(BiobertError, match="E320"):  # int8 runs on the CPU in fp32 only
        Tagger.load(tagger_dir, quantize="int8", backend="torch", precision="bf16")


def test_decode_comes_from_the_model_directory_and_can_be_overridden(tagger_dir, tmp_path):
    from biobert.errors import ConfigError
    from biobert.pipeline import Tagger

    assert Tagger.load(tagger_dir).predictor.decode == "viterbi"  # models saved before the setting
    copy = tmp_path / "argmax"
    shutil.copytree(tagger_dir, copy)
    meta = json.loads((copy / "biobert.json").read_text())
    (copy / "biobert.json").write_text(json.dumps({**meta, "decode": "argmax"}))
    t = Tagger.load(copy)
    assert t.predictor.decode == "argmax"
    v = Tagger.load(copy, decode="viterbi")
    assert v.predictor.decode == "viterbi"
    for tagger in (t, v):
        doc = tagger(NASTY * 30)
        assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
    with pytest.raises(ConfigError, match="E492"):
        Tagger.load(copy, decode="greedy")


def test_checkpoint_without_label_names_is_refused_at_load(tagger_dir, tmp_path):
    from biobert.pipeline import Tagger

    copy = tmp_path / "unnamed"
    shutil.copytree(tagger_dir, copy)
    meta = json.loads((copy / "biobert.json").read_text())
    (copy / "biobert.json").write_text(json.dumps({**meta, "labels": ["LABEL_0", "LABEL_1", "LABEL_2"]}))
    with pytest.raises(ModelLoadError, match="E314.*LABEL_0"):
        Tagger.load(copy)


def test_metadata_describing_the_input_annotations_is_dropped_and_counted(tagger_dir):
    """Gold CID relation lines (PubTator) must not reach a prediction file, and an untyped CoNLL input must not make
    the CoNLL writer drop the predicted types."""
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    meta = {"passages": [[0, 17]], "relations": [["CID", "D1", "D2"]], "untyped": True, "source": "gold"}
    d = t(Document("g", "BRCA1 binds TP53.", metadata=meta))
    assert d.metadata == {"passages": [[0, 17]], "source": "gold"}
    assert t.last_stats["input_metadata_dropped:relations"] == 1 and t.last_stats["input_metadata_dropped:untyped"] == 1


def test_lone_surrogates_do_not_fail_the_batch(tagger_dir):
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    docs = t(["BRCA1 \ud83d mutations in BRCA1", "TP53 alone"])
    assert docs[0].text == "BRCA1 \ud83d mutations in BRCA1"
    assert all(x.text[s.start:s.end] == s.text for x in docs for s in x.spans)
    assert t.last_stats["surrogates_replaced"] == 1


def test_text_outside_the_documents_sentences_is_still_tagged(tagger_dir):
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    text = "BRCA1 mutations. TP53 too. And BRCA2."
    ref = t(Document("a", text))
    # sentences that leave the last one out and overlap each other
    d = t(Document("b", text, sentences=((0, 16), (6, 26))))
    assert t.last_stats["sentences_added_for_uncovered_text"] == 1
    assert t.last_stats["sentences_overlapping_merged"] == 1
    assert d.tokens[-2:] == ref.tokens[-2:]  # the uncovered words were tagged
    assert len({(s.start, s.end) for s in d.spans}) == len(d.spans)  # no duplicates from the overlap


def test_window_settings_the_model_cannot_take_are_refused_at_load(tagger_dir):
    """A max_length beyond the position embeddings failed on the first long sentence with a bare tensor error; a
    stride of a whole window or more was clamped without a word."""
    from biobert.errors import ConfigError
    from biobert.pipeline import Tagger

    with pytest.raises(ConfigError, match="E494 NER max_length 100000"):
        Tagger.load(tagger_dir, max_length=100000)
    with pytest.raises(ConfigError, match="E498"):
        Tagger.load(tagger_dir, max_length=64, stride=62)
    assert Tagger.load(tagger_dir, max_length=64, stride=61).predictor.stride == 61


def test_an_onnx_export_of_other_weights_is_refused_or_removed(tagger_dir, tmp_path):
    """Fine-tuning again into a directory used to leave its onnx/ behind: --backend onnx served the old model."""
    pytest.importorskip("onnxruntime")
    import shutil

    from safetensors.torch import load_file, save_file

    from biobert.export import export_onnx, onnx_paths
    from biobert.modeldir import read_meta, save_model_dir
    from biobert.pipeline import Tagger

    d = tmp_path / "m"
    shutil.copytree(tagger_dir, d, ignore=shutil.ignore_patterns("onnx", "checkpoints"))
    export_onnx(d)
    Tagger.load(d, backend="onnx")  # made from these weights: accepted
    w = load_file(d / "model.safetensors")
    k = next(iter(w))
    w[k] = w[k] + 1  # the weights change behind the export's back (copied in by hand, say)
    save_file(w, d / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError, match="E315"):
        Tagger.load(d, backend="onnx", quantize="int8")
    t = Tagger.load(d)
    save_model_dir(d, t.model, t.tokenizer, read_meta(d))  # what fine-tuning into d does at the end
    assert not onnx_paths(d)["dir"].exists()


def test_onnx_export_refuses_evaluation_types_the_model_does_not_predict(tagger_dir, tmp_path):
    """Scoring a Gene tagger on 'Disease' gave F1 0 for fp32 and int8 alike, and the gate then offered int8."""
    pytest.importorskip("onnxruntime")
    import shutil

    from biobert.errors import ConfigError
    from biobert.export import export_onnx, onnx_paths
    from biobert.types import Span

    d = tmp_path / "m"
    shutil.copytree(tagger_dir, d, ignore=shutil.ignore_patterns("onnx", "checkpoints"))
    gold = [Document("g", "BRCA1 mutations").with_spans([Span(0, 5, "Disease")])]
    with pytest.raises(ConfigError, match="E417"):
        export_onnx(d, gold, {"Disease"})
    with pytest.raises(ConfigError, match="E417"):
        export_onnx(d, gold)  # no --eval-type: the data's own types
    assert not onnx_paths(d)["dir"].exists()  # refused before anything was written


@pytest.mark.parametrize("bad, name", [(["fine", 3], "int"), (b"BRCA1", "bytes"), (None, "NoneType"), (7, "int")])
def test_inputs_that_are_not_text_raise_a_type_error_naming_them(tagger_dir, bad, name):
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    with pytest.raises(TypeError, match=f"Tagger accepts str.*got {name}$"):
        t(bad)


@pytest.fixture(scope="module")
def re_model(tiny_bert, tmp_path_factory):
    """A tiny Gene-Disease relation model (markers style) trained on positives only."""
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re
    from tests.recipes.test_re_recipe import write_config, write_folds

    root = tmp_path_factory.mktemp("re_pipeline")
    write_folds(root / "data", all_positive=True)
    cfg = load_config(REConfig, write_config(root / "c.yaml", root / "data", root / "model", tiny_bert, style="markers",
                                            pooling="entity_start"))
    finetune_re(cfg, progress=False, fold="1")
    return root / "model"


@pytest.mark.parametrize("bad, name", [(None, "NoneType"), (5, "int"), (["ok", 3], "int")])
def test_extractor_inputs_that_are_not_text_raise_a_type_error_naming_them(re_model, bad, name):
    from biobert.pipeline import Extractor

    with pytest.raises(TypeError, match=f"Extractor accepts str.*got {name}$"):
        Extractor.load(re_model)(bad)


def test_extractor_counts_what_its_tagging_replaced(re_model, tagger_dir):
    """Extractor(docs, tagger=...) tags documents that came with gold spans and relations: the replacement is
    counted in the extractor's last_stats, as the tagger counts it, not lost when the extractor resets its counters."""
    from biobert import io
    from biobert.pipeline import Extractor, Tagger

    pt = ("1|t|BRCA1 mutations cause breast cancer.\n1|a|\n1\t0\t5\tBRCA1\tGene\t672\n"
          "1\t22\t35\tbreast cancer\tDisease\tD001943\n1\tCID\t672\tD001943\n\n")
    ex = Extractor.load(re_model)
    out = ex(io.reads(pt, "pubtator"), tagger=Tagger.load(tagger_dir))
    assert ex.last_stats["input_spans_replaced"] == 2
    assert ex.last_stats["input_metadata_dropped:relations"] == 1
    assert "relations" not in out[0].metadata


def test_text_outside_the_documents_tokens_is_still_tagged_and_bad_tokens_are_refused(tagger_dir):
    from biobert.errors import OffsetError
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    text = "Cisplatin induced nephrotoxicity in BRCA1 carriers."
    ref = t(Document("a", text))
    d = t(Document("b", text, tokens=((0, 9),)))  # one token given: the rest used to be left untagged, unsaid
    assert t.last_stats["tokens_added_for_uncovered_text"] == len(ref.tokens) - 1
    assert d.tokens == ref.tokens and [s.key for s in d.spans] == [s.key for s in ref.spans]
    with pytest.raises(OffsetError, match="E107 .*overlaps"):
        t(Document("c", text, tokens=((0, 17), (5, 32))))
    with pytest.raises(OffsetError, match="E107 .*empty token"):
        t(Document("c", text, tokens=((0, 9), (9, 9))))


def test_texts_beside_documents_get_ids_of_their_own(tagger_dir):
    from biobert.pipeline import Tagger

    t = Tagger.load(tagger_dir)
    out = t([Document(id="1", text="BRCA1 binds TP53."), "TP53 alone.", Document(id="0", text="x")])
    # the text at position 1 used to be "1" too (and a PubTator file then held two records of PMID 1)
    assert [d.id for d in out] == ["1", "text-1", "0"]
    assert [d.id for d in t(["a", "b"])] == ["0", "1"]


def test_the_onnx_backend_uses_torchs_thread_count(tagger_dir, monkeypatch):
    pytest.importorskip("onnxruntime")
    from biobert import export
    from biobert.pipeline import Tagger

    if not (tagger_dir / "onnx").exists():
        export.export_onnx(tagger_dir)
    seen = {}
    real = export.OnnxTokenClassifier.__init__

    def spy(self, path, threads=None):
        seen["threads"] = threads
        real(self, path, threads)

    monkeypatch.setattr(export.OnnxTokenClassifier, "__init__", spy)
    n = torch.get_num_threads()
    Tagger.load(tagger_dir, backend="onnx")
    assert seen["threads"] == n  # was None: every core, whatever --threads said


def test_relations_dropped_by_min_score_are_counted(re_model):
    """Relations the model predicted but ``min_score`` dropped left no trace in last_stats (nor in the CLI's and
    the service's counts): now ``relations_below_min_score`` says how many."""
    from biobert.pipeline import Extractor
    from biobert.types import Span

    text = "BRCA1 mutations cause breast cancer."
    docs = [Document(str(i), text, spans=(Span(0, 5, "Gene"), Span(22, 35, "Disease"))) for i in range(2)]
    ex = Extractor.load(re_model)
    ex(docs, tagger=False)
    assert ex.last_stats["relations"] == 2 and "relations_below_min_score" not in ex.last_stats
    strict = Extractor.load(re_model, min_score=0.5)
    pos = next(lab for lab in strict.spec.labels if lab != strict.spec.negative_label)
    scores = iter([0.3, 0.9])  # the model's own scores are all ~1.0: set them, to drop one of the two
    strict.predictor.predict = lambda pairs, stats: [
        {"label": pos, "score": next(scores), "labels": [pos], "probs": None, "too_long": False} for _ in pairs]
    out = strict(docs, tagger=False)
    assert [len(d.relations) for d in out] == [0, 1]
    assert strict.last_stats["relations"] == 1 and strict.last_stats["relations_below_min_score"] == 1


# -- mutation-testing gaps (round 3): the int8 gate's arithmetic and its limit ------------------------------


def test_the_int8_gate_measures_against_torch_fp32_in_points_and_offers_a_drop_at_the_limit(tagger_dir, tmp_path, monkeypatch):
    """The F1 scores are faked (the tiny model's own are noise): the report must hold them in points, take the
    drop from the PyTorch fp32 score, offer a drop of exactly MAX_F1_DROP and refuse a larger one."""
    pytest.importorskip("onnxruntime")
    import shutil

    import biobert.recipes.ner as ner_recipe
    from biobert.export import MAX_F1_DROP, check_int8_allowed, export_onnx, onnx_paths
    from biobert.pipeline import Tagger
    from biobert.types import Span

    assert MAX_F1_DROP == 0.5
    d = tmp_path / "m"
    shutil.copytree(tagger_dir, d, ignore=shutil.ignore_patterns("onnx", "checkpoints"))
    typ = Tagger.load(d).types[0]
    # in the order scored: torch fp32, onnx fp32, onnx int8, torch int8
    f1s = iter([0.80, 0.79, 0.795, 0.70])
    monkeypatch.setattr(ner_recipe, "evaluate_ner", lambda predictor, docs, types=None: ({"f1": next(f1s)}, None))
    # the data's own label is no type of the model, but --eval-type names one it predicts: scored, not refused
    gold = [Document("g", "BRCA1 mutations").with_spans([Span(0, 5, "Other")])]
    report = export_onnx(d, gold, {typ})
    assert report["f1"] == {"torch_fp32": 80.0, "onnx_fp32": 79.0, "onnx_int8": 79.5, "torch_int8": 70.0}
    assert report["int8_f1_drop"] == 0.5 and report["int8_offered"] is True
    assert report["torch_int8_f1_drop"] == 10.0 and report["torch_int8_offered"] is False
    check_int8_allowed(d, "onnx")  # exactly at the limit: allowed
    with pytest.raises(ModelLoadError, match="E308"):
        check_int8_allowed(d, "torch")
    assert json.loads(onnx_paths(d)["report"].read_text())["int8_f1_drop"] == 0.5
