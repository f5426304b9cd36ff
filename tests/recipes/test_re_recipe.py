"""End to end RE: masked TSV folds -> `biobert finetune re --cv` -> model dirs -> Extractor / `biobert extract` / `evaluate re`."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from biobert.cli import app
from biobert.types import Document, Span

runner = CliRunner()

POS = ["The @GENE$ variant is associated with @DISEASE$ in families.", "@DISEASE$ risk increases with @GENE$ mutations."]
NEG = ["The @GENE$ gene was not related to @DISEASE$ here.", "No link between @DISEASE$ and @GENE$ was found."]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def ok(*args):
    r = run(*args)
    assert r.exit_code == 0, (r.stdout, r.stderr, r.exception)
    return r


def _json(r):
    return json.loads(r.stdout[r.stdout.index("{"):])


def write_folds(root: Path, all_positive: bool = False) -> None:
    rows = [(s, "1") for s in POS] * 4 + ([] if all_positive else [(s, "0") for s in NEG] * 4)
    for k in ("1", "2"):
        d = root / k
        d.mkdir(parents=True)
        (d / "train.tsv").write_text("".join(f"{s}\t{l}\n" for s, l in rows), encoding="utf-8")
        (d / "dev.tsv").write_text("", encoding="utf-8")  # empty, as in BioBERT's files
        (d / "test.tsv").write_text("index\tsentence\tlabel\n" + "".join(f"{i}\t{s}\t{l}\n" for i, (s, l) in enumerate(rows[::3])), encoding="utf-8")


def write_config(path: Path, root: Path, out: Path, tiny_bert, **extra) -> Path:
    import yaml

    cfg = {
        "encoder": str(tiny_bert), "out": str(out), "max_length": 32,
        "data": {"format": "biobert_tsv", "train": str(root / "{fold}" / "train.tsv"), "dev": str(root / "{fold}" / "dev.tsv"),
                 "test": str(root / "{fold}" / "test.tsv"), "folds": ["1", "2"]},
        "train": {"epochs": 1, "batch_size": 8, "lr": 1e-3, "seed": 3, "log_every": 1000},
    }
    cfg.update(extra)
    path.write_text(yaml.safe_dump(cfg), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def cv_run(tiny_bert, tmp_path_factory):
    root = tmp_path_factory.mktemp("re")
    write_folds(root / "data")
    cfg = write_config(root / "gad.yaml", root / "data", root / "model", tiny_bert)
    r = ok("finetune", "re", "--config", cfg, "--cv")
    return root, _json(r)


@pytest.fixture(scope="module")
def positive_model(tiny_bert, tmp_path_factory):
    """Markers + entity-start model trained on positives only: it labels every candidate '1'."""
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re

    root = tmp_path_factory.mktemp("re_pos")
    write_folds(root / "data", all_positive=True)
    cfg = load_config(REConfig, write_config(root / "c.yaml", root / "data", root / "model", tiny_bert, style="markers",
                                            pooling="entity_start", label_names={"1": "Association"}))
    finetune_re(cfg, progress=False, fold="1")
    return root / "model"


@pytest.fixture(scope="module")
def tagger_dir(tiny_bert, tmp_path_factory):
    """A tiny tagger whose random head is biased towards Gene / Disease entities."""
    from biobert.encoders import load_token_classifier, load_tokenizer
    from biobert.modeldir import save_model_dir

    labels = ["O", "B-Gene", "I-Gene", "B-Disease", "I-Disease"]
    torch.manual_seed(0)
    model = load_token_classifier(str(tiny_bert), labels)
    with torch.no_grad():
        model.classifier.bias[:] = torch.tensor([0.0, 0.4, 0.1, 0.4, 0.1])
    out = tmp_path_factory.mktemp("re_tagger")
    save_model_dir(out, model, load_tokenizer(str(tiny_bert)), {"task": "ner", "labels": labels, "max_length": 32, "stride": 8})
    return out


def test_cv_reports_every_fold_and_the_mean(cv_run):
    root, out = cv_run
    assert out["folds"] == ["1", "2"] and set(out["per_fold"]) == {"1", "2"}
    for m in ("precision", "recall", "f1"):
        assert out["mean"][m]["n"] == 2 and 0.0 <= out["mean"][m]["mean"] <= 1.0
    rep = json.loads((root / "model" / "cv_report.json").read_text())
    assert rep["per_fold"]["1"]["f1"] == out["per_fold"]["1"]["f1"]
    fold = root / "model" / "fold-1"
    for f in ("model.safetensors", "config.json", "tokenizer.json", "biobert.json", "re_head.safetensors", "report.json", "README.md", "test_predictions.jsonl"):
        assert (fold / f).exists(), f
    meta = json.loads((fold / "biobert.json").read_text())
    assert meta["task"] == "re" and meta["labels"] == ["0", "1"] and meta["masks"] == {"Disease": "@DISEASE$", "Gene": "@GENE$"}
    assert meta["type_pairs"] == [["Gene", "Disease"]] and meta["metric"] == "binary"
    r = json.loads((fold / "report.json").read_text())
    assert r["fold"] == "1" and r["pairs"] == {"train": 16, "dev": 0, "test": 6} and r["train"]["steps"] == 2
    assert r["test"]["metric"].startswith("P/R/F1 of the positive class")


def test_evaluate_re_cli(cv_run, tmp_path):
    root, _ = cv_run
    r = ok("evaluate", "re", "--model", root / "model" / "fold-1", "--data", root / "data" / "1" / "test.tsv",
           "--predictions", tmp_path / "p.jsonl")  # --format defaults to the model's training format
    res = _json(r)
    assert res["n_pairs"] == 6 and {"precision", "recall", "f1", "specificity"} <= set(res)
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    # the same record as finetune's test_predictions.jsonl (the predicted label was "label" here, "pred" there)
    assert len(lines) == 6 and set(json.loads(lines[0])) == set(json.loads(
        (root / "model" / "fold-1" / "test_predictions.jsonl").read_text().splitlines()[0]))
    assert {"id", "gold", "pred", "score"} <= set(json.loads(lines[0]))


def test_chemprot_style_run_selects_on_dev_and_scores_skipped_gold(tiny_bert, tmp_path):
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re

    rows = ["BC6ENTC inhibits BC6ENTG strongly .\tCPR:4", "BC6ENTG is activated by BC6ENTC .\tCPR:3", "BC6ENTC and BC6ENTG co-occur .\tFalse"] * 3
    for split in ("train", "dev", "test"):
        extra = ["CHEM (PGH) synthase BC6ENTG .\tCPR:4"] if split == "test" else []
        (tmp_path / f"{split}.tsv").write_text("sentence\tlabel\n" + "\n".join(rows + extra) + "\n", encoding="utf-8")
    cfg = load_config(REConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=24", "train.epochs=1", "train.batch_size=6",
                                        "train.lr=1e-3", "metric=chemprot"],
                      base={"data": {"format": "chemprot_tsv", "missing_mask": "skip", "train": str(tmp_path / "train.tsv"),
                                     "dev": str(tmp_path / "dev.tsv"), "test": str(tmp_path / "test.tsv")}})
    rep = finetune_re(cfg, progress=False)
    assert rep["spec"]["labels"] == ["CPR:3", "CPR:4", "False"] and rep["spec"]["negative_label"] == "False"
    assert rep["spec"]["masks"] == {"Chemical": "BC6ENTC", "Gene": "BC6ENTG"}
    assert len(rep["train"]["history"]) == 1 and rep["dev_f1"] is not None
    assert rep["test"]["n_missed_gold_scored_negative"] == 1 and rep["test"]["n_gold"] == 7  # 6 CPR rows + the skipped one
    assert rep["counts"]["test"]["rows_skipped_mask_count"] == 1
    assert rep["model_selection"] == "best dev chemprot (9 pairs)"
    # an empty dev file used to leave the run without model selection and without a word
    (tmp_path / "empty.tsv").write_text("sentence\tlabel\n", encoding="utf-8")
    cfg.data.dev, cfg.out = str(tmp_path / "empty.tsv"), str(tmp_path / "m2")
    rep = finetune_re(cfg, progress=False)
    assert rep["model_selection"].startswith("none (the dev file holds no pair)") and rep["dev_f1"] is None
    # labels come from the training data: one only in test is counted, not made a class; an empty test file is said
    with open(tmp_path / "test.tsv", "a", encoding="utf-8") as fh:
        fh.write("BC6ENTC mimics BC6ENTG .\tCPR:9\n")
    cfg.data.dev, cfg.out = str(tmp_path / "dev.tsv"), str(tmp_path / "m3")
    rep = finetune_re(cfg, progress=False)
    assert rep["spec"]["labels"] == ["CPR:3", "CPR:4", "False"] and rep["gold_labels_not_learned"] == {"test": {"CPR:9": 1}}
    assert isinstance(rep["dev_evaluation_counts"], dict)  # what scoring dev changed (pairs_too_long, ...) is reported
    cfg.data.test, cfg.out = str(tmp_path / "empty.tsv"), str(tmp_path / "m4")
    rep = finetune_re(cfg, progress=False)
    assert rep["test"] is None and rep["empty_test_file"].endswith("empty.tsv")
    meta = json.loads((tmp_path / "m4" / "biobert.json").read_text())
    assert meta["missing_mask"] == "skip"  # `evaluate re` reads the test file the way training did


def _assert_relations_on_spans(doc: dict):
    text = doc["text"]
    keys = {(s["start"], s["end"], s["label"]) for s in doc["spans"]}
    for s in doc["spans"]:
        assert text[s["start"] : s["end"]] == s["text"]
    for r in doc["relations"]:
        for arg in (r["head"], r["tail"]):
            assert (arg["start"], arg["end"], arg["label"]) in keys
            assert text[arg["start"] : arg["end"]] == arg["text"]


def test_extractor_api_on_document_and_text(positive_model, tagger_dir):
    from biobert import Extractor, Tagger

    ex = Extractor.load(positive_model)
    text = "BRCA1 mutations cause breast cancer. Tamoxifen was given. TP53 is mutated in colorectal cancer."
    doc = Document("d", text).with_spans([Span(0, 5, "Gene"), Span(22, 35, "Disease"), Span(37, 46, "Chemical"),
                                          Span(58, 62, "Gene"), Span(77, 94, "Disease")])
    out = ex(doc)
    assert [(r.head.text, r.tail.text, r.label) for r in out.relations] == [("BRCA1", "breast cancer", "Association"), ("TP53", "colorectal cancer", "Association")]
    assert all(r.head in out.spans and r.tail in out.spans and 0 <= r.score <= 1 for r in out.relations)
    assert ex.last_stats["candidates"] == 2
    wide = Extractor.load(positive_model, scope="window", window_chars=100)(doc)
    assert len(wide.relations) == 4
    tagged = ex(text, tagger=Tagger.load(tagger_dir))
    _assert_relations_on_spans(tagged.to_dict())
    assert tagged.spans
    # tagger=False: the document's own spans, never NER (a bare text has none, so no relations)
    assert ex(doc, tagger=False).relations == out.relations
    bare = ex(text, tagger=False)
    assert not bare.spans and not bare.relations and ex._tagger is None
    # the splitter decides which spans share a sentence: none at all makes every Gene-Disease pair a candidate
    one = Extractor.load(positive_model, splitter="none")(doc, tagger=False)
    assert len(one.relations) == 4


def test_extractor_loads_by_hub_id(positive_model, tmp_path):
    """A biobert RE model on the hub is fetched whole (its head is a file of its own): here from an offline cache."""
    import subprocess
    import sys

    from ..conftest import fake_hub_cache

    env = fake_hub_cache(tmp_path / "hf", "biobert-test/tiny-re", Path(positive_model))
    code = (
        "from biobert import Extractor; from biobert.types import Document, Span\n"
        "d = Document('d', 'BRCA1 mutations cause breast cancer.').with_spans([Span(0, 5, 'Gene'), Span(22, 35, 'Disease')])\n"
        "print([(r.head.text, r.label, r.tail.text) for r in Extractor.load('biobert-test/tiny-re')(d, tagger=False).relations])\n"
    )
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[('BRCA1', 'Association', 'breast cancer')]"


def test_serve_extract_with_real_models(positive_model, tagger_dir):
    import asyncio

    httpx = pytest.importorskip("httpx")
    pytest.importorskip("fastapi")
    from biobert import Extractor, Tagger
    from biobert.serve import create_app

    app = create_app(Tagger.load(tagger_dir), extractor=Extractor.load(positive_model))
    pt = ("1|t|BRCA1 mutations cause breast cancer.\n1|a|No more.\n"
          "1\t0\t5\tBRCA1\tGene\t672\n1\t22\t35\tbreast cancer\tDisease\tD001943\n\n")

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            r = await c.post("/extract", json={"pubtator": pt, "keep_spans": True})
            assert r.status_code == 200, r.text
            (d,) = r.json()["documents"]
            assert [(x["head"]["text"], x["tail"]["text"]) for x in d["relations"]] == [("BRCA1", "breast cancer")]
            _assert_relations_on_spans(d)
            r = await c.post("/extract", json={"text": "BRCA1 mutations cause hereditary breast cancer."})
            (d,) = r.json()["documents"]
            assert d["spans"]
            _assert_relations_on_spans(d)

    asyncio.run(go())


def test_extract_cli_raw_text_and_pubtator(positive_model, tagger_dir, tmp_path):
    raw = tmp_path / "abstract.txt"
    raw.write_text("BRCA1 mutations cause hereditary breast cancer. Mutations in the CFTR gene cause cystic fibrosis.\n", encoding="utf-8")
    out = tmp_path / "out.json"
    ok("extract", "--model", positive_model, "--tagger", tagger_dir, "--input", raw, "--output", out)
    docs = json.loads(out.read_text())
    assert len(docs) == 1 and docs[0]["spans"]
    _assert_relations_on_spans(docs[0])
    pub = tmp_path / "in.pubtator"
    pub.write_text("1|t|BRCA1 mutations cause breast cancer.\n1|a|No more.\n1\t0\t5\tBRCA1\tGene\t672\n1\t22\t35\tbreast cancer\tDisease\tD001943\n\n",
                   encoding="utf-8")
    r = ok("extract", "--model", positive_model, "--input", pub, "--keep-spans", "--output-format", "json")
    (d,) = json.loads(r.stdout[r.stdout.index("["):r.stdout.rindex("]") + 1])
    assert [(x["head"]["text"], x["tail"]["text"]) for x in d["relations"]] == [("BRCA1", "breast cancer")]
    _assert_relations_on_spans(d)
    r = ok("extract", "--model", positive_model, "--input", pub, "--keep-spans", "--output-format", "pubtator", "--output", tmp_path / "o.pubtator")
    from biobert import io

    back = io.read(tmp_path / "o.pubtator", fmt="pubtator")
    assert len(back[0].spans) == 2 and "1\tAssociation\t672\tD001943" in (tmp_path / "o.pubtator").read_text()
    # --link: spans without ids get them from a dictionary, and the relation arguments are the linked spans
    (tmp_path / "kb.tsv").write_text("NCBIGene:672\tBRCA1\nMESH:D001943\tbreast cancer\n", encoding="utf-8")
    bare = tmp_path / "bare.pubtator"
    bare.write_text("1|t|BRCA1 mutations cause breast cancer.\n1|a|No more.\n1\t0\t5\tBRCA1\tGene\n1\t22\t35\tbreast cancer\tDisease\n\n",
                    encoding="utf-8")
    r = ok("extract", "--model", positive_model, "--input", bare, "--keep-spans", "--link", tmp_path / "kb.tsv", "--output-format", "json")
    (d,) = json.loads(r.stdout[r.stdout.index("["):r.stdout.rindex("]") + 1])
    assert [(x["head"].get("ids"), x["tail"].get("ids")) for x in d["relations"]] == [([["NCBIGene", "NCBIGene:672"]], [["MESH", "MESH:D001943"]])]
    assert json.loads(r.stderr.strip().splitlines()[-1])["link_linked_exact"] == 2


@pytest.mark.parametrize("style,pooling", [("mask", "cls"), ("mask", "mean"), ("markers", "entity_start")])
def test_re_fits_its_training_data(tiny_bert, tmp_path, style, pooling):
    """RE fine-tuning must be able to learn: positives and negatives differ in their words, and the model
    separates them on its own training rows. A head reading the wrong position stays at one class."""
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re

    write_folds(tmp_path / "data")
    cfg = load_config(REConfig, write_config(tmp_path / "c.yaml", tmp_path / "data", tmp_path / "m", tiny_bert,
                                             style=style, pooling=pooling))
    cfg.train.epochs, cfg.train.lr, cfg.train.batch_size = 25, 5e-3, 4
    rep = finetune_re(cfg, progress=False, fold="1")
    print(style, pooling, rep["test"])
    assert rep["test"]["f1"] >= 0.9 and rep["test"]["precision"] >= 0.9, rep["test"]


def test_extract_cli_reports_type_pairs_the_tagger_cannot_fill(positive_model, tagger_dir, tmp_path):
    """The tagger tags Gene and Disease: a Chemical:Gene model could never find a relation, which is counted
    (and logged as W305) instead of a silent empty result."""
    r = ok("extract", "BRCA1 mutations cause breast cancer.", "--model", positive_model, "--tagger", tagger_dir,
           "--type-pairs", "Chemical:Gene")
    stats = json.loads(r.stderr.strip().splitlines()[-1])
    assert stats["type_pairs_unmatched_by_tagger"] == 1 and stats["candidates"] == 0
    r = ok("extract", "BRCA1 mutations cause breast cancer.", "--model", positive_model, "--tagger", tagger_dir)
    assert "type_pairs_unmatched_by_tagger" not in json.loads(r.stderr.strip().splitlines()[-1])


def test_evaluate_re_cli_needs_a_data_file(positive_model, tmp_path):
    r = runner.invoke(app, ["evaluate", "re", "--model", str(positive_model), "--data", str(tmp_path)])  # biobert_tsv: no directory
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert [line for line in r.stderr.splitlines() if line.startswith("error: ")] == [
        f"error: E423 data file {str(tmp_path)!r} is a directory"]


def test_dev_from_train_splits_a_single_tsv_file(tmp_path):
    """Every row of a TSV file has the same source: split by it, the whole file went to dev (or stayed in
    train), so a GAD fold with an empty dev.tsv could not hold out any dev pairs. Rows split by sentence."""
    from biobert.recipes.re import REDataConfig, _split_dev, load_re_split

    rows = [f"Row {i} says @GENE$ is tied to @DISEASE$.\t{i % 2}" for i in range(200)]
    (tmp_path / "train.tsv").write_text("\n".join(rows + rows[:20]) + "\n", encoding="utf-8")  # 20 repeated sentences
    docs, _ = load_re_split(REDataConfig(format="biobert_tsv", train=str(tmp_path / "train.tsv")), "train")
    train, dev = _split_dev(docs, 0.2)
    assert len(train) + len(dev) == 220 and 20 <= len(dev) <= 70
    assert not {d.text for d in train} & {d.text for d in dev}  # a repeated sentence stays on one side


def test_blue_and_ddi_tsv_formats_load(tmp_path):
    from collections import Counter

    from biobert.recipes.re import FORMAT_DEFAULTS, REDataConfig, load_re_split

    (tmp_path / "ddi.tsv").write_text("index\tsentence\tlabel\nDDI-MedLine.d1.s0.p0\t@DRUG$ raises @DRUG$ .\tDDI-effect\n"
                                      "DDI-MedLine.d1.s0.p1\t@drug-drug$ .\tDDI-int\n", encoding="utf-8")
    stats, skipped = Counter(), []
    docs, _ = load_re_split(REDataConfig(format="ddi_tsv", test=str(tmp_path / "ddi.tsv"), missing_mask="skip"), "test", None, stats, skipped)
    assert [d.relations[0].label for d in docs] == ["effect"] and [s["label"] for s in skipped] == ["int"]
    assert FORMAT_DEFAULTS["ddi_tsv"] == ("false", "ddi") and FORMAT_DEFAULTS["chemprot_bc6"] == ("False", "chemprot")


def test_chemprot_release_finetune_and_evaluate(tiny_bert, tmp_path):
    """The original BioCreative VI files: a split directory per data path, pairs from the entities, CPR groups as
    labels; the cross-sentence gold relation is scored as a miss (test n_gold counts it)."""
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re

    from ..io.test_chemprot_bc6 import write_split

    for split in ("training", "development", "test"):
        write_split(tmp_path / "cp", split)
    cfg = load_config(REConfig, None, [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=32", "train.epochs=1",
                                        "train.batch_size=4", "train.lr=1e-3", "style=markers", "pooling=entity_start"],
                      base={"data": {"format": "chemprot_bc6", "train": str(tmp_path / "cp" / "chemprot_training"),
                                     "dev": str(tmp_path / "cp" / "chemprot_development"),
                                     "test": str(tmp_path / "cp" / "chemprot_test_gs")}})
    rep = finetune_re(cfg, progress=False)
    assert rep["spec"]["labels"] == ["CPR:4", "False"] and rep["spec"]["negative_label"] == "False"
    assert rep["spec"]["type_pairs"] == [["Chemical", "Gene"]] and rep["pairs"] == {"train": 3, "dev": 3, "test": 3}
    assert rep["test"]["metric"].startswith("micro P/R/F1 over CPR:3")
    assert rep["test"]["n_gold"] == 3 and rep["test"]["n_missed_gold_scored_negative"] == 1
    assert rep["counts"]["test"]["gold_not_a_candidate"] == 1 and rep["skipped_gold"]["test"] == 1
    r = ok("evaluate", "re", "--model", tmp_path / "m", "--data", tmp_path / "cp" / "chemprot_test_gs" / "chemprot_test_abstracts_gs.tsv")
    res = _json(r)
    assert res["n_pairs"] == 3 and res["n_gold"] == 3 and res["counts"]["abstracts"] == 1
    r = ok("evaluate", "re", "--model", tmp_path / "m", "--data", tmp_path / "cp" / "chemprot_test_gs")  # the directory too
    assert _json(r)["n_gold"] == 3


def test_fold_flags_that_would_be_ignored_are_refused(tmp_path):
    from typer.testing import CliRunner

    from biobert.cli import app

    cfg = tmp_path / "c.yaml"
    cfg.write_text("data:\n  format: biobert_tsv\n  train: t.tsv\n  folds: ['1', '2']\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["finetune", "re", "--config", str(cfg), "--cv", "--fold", "1"])
    assert r.exit_code == 2 and "E447" in r.output and "not both" in r.output
    plain = tmp_path / "p.yaml"
    (tmp_path / "t.tsv").write_text("index\tsentence\tlabel\n0\t@GENE$ causes @DISEASE$ .\t1\n", encoding="utf-8")
    plain.write_text(f"data:\n  format: biobert_tsv\n  train: {tmp_path / 't.tsv'}\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["finetune", "re", "--config", str(plain), "--fold", "1"])
    assert r.exit_code == 2 and "E447" in r.output and "no folds" in r.output
    # folds but one file for all: k identical runs reported as a k-fold mean with sd 0
    cfg.write_text(f"data:\n  format: biobert_tsv\n  train: {tmp_path / 't.tsv'}\n  test: {tmp_path / 't.tsv'}\n"
                   "  folds: ['1', '2']\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["finetune", "re", "--config", str(cfg), "--cv"])
    assert r.exit_code == 2 and "E448" in r.output and "data.train with {fold}" in r.output


def test_folds_run_one_by_one_or_added_later_are_kept_by_cv(tiny_bert, tmp_path):
    """A fold run alone (--fold, e.g. folds in parallel jobs) lands where --cv finds it, and the list of the other
    folds does not change a fold's training: adding a fold resumes the finished ones."""
    import shutil

    write_folds(tmp_path / "data")
    cfg = write_config(tmp_path / "c.yaml", tmp_path / "data", tmp_path / "model", tiny_bert)
    alone = _json(ok("finetune", "re", "--config", cfg, "--fold", "2"))
    assert alone["out"] == str(tmp_path / "model" / "fold-2")
    r = run("finetune", "re", "--config", cfg, "--fold", "7")
    assert r.exit_code == 2 and "E447 --fold 7 is not one of data.folds" in r.stderr
    first = _json(ok("finetune", "re", "--config", cfg, "--cv"))
    assert json.loads((tmp_path / "model" / "fold-2" / "report.json").read_text())["train"]["resume_check"] == "verified"
    assert first["per_fold"]["2"]["f1"] == alone["test"]["f1"]
    (tmp_path / "data" / "3").mkdir()
    for f in ("train.tsv", "dev.tsv", "test.tsv"):
        shutil.copy(tmp_path / "data" / "1" / f, tmp_path / "data" / "3" / f)
    import yaml

    c = yaml.safe_load(cfg.read_text())
    c["data"]["folds"] = ["1", "2", "3"]
    cfg.write_text(yaml.safe_dump(c), encoding="utf-8")
    r = _json(ok("finetune", "re", "--config", cfg, "--cv"))
    assert set(r["per_fold"]) == {"1", "2", "3"} and r["per_fold"]["1"]["f1"] == first["per_fold"]["1"]["f1"]
    rep = json.loads((tmp_path / "model" / "fold-1" / "report.json").read_text())
    assert rep["train"]["resume_check"] == "verified"


