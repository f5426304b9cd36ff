"""Tagging and fine-tuning speed on one device (a GPU where there is one) at each precision, with the F1 each gives.

    python benchmarks/device_speed.py [--device auto] [--precisions fp32,bf16,fp16] [--model DIR]
        [--texts PUBTATOR] [--eval-conll TEST.tsv --eval-type Disease]
        [--train TRAIN.tsv --finetune-steps 300 --batch-size 32] [--out runs/bench/device_speed.json]

Tagging: the same model, texts and process for every precision; the precisions run ``--repeat`` times
interleaved and the best time is kept. Reports words/s, the ratio to fp32 and the strict F1 on
``--eval-conll`` of each precision, so that a half-precision tagger is trusted only where its F1 holds.

Fine-tuning: biobert's Trainer for ``--finetune-steps`` optimizer steps on ``--train`` at each precision, from the
same start weights (``--encoder``; default the tagger's own encoder under a fresh B/I/O head: speed does not depend
on the weights) and the same seed. Reports real (non-pad) tokens/s (evaluation excluded), the ratio to fp32 and
the dev F1 after those steps: it compares the precisions with each other, nothing more (the default start
weights were already trained on this task).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

import torch

from biobert import io
from biobert.device import resolve_device
from biobert.io.conll import read_conll
from biobert.pipeline import Tagger, default_tagger_path
from biobert.recipes.ner import evaluate_ner
from biobert.report import environment
from biobert.settings import expand_path
from biobert.text import tokenize_words


def _sync(device: torch.device) -> None:
    # GPU kernels run asynchronously: time only finished work
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def tagging(args: argparse.Namespace, device: torch.device, precisions: list[str]) -> dict:
    """Words/s and strict F1 of the tagger at each precision."""
    docs = io.read(expand_path(args.texts))[: args.limit]
    texts = [d.text for d in docs]
    n_words = sum(len(tokenize_words(t)) for t in texts)
    print(f"tagging: {len(texts)} documents, {n_words} words on {device}", flush=True)
    taggers = {p: Tagger.load(args.model, device=str(device), precision=p) for p in precisions}
    for t in taggers.values():  # warm-up: CUDA context, kernels, allocator
        t(texts[:8])
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for p, t in taggers.items():
            _sync(device)
            t0 = time.perf_counter()
            t(texts)
            _sync(device)
            sec = time.perf_counter() - t0
            best[p] = min(best.get(p, float("inf")), sec)
            print(f"  tag {p}: {sec:.2f}s ({n_words / sec:.0f} words/s)", flush=True)
    out: dict = {"documents": len(texts), "words": n_words,
                 "words_per_second": {p: round(n_words / s) for p, s in best.items()}}
    if "fp32" in best:
        out["ratio_vs_fp32"] = {p: round(best["fp32"] / s, 2) for p, s in best.items()}
    if args.eval_conll:
        gold = read_conll(expand_path(args.eval_conll), untyped_label=args.eval_type)
        out["f1"] = {p: round(100 * evaluate_ner(t.predictor, gold, {args.eval_type})[0]["f1"], 2) for p, t in taggers.items()}
        print(f"  F1 {out['f1']}", flush=True)
    return out


def finetuning(args: argparse.Namespace, device: torch.device, precisions: list[str]) -> dict:
    """Real tokens/s and dev F1 after ``--finetune-steps`` steps at each precision."""
    from biobert.encoders import load_token_classifier, load_tokenizer
    from biobert.tasks.ner import NERPredictor, SubwordEncoder, build_features, document_sentences, labels_for_types, ner_collate, ner_loss
    from biobert.train import TrainConfig, Trainer, set_seed

    encoder = args.encoder or args.model
    docs = read_conll(expand_path(args.train), untyped_label="ENTITY")
    labels = labels_for_types(["ENTITY"])
    label2id = {l: i for i, l in enumerate(labels)}
    tok = load_tokenizer(encoder)
    enc = SubwordEncoder(tok)
    dev = read_conll(expand_path(args.dev), untyped_label="ENTITY") if args.dev else None
    sents = [s for i, d in enumerate(docs) for s in document_sentences(d, i, with_gold=True)]
    stats: Counter = Counter()
    feats = build_features(sents, [d.text for d in docs], enc, label2id, max_length=args.max_length, stride=32, stats=stats)
    out: dict = {"examples": len(feats), "steps": args.finetune_steps, "batch_size": args.batch_size, "tokens_per_second": {},
                 "dev_f1": {}}
    # just enough epochs for the steps, so that the learning-rate schedule spans them
    epochs = max(1, -(-args.finetune_steps * args.batch_size // len(feats)))
    for p in precisions:
        set_seed(args.seed)
        model = load_token_classifier(encoder, labels)
        cfg = TrainConfig(lr=args.lr, epochs=epochs, batch_size=args.batch_size, seed=args.seed, log_every=50,
                          max_steps=args.finetune_steps, device=str(device), precision=p)
        tr = Trainer(model, feats, lambda b: ner_collate(b, enc.pad_id), ner_loss, None, f"{args.out_dir}/finetune-{p}", cfg)
        summary = tr.train(resume=False)
        out["tokens_per_second"][p] = round(summary["tokens_per_second"])
        if dev is not None:
            model.eval()
            out["dev_f1"][p] = round(100 * evaluate_ner(NERPredictor(model, tok, labels), dev)[0]["f1"], 2)
        print(f"  finetune {p}: {summary['train_seconds']}s, {out['tokens_per_second'][p]} tokens/s, "
              f"dev F1 {out['dev_f1'].get(p)}", flush=True)
        del model, tr
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if "fp32" in out["tokens_per_second"]:
        base = out["tokens_per_second"]["fp32"]
        out["ratio_vs_fp32"] = {p: round(v / base, 2) for p, v in out["tokens_per_second"].items()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precisions", default="fp32,bf16,fp16")
    ap.add_argument("--model", default=str(default_tagger_path()))
    ap.add_argument("--texts", default="{data}/ner/NCBI-disease/original/NCBItrainset_corpus.txt")
    ap.add_argument("--limit", type=int, default=1000, help="number of documents")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--eval-conll", default="{data}/ner/NCBI-disease/biobert/test.tsv", help="'' to skip the F1 check")
    ap.add_argument("--eval-type", default="Disease")
    ap.add_argument("--train", default="{data}/ner/NCBI-disease/biobert/train.tsv", help="'' to skip fine-tuning")
    ap.add_argument("--dev", default="{data}/ner/NCBI-disease/biobert/devel.tsv", help="scored after fine-tuning ('' to skip)")
    ap.add_argument("--encoder", default="", help="fine-tuning start weights (default: --model)")
    ap.add_argument("--finetune-steps", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out-dir", default="runs/bench/device_speed")
    ap.add_argument("--out", default="runs/bench/device_speed.json")
    args = ap.parse_args()

    device = resolve_device(args.device)
    precisions = [p for p in args.precisions.split(",") if p]
    if device.type != "cuda" and "fp16" in precisions:
        # fp16 needs a GPU (loss scaling; CPU fp16 kernels are missing): leave it out, and say so
        precisions.remove("fp16")
        print(f"fp16 left out: it runs on CUDA only, and this run is on {device}", flush=True)
    result: dict = {"device": str(device), "environment": environment()}
    if device.type == "cuda":
        result["gpu"] = torch.cuda.get_device_name(device)
    result["tagging"] = tagging(args, device, precisions)
    if args.train:
        result["finetuning"] = finetuning(args, device, precisions)
    text = json.dumps(result, indent=2)
    print(text)
    from pathlib import Path

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
