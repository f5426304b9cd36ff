"""End to end: CoNLL files -> finetune (two corpora, different types) -> model dir -> Tagger in a fresh process."""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from biobert.config import load_config
from biobert.tasks.ner import document_sentences
from tests.nerdata import gold_docs


def write_conll(docs, path: Path, untyped: bool = False) -> None:
    lines = []
    for i, d in enumerate(docs):
        for s in document_sentences(d, i, with_gold=True):
            for (a, b), t in zip(s.words, s.tags):
                lines.append(f"{d.text[a:b]}\t{t.split('-')[0] if untyped else t}")
            lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def trained(tiny_bert, tmp_path_factory):
    from biobert.recipes.ner import NERConfig, finetune_ner

    root = tmp_path_factory.mktemp("ner")
    chem = gold_docs({"Chemical", "Disease"})
    gene = gold_docs({"Gene"})
    write_conll(chem[:12], root / "a_train.tsv")
    write_conll(chem[12:], root / "a_dev.tsv")
    write_conll(gene[:12], root / "b_train.tsv", untyped=True)
    write_conll(gene[12:], root / "b_dev.tsv", untyped=True)
    cfg = load_config(
        NERConfig,
        None,
        [f"encoder={tiny_bert}", f"out={root / 'model'}", "train.epochs=3", "train.batch_size=8", "train.lr=3e-3", "max_length=32", "stride=8"],
        base={
            "corpora": [
                {"name": "A", "train": str(root / "a_train.tsv"), "dev": str(root / "a_dev.tsv"), "test": str(root / "a_dev.tsv")},
                {"name": "B", "train": str(root / "b_train.tsv"), "dev": str(root / "b_dev.tsv"), "untyped_label": "Gene"},
            ]
        },
    )
    report = finetune_ner(cfg, progress=False)
    return root / "model", report


def test_model_directory_contents(trained):
    out, report = trained
    for f in ("model.safetensors", "config.json", "tokenizer.json", "biobert.json", "report.json", "README.md"):
        assert (out / f).exists(), f
    meta = json.loads((out / "biobert.json").read_text())
    assert meta["labels"] == ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease", "B-Gene", "I-Gene"]
    assert meta["corpus_types"] == {"A": ["Chemical", "Disease"], "B": ["Gene"]}
    assert meta["splitter"] == "rules"  # tagging splits text as training did
    rep = json.loads((out / "report.json").read_text())
    assert rep["train_on"] == "train" and rep["seed"] == 42
    assert len(rep["data"]) == 5 and all(len(d["sha256"]) == 64 for d in rep["data"])
    assert rep["train"]["steps"] > 0 and "A" in rep["test"]
    assert {"precision", "recall", "f1"} <= set(rep["test"]["A"])


def test_tagger_loads_in_fresh_process(trained):
    out, _ = trained
    code = (
        "import json, sys; from biobert import Tagger; t = Tagger.load(sys.argv[1]);"
        "d = t('Tamoxifen reduces breast cancer risk in BRCA1 carriers. ' * 40);"
        "assert all(d.text[s.start:s.end] == s.text for s in d.spans);"
        "print(json.dumps({'labels': t.labels, 'n': len(d.spans)}))"
    )
    res = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert "B-Gene" in got["labels"]


def test_resume_of_finished_run_is_a_noop(trained, tiny_bert):
    from biobert.recipes.ner import NERConfig, finetune_ner

    out, report = trained
    rep = json.loads((out / "report.json").read_text())
    cfg = load_config(NERConfig, None, [], base=rep["config"])
    again = finetune_ner(cfg, progress=False)
    assert again["train"]["steps"] == report["train"]["steps"]
    assert again["test"]["A"]["f1"] == pytest.approx(report["test"]["A"]["f1"])


