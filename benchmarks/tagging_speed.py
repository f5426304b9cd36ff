"""Tagging speed: biobert `Tagger` against Hugging Face `pipeline("token-classification")`.

    python benchmarks/tagging_speed.py [--model DIR] [--texts PUBTATOR] [--repeat 2] [--eval-conll TEST.tsv --eval-type Disease]

Same model, same texts (raw PubTator title+abstract), same process; every variant runs `--repeat`
times interleaved and the best time is kept. Words are counted with biobert's word tokenizer.
Reports words/s and the ratio to the HF pipeline, and, with --eval-conll, the strict F1 of
fp32 and int8 so the int8 path is only offered when it costs <= 0.5 F1.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from biobert import io
from biobert.pipeline import Tagger, default_tagger_path
from biobert.settings import expand_path
from biobert.text import tokenize_words


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(default_tagger_path()))
    ap.add_argument("--texts", default="{data}/ner/NCBI-disease/original/NCBItestset_corpus.txt")
    ap.add_argument("--limit", type=int, default=100, help="number of documents")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--eval-conll", default="{data}/ner/NCBI-disease/biobert/test.tsv", help="labelled file for the int8 F1 check")
    ap.add_argument("--eval-type", default="Disease")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="torch / onnxruntime threads (0: library default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    docs = io.read(expand_path(args.texts))[: args.limit]
    texts = [d.text for d in docs]
    n_words = sum(len(tokenize_words(t)) for t in texts)
    print(f"{len(texts)} documents, {n_words} words, torch threads {torch.get_num_threads()}", flush=True)

    # work on a copy so that ONNX files are not written into the (packaged) model directory
    import shutil
    from pathlib import Path

    work = Path("runs/bench/tagging_speed_model")
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(args.model, work, ignore=shutil.ignore_patterns("checkpoints", "onnx"))
    from biobert.export import OnnxTokenClassifier, export_onnx, onnx_paths
    from biobert.io.conll import read_conll

    gold = read_conll(expand_path(args.eval_conll), untyped_label=args.eval_type)
    export_report = export_onnx(work, None if args.skip_eval else gold, {args.eval_type})
    fp32 = Tagger.load(work)
    # speed is measured whatever the int8 gate says; the F1 it decides on is recorded below
    int8 = Tagger.load(work, backend="torch", quantize="int8", allow_unchecked_int8=True)
    onnx32 = Tagger.load(work, backend="onnx")
    if args.threads:
        onnx32.predictor.model = OnnxTokenClassifier(onnx_paths(work)["fp32"], threads=args.threads)
    # the int8 gate may refuse this model (that is recorded below); speed is measured regardless
    onnx8 = Tagger.load(work, backend="onnx")
    onnx8.predictor.model = OnnxTokenClassifier(onnx_paths(work)["int8"], threads=args.threads or None)
    from transformers import pipeline

    hf = pipeline("token-classification", model=fp32.model, tokenizer=fp32.tokenizer, aggregation_strategy="first", device=-1)

    variants = {
        "hf_pipeline_bs1": lambda: hf(texts, batch_size=1),
        "hf_pipeline_bs16": lambda: hf(texts, batch_size=16),
        "biobert_fp32": lambda: fp32(texts),
        "biobert_torch_int8": lambda: int8(texts),
        "biobert_onnx_fp32": lambda: onnx32(texts),
        "biobert_onnx_int8": lambda: onnx8(texts),
    }
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in variants.items():
            sec, _ = timed(fn)
            best[name] = min(best.get(name, float("inf")), sec)
            print(f"  {name}: {sec:.2f}s ({n_words / sec:.0f} words/s)", flush=True)
    base = min(best["hf_pipeline_bs1"], best["hf_pipeline_bs16"])
    result = {
        "documents": len(texts),
        "words": n_words,
        "threads": torch.get_num_threads(),
        "words_per_second": {k: round(n_words / v) for k, v in best.items()},
        "ratio_vs_best_hf_pipeline": {k: round(base / v, 2) for k, v in best.items()},
    }
    if not args.skip_eval:
        f1 = export_report["f1"]  # the export scored torch fp32, ONNX fp32 and both int8 paths
        result["f1"] = f1
        result["f1_change_vs_torch_fp32"] = {k: round(v - f1["torch_fp32"], 2) for k, v in f1.items()}
        result["onnx_int8_offered"] = export_report.get("int8_offered")
        result["torch_int8_offered"] = export_report.get("torch_int8_offered")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
