"""The BioBERT paper's tables, one row at a time: ``biobert reproduce ROW --seeds 1 --seeds 2 --seeds 3 [--encoder DIR]``.

Each :class:`PaperRow` names a config under ``configs/`` (the protocol: data, split, metric), the settings that
were measured for the default encoder (BENCHMARKS.md), and the published figures to compare with. Running a
row fine-tunes and tests once per seed (GAD, EU-ADR and the QA rows cross-validate within each seed), then
reports mean ± sd over seeds next to the paper. Swapping ``encoder`` is how a general encoder is compared with
a domain-adapted one under identical settings. Runs resume: a finished seed is read back, not retrained; runs
with ``--set`` overrides go to a directory of their own (:func:`run_dir_name`), so that other settings never
meet a checkpoint they cannot resume.

    from biobert.recipes.paper import ROWS, run_row
    summary = run_row(ROWS["ner-ncbi"], seeds=[1, 2, 3], encoder="runs/pretrain/minilm-mlm")
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from biobert.errors import ConfigError, TrainingError

__all__ = ["PaperRow", "ROWS", "run_row", "run_dir_name", "markdown_row", "MARKDOWN_HEADER", "config_path"]


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table.

    Args:
        id: the row's name on the command line.
        task: ``ner`` | ``re`` | ``qa``.
        config: the config file, relative to the repository root.
        overrides: ``key=value`` settings on top of the config (what was measured here).
        metrics: the scores reported, as the recipes name them (fractions).
        paper: published figures (percent), by system, e.g. ``{"BioBERT v1.1": {"f1": 89.71}}``.
        note: how the row differs from the paper's protocol, if it does.
    """

    id: str
    task: str
    config: str
    overrides: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ("precision", "recall", "f1")
    paper: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    note: str = ""


def _ner(id: str, cfg: str, biobert: float, bert: float, *over: str, note: str = "") -> PaperRow:
    return PaperRow(id, "ner", f"configs/ner/{cfg}.yaml", over,
                    paper={"BioBERT v1.1": {"f1": biobert}, "BERT-base": {"f1": bert}}, note=note)


#: BioBERT's released NER models were trained on train+dev (biobert-pytorch ``Split.train = "train_dev"``)
_TRDEV = "BioBERT's own protocol: trained on train+dev for the fixed epochs, no model selection"
#: rows of Table 6 whose data is not distributed with this checkout's data root
_UNMEASURED = "settings not measured here (no data in this checkout): epochs scaled to the corpus size"


#: sources as PROTOCOLS.md names them: [BBPT] the READMEs of BioBERT's official PyTorch port (its §1.4 re-runs)
_PORT_RE = "BioBERT v1.1, PyTorch port re-run ([BBPT] README, PROTOCOLS §1.4)"
_PORT_7B = "PyTorch port re-run on the 7b test, [BBPT] README, PROTOCOLS §1.4"
#: figures PROTOCOLS.md does not give, kept with the paper they come from
_BLURB = "BLURB paper, Gu et al. 2021, arXiv:2007.15779; not in PROTOCOLS.md"
#: said in place of figures where a row has none
NO_FIGURE = "no published figure in PROTOCOLS.md"

