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


def test_a_run_started_with_relative_paths_resumes_from_another_directory(corpus_file, vocab_dir, tmp_path, monkeypatch):
    """pretrain_config.json kept `corpus: [data/c.txt]` as typed: `--resume -o RUN` from any other directory
    failed to find the corpus. Local paths are saved absolute; the same relative settings still resume."""
    import shutil

    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.copy(corpus_file, work / "data" / "c.txt")
    shutil.copytree(vocab_dir, work / "vocab")
    monkeypatch.chdir(work)
    args = ["pretrain", "--corpus", "data/c.txt", "--tokenizer", "vocab", "--output", "run", "--from-scratch",
            "--set", f"model_config={json.dumps(TINY_MODEL)}", "--set", "max_length=48", "--set", "batch_size=4",
            "--set", "max_steps=4", "--set", "save_every=2", "--set", "progress=false", "--set", "halt_after=2"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    saved = json.loads((work / "run" / "pretrain_config.json").read_text())
    assert saved["corpus"] == [str(work / "data" / "c.txt")] and saved["tokenizer"] == str(work / "vocab")
    # the same relative command from the same directory is the same run (no E472)
    res = runner.invoke(app, args[:-2] + ["--set", "max_steps=4", "--set", "halt_after=3", "--resume"])
    assert res.exit_code == 0 and _json(res.output)["step"] == 3, res.output
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["pretrain", "--output", str(work / "run"), "--resume"])
    assert res.exit_code == 0 and _json(res.output)["step"] == 4, res.output


def test_bad_numbers_are_typed_errors(corpus_file, vocab_dir, tmp_path):
    """`vocab --min-frequency -3` ended in an OverflowError from tokenizers, `pretrain --threads -1` in torch's
    RuntimeError; both are E470 now."""
    res = runner.invoke(app, ["vocab", "--corpus", str(corpus_file), "-o", str(tmp_path / "v"), "--size", "100", "--min-frequency", "-3"])
    assert res.exit_code == 2 and "E470 min_frequency" in res.output, res.output
    res = runner.invoke(app, ["pretrain", "--corpus", str(corpus_file), "-o", str(tmp_path / "p"), "--from-scratch",
                              "--tokenizer", str(vocab_dir), "--threads", "-1"])
    assert res.exit_code == 2 and "E470 threads" in res.output, res.output


def test_contradictory_or_ignored_options_are_refused(corpus_file, headless_bert, tmp_path):
    """--resume with --overwrite, and --vocab-size / --cased / --model-size without --from-scratch (a continued
    checkpoint keeps its own), were taken and ignored; --resume on a directory with no run said "no corpus"."""
    base = ["pretrain", "--corpus", str(corpus_file), "-o", str(tmp_path / "r"), "--init", str(headless_bert)]
    res = runner.invoke(app, base + ["--resume", "--overwrite"])
    assert res.exit_code == 2 and "E470 --resume" in res.output, res.output
    for opt in (["--vocab-size", "500"], ["--cased"], ["--model-size", "tiny"]):
        res = runner.invoke(app, base + opt)
        assert res.exit_code == 2 and "E470" in res.output and "--from-scratch" in res.output, res.output
    res = runner.invoke(app, ["pretrain", "-o", str(tmp_path / "missing"), "--resume"])
    assert res.exit_code == 2 and "E471 there is no run to resume" in res.output, res.output
    assert not (tmp_path / "r").exists()


def test_the_output_directory_has_a_model_card_and_vocab_txt(corpus_file, vocab_dir, tmp_path, monkeypatch):
    """Pre-training outputs had no README.md (fine-tuned models have a card) and, from a tokenizer saved as
    tokenizer.json alone, no vocab.txt (BERT tools outside transformers need it)."""
    import hashlib
    import shutil

    tok = tmp_path / "tok"
    shutil.copytree(vocab_dir, tok)
    (tok / "vocab.txt").unlink()
    out = tmp_path / "run"
    args = ["pretrain", "--corpus", str(corpus_file), "-o", str(out), "--from-scratch", "--tokenizer", str(tok),
            "--objective", "mlm", "--max-steps", "2", "--set", f"model_config={json.dumps(TINY_MODEL)}",
            "--set", "max_length=48", "--set", "batch_size=4", "--set", "progress=false", "--set", "val_max_examples=8"]
    monkeypatch.setattr("sys.argv", ["biobert", *args])  # what the console script sees; CliRunner leaves pytest's
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    card = (out / "README.md").read_text()
    report = json.loads((out / "report.json").read_text())
    digest = hashlib.sha256(corpus_file.read_bytes()).hexdigest()
    assert "mlm" in card and "Steps: 2 of 2" in card and "Final training loss" in card and digest[:16] in card
    assert "biobert pretrain" in card and "--max-steps 2" in card and "from scratch" in card
    assert report["sessions"][-1]["command"].startswith("biobert pretrain")
    vocab = (out / "vocab.txt").read_text().splitlines()
    assert vocab == (vocab_dir / "vocab.txt").read_text().splitlines()


def test_init_with_from_scratch_is_refused(corpus_file, headless_bert, tmp_path):
    # a new random model has nothing to continue: --init was silently ignored (report: start_point scratch)
    res = runner.invoke(app, ["pretrain", "--corpus", str(corpus_file), "-o", str(tmp_path / "r"), "--from-scratch",
                              "--init", str(headless_bert)])
    assert res.exit_code == 2 and "E470 --init" in res.output, res.output
    assert not (tmp_path / "r").exists()
