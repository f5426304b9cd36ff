"""TensorFlow BERT checkpoints -> Hugging Face, without TensorFlow, on a checkpoint written by TensorFlow's SaveV2.

The fixture (tests/fixtures/tf_bert, made by make_checkpoint.py there) holds random weights under the original BERT
variable names plus Adam slots and global_step, and a numpy reference forward pass computed from BERT's equations.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from biobert.errors import DataFormatError, ModelLoadError
from biobert.tfcheckpoint import OPTIMIZER_VARIABLE, convert_bert_checkpoint, list_tf_variables, read_tf_checkpoint, tf_variable_to_hf
from tests.cli.test_cli import ok
from pathlib import Path

FIX = Path(__file__).parent / "fixtures" / "tf_bert"
PREFIX = FIX / "model.ckpt-7"


@pytest.fixture(scope="module")
def ref():
    return np.load(FIX / "reference.npz")


def test_reader_returns_every_tensor_as_saved(ref):
    stats = {}
    t = read_tf_checkpoint(str(PREFIX) + ".index", stats=stats)  # the .index suffix is accepted too
    assert stats["variables"] == stats["read"] == 139 == len(t)
    weights = {k[2:]: ref[k] for k in ref.files if k.startswith("w:")}
    assert all(np.array_equal(t[k], v) and t[k].dtype == np.float32 for k, v in weights.items())
    assert t["global_step"] == 7 and t["global_step"].dtype == np.int64
    assert sum(1 for k in t if OPTIMIZER_VARIABLE.search(k)) == 2 * len(weights) + 1
    listed = list_tf_variables(PREFIX)
    assert listed["bert/encoder/layer_1/intermediate/dense/kernel"] == ("float32", [16, 32]) and listed["global_step"] == ("int64", [])
    pytest.importorskip("google_crc32c")
    assert stats["crc_checked"] == 139


def test_a_corrupted_data_file_fails_its_crc(tmp_path):
    pytest.importorskip("google_crc32c")
    for f in ("model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001"):
        shutil.copy(FIX / f, tmp_path / f)
    data = tmp_path / "model.ckpt-7.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[1000] ^= 0x40
    data.write_bytes(bytes(raw))
    with pytest.raises(DataFormatError, match="E292") as e:
        read_tf_checkpoint(tmp_path / "model.ckpt-7")
    assert e.value.path == str(data)


def test_name_mapping():
    assert tf_variable_to_hf("bert/encoder/layer_11/attention/self/query/kernel") == ("bert.encoder.layer.11.attention.self.query.weight", True)
    assert tf_variable_to_hf("bert/embeddings/LayerNorm/gamma") == ("bert.embeddings.LayerNorm.weight", False)
    assert tf_variable_to_hf("cls/predictions/output_bias") == ("cls.predictions.bias", False)
    assert tf_variable_to_hf("cls/seq_relationship/output_weights") == ("cls.seq_relationship.weight", False)
    assert tf_variable_to_hf("output_weights") is None  # a fine-tuned task head: not BERT's
    assert OPTIMIZER_VARIABLE.search("bert/pooler/dense/kernel/adam_m") and not OPTIMIZER_VARIABLE.search("bert/pooler/dense/kernel")


def test_convert_tf_checkpoint_spelling_runs_the_converter(tmp_path, monkeypatch):
    """``biobert convert tf-checkpoint PREFIX --out DIR`` is how the issue trackers ask for it: the converter runs,
    where ``convert`` alone would read "tf-checkpoint" as an annotation file."""
    import sys

    from biobert.cli import main, spelled_as_registered

    assert spelled_as_registered(["convert", "a.tsv", "b.jsonl"]) == ["convert", "a.tsv", "b.jsonl"]
    monkeypatch.setattr(sys, "argv", ["biobert", "convert", "tf-checkpoint", str(PREFIX), "--out", str(tmp_path / "hf")])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code == 0 and json.loads((tmp_path / "hf" / "conversion.json").read_text())["converted"] == 46


def test_convert_matches_bert_equations_and_reports(tmp_path, ref):
    out = tmp_path / "hf"
    r = json.loads(ok("convert-tf", PREFIX, "--out", out).stdout)
    assert (r["variables"], r["converted"], r["optimizer_variables_left_out"], r["other_variables_not_converted"]) == (139, 46, 93, [])
    assert r["architecture"] == "BertForPreTraining" and r["lower_case"] is True
    assert r["bytes_read"] == sum(v.nbytes for k, v in ref.items() if k.startswith("w:"))  # optimizer slots not read
    assert json.loads((out / "conversion.json").read_text()) == r and (out / "README.md").exists()
    from transformers import AutoTokenizer, BertForPreTraining

    m = BertForPreTraining.from_pretrained(out).eval()
    with torch.no_grad():
        o = m(input_ids=torch.tensor(ref["input_ids"]), token_type_ids=torch.tensor(ref["token_type_ids"]), output_hidden_states=True)
    assert np.abs(o.hidden_states[-1].numpy() - ref["sequence_output"]).max() < 1e-5
    assert np.abs(o.prediction_logits.numpy() - ref["mlm_logits"]).max() < 1e-5
    tok = AutoTokenizer.from_pretrained(out)
    assert tok.convert_tokens_to_ids(["[CLS]", "w12"]) == [2, 17]
    from biobert.encoders import load_token_classifier, load_tokenizer

    clf = load_token_classifier(str(out), ["O", "B-Gene", "I-Gene"])  # a fine-tuning start point, encoder kept
    assert torch.equal(clf.bert.embeddings.word_embeddings.weight, m.bert.embeddings.word_embeddings.weight)
    assert load_tokenizer(str(out)).tokenize("w12 w3") == ["w12", "w3"]


def test_errors_name_the_file_and_what_was_expected(tmp_path):
    bad = tmp_path / "bad.ckpt"
    (tmp_path / "bad.ckpt.index").write_bytes(b"not a table" * 10)
    with pytest.raises(DataFormatError, match="E290"):
        read_tf_checkpoint(bad)
    with pytest.raises(DataFormatError, match="E290"):
        read_tf_checkpoint(tmp_path / "missing.ckpt")
    lonely = tmp_path / "c"
    lonely.mkdir()
    for f in ("model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001"):
        shutil.copy(FIX / f, lonely / f)
    with pytest.raises(ModelLoadError, match="E340 bert_config.json"):
        convert_bert_checkpoint(lonely / "model.ckpt-7", tmp_path / "o")
    cfg = json.loads((FIX / "bert_config.json").read_text())
    (lonely / "bert_config.json").write_text(json.dumps({**cfg, "hidden_size": 32}))
    shutil.copy(FIX / "vocab.txt", lonely / "vocab.txt")
    with pytest.raises(ModelLoadError, match="E340 .*shape"):
        convert_bert_checkpoint(lonely / "model.ckpt-7", tmp_path / "o")
    (lonely / "model.ckpt-7.data-00000-of-00001").unlink()
    with pytest.raises(DataFormatError, match="E290"):
        read_tf_checkpoint(lonely / "model.ckpt-7")


def test_fine_tuned_checkpoint_converts_its_encoder_and_lists_its_head(tmp_path, ref):
    r = convert_bert_checkpoint(FIX / "finetuned.ckpt-3", tmp_path / "enc")
    assert r["architecture"] == "BertModel" and r["converted"] == 39
    assert r["other_variables_not_converted"] == ["output_bias", "output_weights"] and r["optimizer_variables_left_out"] == 42
    from transformers import BertModel

    m = BertModel.from_pretrained(tmp_path / "enc").eval()
    with torch.no_grad():
        h = m(input_ids=torch.tensor(ref["input_ids"]), token_type_ids=torch.tensor(ref["token_type_ids"])).last_hidden_state
    assert np.abs(h.numpy() - ref["sequence_output"]).max() < 1e-5  # the same encoder weights as the pre-training fixture


def test_release_directories_bad_configs_and_vocabularies_are_typed_errors(tmp_path):
    """A release directory given as the prefix, a bert_config.json that is not JSON or not a BERT config, a
    vocabulary larger than the config's vocab_size and an output that is a file used to end in tracebacks
    (or, for the vocabulary, an IndexError at the first high id, after the conversion)."""
    rel = tmp_path / "biobert_v1.1_pubmed"
    rel.mkdir()
    for f in ("model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001", "bert_config.json", "vocab.txt"):
        shutil.copy(FIX / f, rel / f)
    r = json.loads(ok("convert-tf", rel, "--out", tmp_path / "hf").stdout)  # the directory holds one checkpoint
    assert r["source"] == str(rel / "model.ckpt-7") and r["converted"] == 46
    assert r["embedding_rows_without_token"] == 0
    with pytest.raises(ModelLoadError, match="E340 .*2 checkpoints"):
        convert_bert_checkpoint(FIX, tmp_path / "o")  # the fixture directory holds two
    with pytest.raises(ModelLoadError, match="E340 .*no TensorFlow checkpoint"):
        convert_bert_checkpoint(tmp_path / "hf", tmp_path / "o")
    a_file = tmp_path / "out.bin"
    a_file.write_text("x")
    with pytest.raises(ModelLoadError, match="E341"):
        convert_bert_checkpoint(rel, a_file)
    cfg_text = (rel / "bert_config.json").read_text()
    cfg = json.loads(cfg_text)
    for bad, match in (("{not json", "not valid JSON \\(line 1"), ("[1, 2]", "JSON list"),
                       (json.dumps({**cfg, "num_attention_heads": 5}), "does not describe a BERT model")):
        (rel / "bert_config.json").write_text(bad)
        with pytest.raises(ModelLoadError, match=f"E340 .*bert_config.json.*{match}"):
            convert_bert_checkpoint(rel, tmp_path / "o")
    (rel / "bert_config.json").write_text(cfg_text)
    with open(rel / "vocab.txt", "a", encoding="utf-8") as fh:
        fh.write("extra1\nextra2\n")
    with pytest.raises(ModelLoadError, match=f"E340 .*vocab.txt.* has {cfg['vocab_size'] + 2} tokens.*vocab_size {cfg['vocab_size']}"):
        convert_bert_checkpoint(rel, tmp_path / "o")


def test_the_encoder_loader_takes_a_tf_checkpoint_and_converts_it_once(tmp_path, monkeypatch, ref):
    """USER-NEEDS: one loader for a hub id, an HF directory or a TF checkpoint prefix (`--encoder
    biobert_v1.1_pubmed/model.ckpt-1000000` used to be E303)."""
    from biobert.encoders import load_token_classifier, load_tokenizer, resolve_encoder

    monkeypatch.setenv("BIOBERT_CACHE", str(tmp_path / "cache"))
    rel = tmp_path / "biobert_v1.1_pubmed"
    rel.mkdir()
    for f in ("model.ckpt-7.index", "model.ckpt-7.data-00000-of-00001", "bert_config.json", "vocab.txt"):
        shutil.copy(FIX / f, rel / f)
    d = Path(resolve_encoder(str(rel / "model.ckpt-7")))
    assert d.parent == tmp_path / "cache" / "tf" and (d / "config.json").exists()
    stamp = (d / "conversion.json").stat().st_mtime_ns
    assert resolve_encoder(str(rel)) == str(d)  # the release directory resolves to the same conversion, not redone
    assert (d / "conversion.json").stat().st_mtime_ns == stamp
    clf = load_token_classifier(str(rel / "model.ckpt-7"), ["O", "B-Gene", "I-Gene"])
    assert clf.config.hidden_size == json.loads((FIX / "bert_config.json").read_text())["hidden_size"]
    assert load_tokenizer(str(rel)).tokenize("w12") == ["w12"]


def test_a_damaged_index_is_e290_naming_it_whatever_the_damage(tmp_path):
    import random

    from biobert.errors import BiobertError

    src = (FIX / "model.ckpt-7.index").read_bytes()
    shutil.copy(FIX / "model.ckpt-7.data-00000-of-00001", tmp_path / "model.ckpt-7.data-00000-of-00001")
    rng = random.Random(0)
    raised = 0
    for _ in range(60):  # 1-4 random bytes changed outside the footer: UnicodeDecodeError, IndexError, ... used to escape
        raw = bytearray(src)
        for _ in range(rng.randint(1, 4)):
            raw[rng.randrange(len(raw) - 48)] = rng.randrange(256)
        (tmp_path / "model.ckpt-7.index").write_bytes(bytes(raw))
        try:
            read_tf_checkpoint(tmp_path / "model.ckpt-7")
        except BiobertError as exc:
            raised += 1
            assert isinstance(exc, DataFormatError) and exc.code in ("E290", "E291", "E292"), exc
        # any other exception fails the test
    assert raised > 20


def test_unchecked_crcs_are_counted_and_said(tmp_path, monkeypatch, caplog):
    import biobert.tfcheckpoint as tfc

    monkeypatch.setattr(tfc, "_crc32c_checker", lambda: None)  # google-crc32c not installed
    stats = {}
    with caplog.at_level("WARNING", logger="biobert.tfcheckpoint"):
        read_tf_checkpoint(PREFIX, stats=stats)
    assert stats["crc_checked"] == 0 and stats["crc_unchecked"] == 139 and "W293" in caplog.text