def test_ner_fits_its_training_data(tiny_bert, tmp_path):
    """Fine-tuning must be able to learn: the tiny model memorises 12 training documents. A broken
    alignment, label map or loss mask leaves F1 near 0 here, however well the other tests run."""
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})[:12]
    write_conll(docs, tmp_path / "train.tsv")
    cfg = load_config(
        NERConfig, None,
        [f"encoder={tiny_bert}", f"out={tmp_path / 'model'}", "train.epochs=30", "train.batch_size=4", "train.lr=5e-3",
         "train.seed=0", "max_length=64", "stride=16", "decode=viterbi"],
        base={"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "test": str(tmp_path / "train.tsv")}]},
    )
    report = finetune_ner(cfg, progress=False)
    print("train-set F1", report["test"]["A"]["f1"])
    assert report["test"]["A"]["f1"] >= 0.9, report["test"]["A"]
    assert json.loads((tmp_path / "model" / "biobert.json").read_text())["decode"] == "viterbi"  # tagging decodes the same way


def test_ner_with_context_fits_and_tags_with_the_same_context(tiny_bert, tmp_path):
    """Neighbouring-sentence context: labels stay on the sentence's own subwords (a shifted label would keep
    the fit far below 0.9), the setting is saved, and Tagger.load uses it."""
    from biobert import Tagger
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})[:12]
    write_conll(docs, tmp_path / "train.tsv")
    cfg = load_config(
        NERConfig, None,
        [f"encoder={tiny_bert}", f"out={tmp_path / 'model'}", "train.epochs=30", "train.batch_size=4", "train.lr=5e-3",
         "train.seed=0", "max_length=64", "stride=16", "context=12"],
        base={"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "test": str(tmp_path / "train.tsv")}]},
    )
    report = finetune_ner(cfg, progress=False)
    assert report["data_changes"]["context_subwords"] > 0
    assert report["test"]["A"]["f1"] >= 0.9, report["test"]["A"]
    assert json.loads((tmp_path / "model" / "biobert.json").read_text())["context"] == 12
    tagger = Tagger.load(tmp_path / "model")
    assert tagger.predictor.context == 12
    doc = tagger(docs[0].text)
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)


def test_train_plus_dev_trains_on_both_and_selects_nothing(tiny_bert, tmp_path):
    """``train_on=train+dev`` (the final-model protocol): dev sentences join the training set, so the run takes
    as many steps as one whose train file holds both, and no dev score is reported (none was used to select)."""
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})
    write_conll(docs[:8], tmp_path / "train.tsv")
    write_conll(docs[8:16], tmp_path / "dev.tsv")
    write_conll(docs[:16], tmp_path / "both.tsv")
    common = [f"encoder={tiny_bert}", "train.epochs=1", "train.batch_size=4", "max_length=32", "stride=8"]

    def run(name: str, train: str, dev: str | None, extra: list[str]) -> dict:
        corpus = {"name": "A", "train": str(tmp_path / train), "test": str(tmp_path / "dev.tsv")}
        if dev:
            corpus["dev"] = str(tmp_path / dev)
        cfg = load_config(NERConfig, None, [*common, f"out={tmp_path / name}", *extra], base={"corpora": [corpus]})
        return finetune_ner(cfg, progress=False)

    merged = run("merged", "train.tsv", "dev.tsv", ["train_on=train+dev"])
    single = run("single", "both.tsv", None, [])
    only_train = run("train", "train.tsv", "dev.tsv", [])
    assert merged["train_on"] == "train+dev" and merged["dev_f1"] is None
    assert merged["train"]["steps"] == single["train"]["steps"] > only_train["train"]["steps"]


