"""Data-parallel fine-tuning (biobert.distributed + Trainer): two gloo processes on the CPU reach the same
weights as one process with the same global batch, and ``torchrun -m biobert finetune ner`` writes one model."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from biobert.distributed import shard


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(args: list[str], cwd: Path, timeout: int = 240, ok: bool = True, **env_extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false", **env_extra)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    if ok:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_shard_weights_sum_to_the_process_count():
    batch = [5, 1, 4, 9, 2]
    parts = [shard(batch, r, 2) for r in range(2)]
    assert parts[0][0] == [5, 4, 2] and parts[1][0] == [1, 9]
    # DDP averages the processes' gradients: the average of the weighted shard means is the batch mean
    assert sum(w * sum(m) / len(m) for m, w in parts) / 2 == pytest.approx(sum(batch) / len(batch))
    assert sum(w for _, w in parts) == pytest.approx(2.0)
    # a batch smaller than the process count: the idle process takes part with weight 0
    assert shard([7], 1, 2) == ([7], 0.0) and shard([7], 0, 2) == ([7], 2.0)


# A regression problem whose loss is a per-example mean, so data-parallel training must reproduce the
# single-process weights up to float rounding: 21 examples in batches of 4 (the last batch has 1, which
# leaves one process idle), gradient clipping active, warmup + decay, 3 epochs.
_WORKER = textwrap.dedent('''
    import os, sys, torch
    from biobert.train import TrainConfig, Trainer

    def run(out, resume=False, kill_after=None):
        torch.manual_seed(0)
        x = torch.randn(21, 6)
        y = x @ torch.randn(6, 1) + 0.1 * torch.randn(21, 1)
        feats = [{"input_ids": list(range(3 + i % 4)), "x": x[i].tolist(), "y": float(y[i])} for i in range(21)]
        model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        collate = lambda b: {"x": torch.tensor([f["x"] for f in b]), "y": torch.tensor([[f["y"]] for f in b])}
        calls = []

        def loss(m, b):
            calls.append(1)
            if kill_after is not None and len(calls) > kill_after:
                raise SystemExit(3)  # a crash of every process, after the step-`kill_after` checkpoint
            return torch.nn.functional.mse_loss(m(b["x"]), b["y"])

        cfg = TrainConfig(lr=0.05, epochs=3, batch_size=4, seed=3, max_grad_norm=0.5, log_every=1000, device="cpu",
                          checkpoint_every=3)
        tr = Trainer(model, feats, collate, loss, None, out, cfg, progress=False)
        summary = tr.train(resume=resume)
        return model, summary

    if __name__ == "__main__":
        from biobert import distributed
        kill = int(os.environ["KILL_AFTER"]) if os.environ.get("KILL_AFTER") else None
        model, summary = run(sys.argv[1], resume=bool(os.environ.get("RESUME")), kill_after=kill)
        if distributed.is_main():
            torch.save({"state": model.state_dict(), "summary": summary}, sys.argv[1] + "/result.pt")
''')


def _single_process(tmp_path: Path):
    """The worker's training, run here in one process (the reference for the data-parallel runs)."""
    sys.path.insert(0, str(tmp_path))
    try:
        import worker  # noqa: PLC0415 - written by the test into tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("worker", None)
    return worker.run(str(tmp_path / "single"))


@pytest.mark.distributed
def test_two_processes_match_one_process(tmp_path):
    (tmp_path / "worker.py").write_text(_WORKER)
    _torchrun([str(tmp_path / "worker.py"), str(tmp_path / "ddp")], cwd=tmp_path)
    got = torch.load(tmp_path / "ddp" / "result.pt")
    model, summary = _single_process(tmp_path)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(got["state"][k], v, rtol=1e-5, atol=1e-6, msg=k)
    assert got["summary"]["processes"] == 2 and summary["processes"] == 1
    assert got["summary"]["steps"] == summary["steps"] == 18  # 6 batches x 3 epochs: the global batch is kept
    assert got["summary"]["tokens_seen"] == summary["tokens_seen"]  # counted over the global batch


