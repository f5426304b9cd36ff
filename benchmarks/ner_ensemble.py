"""Upper-bound probe for NER: strict F1 of several fine-tuned models averaged into one (mean of probabilities).

    python benchmarks/ner_ensemble.py --data {data}/ner/NCBI-disease/biobert/test.tsv MODEL_DIR [MODEL_DIR ...]

The models must share their labels and tokenizer (seeds of one recipe). Each model is scored alone, then the
ensemble: per subword, the mean of the models' softmax probabilities, decoded as each model's own setting
(Viterbi by default) under the BioBERT untyped protocol. Asks whether distilling several seeds into one
model could reach a target: a student rarely beats its teachers' ensemble. Prints JSON.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="labelled CoNLL file (untyped B/I/O is scored boundaries-only)")
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
    result["summary"] = {"mean_single_f1": round(sum(singles) / len(singles), 2), "best_single_f1": max(singles),
                         "ensemble_minus_mean": round(result["ensemble"]["f1"] - sum(singles) / len(singles), 2)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