def test_weight_averaging_is_the_saved_model_and_is_reported(tiny_bert, tmp_path):
    """``train.average_last=2`` under train+dev: the saved model is the mean of the last two epochs' weights, the
    last epoch's own weights stay in the checkpoint, and the report and model card say which was kept."""
    import torch
    from safetensors.torch import load_file

    from biobert import Tagger
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})
    write_conll(docs[:8], tmp_path / "train.tsv")
    write_conll(docs[8:16], tmp_path / "dev.tsv")
    corpus = {"name": "A", "train": str(tmp_path / "train.tsv"), "dev": str(tmp_path / "dev.tsv"), "test": str(tmp_path / "dev.tsv")}
    cfg = load_config(NERConfig, None, [f"encoder={tiny_bert}", "train.epochs=2", "train.batch_size=4", "max_length=32", "stride=8",
                                        "train_on=train+dev", "train.average_last=2", f"out={tmp_path / 'm'}"], base={"corpora": [corpus]})
    rep = finetune_ner(cfg, progress=False)
    assert rep["train"]["averaged_epochs"] == 2 and rep["train"]["best_is_average"]
    assert "average of the weights after the last 2 epochs" in rep["model_selection"]
    assert "averaged over the last 2 epochs" in (tmp_path / "m" / "README.md").read_text()
    saved = load_file(str(tmp_path / "m" / "model.safetensors"))
    last = load_file(str(tmp_path / "m" / "checkpoints" / "last" / "model.safetensors"))
    assert any(not torch.equal(saved[k], last[k]) for k in saved)
    doc = Tagger.load(tmp_path / "m")(docs[0].text)
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)


def test_corpus_files_are_read_in_the_format_their_names_say(tiny_bert, tmp_path):
    """format "auto" (the default): PubTator training data, a BioC dev set and a CoNLL test file named .txt (as
    CoNLL-2003's are) train one model; before, every corpus file was read as CoNLL (E202 on a PubTator file)."""
    from biobert import io
    from biobert.recipes.ner import CorpusConfig, NERConfig, corpus_format, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})
    io.write(docs[:12], tmp_path / "train.PubTator.txt", fmt="pubtator")
    io.write(docs[12:], tmp_path / "dev.bioc.xml", fmt="bioc")
    write_conll(docs[12:], tmp_path / "test.txt")
    c = CorpusConfig(name="X", train=str(tmp_path / "train.PubTator.txt"))
    assert [corpus_format(c, str(tmp_path / n)) for n in ("train.PubTator.txt", "dev.bioc.xml", "test.txt", "x.tsv", "x.data")] == \
        ["pubtator", "bioc", "conll", "conll", "conll"]
    assert corpus_format(CorpusConfig(name="X", format="conll"), str(tmp_path / "train.PubTator.txt")) == "conll"
    cfg = load_config(NERConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "train.epochs=1", "train.batch_size=8",
                                        "max_length=32", "stride=8"],
                      base={"corpora": [{"name": "X", "train": str(tmp_path / "train.PubTator.txt"), "dev": str(tmp_path / "dev.bioc.xml"),
                                         "test": str(tmp_path / "test.txt")}]})
    rep = finetune_ner(cfg, progress=False)
    # the PubTator spans were read as entities (a CoNLL read gave E202), the BioC dev set selected, the test file scored
    assert sorted(rep["corpus_types"]["X"]) == ["Chemical", "Disease"]
    assert rep["dev_f1"] is not None and set(rep["test"]["X"]) >= {"precision", "recall", "f1"}


