"""Which MatMuls must stay fp32 for dynamic int8 to keep NER F1? Choose on dev, report test.

    python benchmarks/int8_schemes.py --model runs/bench/tagging_speed_model [--only all first_attn]

Needs ``<model>/onnx/model.onnx`` (``biobert export onnx --model DIR``; tagging_speed.py leaves one in
runs/bench/tagging_speed_model). Each scheme is quantised with onnxruntime ``quantize_dynamic``
(per-channel QInt8) with its ``nodes_to_exclude`` and scored (strict entity F1) on the dev and test
files. Writes ``<model>/onnx/int8_schemes.json``. One thread; accuracy only (no timings).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="runs/bench/tagging_speed_model")
    ap.add_argument("--dev", default="{data}/ner/NCBI-disease/biobert/devel.tsv")
    ap.add_argument("--test", default="{data}/ner/NCBI-disease/biobert/test.tsv")
    ap.add_argument("--type", default="Disease")
    ap.add_argument("--only", nargs="*", default=None, help="scheme names (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from biobert.export import OnnxTokenClassifier, onnx_paths
    from biobert.io.conll import read_conll
    from biobert.pipeline import Tagger
    from biobert.recipes.ner import evaluate_ner
    from biobert.settings import expand_path

    fp32 = str(onnx_paths(args.model)["fp32"])
    mm = [n.name for n in onnx.load(fp32).graph.node if n.op_type in ("MatMul", "Gemm")]
    layer = lambda i: [n for n in mm if f"layer.{i}/" in n]  # noqa: E731
    schemes = {
        "all": [],
        "ffn_out": [n for n in mm if n.endswith("/output/dense/MatMul") and "attention" not in n],
        "classifier": [n for n in mm if "classifier" in n],
        "classifier_last": [n for n in mm if "classifier" in n] + layer(5),
        "first": layer(0),
        "first_ffn": [n for n in layer(0) if "intermediate" in n or ("output/dense" in n and "attention" not in n)],
        "first_attn": [n for n in layer(0) if "attention" in n],
        "first_two": layer(0) + layer(1),
    }
    tagger = Tagger.load(args.model, abbreviations=False)
    splits = {s: read_conll(expand_path(p), untyped_label=args.type) for s, p in (("dev", args.dev), ("test", args.test))}

    def score(model) -> dict[str, float]:
        tagger.predictor.model = model
        return {s: round(100 * evaluate_ner(tagger.predictor, docs, {args.type})[0]["f1"], 2) for s, docs in splits.items()}

    res = {"onnx_fp32": score(OnnxTokenClassifier(fp32, threads=1))}
    print("onnx_fp32", res["onnx_fp32"], flush=True)
    for name in args.only or schemes:
        path = str(Path(args.model) / "onnx" / f"scheme_{name}.onnx")
        quantize_dynamic(fp32, path, weight_type=QuantType.QInt8, per_channel=True, nodes_to_exclude=schemes[name])
        r = score(OnnxTokenClassifier(path, threads=1))
        r.update({f"d_{s}": round(r[s] - res["onnx_fp32"][s], 2) for s in splits}, kept_fp32=len(schemes[name]))
        res[name] = r
        print(name, r, flush=True)
    (Path(args.model) / "onnx" / "int8_schemes.json").write_text(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