@pytest.mark.distributed
def test_a_killed_two_process_run_resumes_to_the_same_weights(tmp_path):
    (tmp_path / "worker.py").write_text(_WORKER)
    crashed = _torchrun([str(tmp_path / "worker.py"), str(tmp_path / "ddp")], cwd=tmp_path, ok=False, KILL_AFTER="8")
    assert crashed.returncode != 0 and not (tmp_path / "ddp" / "result.pt").exists()
    state = json.loads((tmp_path / "ddp" / "checkpoints" / "last" / "state.json").read_text())
    assert state["global_step"] == 6 and not state["finished"]  # the last checkpoint before the crash
    _torchrun([str(tmp_path / "worker.py"), str(tmp_path / "ddp")], cwd=tmp_path, RESUME="1")
    got = torch.load(tmp_path / "ddp" / "result.pt")
    model, _ = _single_process(tmp_path)  # uninterrupted
    for k, v in model.state_dict().items():
        torch.testing.assert_close(got["state"][k], v, rtol=1e-5, atol=1e-6, msg=k)
    assert got["summary"]["steps"] == 18


@pytest.mark.distributed
def test_torchrun_finetune_ner_writes_one_model(tiny_bert, tmp_path):
    from tests.nerdata import gold_docs
    from tests.recipes.test_ner_recipe import write_conll

    docs = gold_docs()
    write_conll(docs[:12], tmp_path / "train.tsv")
    write_conll(docs[12:], tmp_path / "dev.tsv")
    out = tmp_path / "model"
    proc = _torchrun([
        "-m", "biobert", "finetune", "ner", "--train", str(tmp_path / "train.tsv"), "--dev", str(tmp_path / "dev.tsv"),
        "--test", str(tmp_path / "dev.tsv"), "--encoder", str(tiny_bert), "--out", str(out),
        "--set", "train.epochs=2", "--set", "train.batch_size=8", "--set", "train.lr=3e-3", "--set", "max_length=32",
        "--set", "stride=8", "--set", "train.device=cpu",
    ], cwd=tmp_path)
    assert proc.stdout.count('"dev_f1"') == 1  # printed once, by process 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["train"]["processes"] == 2 and rep["train"]["device"] == "cpu"
    assert rep["test"] and rep["dev_f1"] is not None
    # the saved directory is a plain model directory, loadable in this (single) process
    from biobert import Tagger

    doc = Tagger.load(str(out))(docs[0].text)
    assert all(doc.text[s.start:s.end] for s in doc.spans)


def test_more_processes_than_gpus_is_a_clear_error(monkeypatch):
    # torchrun --nproc_per_node 2 on a one-GPU node: process 1 has no GPU 1 (torch says only "invalid device ordinal")
    import torch

    from biobert import distributed
    from biobert.errors import ConfigError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "set_device", lambda i: pytest.fail("set_device reached"))
    with pytest.raises(ConfigError, match="E563 process 1 of this node needs GPU 1, but the node has 1"):
        distributed.setup("auto")


def test_shards_of_a_token_mean_loss_weigh_by_tokens():
    """NER's loss is a mean over labelled tokens: weighted by sentences, the processes' average was another
    gradient whenever their shards held different numbers of tokens (5 % off on a length-grouped batch)."""
    units = [30, 28, 27, 25, 12, 10, 9, 8]  # labelled tokens per sentence
    values = [float(i) for i in range(8)]  # a per-token loss term, the same for every token of a sentence
    batch = list(range(8))
    whole = sum(values[i] * units[i] for i in batch) / sum(units)  # one process: the token mean of the batch
    parts = [shard(batch, r, 2, units) for r in range(2)]
    ddp = sum(w * sum(values[i] * units[i] for i in m) / sum(units[i] for i in m) for m, w in parts) / 2
    assert ddp == pytest.approx(whole)
    by_sentences = [shard(batch, r, 2) for r in range(2)]
    assert sum(w * sum(values[i] * units[i] for i in m) / sum(units[i] for i in m) for m, w in by_sentences) / 2 != pytest.approx(whole)


