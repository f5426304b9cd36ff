"""A run is resumed only with the settings it was made with (E504); data paths are checked up front (E423);
what NER scoring leaves out is counted (dev/test types not trained, empty dev files); typed scoring of
types the model does not know is refused (E499)."""

import json

import pytest
import torch

from biobert.config import load_config
from biobert.errors import ConfigError, TrainingError
from tests.nerdata import gold_docs
from tests.recipes.test_ner_recipe import write_conll


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("fp")
    chem = gold_docs({"Chemical", "Disease"})
    write_conll(chem[:8], root / "train.tsv")
    write_conll(chem[8:12], root / "train2.tsv")
    write_conll(chem[12:], root / "dev.tsv")
    write_conll(gold_docs({"Gene"})[12:], root / "gene.tsv")
    (root / "empty.tsv").write_text("", encoding="utf-8")
    return root


def _cfg(tiny_bert, data, out, *extra, train="train.tsv", dev="dev.tsv", test="dev.tsv"):
    from biobert.recipes.ner import NERConfig

    corpus = {"name": "A", "train": str(data / train), "test": str(data / test)}
    if dev:
        corpus["dev"] = str(data / dev)
    return load_config(NERConfig, None, [f"encoder={tiny_bert}", f"out={out}", "train.epochs=1", "train.batch_size=8",
                                         "train.lr=3e-3", "max_length=32", "stride=8", *extra],
                       base={"corpora": [corpus]})


def test_changed_settings_or_data_are_not_silently_reused(tiny_bert, data, tmp_path):
    from biobert.recipes.ner import finetune_ner

    out = tmp_path / "run"
    first = finetune_ner(_cfg(tiny_bert, data, out), progress=False)
    assert first["train"]["resume_check"] is None
    again = finetune_ner(_cfg(tiny_bert, data, out), progress=False)  # same settings: the finished run is reused
    assert again["train"]["resume_check"] == "verified" and again["train"]["steps"] == first["train"]["steps"]
    # the test file only scores the run: changing it is fine
    finetune_ner(_cfg(tiny_bert, data, out, test="gene.tsv"), progress=False)
    with pytest.raises(TrainingError, match=r"E504.*train\.epochs: 1 -> 2.*train\.lr.*--no-resume"):
        finetune_ner(_cfg(tiny_bert, data, out, "train.epochs=2", "train.lr=5e-3"), progress=False)
    with pytest.raises(TrainingError, match=r"E504.*corpora\.0\.train"):
        finetune_ner(_cfg(tiny_bert, data, out, train="train2.tsv"), progress=False)
    with pytest.raises(TrainingError, match=r"E504.*train\.batch_size"):
        finetune_ner(_cfg(tiny_bert, data, out, "train.batch_size=4"), progress=False)
    rep = finetune_ner(_cfg(tiny_bert, data, out, "train.epochs=2"), resume=False, progress=False)
    assert rep["train"]["epochs_completed"] == 2 and rep["config"]["train"]["epochs"] == 2


def test_missing_or_directory_data_paths_are_typed_errors_before_the_model_loads(data, tmp_path):
    from biobert.recipes.ner import finetune_ner

    # the encoder does not exist either: the data paths must be checked first
    with pytest.raises(ConfigError, match=r"E423 corpora\.0\.dev: .*nope\.tsv.*does not exist"):
        finetune_ner(_cfg(tmp_path / "no-encoder", data, tmp_path / "o", dev="nope.tsv"), progress=False)
    (data / "adir").mkdir(exist_ok=True)
    with pytest.raises(ConfigError, match=r"E423 corpora\.0\.train: .*is a directory"):
        finetune_ner(_cfg(tmp_path / "no-encoder", data, tmp_path / "o", train="adir"), progress=False)