def test_a_corpus_file_without_entities_is_refused_for_training_and_noted_for_dev(tiny_bert, tmp_path):
    """A training file read in the wrong format has documents but no spans: with another corpus beside it, it
    used to be trained on silently (its words all O); a dev file without spans is noted in the report."""
    from biobert.errors import TrainingError
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})
    write_conll(docs[:12], tmp_path / "a.tsv")
    (tmp_path / "b.txt").write_text("Plain sentences with no tags at all .\n", encoding="utf-8")
    base = [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "train.epochs=1", "train.batch_size=8", "max_length=32", "stride=8"]
    two = {"corpora": [{"name": "A", "train": str(tmp_path / "a.tsv")},
                       {"name": "B", "train": str(tmp_path / "b.txt"), "format": "text"}]}
    with pytest.raises(TrainingError, match=r"E502 corpus B: .*b.txt holds no entity spans when read as text; set corpora.1.format"):
        finetune_ner(load_config(NERConfig, None, base, base=two), progress=False)
    dev = {"corpora": [{"name": "A", "train": str(tmp_path / "a.tsv"), "dev": str(tmp_path / "b.txt"), "format": "text"}]}
    with pytest.raises(TrainingError, match="E502 corpus A"):  # format text for all splits: the training file too
        finetune_ner(load_config(NERConfig, None, base, base=dev), progress=False)
    (tmp_path / "empty_dev.tsv").write_text("\n".join(f"{w}\tO" for w in "No entities here .".split()) + "\n", encoding="utf-8")
    rep = finetune_ner(load_config(NERConfig, None, base, base={"corpora": [{"name": "A", "train": str(tmp_path / "a.tsv"),
                                                                             "dev": str(tmp_path / "empty_dev.tsv")}]}), progress=False)
    assert rep["splits_without_entities"] == [{"corpus": "A", "split": "dev", "path": str(tmp_path / "empty_dev.tsv"), "format": "conll"}]


def test_crf_head_fits_two_corpora_and_tags_with_its_learned_transitions(tiny_bert, tmp_path, caplog):
    """``crf=true`` over two corpora with different types (the partial-label path): the run fits its training data,
    the learned scores are saved in biobert.json (the weights stay a plain HF token classifier), and Tagger.load
    decodes with them, to the same test F1 as the run reported."""
    from biobert import Tagger
    from biobert.recipes.ner import NERConfig, evaluate_ner, finetune_ner

    chem = gold_docs({"Chemical", "Disease"})[:12]
    gene = gold_docs({"Gene"})[:12]
    write_conll(chem, tmp_path / "a.tsv")
    write_conll(gene, tmp_path / "b.tsv", untyped=True)
    cfg = load_config(
        NERConfig, None,
        [f"encoder={tiny_bert}", f"out={tmp_path / 'model'}", "train.epochs=30", "train.batch_size=4", "train.lr=5e-3",
         "train.seed=0", "max_length=64", "stride=16", "crf=true", "crf_lr_scale=10"],
        base={"corpora": [{"name": "A", "train": str(tmp_path / "a.tsv"), "test": str(tmp_path / "a.tsv")},
                          {"name": "B", "train": str(tmp_path / "b.tsv"), "untyped_label": "Gene"}]},
    )
    report = finetune_ner(cfg, progress=False)
    assert report["test"]["A"]["f1"] >= 0.9, report["test"]["A"]
    meta = json.loads((tmp_path / "model" / "biobert.json").read_text())
    n = len(meta["labels"])
    assert len(meta["crf"]["transitions"]) == n and len(meta["crf"]["start"]) == n
    assert max(abs(x) for row in meta["crf"]["transitions"] for x in row) > 0.1  # learned, not left at zero
    assert "linear-chain CRF" in (tmp_path / "model" / "README.md").read_text()
    tagger = Tagger.load(tmp_path / "model")
    assert tagger.predictor.crf is not None
    scores, _ = evaluate_ner(tagger.predictor, chem, {"Chemical", "Disease"})
    assert scores["f1"] == pytest.approx(report["test"]["A"]["f1"], abs=1e-6)
    doc = tagger(chem[0].text)
    assert all(doc.text[s.start:s.end] == s.text for s in doc.spans)
    assert "W308" not in caplog.text
    Tagger.load(tmp_path / "model", decode="argmax")  # allowed, but it ignores what the CRF learned: said
    assert "W308" in caplog.text


def test_crf_settings_that_cannot_work_are_refused():
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig

    base = {"corpora": [{"name": "A", "train": "t.tsv"}]}
    with pytest.raises(ConfigError, match="E412 crf is true but decode is 'argmax'"):
        load_config(NERConfig, None, ["crf=true", "decode=argmax"], base=base)
    with pytest.raises(ConfigError, match="E413"):
        load_config(NERConfig, None, ["crf=true", "label_all_subwords=true"], base=base)
    with pytest.raises(ConfigError, match="crf_lr_scale"):
        load_config(NERConfig, None, ["crf=true", "crf_lr_scale=0"], base=base)


