"""RE recipe: read pairs -> fine-tune -> (select on dev) -> test -> save a model directory (+ cross-validation).

    from biobert.config import load_config
    from biobert.recipes.re import REConfig, finetune_re, cv_re
    cfg = load_config(REConfig, "configs/re/euadr.yaml")
    summary = cv_re(cfg)            # all folds, mean ± sd (GAD / EU-ADR protocol)
    report = finetune_re(load_config(REConfig, "configs/re/chemprot.yaml"))

Formats (``data.format``): ``biobert_tsv`` (GAD / EU-ADR), ``chemprot_tsv``
(BLUE, BioBERT or bio_electra masks), ``chemprot_jsonl`` (SciBERT), ``chemprot_bc6``
(the original BioCreative VI release: a split's directory or one of its files; every
Chemical-Gene pair of a sentence is an example), ``ddi`` (DDI-2013 XML file or
directory), ``ddi_tsv`` (DDI in the BioBERT / BLUE TSV layouts) and ``jsonl`` (biobert
Documents whose first relation names the pair). Metrics (``metric``): ``binary`` (positive-class P/R/F1), ``chemprot``
(micro over CPR:3/4/5/6/9), ``ddi`` (micro over the 4 DDI types) and
``micro`` (micro over every label but the negative one).

Gold pairs that the reader had to drop (ChemProt rows missing a mask, DDI
pairs with overlapping arguments, ChemProt gold relations across sentences) and test pairs whose arguments overlap are
scored as predicted negative, so a test score never silently loses gold
positives; their numbers are in the report.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from biobert import distributed
from biobert.config import to_dict
from biobert.errors import ConfigError, TrainingError
from biobert.settings import expand_path
from biobert.train import TrainConfig, describe as describe_training
from biobert.types import Document

__all__ = ["REDataConfig", "REConfig", "load_re_split", "evaluate_re", "finetune_re", "cv_re", "FORMAT_DEFAULTS", "DIR_FORMATS"]

log = logging.getLogger(__name__)

#: format -> (negative label, metric, positive label for "binary")
FORMAT_DEFAULTS: dict[str, tuple[str, str]] = {
    "biobert_tsv": ("0", "binary"),
    "chemprot_tsv": ("False", "chemprot"),
    "chemprot_jsonl": ("", "micro"),
    "ddi": ("false", "ddi"),
    "ddi_tsv": ("false", "ddi"),
    "chemprot_bc6": ("False", "chemprot"),
    "jsonl": ("", "micro"),
}
#: labels that read as "no relation" (compared lower-cased): refused as relations unless negative_label is set (E536)
NEGATIVE_NAMES = frozenset({"0", "false", "none", "negative", "no", "no_relation", "no-relation", "norel", "na", "n/a", "null"})
#: formats whose data path may be a directory
DIR_FORMATS = ("ddi", "chemprot_bc6")


@dataclass
class REDataConfig:
    """Where the pairs are. Paths may use ``{data}`` (the data root) and ``{fold}`` (with ``folds``)."""

    format: str
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    #: cross-validation fold names substituted for ``{fold}`` (GAD / EU-ADR: "1".."10")
    folds: list[str] | None = None
    #: rows whose masks are not found exactly once: "error" or "skip" (counted, scored as missed)
    missing_mask: str = "error"
    #: DDI discontinuous entities: "hull" or "drop"
    discontinuous: str = "hull"
    #: hold out this fraction of training documents (grouped by source file) as dev when no dev file is given
    dev_from_train: float = 0.0
    #: use only the first N training pairs (quick runs; recorded in the report)
    limit_train: int | None = None

    def validate(self, where: str = "data") -> None:
        """Check the values at config load, before any file is read.

        Raises:
            ConfigError: E444 unknown format, E415 any other value out of range.
        """
        from biobert.config import check_choice, check_range

        where = where or "data"
        if self.format not in FORMAT_DEFAULTS:
            raise ConfigError(f"E444 {where}.format: unknown RE data format {self.format!r}; expected one of {sorted(FORMAT_DEFAULTS)}")
        check_choice(self.missing_mask, f"{where}.missing_mask", ("error", "skip"))
        check_choice(self.discontinuous, f"{where}.discontinuous", ("hull", "drop"))
        check_range(self.dev_from_train, f"{where}.dev_from_train", ge=0, lt=1, note="fraction of the training documents")
        check_range(self.limit_train, f"{where}.limit_train", ge=1)


@dataclass
class REConfig:
    """An RE fine-tuning run. One YAML file per paper table row (configs/re/)."""

    data: REDataConfig
    out: str = "runs/re"
    encoder: str = "minilm"
    #: mask | markers | markers+mask
    style: str = "mask"
    #: cls | entity_start
    pooling: str = "cls"
    multi_label: bool = False
    threshold: float = 0.5
    #: label sets; default: from the data
    labels: list[str] | None = None
    #: the "no relation" label; default: per format ("0", "False", "false")
    negative_label: str | None = None
    #: binary | chemprot | ddi | micro; default: per format
    metric: str | None = None
    positive_label: str = "1"
    #: names given to predicted labels in extracted Relations, e.g. {"1": "Association"}
    label_names: dict[str, str] | None = None
    mask_template: str = "@{TYPE}$"
    max_length: int = 128
    drop_too_long: bool = True
    dropout: float | None = None
    train: TrainConfig = field(default_factory=lambda: TrainConfig(lr=5e-5, epochs=3, batch_size=32))
    save_half: bool = False
    name: str | None = None

    def validate(self, where: str = "") -> None:
        """Check the values at config load, before any data or model is read (see :mod:`biobert.config`).

        Raises:
            ConfigError: E440 style, E441 pooling, E444 format, E446 metric, E415 any other value out of range.
        """
        from biobert.config import check_range
        from biobert.tasks.re import POOLINGS, STYLES

        def key(k: str) -> str:
            return f"{where}.{k}" if where else k

        self.data.validate(key("data"))
        if self.style not in STYLES:
            raise ConfigError(f"E440 {key('style')}: RE input style must be one of {STYLES}, got {self.style!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"E441 {key('pooling')}: RE pooling must be one of {POOLINGS}, got {self.pooling!r}")
        metric = self.metric or FORMAT_DEFAULTS[self.data.format][1]
        if metric not in ("binary", "chemprot", "ddi", "micro"):
            raise ConfigError(f"E446 {key('metric')}: unknown RE metric {metric!r}; expected binary, chemprot, ddi or micro")
        check_range(self.threshold, key("threshold"), gt=0, lt=1)
        check_range(self.max_length, key("max_length"), ge=1)
        check_range(self.dropout, key("dropout"), ge=0, lt=1)
        # what evaluate_re reports: P/R/F1 for every metric, plus accuracy and specificity for binary
        metrics = ("precision", "recall", "f1") + (("accuracy", "specificity") if metric == "binary" else ())
        self.train.validate(key("train"), metrics=metrics)


def _read(fmt: str, path: Path, cfg: REDataConfig, stats: Counter, skipped: list[dict]) -> list[Document]:
    if fmt == "biobert_tsv":
        from biobert.io.re_tsv import read_biobert_re_tsv

        return read_biobert_re_tsv(path, missing_mask=cfg.missing_mask, stats=stats, skipped=skipped)
    if fmt == "chemprot_tsv":
        from biobert.io.re_tsv import read_chemprot_tsv

        return read_chemprot_tsv(path, missing_mask=cfg.missing_mask, stats=stats, skipped=skipped)
    if fmt == "chemprot_jsonl":
        from biobert.io.chemprot_jsonl import read_chemprot_jsonl

        return read_chemprot_jsonl(path, stats=stats)
    if fmt == "ddi":
        from biobert.io.ddi import read_ddi

        return read_ddi(path, discontinuous=cfg.discontinuous, stats=stats, skipped=skipped)
    if fmt == "ddi_tsv":
        from biobert.io.re_tsv import read_ddi_tsv

        return read_ddi_tsv(path, missing_mask=cfg.missing_mask, stats=stats, skipped=skipped)
    if fmt == "chemprot_bc6":
        from biobert.io.chemprot_bc6 import chemprot_bc6_pairs, read_chemprot_bc6

        return chemprot_bc6_pairs(read_chemprot_bc6(path, stats=stats), stats=stats, skipped=skipped)
    if fmt == "jsonl":
        from biobert import io

        return [d for d in io.read(path, fmt="jsonl") if d.relations]
    raise ConfigError(f"E444 unknown RE data format {fmt!r}; expected one of {sorted(FORMAT_DEFAULTS)}")


def _path(p: str | None, fold: str | None) -> Path | None:
    if not p:
        return None
    if "{fold}" in p:
        if fold is None:
            raise ConfigError(f"E445 path {p!r} has {{fold}} but no fold was chosen (use cross-validation or --fold)")
        p = p.replace("{fold}", str(fold))
    return expand_path(p)


def load_re_split(cfg: REDataConfig, split: str, fold: str | None = None, stats: Counter | None = None,
                  skipped: list[dict] | None = None) -> tuple[list[Document], Path | None]:
    """Read one split (``[]`` when not configured or empty); returns the documents and the resolved path."""
    p = _path(getattr(cfg, split), fold)
    if p is None:
        return [], None
    from biobert.train import require_data_path

    require_data_path(p, f"data.{split}", allow_dir=cfg.format in DIR_FORMATS)  # E423 instead of a raw OSError
    if p.is_file() and p.stat().st_size == 0:  # BioBERT's GAD / EU-ADR dev.tsv files are empty
        return [], p
    return _read(cfg.format, p, cfg, stats if stats is not None else Counter(), skipped if skipped is not None else []), p


def _split_dev(docs: list[Document], fraction: float) -> tuple[list[Document], list[Document]]:
    """Deterministic dev split by the readers' ``group`` (abstract, DDI document or sentence), else source file, else id.

    Every pair of a TSV or JSONL file shares its source file: keyed by it, the whole file went to one side
    (all train, no dev, or no train at all), so the readers name a finer group.
    """
    def key(d: Document) -> str:
        return str(d.metadata.get("group", d.metadata.get("source", d.id)))

    def is_dev(d: Document) -> bool:
        return zlib.crc32(key(d).encode()) % 10_000 < fraction * 10_000

    return [d for d in docs if not is_dev(d)], [d for d in docs if is_dev(d)]


def score_labels(metric: str, gold: Sequence[str], pred: Sequence[str], negative: str, positive: str = "1") -> dict[str, Any]:
    """Apply the configured RE metric to parallel gold / predicted labels."""
    from biobert import metrics as M

    if metric == "binary":
        out: dict[str, Any] = dict(M.binary_scores(gold, pred, positive))
        out["metric"] = f"P/R/F1 of the positive class {positive!r} (sklearn average='binary')"
    elif metric in ("chemprot", "ddi"):
        scored = M.CHEMPROT_EVAL_LABELS if metric == "chemprot" else M.DDI_EVAL_LABELS
        out = M.chemprot_scores(gold, pred) if metric == "chemprot" else M.ddi_scores(gold, pred)
        out["metric"] = ("micro P/R/F1 over CPR:3, CPR:4, CPR:5, CPR:6, CPR:9 (False excluded)" if metric == "chemprot"
                         else "micro P/R/F1 over advise, effect, int, mechanism (false excluded)")
        # labels the metric leaves out besides the negative one (CPR:1 of the BioCreative files; 'cpr:3', which
        # would otherwise vanish from the score unseen), per label, gold and predicted
        for side, ls in (("gold", gold), ("predicted", pred)):
            left_out = Counter(l for l in ls if l not in scored and l != negative)
            if left_out:
                out[f"{side}_labels_not_scored"] = dict(sorted(left_out.items()))
    elif metric == "micro":
        labels = sorted({*gold, *pred} - {negative})
        out = M.micro_prf_over(gold, pred, labels)
        out["metric"] = f"micro P/R/F1 over all labels except {negative!r}" if negative else "micro P/R/F1 over all labels"
    else:
        raise ConfigError(f"E446 unknown RE metric {metric!r}; expected binary, chemprot, ddi or micro")
    return out


def evaluate_re(predictor: Any, docs: Sequence[Document], metric: str, *, positive_label: str = "1",
                missed_gold: Sequence[str] = (), stats: Counter | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score ``predictor`` on gold pair documents.

    Args:
        missed_gold: gold labels of pairs that could not be read into examples;
            they are scored as predicted negative.
    Returns:
        (metrics, per-pair predictions)
    """
    from biobert.tasks.re import pair_of

    spec = predictor.spec
    stats = stats if stats is not None else Counter()
    preds = predictor.predict_docs(docs, stats)
    if spec.multi_label:
        from biobert.metrics import multilabel_micro_prf

        gold_sets = [[l for l in pair_of(d)[2] if l != spec.negative_label] for d in docs] + [[g] for g in missed_gold if g != spec.negative_label]
        pred_sets = [p["labels"] for p in preds] + [[] for _ in missed_gold]
        out: dict[str, Any] = dict(multilabel_micro_prf(gold_sets, pred_sets))
        out["metric"] = "multi-label micro P/R/F1 over (pair, label)"
    else:
        gold = [pair_of(d)[2][0] for d in docs] + list(missed_gold)
        pred = [p["label"] for p in preds] + [spec.negative_label] * len(missed_gold)
        out = score_labels(metric, gold, pred, spec.negative_label, positive_label)
    out["n_pairs"] = len(docs)
    out["n_missed_gold_scored_negative"] = len(missed_gold)
    out["n_too_long"] = sum(1 for p in preds if p["too_long"])
    return out, preds