#: Table 6 (NER), Table 7 (RE), Table 8 (QA) and the later benchmarks the users compare with (DDI, PubMedQA).
ROWS: dict[str, PaperRow] = {r.id: r for r in (
    _ner("ner-ncbi", "ncbi_disease", 89.71, 85.63),
    _ner("ner-bc5cdr-chem", "bc5cdr_chem", 93.47, 91.16),
    _ner("ner-bc5cdr-disease", "bc5cdr_disease", 87.15, 82.41),
    _ner("ner-bc2gm", "bc2gm", 84.72, 81.79, "train.epochs=4"),
    _ner("ner-jnlpba", "jnlpba", 77.49, 74.94, "train.epochs=3"),
    # rows whose data is not in this checkout (BioBERT's preprocessed files go under {data}/ner/<name>/biobert/):
    # epochs scaled to corpus size as BC2GM/JNLPBA were here, not measured; v1.1 LINNAEUS/S800 from Stanza's table
    _ner("ner-bc4chemd", "bc4chemd", 92.36, 90.04, "train.epochs=2", note=_UNMEASURED),
    _ner("ner-linnaeus", "linnaeus", 88.24, 87.60, "train.epochs=4", note=_UNMEASURED),
    _ner("ner-s800", "s800", 74.06, 71.63, note=_UNMEASURED),
    _ner("ner-ncbi-trdev", "ncbi_disease", 89.71, 85.63, "train_on=train+dev", note=_TRDEV),
    _ner("ner-bc5cdr-chem-trdev", "bc5cdr_chem", 93.47, 91.16, "train_on=train+dev", note=_TRDEV),
    _ner("ner-bc5cdr-disease-trdev", "bc5cdr_disease", 87.15, 82.41, "train_on=train+dev", note=_TRDEV),
    _ner("ner-bc2gm-trdev", "bc2gm", 84.72, 81.79, "train.epochs=4", "train_on=train+dev", note=_TRDEV),
    _ner("ner-jnlpba-trdev", "jnlpba", 77.49, 74.94, "train.epochs=3", "train_on=train+dev", note=_TRDEV),
    _ner("ner-bc4chemd-trdev", "bc4chemd", 92.36, 90.04, "train.epochs=2", "train_on=train+dev", note=_TRDEV),
    _ner("ner-linnaeus-trdev", "linnaeus", 88.24, 87.60, "train.epochs=4", "train_on=train+dev", note=_TRDEV),
    _ner("ner-s800-trdev", "s800", 74.06, 71.63, "train_on=train+dev", note=_TRDEV),
    PaperRow("re-chemprot", "re", "configs/re/chemprot.yaml", ("train.epochs=4", "train.lr=1e-4"),
             paper={"BioBERT v1.1": {"f1": 76.46}, "BERT-base": {"f1": 73.74}}),
    # GAD / EU-ADR: PROTOCOLS.md §1.2 marks the paper's v1.1 figures (79.83, 79.74) unverified (◐); shown instead are
    # the verified (✔) ones, the best BioBERT and BERT, and the v1.1 re-run of the PyTorch port (§1.4)
    PaperRow("re-gad", "re", "configs/re/gad.yaml", ("train.epochs=1",),
             paper={"BioBERT v1.0 +PubMed (paper Table 7, [SUM-BB])": {"f1": 81.61},
                    "BERT-base (paper Table 7, [SUM-BB])": {"f1": 79.29},
                    _PORT_RE: {"precision": 77.09, "recall": 88.50, "f1": 82.37}},
             note="10-fold CV; mean over folds. The paper's v1.1 F1 (79.83) is unverified in PROTOCOLS.md and not shown"),
    PaperRow("re-euadr", "re", "configs/re/euadr.yaml", (),
             paper={"BioBERT v1.0 +PMC (paper Table 7, [SUM-BB])": {"f1": 86.51},
                    "BERT-base (paper Table 7, [SUM-BB])": {"f1": 84.62},
                    _PORT_RE: {"precision": 77.48, "recall": 96.15, "f1": 85.13}},
             note="10-fold CV; mean over folds. The paper's v1.1 F1 (79.74) is unverified in PROTOCOLS.md and not shown"),
    PaperRow("re-ddi", "re", "configs/re/ddi.yaml", ("train.epochs=2", "train.lr=1e-4", "train.eval_every=1000"),
             paper={f"PubMedBERT ({_BLURB})": {"f1": 82.36}},
             note="PROTOCOLS.md gives no DDI figure (DDI is not in the BioBERT paper); the one shown is from the BLURB "
                  "paper, not checked against PROTOCOLS.md"),
    PaperRow("qa-bioasq7b-factoid", "qa", "configs/qa/bioasq7b_factoid_cv.yaml", (),
             metrics=("strict_accuracy", "lenient_accuracy", "mrr"),
             paper={f"BioBERT v1.1 w/o SQuAD ({_PORT_7B})": {"strict_accuracy": 31.48, "lenient_accuracy": 45.68, "mrr": 37.13}},
             note="5-fold CV by question on the 7b training file: the 7b test batches are not public. Easier than the "
                  "official 7b test set printed beside it: every snippet of BioBERT's training file contains its answer "
                  "(shared/data MANIFEST §3.1), whereas test snippets need not"),
    PaperRow("qa-bioasq7b-yesno", "qa", "configs/qa/bioasq7b_yesno.yaml", (), metrics=("accuracy", "macro_f1"),
             paper={f"BioBERT v1.1 ({_PORT_7B})": {"accuracy": 69.29, "macro_f1": 65.75},
                    f"BERT-base ({_PORT_7B})": {"accuracy": 64.29, "macro_f1": 58.04}},
             note="data not in this checkout: BioBERT's BioASQ-train-yesno-7b.json under {data}/qa/BioASQ/biobert-7b/ and "
                  "the five 7b yes/no test batches with their golden files (--set 'data.test=[...]' --set "
                  "'data.golden=[...]', see the config); settings those of pubmedqa.yaml, not measured on BioASQ yes/no"),
    PaperRow("qa-pubmedqa", "qa", "configs/qa/pubmedqa_cv.yaml", ("train.epochs=2",), metrics=("accuracy", "macro_f1"),
             paper={f"BioBERT ({_BLURB})": {"accuracy": 60.24}},
             note="10-fold CV on the 500 labelled items (the test half is held back). PROTOCOLS.md gives no PubMedQA "
                  "figure; the one shown is from the BLURB paper (test half), not checked against PROTOCOLS.md"),
)}


