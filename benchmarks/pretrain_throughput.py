"""Pre-training throughput: `biobert pretrain`'s loop against Hugging Face `Trainer` +
`DataCollatorForLanguageModeling`, same model, configuration, batch and data, in one process.

    python benchmarks/pretrain_throughput.py [--steps 8] [--warmup 2] [--rounds 2] [--batch-size 16] [--threads 2]

Model: the default encoder (all-MiniLM-L6-v2) with a newly created MLM head (the same
initialisation for both sides). Data: the first examples of the same deterministic stream
(``{data}/raw/pubmed_text``, sentences packed to --max-length tokens, no validation slice);
the HF side gets them as a list dataset and masks with its collator (15 %, 80/10/10), the
biobert side streams them itself. AdamW (lr 1e-4, wd 0.01, eps 1e-6), linear warm-up/decay,
clipping 1.0, fp32, no gradient accumulation on both sides.

Timing: wall-clock time between consecutive optimizer steps (batch preparation, forward,
backward, optimizer) after ``--warmup`` steps, over real (non-pad) tokens. The two loops run in
alternating blocks (ours, HF, HF, ours, ...) so that load from other processes on this shared
machine hits both; the ratio is taken over the summed times of all blocks.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from biobert.report import cpu_model

CORPUS = "{data}/raw/pubmed_text/*.txt"


def run_ours(args, out: Path) -> dict:
    from biobert.pretrain.loop import PretrainConfig, pretrain

    cfg = PretrainConfig(
        corpus=[args.corpus],
        output=str(out),
        init=args.init,
        objective="mlm",
        max_length=args.max_length,
        batch_size=args.batch_size,
        max_steps=args.warmup + args.steps,
        lr=1e-4,
        warmup_steps=args.warmup,
        weight_decay=0.01,
        adam_eps=1e-6,
        max_grad_norm=1.0,
        save_every=10**9,
        eval_every=10**9,
        log_every=1,
        val_fraction=0.0,
        shuffle_buffer=args.shuffle_buffer,
        seed=args.seed,
        progress=False,
        threads=args.threads,
        cpu=True,
    )
    rep = pretrain(cfg, overwrite=True)
    steps = [c for c in rep["curve"] if c["step"] > args.warmup]
    tokens = sum(round(c["tokens_per_s"] * c["seconds"]) for c in steps)
    secs = sum(c["seconds"] for c in steps)
    return {"tokens": tokens, "seconds": secs, "tokens_per_s": tokens / secs, "steps": len(steps), "final_loss": steps[-1]["loss"]}


def hf_examples(args, tokenizer) -> list[dict]:
    """The examples our loop consumes, from an identical stream."""
    from biobert.pretrain.corpus import PretrainStream, resolve_corpus

    stream = PretrainStream(resolve_corpus(args.corpus), tokenizer, args.max_length, seed=args.seed, shuffle_buffer=args.shuffle_buffer)
    n = (args.warmup + args.steps) * args.batch_size
    return [{"input_ids": e.input_ids.tolist()} for e in stream.take(n)]


def run_hf(args, out: Path, tokenizer, examples) -> dict:
    from transformers import DataCollatorForLanguageModeling, Trainer, TrainerCallback, TrainingArguments

    from biobert.pretrain.models import build_models

    torch.manual_seed(args.seed)
    model = build_models("mlm", tokenizer, init=args.init).model
    base = DataCollatorForLanguageModeling(tokenizer, mlm=True, mlm_probability=0.15)
    batch_tokens: list[int] = []

    def collate(features):
        b = base(features)
        batch_tokens.append(int(b["attention_mask"].sum()))
        return b

    marks: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            marks.append(time.perf_counter())

        def on_train_begin(self, a, state, control, **kw):
            marks.append(time.perf_counter())

    targs = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=args.batch_size,
        max_steps=args.warmup + args.steps,
        learning_rate=1e-4,
        warmup_steps=args.warmup,
        weight_decay=0.01,
        adam_epsilon=1e-6,
        max_grad_norm=1.0,
        lr_scheduler_type="linear",
        logging_steps=10**9,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
        disable_tqdm=True,
        seed=args.seed,
    )
    trainer = Trainer(model=model, args=targs, train_dataset=examples, data_collator=collate, callbacks=[Clock()])
    res = trainer.train()
    # marks[0] = train begin, marks[i] = end of step i; batch i-1 belongs to step i
    dts = [marks[i] - marks[i - 1] for i in range(args.warmup + 1, len(marks))]
    tokens = sum(batch_tokens[args.warmup : args.warmup + len(dts)])
    secs = sum(dts)
    return {"tokens": tokens, "seconds": secs, "tokens_per_s": tokens / secs, "steps": len(dts), "train_loss": res.training_loss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=CORPUS)
    ap.add_argument("--init", default="default")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per block")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps at the start of each block")
    ap.add_argument("--rounds", type=int, default=2, help="each round runs both loops (order alternates)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shuffle-buffer", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench/pretrain_throughput.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from biobert.pretrain.models import load_tokenizer, resolve_init

    tokenizer = load_tokenizer(resolve_init(args.init))
    examples = hf_examples(args, tokenizer)
    blocks = []
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="bench-pretrain-") as tmp:
        for r in range(args.rounds):
            order = ["ours", "hf"] if r % 2 == 0 else ["hf", "ours"]
            for side in order:
                res = run_ours(args, Path(tmp) / "ours") if side == "ours" else run_hf(args, Path(tmp) / "hf", tokenizer, examples)
                res.update(side=side, round=r)
                blocks.append(res)
                print(json.dumps(res), flush=True)

    def total(side):
        bs = [b for b in blocks if b["side"] == side]
        return sum(b["tokens"] for b in bs) / sum(b["seconds"] for b in bs)

    ours, hf = total("ours"), total("hf")
    per_round = [
        next(b for b in blocks if b["side"] == "ours" and b["round"] == r)["tokens_per_s"]
        / next(b for b in blocks if b["side"] == "hf" and b["round"] == r)["tokens_per_s"]
        for r in range(args.rounds)
    ]
    summary = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{cpu_model()} ({platform.machine()}), {torch.get_num_threads()} torch threads, {__import__('os').cpu_count()} CPU cores",
        "torch": torch.__version__,
        "settings": vars(args),
        "ours_tokens_per_s": round(ours, 1),
        "hf_tokens_per_s": round(hf, 1),
        "ratio": round(ours / hf, 3),
        "ratio_per_round": [round(x, 3) for x in per_round],
        "ratio_median": round(statistics.median(per_round), 3),
        "wall_seconds": round(time.time() - t0, 1),
        "blocks": blocks,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(json.dumps({k: v for k, v in summary.items() if k != "blocks"}, indent=2))


if __name__ == "__main__":
    main()