def _model_card(cfg: REConfig, spec: Any, test: dict[str, Any] | None, command: str | None, fold: str | None) -> str:
    lines = [
        f"# {cfg.name or 'biobert relation-extraction model'}",
        "",
        "Relation classifier fine-tuned with `biobert` (one pair of argument spans per input).",
        "",
        f"* Encoder: `{cfg.encoder}`; input style `{spec.style}`; representation `{spec.pooling}`; "
        f"{'multi-label (sigmoid)' if spec.multi_label else 'single-label (softmax)'}",
        f"* Labels: {', '.join(spec.labels)} (negative: `{spec.negative_label}`)",
        f"* Masks: {json.dumps(spec.masks)}" if spec.uses_masks else f"* Markers: {' '.join(spec.markers)}",
        f"* Candidate type pairs (head, tail): {', '.join('×'.join(p) for p in spec.type_pairs) or 'any'}",
        f"* Data format `{cfg.data.format}`{f', fold {fold}' if fold else ''}; max_length {spec.max_length}; "
        f"{describe_training(cfg.train)}",
        "",
        "## Test results",
        "",
    ]
    if test:
        lines += [f"{test['metric']}: P {test['precision']:.4f} / R {test['recall']:.4f} / F1 {test['f1']:.4f} "
                  f"on {test['n_pairs']} pairs", ""]
    else:
        lines += ["(no test set configured)", ""]
    lines += ["## Use", "", "```python", "from biobert import Extractor", "ex = Extractor.load('<this directory>')",
              "doc = ex('BRCA1 mutations cause breast cancer.')  # runs the default NER tagger first",
              "[(r.head.text, r.label, r.tail.text, r.score) for r in doc.relations]", "```", "",
              "## Reproduce", "", "```", command or "biobert finetune re --config <config.yaml>", "```", ""]
    return "\n".join(lines)


