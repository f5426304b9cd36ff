"""Fine-tuning on CPU cores: one process with N torch threads against N data-parallel processes with one thread
each (``torchrun``, gloo), the same NER config, global batch and number of optimizer steps, run one after the other.

    python benchmarks/finetune_processes.py --config configs/ner/ncbi_disease.yaml --cores 2 --steps 60

Both runs train from the same seed for ``--steps`` optimizer steps (``train.max_steps``; no dev evaluation, no
test) and report the training tokens/s of their run report (evaluation time excluded); the ratio is the
speed-up of data parallelism on this machine. The machine should be otherwise idle: the runs are timed
against each other.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], threads: int, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(proc.stdout[-2000:] + proc.stderr[-4000:])
    train = json.loads((out / "report.json").read_text())["train"]
    return {k: train[k] for k in ("steps", "tokens_seen", "train_seconds", "tokens_per_second", "processes")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="configs/ner/ncbi_disease.yaml")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", default="runs/bench/finetune-processes")
    args = ap.parse_args()
    common = ["finetune", "ner", "--config", args.config, "--no-resume", "--set", f"train.max_steps={args.steps}",
              "--set", "train.patience=null", "--set", "train.checkpoint_every=null", "--set", "train.device=cpu"]
    # no dev or test set: the runs are timed on training alone
    for split in ("dev", "test"):
        common += ["--set", f"corpora.0.{split}=null"]
    one = _run([sys.executable, "-m", "biobert", *common, "--set", f"out={args.out}/threads"], args.cores, Path(args.out, "threads"))
    ddp = _run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(args.cores), "--master_addr", "127.0.0.1",
                "--master_port", str(_free_port()), "-m", "biobert", *common, "--set", f"out={args.out}/processes"], 1,
               Path(args.out, "processes"))
    row = {"config": args.config, "cores": args.cores, "steps": args.steps, f"1 process x {args.cores} threads": one,
           f"{args.cores} processes x 1 thread": ddp, "speedup": round(ddp["tokens_per_second"] / one["tokens_per_second"], 2)}
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