def test_re_and_qa_data_paths_are_checked(tmp_path):
    from biobert.recipes.qa import QAConfig, QADataConfig, finetune_qa
    from biobert.recipes.re import REConfig, REDataConfig, finetune_re

    with pytest.raises(ConfigError, match=r"E423 data\.train: .*missing\.tsv"):
        finetune_re(REConfig(data=REDataConfig(format="biobert_tsv", train=str(tmp_path / "missing.tsv")),
                             encoder=str(tmp_path / "no-encoder"), out=str(tmp_path / "re")), progress=False)
    (tmp_path / "train.json").write_text('{"data": []}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"E423 data\.dev: .*is a directory"):
        finetune_qa(QAConfig(data=QADataConfig(format="squad", train=str(tmp_path / "train.json"), dev=str(tmp_path)),
                             encoder=str(tmp_path / "no-encoder"), out=str(tmp_path / "qa")), progress=False)


def test_train_plus_dev_without_dev_is_refused(tiny_bert, data, tmp_path):
    from biobert.recipes.ner import finetune_ner

    with pytest.raises(ConfigError, match="E497"):
        finetune_ner(_cfg(tiny_bert, data, tmp_path / "o", "train_on=train+dev", dev=None), progress=False)


def test_unscored_types_and_empty_dev_are_counted(tiny_bert, data, tmp_path, caplog):
    from biobert.recipes.ner import finetune_ner

    n_gene = sum(1 for d in gold_docs({"Gene"})[12:] for s in d.spans)
    with caplog.at_level("WARNING"):
        rep = finetune_ner(_cfg(tiny_bert, data, tmp_path / "g", dev="gene.tsv", test="gene.tsv"), progress=False)
    # a type the model never learns is scored as conlleval would: every gene is a miss (as `evaluate ner` counts it)
    assert rep["unscored_spans"] == {} and rep["gold_types_not_learned"] == {"A": {"dev": ["Gene"], "test": ["Gene"]}}
    assert rep["test"]["A"]["n_gold"] == n_gene and rep["test"]["A"]["recall"] == 0.0
    assert "count as misses" in caplog.text
    caplog.clear()
    # a type learned from another corpus but not annotated by this one is left out of this corpus's scores
    from biobert.recipes.ner import NERConfig

    corpora = [{"name": "A", "train": str(data / "train.tsv"), "test": str(data / "gene.tsv")},
               {"name": "G", "train": str(data / "gene.tsv")}]
    cfg = load_config(NERConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'two'}", "train.epochs=1",
                                        "max_length=32", "stride=8"], base={"corpora": corpora})
    with caplog.at_level("WARNING"):
        rep = finetune_ner(cfg, progress=False)
    assert rep["unscored_spans"] == {"A": {"test": {"Gene": n_gene}}} and "gold_types_not_learned" not in rep
    assert "left out of the scores" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        rep = finetune_ner(_cfg(tiny_bert, data, tmp_path / "e", dev="empty.tsv"), progress=False)
    assert rep["empty_dev_files"] == [{"corpus": "A", "path": str(data / "empty.tsv")}]
    assert rep["model_selection"].startswith("none") and rep["dev_f1"] is None
    assert "no model selection" in caplog.text


def test_evaluate_refuses_disjoint_types(tagger_dir, tmp_path):
    from tests.cli.test_cli import run

    gold = tmp_path / "g.tsv"
    gold.write_text("aspirin\tB-Chemical\nhelps\tO\n.\tO\n", encoding="utf-8")
    r = run("evaluate", "ner", "--model", tagger_dir, "--data", gold)
    assert r.exit_code == 2 and "E499" in r.stderr and "--ignore-types" in r.stderr
    r = run("evaluate", "ner", "--model", tagger_dir, "--data", gold, "--ignore-types")
    assert r.exit_code == 0, r.stderr