def finetune_re(cfg: REConfig, resume: bool = True, command: str | None = None, progress: bool = True,
                fold: str | None = None) -> dict[str, Any]:
    """Fine-tune, evaluate and save one RE model (one fold when ``fold`` is given)."""
    import torch

    from biobert.encoders import load_tokenizer
    from biobert.modeldir import save_model_dir
    from biobert.report import data_record, write_report
    from biobert.tasks.re import REPredictor, RESpec, build_re_features, derive_masks, new_relation_model, pair_of, re_collate, re_loss
    from biobert.train import Trainer, require_data_path, encoder_fingerprint, run_fingerprint, set_seed

    if cfg.data.format not in FORMAT_DEFAULTS:
        raise ConfigError(f"E444 unknown RE data format {cfg.data.format!r}; expected one of {sorted(FORMAT_DEFAULTS)}")
    if cfg.data.folds and fold is None:
        raise ConfigError("E447 this config has folds; run cross-validation (biobert finetune re --cv) or pass --fold")
    t0 = time.time()
    set_seed(cfg.train.seed)
    neg_default, metric_default = FORMAT_DEFAULTS[cfg.data.format]
    negative = cfg.negative_label if cfg.negative_label is not None else neg_default
    metric = cfg.metric or metric_default
    stats: dict[str, Counter] = {s: Counter() for s in ("train", "dev", "test")}
    skipped: dict[str, list[dict]] = {s: [] for s in ("train", "dev", "test")}
    splits: dict[str, list[Document]] = {}
    files: list[Path] = []
    for s in ("train", "dev", "test"):  # every configured path is checked before any is read (E423)
        if getattr(cfg.data, s):
            require_data_path(_path(getattr(cfg.data, s), fold), f"data.{s}", allow_dir=cfg.data.format in DIR_FORMATS)
    for s in ("train", "dev", "test"):
        splits[s], p = load_re_split(cfg.data, s, fold, stats[s], skipped[s])
        if p is not None:
            files.append(p)
    if fold is not None and not cfg.data.folds and not any("{fold}" in str(getattr(cfg.data, x) or "") for x in ("train", "dev", "test")):
        # the fold would be recorded in the report and model card of a run that used no fold at all
        raise ConfigError(f"E447 fold {fold!r} was given but this config has no folds (no data.folds, no {{fold}} in its paths)")
    if not splits["train"]:
        raise TrainingError(f"E533 no RE training pairs were read from {_path(cfg.data.train, fold)} "
                            f"(format {cfg.data.format}; counts: {dict(stats['train']) or 'nothing read'})")
    notes: dict[str, Any] = {}
    if cfg.data.test and not splits["test"]:
        # an empty dev file was warned about; an empty test file passed as `test: null` without a word
        log.warning("RE: the test file %s holds no pair; nothing is tested", _path(cfg.data.test, fold))
        notes["empty_test_file"] = str(_path(cfg.data.test, fold))
    if cfg.data.limit_train:
        splits["train"] = splits["train"][: cfg.data.limit_train]
    if not splits["dev"] and cfg.data.dev_from_train > 0:
        splits["train"], splits["dev"] = _split_dev(splits["train"], cfg.data.dev_from_train)
    if splits["dev"]:
        selection = f"best dev {metric} ({len(splits['dev'])} pairs)"
    else:
        # an empty dev file, or a dev_from_train share that caught no document, used to pass without a word
        why = ("dev_from_train took no pair" if cfg.data.dev_from_train > 0 else
               "the dev file holds no pair" if cfg.data.dev else "no dev data configured")
        selection = f"none ({why}): the last epoch's weights are kept"
        log.warning("RE: no dev pairs (%s): no model selection, the last epoch's weights are kept", why)
    if cfg.negative_label is None and not negative:
        # a format without a negative label of its own (jsonl): a class named like "no relation" would be learned,
        # scored as a relation (micro over every label is then accuracy) and extracted as one
        named = sorted({l for d in splits["train"] for l in pair_of(d)[2] if l.strip().lower() in NEGATIVE_NAMES})
        if named:
            raise TrainingError(f"E536 the training labels of {_path(cfg.data.train, fold)} include {named}, which reads "
                                f"as 'no relation', but format {cfg.data.format} has no negative label: set "
                                f"negative_label (e.g. --set negative_label={named[0]}), or negative_label='' to treat "
                                "every label as a relation")
    if cfg.labels is not None:
        labels = list(cfg.labels)
    else:
        # the model's classes are what it can learn: the training labels. Dev/test labels it never saw used to
        # become classes too (untrainable, always missed, and part of the resume fingerprint); now they are counted
        seen = sorted({l for d in splits["train"] for l in pair_of(d)[2]})
        labels = [l for l in seen if l != negative] if cfg.multi_label else seen
    for s_ in ("dev", "test"):
        unknown = Counter(l for d in splits[s_] for l in pair_of(d)[2] if l not in labels and l != negative)
        if unknown:
            notes.setdefault("gold_labels_not_learned", {})[s_] = dict(sorted(unknown.items()))
            log.warning("RE: %s pairs with labels the training data does not have (scored as misses): %s", s_, dict(unknown))
    type_pairs = sorted({(pair_of(d)[0].label, pair_of(d)[1].label) for d in splits["train"]
                         if any(l != negative for l in pair_of(d)[2])})
    spec = RESpec(labels=labels, negative_label=negative, style=cfg.style, pooling=cfg.pooling, multi_label=cfg.multi_label,
                  threshold=cfg.threshold, masks=derive_masks(splits["train"], cfg.mask_template), max_length=cfg.max_length,
                  type_pairs=[list(p) for p in type_pairs], label_names=dict(cfg.label_names or {}))
    tokenizer = load_tokenizer(cfg.encoder)
    model = new_relation_model(cfg.encoder, tokenizer, spec, cfg.dropout)
    feats = build_re_features(splits["train"], tokenizer, spec, stats["train"], drop_too_long=cfg.drop_too_long)
    if not feats:
        raise TrainingError("E533 no RE training features could be built")
    predictor = REPredictor(model, tokenizer, spec)
    pad = tokenizer.pad_token_id or 0

    def evaluate(m: torch.nn.Module) -> dict[str, Any]:
        dev_counts: Counter = Counter()  # per evaluation (every epoch reads the same pairs), kept from the last
        res, _ = evaluate_re(predictor, splits["dev"], metric, positive_label=cfg.positive_label,
                             missed_gold=[x["label"] for x in skipped["dev"]], stats=dev_counts)
        notes["dev_evaluation_counts"] = dict(dev_counts)
        return res

    out = Path(cfg.out)
    # what the run is: a checkpoint made with anything else is not resumed (E504); the test file only scores it
    fingerprint = run_fingerprint(
        to_dict(cfg), {f"data.{s}": _path(getattr(cfg.data, s), fold) for s in ("train", "dev")},
        # the fold's own paths and name are in it; the list of the other folds does not change this fold's training
        exclude=("data.test", "data.folds"), fold=fold, labels=labels, negative_label=negative, metric=metric,
        type_pairs=[list(p) for p in type_pairs],
        **encoder_fingerprint(cfg.encoder, tokenizer))  # the encoder's weights and vocabulary, not only its path
    trainer = Trainer(model, feats, lambda b: re_collate(b, pad), re_loss, evaluate if splits["dev"] else None,
                      out, cfg.train, progress=progress, fingerprint=fingerprint)
    summary = trainer.train(resume=resume)
    if not distributed.is_main():  # data-parallel run: process 0 tests and saves
        return distributed.wait_for_report(out / "report.json")
    model.eval()
    test = None
    if splits["test"]:
        test, preds = evaluate_re(predictor, splits["test"], metric, positive_label=cfg.positive_label,
                                  missed_gold=[x["label"] for x in skipped["test"]], stats=stats["test"])
        write_re_predictions(out / "test_predictions.jsonl", splits["test"], preds)
    meta = {"task": "re", "encoder": cfg.encoder, "metric": metric, "positive_label": cfg.positive_label,
            "data_format": cfg.data.format, "missing_mask": cfg.data.missing_mask, **spec.to_meta()}
    save_model_dir(out, model, tokenizer, meta, _model_card(cfg, spec, test, command, fold), half=cfg.save_half)
    report = {
        "task": "re",
        "command": command,
        "config": to_dict(cfg),
        "fold": fold,
        "seed": cfg.train.seed,
        "data": data_record(files),  # directories (DDI XML) hashed file by file
        "model_selection": selection,
        "spec": spec.to_meta(),
        "counts": {s: dict(c) for s, c in stats.items()},
        "pairs": {s: len(v) for s, v in splits.items()},
        "skipped_gold": {s: len(v) for s, v in skipped.items()},
        "train": summary,
        "dev_f1": summary["best_dev"],
        "test": test,
        **notes,
        "wall_seconds": round(time.time() - t0, 1),
    }
    write_report(out / "report.json", report)
    distributed.barrier()  # releases the other processes (distributed.wait_for_report)
    return report