def test_distillation_learns_the_teachers_distributions_and_reports_them(tiny_bert, tmp_path):
    """With distill_weight 1 the gold tags are not in the loss: the student can only fit its training data
    through the teacher. Gold with one tag flipped everywhere would be learned as flipped; the teacher's
    (trained on the true tags) is what the student reproduces."""
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})[:12]
    write_conll(docs, tmp_path / "train.tsv")
    common = [f"encoder={tiny_bert}", "train.batch_size=4", "train.lr=5e-3", "train.seed=0", "max_length=64", "stride=16"]
    base = {"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "test": str(tmp_path / "train.tsv")}]}
    teacher = tmp_path / "teacher"
    finetune_ner(load_config(NERConfig, None, common + [f"out={teacher}", "train.epochs=30"], base=base), progress=False)
    # the student's gold says every Disease is a Chemical: only the teacher knows better
    flipped = tmp_path / "flipped.tsv"
    flipped.write_text((tmp_path / "train.tsv").read_text().replace("-Disease", "-Chemical"), encoding="utf-8")
    sbase = {"corpora": [{"name": "A", "train": str(flipped), "test": str(tmp_path / "train.tsv")}]}
    with pytest.raises(ConfigError, match="E419"):  # the flipped data has no Disease labels: not the teacher's set
        finetune_ner(load_config(NERConfig, None, common + [f"out={tmp_path / 's0'}", f"teachers=[{teacher}]"], base=sbase), progress=False)
    sbase["corpora"][0]["types"] = ["Chemical", "Disease"]  # declared, so the label set is the teacher's
    student = finetune_ner(load_config(NERConfig, None, common + [
        f"out={tmp_path / 'student'}", "train.epochs=30", f"teachers=[{teacher}]", "distill_weight=1.0", "distill_temperature=1.0"],
        base=sbase), progress=False)
    d = student["distillation"]
    assert d["weight"] == 1.0 and d["teacher_seconds"] >= 0 and d["teachers"][0]["teacher"] == str(teacher)
    assert d["teachers"][0]["train_word_agreement_with_gold"] < 1.0  # the teacher disagrees with the flipped gold
    assert student["test"]["A"]["per_type"]["Disease"]["f1"] >= 0.8, student["test"]["A"]


def test_distillation_settings_that_cannot_work_are_refused():
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig

    base = {"corpora": [{"name": "A", "train": "t.tsv"}]}
    for bad in (["crf=true"], ["label_all_subwords=true"]):
        with pytest.raises(ConfigError, match="E414"):
            load_config(NERConfig, None, ["teachers=[t]"] + bad, base=base)
    for bad in ("distill_weight=0", "distill_weight=1.5", "distill_temperature=0"):
        with pytest.raises(ConfigError, match="E415"):
            load_config(NERConfig, None, ["teachers=[t]", bad], base=base)


def test_holdout_shares_are_contiguous_and_balanced():
    from biobert.recipes.ner import holdout_shares, parse_holdout

    assert holdout_shares(7, 3) == [1, 1, 1, 2, 2, 3, 3]
    for n in (3, 10, 101):
        sizes = Counter(holdout_shares(n, 3))
        assert sorted(sizes) == [1, 2, 3] and max(sizes.values()) - min(sizes.values()) <= 1
    assert parse_holdout(" 2 / 5 ") == (2, 5)


def test_cross_fit_teaches_each_sentence_by_the_teacher_that_never_saw_it(tiny_bert, tmp_path):
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig, finetune_ner

    docs = gold_docs({"Chemical", "Disease"})[:12]
    write_conll(docs, tmp_path / "train.tsv")
    write_conll(docs[:6], tmp_path / "other.tsv")
    common = [f"encoder={tiny_bert}", "train.batch_size=4", "train.lr=5e-3", "train.seed=0", "max_length=64",
              "stride=16", "train.epochs=2"]
    base = {"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv")}]}
    teachers = []
    for i in (1, 2, 3):
        r = finetune_ner(load_config(NERConfig, None, common + [f"out={tmp_path / f't{i}'}", f"holdout={i}/3"], base=base), progress=False)
        assert r["holdout"]["share"] == i and r["holdout"]["documents_held_out"] == {"A": 4}
        assert json.loads((tmp_path / f"t{i}" / "biobert.json").read_text())["holdout"] == r["holdout"]
        teachers.append(str(tmp_path / f"t{i}"))
    assert len({json.loads((Path(t) / "biobert.json").read_text())["holdout"]["training_documents_sha256"] for t in teachers}) == 1

    def student(ts, out, b=base):
        cfg = load_config(NERConfig, None, common + [f"out={tmp_path / out}", f"teachers=[{','.join(ts)}]", "cross_fit=true"], base=b)
        return finetune_ner(cfg, progress=False)

    d = student(teachers[::-1], "s")["distillation"]  # any order: each teacher's share is in its biobert.json
    assert d["cross_fit"] is True and "(cross-fit)" in (tmp_path / "s" / "README.md").read_text()
    assert "without share 2/3" in (tmp_path / "t2" / "README.md").read_text()
    assert sorted(t["share"] for t in d["teachers"]) == [1, 2, 3]
    assert all(t["sentences"] > 0 and 0 <= t["held_out_word_agreement_with_gold"] <= 1 for t in d["teachers"])
    plain = student(teachers, "p")  # the same data without cross_fit would be a mean over all three teachers
    assert plain["data_changes"]["distill_words"] == sum(t["words"] for t in d["teachers"])
    with pytest.raises(ConfigError, match="E419 .*both held out of share 1/3"):
        student([teachers[0], teachers[0], teachers[2]], "x1")
    with pytest.raises(ConfigError, match="E419 .*share 1 of 3, but 2 teachers"):
        student(teachers[:2], "x2")
    with pytest.raises(ConfigError, match="E419 .*other training documents"):
        student(teachers, "x3", {"corpora": [{"name": "A", "train": str(tmp_path / "other.tsv")}]})
    finetune_ner(load_config(NERConfig, None, common + [f"out={tmp_path / 'nohold'}"], base=base), progress=False)
    with pytest.raises(ConfigError, match="E419 .*not trained with holdout"):
        student(teachers[:2] + [str(tmp_path / "nohold")], "x4")