def test_score_labels_counts_labels_the_chemprot_metric_leaves_out():
    from biobert.recipes.re import score_labels

    out = score_labels("chemprot", ["cpr:3", "CPR:4", "CPR:1", "False"], ["cpr:3", "CPR:4", "False", "False"], "False")
    # lower-case cpr:3 is not a ChemProt class: left out of the micro-F1, and now said so instead of vanishing
    assert (out["tp"], out["n_gold"], out["n_pred"]) == (1, 1, 1)
    assert out["gold_labels_not_scored"] == {"CPR:1": 1, "cpr:3": 1} and out["predicted_labels_not_scored"] == {"cpr:3": 1}
    assert "gold_labels_not_scored" not in score_labels("ddi", ["int", "false"], ["int", "false"], "false")


def test_jsonl_pairs_with_a_negative_looking_label_need_negative_label(tiny_bert, tmp_path):
    from biobert import io
    from biobert.config import load_config
    from biobert.errors import TrainingError
    from biobert.recipes.re import REConfig, REDataConfig, finetune_re, load_re_split

    write_folds(tmp_path / "data")
    docs, _ = load_re_split(REDataConfig(format="biobert_tsv", train=str(tmp_path / "data" / "1" / "train.tsv")), "train")
    io.write(docs, tmp_path / "pairs.jsonl", fmt="jsonl")
    base = {"data": {"format": "jsonl", "train": str(tmp_path / "pairs.jsonl"), "test": str(tmp_path / "pairs.jsonl")}}
    sets = [f"encoder={tiny_bert}", f"out={tmp_path / 'm'}", "max_length=32", "train.epochs=1", "train.batch_size=8"]
    # jsonl has no negative label: "0" would be a relation class, and micro-F1 over every label is accuracy
    with pytest.raises(TrainingError, match=r"E536 .*\['0'\].*negative_label"):
        finetune_re(load_config(REConfig, None, sets, base=base), progress=False)
    rep = finetune_re(load_config(REConfig, None, sets + ["negative_label=0"], base=base), progress=False)
    assert rep["spec"]["negative_label"] == "0" and "'0'" in rep["test"]["metric"]


def test_extract_cli_reports_what_the_output_format_cannot_hold(positive_model, tmp_path):
    pub = tmp_path / "in.pubtator"  # spans without ids: PubTator relation lines can name them only by their text
    pub.write_text("1|t|BRCA1 mutations cause breast cancer.\n1|a|No more.\n1\t0\t5\tBRCA1\tGene\n1\t22\t35\tbreast cancer\tDisease\n\n",
                   encoding="utf-8")
    r = ok("extract", "--model", positive_model, "--input", pub, "--keep-spans", "--output-format", "pubtator")
    counts = json.loads(r.stderr.strip().splitlines()[-1])
    # /extract said these; the CLI used to print only the tagger's and extractor's counts
    assert counts["output_relation_arguments_named_by_text"] == 2 and counts["output_dropped_scores"] >= 1