def config_path(row: PaperRow, root: str | Path | None = None) -> Path:
    """The row's config file: under ``root``, else the working directory, else this checkout's root.

    Raises:
        ConfigError: E490 when none of them has it (the configs live in the repository, not the wheel).
    """
    here = Path(__file__).resolve().parents[3]  # src/biobert/recipes/paper.py -> repository root
    for base in ([Path(root)] if root else []) + [Path.cwd(), here]:
        p = base / row.config
        if p.is_file():
            return p
    raise ConfigError(f"E490 {row.config} not found (looked in {root or '.'} and {here}); "
                      "run from a clone of the biobert repository or pass --configs DIR")


def _tag(encoder: str | None) -> str:
    return "default" if not encoder else re.sub(r"[^A-Za-z0-9._-]+", "_", str(encoder).strip("/")).strip("_")[-60:]


def run_dir_name(row: PaperRow, encoder: str | None = None, overrides: Sequence[str] = ()) -> str:
    """``<row>-<encoder>``, plus ``-set<8 hex>`` (a hash of the ``--set`` overrides, in order) when there are any.

    Runs with other settings get a directory of their own: in the same directory their checkpoints would not
    resume (E504) and a finished seed would not be read back. A plain rerun keeps the name, so it resumes.
    """
    name = f"{row.id}-{_tag(encoder)}"
    if overrides:
        name += "-set" + hashlib.sha256("\n".join(str(o).strip() for o in overrides).encode("utf-8")).hexdigest()[:8]
    return name


def _one_seed(row: PaperRow, cfg_file: Path, overrides: list[str], out: Path, command: str, progress: bool) -> dict[str, float]:
    from biobert.config import load_config

    if row.task == "ner":
        from biobert.recipes.ner import NERConfig, finetune_ner

        cfg = load_config(NERConfig, cfg_file, [*overrides, f"out={out}"])
        rep = finetune_ner(cfg, command=command, progress=progress)
        return {m: rep["test"][cfg.corpora[0].name][m] for m in row.metrics}
    if row.task == "re":
        from biobert.recipes.re import REConfig as cls, cv_re as cv, finetune_re as finetune
    elif row.task == "qa":
        from biobert.recipes.qa import QAConfig as cls, cv_qa as cv, finetune_qa as finetune  # type: ignore[assignment]
    else:
        raise ConfigError(f"E491 unknown task {row.task!r} in row {row.id!r}")
    cfg = load_config(cls, cfg_file, [*overrides, f"out={out}"])
    if cfg.data.folds if row.task == "re" else cfg.data.cv_folds:  # GAD / EU-ADR folds; QA cross-validation by question
        s = cv(cfg, command=command, progress=progress)
        return {m: s["mean"][m]["mean"] for m in row.metrics}
    if not cfg.data.test:  # a row whose test set is not distributed (7b yes/no): refused before hours of training
        raise ConfigError(f"E491 row {row.id!r}: {cfg_file} sets no data.test (its comments say where the test set "
                          "comes from); pass it with --set 'data.test=...' (and --set 'data.golden=...' where the config "
                          "says so)")
    rep = finetune(cfg, command=command, progress=progress)
    return {m: rep["test"][m] for m in row.metrics}