def test_a_holdout_that_leaves_out_nothing_is_refused(tiny_bert, tmp_path):
    """Two documents, three shares: share 3/3 is empty, and a teacher trained on everything would say it was held out."""
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig, finetune_ner

    write_conll(gold_docs({"Chemical", "Disease"})[:2], tmp_path / "train.tsv")
    base = {"corpora": [{"name": "A", "train": str(tmp_path / "train.tsv")}]}
    with pytest.raises(ConfigError, match=r"E415 holdout 3/3 leaves out no document: .*\{'A': 2\}"):
        finetune_ner(load_config(NERConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "holdout=3/3"], base=base), progress=False)


def test_holdout_and_cross_fit_settings_that_cannot_work_are_refused():
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig

    base = {"corpora": [{"name": "A", "train": "t.tsv"}]}
    for bad in ("0/3", "4/3", "1/1", "x", "1/3/5"):
        with pytest.raises(ConfigError, match="E415 holdout"):
            load_config(NERConfig, None, [f"holdout={bad}"], base=base)
    with pytest.raises(ConfigError, match="E414 cross_fit"):
        load_config(NERConfig, None, ["teachers=[t]", "cross_fit=true"], base=base)
    with pytest.raises(ConfigError, match="E414 cross_fit and holdout"):
        load_config(NERConfig, None, ["teachers=[t,u]", "cross_fit=true", "holdout=1/2"], base=base)
