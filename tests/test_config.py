"""Run configurations: strict types (E402), value ranges at load (E415), readable --set paths (E416)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from biobert.config import apply_overrides, convert, from_dict, load_config
from biobert.errors import ConfigError
from biobert.recipes.ner import NERConfig
from biobert.recipes.qa import QAConfig
from biobert.recipes.re import REConfig
from biobert.train import TrainConfig


def _ner(*overrides: str) -> NERConfig:
    return load_config(NERConfig, None, list(overrides), base={"corpora": [{"name": "c", "train": "t.tsv"}]})


def _code(exc: pytest.ExceptionInfo) -> str:
    return str(exc.value).split()[0]


# --- bug 1: no silent conversion -------------------------------------------------------------------

@pytest.mark.parametrize("override, key", [
    ("train.epochs=2.7", "train.epochs"),
    ("train.seed=1.9", "train.seed"),
    ("train.patience=true", "train.patience"),
    ("train.group_by_length=2", "train.group_by_length"),
    ("train.group_by_length='false'", "train.group_by_length"),
    ("name=[1, 2]", "name"),
    ("train.lr=abc", "train.lr"),
    ("train.lr=true", "train.lr"),
    ("train.epochs=null", "train.epochs"),
])
def test_lossy_values_are_refused(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _ner(override)
    assert _code(exc) == "E402" and key in str(exc.value)


def test_lossless_values_are_read() -> None:
    cfg = _ner("train.lr=2e-5", "train.epochs=3.0", "train.seed='7'", "train.patience=2", "name=2010",
               "train.group_by_length=no")
    assert cfg.train.lr == 2e-5 and isinstance(cfg.train.lr, float)
    assert cfg.train.epochs == 3 and isinstance(cfg.train.epochs, int)
    assert cfg.train.seed == 7 and cfg.train.patience == 2 and cfg.name == "2010"
    assert cfg.train.group_by_length is False


def test_yaml_lr_without_dot_is_a_float(tmp_path: Path) -> None:
    # PyYAML (YAML 1.1) reads 2e-5 as the string "2e-5"
    p = tmp_path / "c.yaml"
    p.write_text("corpora: [{name: c, train: t.tsv}]\ntrain: {lr: 2e-5, epochs: 1}\n")
    assert load_config(NERConfig, p).train.lr == 2e-5


def test_convert_optional_and_lists() -> None:
    assert convert(int | None, None, "x") is None
    assert convert(list[str] | None, [1, "2"], "x") == ["1", "2"]
    with pytest.raises(ConfigError, match="E402 x"):
        convert(str, 1.5, "x")
    with pytest.raises(ConfigError, match="E402 x"):
        convert(list[str], "a", "x")
    with pytest.raises(ConfigError, match="E402 x"):
        convert(bool, 1, "x")


def test_error_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "c.yaml"
    p.write_text("corpora: [{name: c, train: t.tsv}]\ntrain: {epochs: 2.5}\n")
    with pytest.raises(ConfigError, match=r"E402 train\.epochs.*c\.yaml"):
        load_config(NERConfig, p)


# --- bug 2: ranges checked at load ---------------------------------------------------------------

@pytest.mark.parametrize("override, key", [
    ("train.epochs=-1", "train.epochs"),
    ("train.epochs=0", "train.epochs"),
    ("train.batch_size=0", "train.batch_size"),
    ("train.grad_accum=0", "train.grad_accum"),
    ("train.lr=-1", "train.lr"),
    ("train.lr=0", "train.lr"),
    ("train.warmup_ratio=1.5", "train.warmup_ratio"),
    ("train.patience=0", "train.patience"),
    ("train.max_grad_norm=0", "train.max_grad_norm"),
    ("train.eval_every=0", "train.eval_every"),
    ("train.select_metric=bogus", "train.select_metric"),
    ("train.precision=fp8", "train.precision"),
    ("decode=greedy", "decode"),
    ("stride=-1", "stride"),
])
def test_ner_ranges(override: str, key: str) -> None:
    with pytest.raises(ConfigError) as exc:
        _ner(override)
    assert _code(exc) == "E415" and f"{key}:" in str(exc.value)


def test_ner_defaults_and_metrics_pass() -> None:
    for m in ("f1", "precision", "recall"):
        assert _ner(f"train.select_metric={m}").train.select_metric == m
    with pytest.raises(ConfigError, match="E407 train_on"):
        _ner("train_on=dev")


def test_re_ranges() -> None:
    base = {"data": {"format": "biobert_tsv", "train": "x"}}
    assert load_config(REConfig, None, ["train.select_metric=accuracy"], base=dict(base)).train.select_metric == "accuracy"
    with pytest.raises(ConfigError, match=r"E415 train\.select_metric"):
        load_config(REConfig, None, ["data.format=ddi", "train.select_metric=accuracy"], base={"data": dict(base["data"])})
    with pytest.raises(ConfigError, match=r"E415 data\.dev_from_train"):
        load_config(REConfig, None, ["data.dev_from_train=1.0"], base={"data": dict(base["data"])})
    with pytest.raises(ConfigError, match=r"E444 data\.format"):
        load_config(REConfig, None, ["data.format=xml"], base={"data": dict(base["data"])})
    with pytest.raises(ConfigError, match=r"E446 metric"):
        load_config(REConfig, None, ["metric=auc"], base={"data": dict(base["data"])})


def test_qa_ranges() -> None:
    def qa(*o: str) -> QAConfig:
        return load_config(QAConfig, None, list(o), base={"data": {"format": "bioasq", "train": "x"}})

    assert qa().train.select_metric == "auto"
    assert qa("train.select_metric=lenient_accuracy").train.select_metric == "lenient_accuracy"
    with pytest.raises(ConfigError, match=r"E415 train\.select_metric"):
        qa("task=yesno", "train.select_metric=mrr")
    with pytest.raises(ConfigError, match=r"E482 data\.cv_folds"):
        qa("data.cv_folds=1")
    with pytest.raises(ConfigError, match=r"E415 pre_stage\.epochs"):
        qa("pre_stage.train=s.json", "pre_stage.epochs=0")


def test_train_config_validate_direct() -> None:
    TrainConfig().validate()
    with pytest.raises(ConfigError, match=r"E415 train\.batch_size"):
        from_dict(TrainConfig, {"batch_size": 0}, "train")


# --- bug 3: bad --set paths -------------------------------------------------------------------------

@pytest.mark.parametrize("override", ["train.lr.x=1", "corpora.5.train=x", "corpora.x.train=x", "corpora.0..train=x"])
def test_bad_override_paths(override: str) -> None:
    data = {"corpora": [{"name": "c", "train": "t.tsv"}], "train": {"lr": 1e-5}}
    with pytest.raises(ConfigError) as exc:
        apply_overrides(data, [override])
    assert _code(exc) == "E416" and repr(override) in str(exc.value)


def test_good_override_paths() -> None:
    data = {"corpora": [{"name": "c"}], "pre_stage": None}
    apply_overrides(data, ["corpora.0.train=t.tsv", "train.lr=3e-5", "pre_stage.train=s.json", "corpora.-1.dev=d"])
    assert data == {"corpora": [{"name": "c", "train": "t.tsv", "dev": "d"}], "train": {"lr": "3e-5"}, "pre_stage": {"train": "s.json"}}


def test_overrides_keep_the_data_placeholder_in_scalars_and_lists():
    """``{data}`` is a path placeholder; plain YAML reads it as a flow mapping and failed with a raw ParserError."""
    from biobert.config import apply_overrides

    out = apply_overrides({}, ["data.test={data}/qa/test.json", "data.golden=[{data}/g1.json, {data}/g2.json]", "n=[1, 2]"])
    assert out == {"data": {"test": "{data}/qa/test.json", "golden": ["{data}/g1.json", "{data}/g2.json"]}, "n": [1, 2]}


def test_override_value_that_is_not_yaml_is_a_typed_error():
    from biobert.config import apply_overrides

    with pytest.raises(ConfigError, match=r"E404 override 'a=\[1, 2': the value is not valid YAML"):
        apply_overrides({}, ["a=[1, 2"])


# --- every shipped config loads ----------------------------------------------------------------------

_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", sorted(str(p.relative_to(_ROOT)) for p in (_ROOT / "configs").glob("*/*.yaml")))
def test_every_shipped_config_loads_with_its_recipe(path):
    """A typo in a shipped config (a key the recipe lacks, a bad value) is E402/E415 here, not in a user's run."""
    from biobert.pretrain.loop import PretrainConfig

    task = Path(path).parent.name
    if task == "pretrain":  # read as `biobert pretrain --config` reads it
        from biobert.cli.pretrain import _load_yaml

        assert PretrainConfig.from_dict(_load_yaml(_ROOT / path)).output
    else:
        assert load_config({"ner": NERConfig, "re": REConfig, "qa": QAConfig}[task], _ROOT / path, []).encoder


