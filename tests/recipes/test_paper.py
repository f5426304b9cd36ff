"""`biobert reproduce`: every paper row points at a config that loads with its settings; a row runs per seed."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from biobert.cli import app
from biobert.config import load_config
from biobert.recipes.paper import ROWS, PaperRow, config_path, run_row
from tests.nerdata import gold_docs
from tests.recipes.test_ner_recipe import write_conll

runner = CliRunner()


@pytest.mark.parametrize("row_id", sorted(ROWS))
def test_every_row_config_loads_with_its_settings(row_id):
    from biobert.recipes.ner import NERConfig
    from biobert.recipes.qa import QAConfig
    from biobert.recipes.re import REConfig

    row = ROWS[row_id]
    cls = {"ner": NERConfig, "re": REConfig, "qa": QAConfig}[row.task]
    cfg = load_config(cls, config_path(row), [*row.overrides, "train.seed=2", "encoder=some/dir"])
    assert cfg.train.seed == 2 and cfg.encoder == "some/dir"
    for o in row.overrides:  # a misspelt key would have raised; the value must have landed
        key, val = o.split("=", 1)
        obj = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        assert str(obj) == val or float(obj) == float(val), o
    assert row.paper and all(m in row.metrics for figs in row.paper.values() for m in figs)


def test_a_row_runs_per_seed_and_resumes(tiny_bert, tmp_path):
    docs = gold_docs({"Chemical", "Disease"})
    write_conll(docs[:12], tmp_path / "train.tsv")
    write_conll(docs[12:], tmp_path / "test.tsv")
    cfg = {"encoder": str(tiny_bert), "max_length": 32, "stride": 8,
           "corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "dev": str(tmp_path / "test.tsv"), "test": str(tmp_path / "test.tsv")}],
           "train": {"epochs": 2, "batch_size": 8, "lr": 3e-3, "log_every": 1000}}
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    row = PaperRow("ner-tiny", "ner", "configs/tiny.yaml", ("train.epochs=1",), paper={"Someone": {"f1": 50.0}})
    s = run_row(row, [1, 2], out=tmp_path / "runs", configs=tmp_path, progress=False)
    assert list(s["per_seed"]) == ["1", "2"] and s["mean"]["f1"]["n"] == 2
    assert s["per_seed"]["1"] != s["per_seed"]["2"] or s["mean"]["f1"]["sd"] == 0
    assert (tmp_path / "runs" / "ner-tiny-default" / "seed-2" / "report.json").exists()
    # the command the report records is one the CLI takes (`--seeds 1 2` read 2 as a second row)
    rep = json.loads((tmp_path / "runs" / "ner-tiny-default" / "seed-2" / "report.json").read_text())
    assert rep["command"] == "biobert reproduce ner-tiny --seeds 1 --seeds 2"
    assert s["markdown"].startswith("| ner-tiny | the config's | precision") and "Someone: f1 50.00" in s["markdown"]
    assert json.loads((tmp_path / "runs" / "ner-tiny-default" / "summary.json").read_text()) == s  # saved, not only printed
    again = run_row(row, [1, 2], out=tmp_path / "runs", configs=tmp_path, progress=False)  # finished seeds are read back
    assert again["per_seed"] == s["per_seed"]


def test_cli_lists_rows_and_rejects_unknown_ones(tmp_path):
    r = runner.invoke(app, ["reproduce", "--list"])
    assert r.exit_code == 0 and all(i in r.stdout for i in ROWS)
    noted = [row for row in ROWS.values() if row.note]
    assert all(row.note in r.stdout for row in noted)  # how a row departs from the paper is listed with it
    r = runner.invoke(app, ["reproduce", "ner-nope"])
    assert r.exit_code == 2 and "E491" in r.stderr
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match="E490"):  # the configs live in the repository, not in the wheel
        config_path(PaperRow("x", "ner", "configs/ner/not_there.yaml"), tmp_path)


def test_a_cross_validated_row_reports_the_mean_over_folds(tiny_bert, tmp_path):
    from tests.recipes.test_qa_recipe import squad_file

    (tmp_path / "configs").mkdir()
    cfg = {"encoder": str(tiny_bert), "task": "factoid", "max_length": 48, "stride": 8, "max_query_length": 8,
           "data": {"format": "squad", "train": str(squad_file(tmp_path / "q.json", 8)), "cv_folds": 2},
           "train": {"epochs": 1, "batch_size": 4, "lr": 1e-3, "log_every": 1000}}
    (tmp_path / "configs" / "qa.yaml").write_text(yaml.safe_dump(cfg))
    row = PaperRow("qa-tiny", "qa", "configs/qa.yaml", metrics=("strict_accuracy", "mrr"), paper={"X": {"mrr": 1.0}})
    s = run_row(row, [3], out=tmp_path / "runs", configs=tmp_path, progress=False)
    folds = [tmp_path / "runs" / "qa-tiny-default" / "seed-3" / f"fold-{j}" / "biobert.json" for j in (0, 1)]
    assert all(f.exists() for f in folds) and set(s["per_seed"]["3"]) == {"strict_accuracy", "mrr"}


def test_overrides_get_their_own_run_directory_and_e504_advice_works_for_reproduce(tiny_bert, tmp_path):
    """A row rerun with other --set overrides in the same --out failed with E504, telling the user to pass
    --no-resume, which `biobert reproduce` does not have. Overrides now pick a directory of their own (a plain rerun
    keeps resuming), and an E504 that can still happen (the config file changed) gives advice that works."""
    from biobert.errors import TrainingError
    from biobert.recipes.paper import run_dir_name

    docs = gold_docs({"Chemical", "Disease"})
    write_conll(docs[:12], tmp_path / "train.tsv")
    write_conll(docs[12:], tmp_path / "test.tsv")
    cfg = {"encoder": str(tiny_bert), "max_length": 32, "stride": 8,
           "corpora": [{"name": "A", "train": str(tmp_path / "train.tsv"), "test": str(tmp_path / "test.tsv")}],
           "train": {"epochs": 1, "batch_size": 8, "lr": 3e-3, "log_every": 1000}}
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    row = PaperRow("ner-tiny", "ner", "configs/tiny.yaml", paper={"Someone": {"f1": 50.0}})
    runs = tmp_path / "runs"
    plain = run_row(row, [1], out=runs, configs=tmp_path, progress=False)
    lr = run_row(row, [1], out=runs, configs=tmp_path, progress=False, overrides=["train.lr=1e-3"])  # was E504
    assert plain["out"] == str(runs / "ner-tiny-default")
    assert lr["out"] == str(runs / run_dir_name(row, None, ["train.lr=1e-3"])) != plain["out"]
    assert run_dir_name(row, None, ["train.lr=1e-3"]) != run_dir_name(row, None, ["train.lr=2e-3"])
    assert run_dir_name(row, "some/dir", ()) == "ner-tiny-some_dir"
    assert run_row(row, [1], out=runs, configs=tmp_path, progress=False)["per_seed"] == plain["per_seed"]  # resumes
    # the config file changed under a finished run: E504 names what reproduce can do, not --no-resume
    cfg["max_length"] = 24
    (tmp_path / "configs" / "tiny.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(TrainingError, match="E504") as err:
        run_row(row, [1], out=runs, configs=tmp_path, progress=False)
    assert "--no-resume" not in str(err.value) and "another --out" in str(err.value)
    assert str(runs / "ner-tiny-default" / "seed-1") in str(err.value)
    r = runner.invoke(app, ["reproduce", "--help"])
    assert "-set<hash>" in r.stdout


def test_rows_show_verified_figures_with_their_sources():
    """PROTOCOLS.md marks the paper's v1.1 GAD (79.83) and EU-ADR (79.74) F1 unverified (◐): the rows show its
    verified figures, each labelled with its source; figures PROTOCOLS.md does not give (DDI, PubMedQA) say so."""
    from biobert.recipes.paper import NO_FIGURE, markdown_row

    def figs(row_id):
        return {(sys, m): v for sys, f in ROWS[row_id].paper.items() for m, v in f.items()}

    for row_id, verified in (("re-gad", {81.61, 79.29, 82.37}), ("re-euadr", {86.51, 84.62, 85.13})):
        shown = figs(row_id)
        assert {v for (_, m), v in shown.items() if m == "f1"} == verified
        assert all("[SUM-BB]" in sys or "[BBPT]" in sys for sys, _ in shown)
    for row_id in ("re-ddi", "qa-pubmedqa"):
        assert all("not in PROTOCOLS.md" in sys and "BLURB" in sys for sys in ROWS[row_id].paper)
        assert "PROTOCOLS.md gives no" in ROWS[row_id].note
    yn = ROWS["qa-bioasq7b-yesno"]
    assert yn.config == "configs/qa/bioasq7b_yesno.yaml" and yn.metrics == ("accuracy", "macro_f1")
    assert {v for f in yn.paper.values() for v in f.values()} == {69.29, 65.75, 64.29, 58.04}
    assert "easier than the official 7b test set" in ROWS["qa-bioasq7b-factoid"].note.lower()
    s = {"row": "x", "encoder": "e", "mean": {"f1": {"mean": 0.5, "sd": 0.0, "n": 1}}, "paper": {}}
    assert markdown_row(s).endswith(f"| {NO_FIGURE} |")


def test_a_row_without_its_test_set_is_refused_before_training(tmp_path):
    from biobert.errors import ConfigError

    with pytest.raises(ConfigError, match="E491 row 'qa-bioasq7b-yesno'.*data.test"):
        run_row(ROWS["qa-bioasq7b-yesno"], [1], out=tmp_path, progress=False)
    assert not any((tmp_path / "qa-bioasq7b-yesno-default").glob("seed-1/*"))
