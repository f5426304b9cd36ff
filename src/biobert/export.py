"""ONNX export (fp32 and int8) of token-classification models, with an accuracy check.

Quantisation can quietly ruin a tagger (biobert#127), so :func:`export_onnx`
scores the exported model against the fp32 PyTorch model on labelled data
when it is given, stores the difference in ``onnx/export_report.json``, and
:class:`~biobert.pipeline.Tagger` refuses an int8 model whose F1 drop exceeds
``MAX_F1_DROP`` points.

    biobert export onnx --model runs/ncbi --eval-data test.tsv --eval-type Disease
    Tagger.load("runs/ncbi", backend="onnx", quantize="int8")
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from biobert.errors import ModelLoadError

__all__ = ["export_onnx", "OnnxTokenClassifier", "MAX_F1_DROP", "onnx_paths", "weights_sha256", "check_export_current"]

log = logging.getLogger(__name__)

#: largest F1 loss (points) at which an int8 model is still offered
MAX_F1_DROP = 0.5

#: MatMul nodes whose name contains one of these stay fp32 in the int8 model. The first layer's attention
#: projections read the raw embedding output, whose outlier dimensions int8 activations clip: on the bundled
#: tagger, quantising everything cost 0.40 dev / 0.56 test F1 on NCBI-disease, keeping these 4 of 36 MatMuls
#: in fp32 cost +0.08 dev / 0.26 test (chosen on dev; BENCHMARKS.md, "int8 schemes").
KEEP_FP32_DEFAULT: tuple[str, ...] = ("layer.0/attention/",)


def onnx_paths(model_dir: str | Path) -> dict[str, Path]:
    d = Path(model_dir) / "onnx"
    return {"dir": d, "fp32": d / "model.onnx", "int8": d / "model.int8.onnx", "report": d / "export_report.json"}


class _LogitsOnly(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


class OnnxTokenClassifier:
    """Callable with the slice of the transformers interface that :class:`NERPredictor` uses."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.path = str(path)
        self.training = False

    def eval(self) -> "OnnxTokenClassifier":
        return self

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        out = self.session.run(None, {"input_ids": input_ids.numpy().astype(np.int64), "attention_mask": attention_mask.numpy().astype(np.int64)})[0]
        return SimpleNamespace(logits=torch.from_numpy(out))


def export_onnx(model_dir: str | Path, eval_docs: list | None = None, eval_types: set[str] | None = None, opset: int = 17,
                keep_fp32: tuple[str, ...] | list[str] = KEEP_FP32_DEFAULT) -> dict[str, Any]:
    """Export ``model_dir`` to ONNX fp32 and dynamic-int8; score both against PyTorch if ``eval_docs`` is given.

    ``keep_fp32``: substrings of MatMul node names left unquantised in the int8 model (empty: quantise all).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from biobert.pipeline import Tagger

    paths = onnx_paths(model_dir)
    tagger = Tagger.load(model_dir, abbreviations=False, device="cpu")  # the int8 gate scores the model alone, where ONNX runs
    if eval_docs:
        scored = set(eval_types) if eval_types else {sp.label for d in eval_docs for sp in d.spans}
        if scored and not scored & set(tagger.types):
            # every F1 would be 0, and a gate comparing two zeros would offer int8 whatever it costs
            from biobert.errors import ConfigError

            raise ConfigError(f"E417 the evaluation data's types {sorted(scored)} are none of the model's {tagger.types}; "
                              "pass --eval-type with a type the model predicts (untyped B/I files are read as that type)")
    paths["dir"].mkdir(parents=True, exist_ok=True)
    ids = torch.tensor([[tagger.predictor.encoder.cls_id, 5, 6, 7, tagger.predictor.encoder.sep_id]] * 2)
    mask = torch.ones_like(ids)
    mask[1, 3:] = 0  # trace with padding present so the mask path is exported
    torch.onnx.export(
        _LogitsOnly(tagger.model), (ids, mask), str(paths["fp32"]),
        input_names=["input_ids", "attention_mask"], output_names=["logits"],
        dynamic_axes={n: {0: "batch", 1: "seq"} for n in ("input_ids", "attention_mask", "logits")},
        opset_version=opset, dynamo=False,
    )
    # per-channel scales keep the int8 error of small encoders low (per-tensor cost ~1.5 F1 on NCBI-disease)
    excluded = int8_excluded_nodes(paths["fp32"], keep_fp32)
    quantize_dynamic(str(paths["fp32"]), str(paths["int8"]), weight_type=QuantType.QInt8, per_channel=True,
                     nodes_to_exclude=excluded)
    report: dict[str, Any] = {"model": str(model_dir), "fp32": str(paths["fp32"]), "int8": str(paths["int8"]), "max_f1_drop": MAX_F1_DROP,
                              "int8_keep_fp32": list(keep_fp32), "int8_fp32_nodes": excluded,
                              "weights_sha256": weights_sha256(model_dir)}
    if eval_docs:
        from biobert.recipes.ner import evaluate_ner

        f1 = {}
        from biobert.pipeline import _quantize_int8

        # torch dynamic int8 is scored too: Tagger.load(backend="torch", quantize="int8") is gated on it
        variants = (("torch_fp32", tagger.model), ("onnx_fp32", OnnxTokenClassifier(paths["fp32"])),
                    ("onnx_int8", OnnxTokenClassifier(paths["int8"])), ("torch_int8", _quantize_int8(tagger.model)))
        for name, model in variants:
            tagger.predictor.model = model
            m, _ = evaluate_ner(tagger.predictor, eval_docs, eval_types)
            f1[name] = round(100 * m["f1"], 2)
        report["f1"] = f1
        report["decode"] = tagger.predictor.decode  # the gate's F1 is for this decoding
        report["int8_f1_drop"] = round(f1["torch_fp32"] - f1["onnx_int8"], 2)
        report["int8_offered"] = report["int8_f1_drop"] <= MAX_F1_DROP
        report["torch_int8_f1_drop"] = round(f1["torch_fp32"] - f1["torch_int8"], 2)
        report["torch_int8_offered"] = report["torch_int8_f1_drop"] <= MAX_F1_DROP
    else:
        # a new int8 model with no measurement: Tagger.load refuses it (E322) until `--eval-data` scores it
        report["int8_offered"] = False
        report["torch_int8_offered"] = False
    paths["report"].write_text(json.dumps(report, indent=2) + "\n")
    return report


def int8_excluded_nodes(onnx_path: str | Path, keep_fp32: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the MatMul/Gemm nodes of ``onnx_path`` that match a ``keep_fp32`` substring."""
    import onnx

    if not keep_fp32:
        return []
    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type in ("MatMul", "Gemm") and any(k in n.name for k in keep_fp32)]