def run_row(row: PaperRow, seeds: Sequence[int] = (1, 2, 3), *, encoder: str | None = None, overrides: Sequence[str] = (),
            out: str | Path = "runs/reproduce", configs: str | Path | None = None, progress: bool = True,
            command: str | None = None) -> dict[str, Any]:
    """Fine-tune and test ``row`` once per seed; mean ± sd over seeds beside the paper's figures.

    Each seed runs in ``out/<row>-<encoder>[-set<hash of overrides>]/seed-<n>`` (:func:`run_dir_name`;
    resumable). ``overrides`` come after the row's own, so ``train.lr=...`` changes a measured setting; ``encoder``
    replaces the config's encoder.

    Raises:
        ConfigError: E491 no seed; E490 the row's config is not found.
        TrainingError: E504 a seed's directory holds a run made with other settings (the config file or the
            encoder's files changed since), with advice that works for ``biobert reproduce``.
    """
    from biobert.metrics import mean_sd

    if not seeds:
        raise ConfigError("E491 give at least one seed")
    cfg_file = config_path(row, configs)
    root = Path(out) / run_dir_name(row, encoder, overrides)
    base = [*row.overrides, *([f"encoder={encoder}"] if encoder else []), *overrides]
    command = command or f"biobert reproduce {row.id} {' '.join(f'--seeds {s}' for s in seeds)}" + (f" --encoder {encoder}" if encoder else "")
    t0 = time.time()
    per_seed: dict[str, dict[str, float]] = {}
    for seed in seeds:
        try:
            per_seed[str(seed)] = _one_seed(row, cfg_file, [*base, f"train.seed={seed}"], root / f"seed-{seed}", command, progress)
        except TrainingError as exc:
            msg = str(exc)
            if not msg.startswith("E504"):
                raise
            # the trainer's advice names --no-resume, which `biobert reproduce` does not have (its runs always resume)
            cut = msg.find("; keep the saved settings")
            raise TrainingError(
                f"{msg[:cut] if cut >= 0 else msg}; `biobert reproduce` resumes every seed in {str(root)!r}: to run "
                f"these settings, give another --out, or delete {str(root / f'seed-{seed}')!r} to train this seed "
                "from the start") from exc
    summary = {
        "row": row.id, "task": row.task, "config": str(cfg_file), "overrides": base, "encoder": encoder or "the config's",
        "seeds": list(seeds), "per_seed": per_seed,
        "mean": {m: mean_sd([v[m] for v in per_seed.values()]) for m in row.metrics},
        "paper": {k: dict(v) for k, v in row.paper.items()}, "note": row.note, "out": str(root),
        "wall_seconds": round(time.time() - t0, 1),
    }
    summary["markdown"] = markdown_row(summary)
    # kept beside the seeds' runs: the mean ± sd and the comparison with the paper went to stdout only
    (root / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


MARKDOWN_HEADER = "| row | encoder | ours (mean ± sd over seeds) | paper |\n|---|---|---|---|"


def markdown_row(summary: Mapping[str, Any]) -> str:
    """``| row | encoder | ours: mean ± sd (n) per metric | paper figures |``, in percent."""
    ours = "; ".join(f"{m} {100 * s['mean']:.2f} ± {100 * s['sd']:.2f} (n={s['n']})" if s["n"] else f"{m} not scored (n=0)"
                     for m, s in summary["mean"].items())
    paper = "; ".join(f"{sys}: " + ", ".join(f"{m} {v:.2f}" for m, v in figs.items()) for sys, figs in summary["paper"].items()) or NO_FIGURE
    return f"| {summary['row']} | {summary['encoder']} | {ours} | {paper} |"