def test_a_data_file_edited_in_place_is_not_resumed(tiny_bert, data, tmp_path):
    """The fingerprint holds each train/dev file's SHA-256, not its path: a file fixed in place must not continue
    the checkpoint made from its old content (a path-only check passes it)."""
    import shutil

    from biobert.recipes.ner import finetune_ner

    for name in ("train.tsv", "dev.tsv"):
        shutil.copy(data / name, tmp_path / name)
    out = tmp_path / "run"
    finetune_ner(_cfg(tiny_bert, tmp_path, out), progress=False)
    for name, key in (("train.tsv", "train"), ("dev.tsv", "dev")):
        original = (tmp_path / name).read_text(encoding="utf-8")
        first_tag = next(line.split("\t")[1] for line in original.splitlines() if "\t" in line)
        edited = original.replace(f"\t{first_tag}\n", "\tO\n" if first_tag != "O" else "\tB-Disease\n", 1)
        assert edited != original
        (tmp_path / name).write_text(edited, encoding="utf-8")
        with pytest.raises(TrainingError, match=rf"E504.*corpora\.0\.{key}"):
            finetune_ner(_cfg(tiny_bert, tmp_path, out), progress=False)
        (tmp_path / name).write_text(original, encoding="utf-8")


def test_an_encoder_changed_in_place_is_not_resumed(tiny_bert, data, tmp_path):
    """The fingerprint held the encoder's path only: its vocabulary permuted (same size) or its weights replaced
    in place were resumed silently with resume_check "verified"; now E504 names what changed, and the report's
    encoder_identity records the vocabulary's hash next to the weights'."""
    import shutil

    from transformers import BertModel, BertTokenizerFast

    from biobert.recipes.ner import finetune_ner

    enc = tmp_path / "enc"
    shutil.copytree(tiny_bert, enc)
    out = tmp_path / "run"
    first = finetune_ner(_cfg(enc, data, out), progress=False)
    rep = json.loads((out / "report.json").read_text())
    assert rep["encoder_identity"]["vocab_sha256"] and rep["encoder_identity"]["weights_sha256"]
    assert finetune_ner(_cfg(enc, data, out), progress=False)["train"]["resume_check"] == "verified"
    # the vocabulary permuted: two ordinary tokens swap ids
    vocab = (enc / "vocab.txt").read_text(encoding="utf-8").splitlines()
    i, j = len(vocab) - 1, len(vocab) - 2
    vocab[i], vocab[j] = vocab[j], vocab[i]
    (enc / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab=str(enc / "vocab.txt"), do_lower_case=False).save_pretrained(enc)
    with pytest.raises(TrainingError, match=r"E504.*encoder_vocab_sha256: '[0-9a-f]+' -> '[0-9a-f]+'"):
        finetune_ner(_cfg(enc, data, out), progress=False)
    shutil.copy(tiny_bert / "vocab.txt", enc / "vocab.txt")
    BertTokenizerFast(vocab=str(enc / "vocab.txt"), do_lower_case=False).save_pretrained(enc)
    assert finetune_ner(_cfg(enc, data, out), progress=False)["train"]["resume_check"] == "verified"
    # the weights replaced in place
    model = BertModel.from_pretrained(str(enc))
    with torch.no_grad():
        model.embeddings.word_embeddings.weight.mul_(1.5)
    model.save_pretrained(enc)
    with pytest.raises(TrainingError, match=r"E504.*encoder_weights: "):
        finetune_ner(_cfg(enc, data, out), progress=False)
    # a checkpoint made before the identity was recorded: resumed, but not called verified
    fp_file = out / "checkpoints" / "last" / "fingerprint.json"
    saved = json.loads(fp_file.read_text())
    del saved["encoder_vocab_sha256"], saved["encoder_weights"]
    fp_file.write_text(json.dumps(saved))
    again = finetune_ner(_cfg(enc, data, out), progress=False)
    assert again["train"]["resume_check"].startswith("unverified: the checkpoint does not record encoder_vocab_sha256")
    assert again["train"]["steps"] == first["train"]["steps"]