def write_re_predictions(path: str | Path, docs: Sequence[Document], preds: Sequence[dict[str, Any]]) -> None:
    """One JSON line per pair: ``id``, ``gold`` labels, ``pred`` label, ``score``, ``too_long`` (and any other field
    the predictor gave). The same record for ``finetune re``'s test_predictions.jsonl and ``evaluate re
    --predictions``, which used to call the predicted label ``pred`` in one and ``label`` in the other."""
    from biobert.tasks.re import pair_of

    with open(path, "w", encoding="utf-8") as fh:
        for d, p in zip(docs, preds):
            rest = {k: v for k, v in p.items() if k != "label"}
            fh.write(json.dumps({"id": d.id, "gold": pair_of(d)[2], "pred": p["label"], **rest}, ensure_ascii=False) + "\n")


def cv_re(cfg: REConfig, resume: bool = True, command: str | None = None, progress: bool = True,
          folds: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every fold (``cfg.data.folds``) into ``out/fold-<k>`` and report per-fold and mean ± sd P/R/F1.

    As in BioBERT's GAD / EU-ADR tables, the reported P, R and F1 are each the
    mean over folds (so F1 is not the harmonic mean of the mean P and R).
    """
    from biobert.metrics import mean_sd
    from biobert.report import write_report

    folds = list(folds or cfg.data.folds or [])
    if not folds:
        raise ConfigError("E448 cross-validation needs data.folds (e.g. ['1', ..., '10'])")
    for key in ("train", "test"):
        # without {fold} every fold would train (or be tested) on the same file: k identical runs, sd 0
        if "{fold}" not in str(getattr(cfg.data, key) or ""):
            raise ConfigError(f"E448 cross-validation needs data.{key} with {{fold}} in its path (each fold's own "
                              f"file, e.g. {{data}}/re/GAD/biobert/{{fold}}/{key}.tsv), got {getattr(cfg.data, key)!r}")
    t0 = time.time()
    per_fold: dict[str, Any] = {}
    for k in folds:
        fcfg = copy.deepcopy(cfg)
        fcfg.out = str(Path(cfg.out) / f"fold-{k}")
        rep = finetune_re(fcfg, resume=resume, command=command, progress=progress, fold=k)
        t = rep["test"] or {}
        per_fold[k] = {m: t.get(m) for m in ("precision", "recall", "f1", "n_pairs", "n_too_long")}
        per_fold[k]["train_seconds"] = rep["train"]["train_seconds"]
        per_fold[k]["tokens_per_second"] = rep["train"]["tokens_per_second"]
        if progress:
            scores = " ".join(f"{n} {t[m]:.4f}" for n, m in (("P", "precision"), ("R", "recall"), ("F1", "f1"))) if t else "not tested"
            print(f"[cv] fold {k}: {scores}", file=sys.stderr, flush=True)
    summary = {
        "task": "re",
        "command": command,
        "config": to_dict(cfg),
        "folds": folds,
        "per_fold": per_fold,
        "mean": {m: mean_sd([v[m] for v in per_fold.values()]) for m in ("precision", "recall", "f1")},  # untested folds: None
        "wall_seconds": round(time.time() - t0, 1),
    }
    write_report(Path(cfg.out) / "cv_report.json", summary)
    return summary
