"""The CLI commands parse their options and call the library."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from biobert.cli import app

from .conftest import TINY_MODEL

runner = CliRunner()


def _json(output: str) -> dict:
    return json.loads(output[output.index("{"):])


def test_vocab_then_pretrain_then_resume_from_output_only(corpus_file, tmp_path):
    res = runner.invoke(app, ["vocab", "--corpus", str(corpus_file), "--output", str(tmp_path / "v"), "--size", "200", "--cased"])
    assert res.exit_code == 0, res.output
    assert _json(res.output)["vocab_size"] <= 200

    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "corpus: [" + str(corpus_file) + "]\n"
        f"output: {tmp_path / 'run'}\n"
        "objective: mlm\nfrom_scratch: true\n"
        f"tokenizer: {tmp_path / 'v'}\n"
        f"model_config: {json.dumps(TINY_MODEL)}\n"
        "max_length: 48\nbatch_size: 4\nmax_steps: 4\nsave_every: 2\neval_every: 2\n"
        "shuffle_buffer: 8\nval_fraction: 0.1\nval_max_examples: 8\nprogress: false\nthreads: 1\n"
    )
    res = runner.invoke(app, ["pretrain", "--config", str(cfg), "--set", "halt_after=2"])
    assert res.exit_code == 0, res.output
    assert _json(res.output)["step"] == 2
    # without --resume an existing run is refused with a coded error
    res = runner.invoke(app, ["pretrain", "--config", str(cfg)])
    assert res.exit_code == 2 and "E468" in res.output
    # --output + --resume alone continue with the saved settings
    res = runner.invoke(app, ["pretrain", "--output", str(tmp_path / "run"), "--resume"])
    assert res.exit_code == 0, res.output
    summary = _json(res.output)
    assert summary["step"] == 4 and summary["final"]


def test_pretrain_usage_errors(tmp_path):
    res = runner.invoke(app, ["pretrain", "--output", str(tmp_path / "x"), "--objective", "gpt"])
    assert res.exit_code == 2 and "E463" in res.output
    res = runner.invoke(app, ["pretrain", "--corpus", str(tmp_path / "missing*.txt"), "--output", str(tmp_path / "x")])
    assert res.exit_code == 2 and "E450" in res.output


def test_vocab_usage_errors_are_typed(corpus_file, tmp_path):
    """`vocab -o EXISTING_FILE` ended in a FileExistsError traceback; --val-fraction 0.9 was taken although
    pretraining refuses anything from 0.5 up."""
    f = tmp_path / "vocab.txt"
    f.write_text("x\n")
    res = runner.invoke(app, ["vocab", "--corpus", str(corpus_file), "-o", str(f), "--size", "100"])
    assert res.exit_code == 2 and "E559" in res.output and "vocab.txt" in res.output
    res = runner.invoke(app, ["vocab", "--corpus", str(corpus_file), "-o", str(tmp_path / "v"), "--size", "100", "--val-fraction", "0.9"])
    assert res.exit_code == 2 and "E470" in res.output
    assert not (tmp_path / "v").exists()