# the worker above with dropout on: each process draws its own masks, so a resumed process must continue its own
# random stream (process 0's alone was saved; the others were reseeded, and the run went another way). One launch
# runs all three: uninterrupted, crashed after the step-6 checkpoint (every process), resumed
_DROPOUT_WORKER = _WORKER.replace("torch.nn.Tanh(), torch.nn.Linear(8, 1)",
                                  "torch.nn.Tanh(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 1)").replace(
    'if __name__ == "__main__":', 'def _main():') + textwrap.dedent('''
    if __name__ == "__main__":
        import json
        from biobert import distributed
        straight, _ = run(sys.argv[1] + "/straight")
        try:
            run(sys.argv[1] + "/ddp", kill_after=8)
        except SystemExit:
            pass
        state = json.load(open(sys.argv[1] + "/ddp/checkpoints/last/state.json"))
        resumed, summary = run(sys.argv[1] + "/ddp", resume=True)
        if distributed.is_main():
            torch.save({"straight": straight.state_dict(), "resumed": resumed.state_dict(), "summary": summary,
                        "crashed_at": state["global_step"]}, sys.argv[1] + "/result.pt")
''')


@pytest.mark.distributed
def test_a_killed_two_process_run_with_dropout_resumes_to_the_same_weights(tmp_path):
    (tmp_path / "worker.py").write_text(_DROPOUT_WORKER)
    _torchrun([str(tmp_path / "worker.py"), str(tmp_path)], cwd=tmp_path)
    got = torch.load(tmp_path / "result.pt")
    assert got["crashed_at"] == 6 and got["summary"]["steps"] == 18 and got["summary"]["resumed"]
    for k, v in got["straight"].items():
        assert torch.equal(got["resumed"][k], v), k
    assert (tmp_path / "ddp" / "checkpoints" / "last" / "rng-rank-1.pt").exists()
    assert got["summary"]["resume_rng"] == "restored"


def test_a_resume_with_another_process_count_reseeds_and_says_so(tmp_path):
    """Per-process random states are restored only for the process count that saved them; otherwise the summary's
    resume_rng says the processes were reseeded (a single process still gets process 0's state back)."""
    from biobert.train import TrainConfig, Trainer

    def run(kill_after=None, resume=True):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Dropout(0.3), torch.nn.Linear(4, 1))
        feats = [{"input_ids": [0], "x": [float(i), 1.0]} for i in range(8)]
        collate = lambda b: {"x": torch.tensor([f["x"] for f in b])}  # noqa: E731
        calls = []

        def loss(m, b):
            calls.append(1)
            if kill_after is not None and len(calls) > kill_after:
                raise KeyboardInterrupt
            return m(b["x"]).pow(2).mean()

        cfg = TrainConfig(lr=0.01, epochs=2, batch_size=2, seed=1, log_every=1000, device="cpu", checkpoint_every=2)
        return Trainer(model, feats, collate, loss, None, tmp_path, cfg, progress=False).train(resume=resume)

    import shutil

    with pytest.raises(KeyboardInterrupt):
        run(kill_after=2, resume=False)  # killed after the step-2 checkpoint
    ckpt = tmp_path / "checkpoints"
    shutil.copytree(ckpt, tmp_path / "at-step-2")
    s = run()
    assert s["steps"] == 8 and s["resume_rng"] == "restored"
    shutil.rmtree(ckpt)
    shutil.copytree(tmp_path / "at-step-2", ckpt)
    blob = torch.load(ckpt / "last" / "training_state.pt", weights_only=False)
    assert blob["world"] == 1
    blob["world"] = 2
    torch.save(blob, ckpt / "last" / "training_state.pt")
    s = run()
    assert s["steps"] == 8 and s["resume_rng"].startswith("reseeded: the checkpoint was written by 2 process(es), now 1")
