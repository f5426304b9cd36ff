"""A 2-process CPU run (gloo) through the real launcher: torchrun + ``python -m biobert.pretrain``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from .conftest import TINY_MODEL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.distributed
def test_two_process_gloo_run(corpus_file, vocab_dir, tmp_path):
    out = tmp_path / "ddp"
    model_cfg = "{" + ", ".join(f"{k}: {v}" for k, v in TINY_MODEL.items()) + "}"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(_free_port()),
        "-m", "biobert.pretrain",
        "--corpus", str(corpus_file), "--output", str(out), "--cpu", "--threads", "1",
        "--from-scratch", "--tokenizer", str(vocab_dir), "--set", f"model_config={model_cfg}",
        "--max-length", "48", "--batch-size", "4", "--max-steps", "6", "--save-every", "3", "--eval-every", "3",
        "--lr", "1e-2", "--set", "shuffle_buffer=16", "--set", "val_fraction=0.1", "--set", "val_max_examples=8",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])  # printed once, by rank 0
    assert summary["step"] == 6 and summary["final"]
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["distributed"] == "MULTI_CPU"
    assert report["replicas_in_sync"] is True  # gradients were all-reduced
    assert report["effective_batch_sequences"] == 8
    ck = out / "checkpoints" / "step-00000006"
    assert (ck / "rank-0.pt").exists() and (ck / "rank-1.pt").exists()
    # each rank read its own shard of documents
    r0 = torch.load(ck / "rank-0.pt", weights_only=False)["data"]
    r1 = torch.load(ck / "rank-1.pt", weights_only=False)["data"]
    assert r0["rank"] == 0 and r1["rank"] == 1 and r0["docs_used"] > 0 and r1["docs_used"] > 0
    # tokens are summed over both processes
    per_rank = [torch.load(ck / f"rank-{r}.pt", weights_only=False)["tokens_local"] for r in (0, 1)]
    assert report["tokens_seen"] == sum(per_rank)


def test_cpu_runs_meet_at_a_cpu_barrier(monkeypatch):
    # accelerate's barrier names GPU LOCAL_RANK even in a gloo run; on a one-GPU machine process 1 then failed
    from types import SimpleNamespace

    from biobert.pretrain import loop

    calls = []
    monkeypatch.setattr(torch.distributed, "barrier", lambda *a, **k: calls.append(("torch", a, k)))
    cpu = SimpleNamespace(num_processes=2, device=torch.device("cpu"), wait_for_everyone=lambda: calls.append("accelerate"))
    loop._barrier(cpu)
    assert calls == [("torch", (), {})]  # no device_ids: gloo keeps it on the CPU
    gpu = SimpleNamespace(num_processes=2, device=torch.device("cuda", 1), wait_for_everyone=lambda: calls.append("accelerate"))
    loop._barrier(gpu)
    assert calls[-1] == "accelerate"