def test_a_config_file_that_is_not_yaml_utf8_or_a_file_is_a_typed_error(tmp_path):
    """A YAML syntax error raised yaml.ParserError naming "<unicode string>"; a directory IsADirectoryError; a
    Latin-1 file UnicodeDecodeError."""
    from biobert.config import load_config
    from biobert.errors import ConfigError
    from biobert.recipes.ner import NERConfig

    bad = tmp_path / "bad.yaml"
    bad.write_text("encoder: minilm\ncorpora:\n  - name: A\n    train: x.tsv\n   dev: y.tsv\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"E406 {re.escape(str(bad))}:5: not valid YAML"):
        load_config(NERConfig, bad)
    with pytest.raises(ConfigError, match="E405 .* is a directory"):
        load_config(NERConfig, tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"encoder: caf\xe9\n")
    with pytest.raises(ConfigError, match="E406 .*not UTF-8"):
        load_config(NERConfig, latin)


def test_missing_required_keys_are_named():
    with pytest.raises(ConfigError, match=r"E403 config: missing required key\(s\) corpora$"):
        load_config(NERConfig, None, [])
    with pytest.raises(ConfigError, match=r"E403 .*missing required key\(s\) corpora\[0\]\.name"):
        load_config(NERConfig, None, [], base={"corpora": [{"train": "x.tsv"}]})
