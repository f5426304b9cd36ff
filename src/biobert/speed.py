"""Tagging throughput on the user's own machine and texts (``biobert benchmark``).

    biobert benchmark --input abstracts.pubtator --limit 200 [--model DIR] [--quantize int8] [--threads 2]

Every variant tags the same documents ``repeat`` times, interleaved, and the fastest pass is kept (the
others absorb warm-up and noise). Reported per variant: documents/s, words/s (biobert's word tokenizer)
and subword tokens/s (the model's tokenizer, special tokens excluded), and, when several variants run,
each one's speed as a ratio to the first, measured in the same process: ratios, not absolute numbers,
are what carries over between machines.
"""

from __future__ import annotations

import platform
import time
from typing import Any, Sequence

from biobert.report import cpu_model
from biobert.types import Document

__all__ = ["measure_tagging"]


def _device(tagger: Any) -> str:
    model = getattr(getattr(tagger, "predictor", None), "model", None)
    try:
        return str(next(model.parameters()).device)  # type: ignore[union-attr]
    except (AttributeError, StopIteration, TypeError):
        return "onnxruntime" if model is not None else "unknown"


def measure_tagging(variants: dict[str, Any], docs: Sequence[Document], repeat: int = 3) -> dict[str, Any]:
    """Time each tagger in ``variants`` (name -> :class:`~biobert.pipeline.Tagger`) on ``docs``.

    Returns:
        ``{"documents", "words", "subwords", "characters", "repeat", "machine", "variants": {name: {...}}}``;
        each variant has ``seconds`` (best pass), ``documents_per_second``, ``words_per_second``,
        ``subwords_per_second``, ``spans``, ``device`` and ``ratio_to_<first>``.
    """
    import torch

    from biobert.text import tokenize_words

    if not variants:
        raise ValueError("no tagger to measure")
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    texts = [Document(d.id, d.text) for d in docs]  # tag the text only, never the input's own spans
    words = sum(len(tokenize_words(d.text)) for d in texts)
    first = next(iter(variants.values()))
    tok = first.predictor.encoder.tok
    subwords = sum(len(ids) for ids in tok([d.text for d in texts], add_special_tokens=False, verbose=False)["input_ids"])
    best: dict[str, float] = {name: float("inf") for name in variants}
    spans: dict[str, int] = {}
    for _ in range(repeat):
        for name, tagger in variants.items():
            t0 = time.perf_counter()
            out = tagger(texts)
            best[name] = min(best[name], time.perf_counter() - t0)
            spans[name] = sum(len(d.spans) for d in out)
    base_name = next(iter(variants))
    rows = {}
    for name, tagger in variants.items():
        s = best[name]
        rows[name] = {
            "seconds": round(s, 3), "documents_per_second": round(len(texts) / s, 2), "words_per_second": round(words / s, 1),
            "subwords_per_second": round(subwords / s, 1), "spans": spans[name], "device": _device(tagger),
            f"ratio_to_{base_name}": round(best[base_name] / s, 3),
        }
    return {
        "documents": len(texts), "words": words, "subwords": subwords, "characters": sum(len(d.text) for d in texts),
        "repeat": repeat,
        "machine": {"platform": platform.platform(), "processor": cpu_model(),
                    "torch_threads": torch.get_num_threads(), "torch": torch.__version__},
        "variants": rows,
    }
