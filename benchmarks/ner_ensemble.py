"""Upper-bound probe for NER: strict F1 of several fine-tuned models averaged into one (mean of probabilities).

    python benchmarks/ner_ensemble.py --data {data}/ner/NCBI-disease/biobert/test.tsv MODEL_DIR [MODEL_DIR ...]

The models must share their labels and tokenizer (seeds of one recipe). Each model is scored alone, then the
ensemble: per subword, the mean of the models' softmax probabilities, decoded as each model's own setting
(Viterbi by default) under the BioBERT untyped protocol. Asks whether distilling several seeds into one
model could reach a target: a student rarely beats its teachers' ensemble. Prints JSON.

With ``--soup`` it also scores the uniform "model soup" (Wortsman et al. 2022): one model whose every parameter is
the mean of the members' (fp32 mean, cast back to the saved dtype). Seeds fine-tuned from the same encoder often
share a basin, and a soup costs what one model costs at inference, unlike the ensemble.
"""

from __future__ import annotations

import argparse
import copy
import json
from types import SimpleNamespace

import torch

from biobert.io.conll import read_conll
from biobert.pipeline import Tagger
from biobert.recipes.ner import evaluate_ner
from biobert.settings import expand_path


class MeanOfProbabilities(torch.nn.Module):
    """A token classifier whose log-'logits' are the log of its members' mean softmax (the predictor's log_softmax
    of them is the same numbers, so Viterbi and argmax read the averaged distribution)."""

    def __init__(self, models: list[torch.nn.Module]) -> None:
        super().__init__()
        self.members = torch.nn.ModuleList(models)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        probs = [torch.softmax(m(input_ids=input_ids, attention_mask=attention_mask).logits.float(), -1) for m in self.members]
        return SimpleNamespace(logits=torch.stack(probs).mean(0).log())


def soup(models: list[torch.nn.Module]) -> torch.nn.Module:
    """A copy of the first model whose every floating-point tensor is the members' mean (integer buffers kept)."""
    states = [m.state_dict() for m in models]
    out = copy.deepcopy(models[0])
    mean = {k: (torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v)
            for k, v in states[0].items()}
    out.load_state_dict(mean)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="labelled CoNLL file (untyped B/I/O is scored boundaries-only)")
    ap.add_argument("--soup", action="store_true", help="also score the uniform average of the members' weights")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    taggers = [Tagger.load(m, abbreviations=False, device="cpu") for m in args.models]
    labels = taggers[0].labels
    for m, t in zip(args.models, taggers):
        if t.labels != labels:
            raise SystemExit(f"{m} has labels {t.labels}, not {labels}")
    docs = read_conll(expand_path(args.data))
    predictor = taggers[0].predictor
    result: dict[str, dict[str, float]] = {}
    for m, t in zip(args.models, taggers):
        predictor.model = t.model
        s, _ = evaluate_ner(predictor, docs, ignore_types=True)
        result[m] = {k: round(100 * s[k], 2) for k in ("precision", "recall", "f1")}
    predictor.model = MeanOfProbabilities([t.model for t in taggers])
    s, _ = evaluate_ner(predictor, docs, ignore_types=True)
    result["ensemble"] = {k: round(100 * s[k], 2) for k in ("precision", "recall", "f1")}
    singles = [result[m]["f1"] for m in args.models]
    mean_single = sum(singles) / len(singles)
    result["summary"] = {"mean_single_f1": round(mean_single, 2), "best_single_f1": max(singles),
                         "ensemble_minus_mean": round(result["ensemble"]["f1"] - mean_single, 2)}
    if args.soup:
        predictor.model = soup([t.model for t in taggers])
        s, _ = evaluate_ner(predictor, docs, ignore_types=True)
        result["soup"] = {k: round(100 * s[k], 2) for k in ("precision", "recall", "f1")}
        result["summary"]["soup_minus_mean"] = round(result["soup"]["f1"] - mean_single, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