def weights_sha256(model_dir: str | Path) -> str:
    """sha256 over the directory's ``*.safetensors`` weight files (sorted by name): what an export was made from."""
    h = hashlib.sha256()
    for f in sorted(Path(model_dir).glob("*.safetensors")):
        h.update(f.name.encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def check_export_current(model_dir: str | Path) -> None:
    """Refuse an ONNX export made from other weights than the directory holds now.

    Fine-tuning again into the same directory replaced the PyTorch weights but used to leave ``onnx/`` behind, so
    ``--backend onnx`` / ``--quantize int8`` served the old model, and the int8 gate read the old model's report.

    Raises:
        ModelLoadError: E315 the export report names other weights. An export without a report, or from before
            reports recorded the weights, cannot be checked and is used with a warning (W306).
    """
    rp = onnx_paths(model_dir)["report"]
    rep = json.loads(rp.read_text()) if rp.exists() else {}
    made_from = rep.get("weights_sha256")
    if made_from is None:
        log.warning("W306 cannot tell whether the ONNX export of %s matches its weights (no weights_sha256 in %s); "
                    "re-run `biobert export onnx` to be sure", model_dir, rp.name)
    elif made_from != weights_sha256(model_dir):
        raise ModelLoadError(f"E315 the ONNX export in {onnx_paths(model_dir)['dir']} was made from other weights than "
                             f"{model_dir} holds now (it was fine-tuned again since); re-run `biobert export onnx --model {model_dir}`")


def check_int8_allowed(model_dir: str | Path, backend: str = "onnx", allow_unchecked: bool = False) -> None:
    """Refuse an int8 model whose F1 cost against fp32 was not measured, or was more than ``MAX_F1_DROP``.

    ``backend``: ``"onnx"`` reads the report's ``int8_f1_drop`` (the ONNX int8 model), ``"torch"`` its
    ``torch_int8_f1_drop`` (torch dynamic quantisation); both are written by ``biobert export onnx --eval-data``.

    Raises:
        ModelLoadError: E308 the measured drop is over the limit; E322 it was never measured (no report, or an
            export without ``--eval-data``, which also replaces an earlier measured report: the int8 model it
            wrote is a new one). ``allow_unchecked`` turns E322 into warning W303, for users who measure
            accuracy themselves (benchmarks/tagging_speed.py does).
    """
    rp = onnx_paths(model_dir)["report"]
    rep = json.loads(rp.read_text()) if rp.exists() else {}
    key = "torch_int8_f1_drop" if backend == "torch" else "int8_f1_drop"
    drop = rep.get(key)
    if drop is None:
        what = "torch dynamic int8" if backend == "torch" else "the ONNX int8 model"
        msg = (f"{what} of {model_dir} was never scored against fp32 (no {key} in {rp}); int8 is offered only when it "
               f"costs <= {MAX_F1_DROP} F1. Run `biobert export onnx --model {model_dir} --eval-data LABELLED.conll "
               "[--eval-type TYPE]`")
        if not allow_unchecked:
            raise ModelLoadError(f"E322 {msg}, or pass --allow-unchecked-int8 (allow_unchecked_int8=True) to use it anyway")
        log.warning("W303 %s; used unchecked because allow_unchecked_int8 was given", msg)
    elif drop > MAX_F1_DROP:
        raise ModelLoadError(f"E308 int8 ({backend}) costs {drop} F1 points on {model_dir} (limit {MAX_F1_DROP}); use the fp32 model")
