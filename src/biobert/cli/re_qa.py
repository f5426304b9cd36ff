"""CLI: ``biobert finetune re|qa``, ``biobert evaluate re|qa``, ``biobert cv re|qa``, ``biobert extract``.

Thin wrappers: parse options, call :mod:`biobert.recipes.re` / :mod:`biobert.recipes.qa`
/ :class:`biobert.pipeline.Extractor`, print JSON.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from biobert.cli.app import DEVICE_OPTION, PRECISION_OPTION, SPLITTER_OPTION, app, check_text_argument, emit_documents, evaluate_app, finetune_app, load_linkers, partial_output, prepare_output, require_file, require_input
from biobert.io.jsonl import dumps
from biobert.errors import BiobertError, ConfigError

cv_app = typer.Typer(help="Cross-validation: run every fold of a config and report mean ± sd (JSON).", no_args_is_help=True)
app.add_typer(cv_app, name="cv")


#: output formats of ``biobert extract``: those that can hold relations (CoNLL, text and table would drop them all)
EXTRACT_OUTPUT_FORMATS = ("json", "jsonl", "pubtator", "bioc", "biocjson")


def _fail(exc: BiobertError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(2)


def _command() -> str:
    return " ".join(shlex.quote(a) for a in ["biobert", *sys.argv[1:]])


def _echo(obj: Any) -> None:
    from biobert import distributed

    if not distributed.is_main():  # torchrun: one printout, from process 0
        return
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _overrides(set_: list[str], **kv: Any) -> list[str]:
    out = list(set_)
    for key, val in kv.items():
        if val is not None:
            out.append(f"{key.replace('__', '.')}={val}")
    return out


def _question_type(value: Optional[str], option: str = "--type") -> Optional[str]:
    """``value`` lower-cased if it is a question type the service also accepts (factoid, list, yesno), else E439."""
    from biobert.serve import QUESTION_TYPES

    if value is None:
        return None
    if value.lower() not in QUESTION_TYPES:
        raise ConfigError(f"E439 {option} must be one of {', '.join(QUESTION_TYPES)}, got {value!r}")
    return value.lower()


def _data_path(path: Path, allow_dir: bool = False, what: str = "data file") -> Path:
    """A data path as the recipes read it (``{data}``, ``~`` and variables expanded), or E423 when it does not
    exist (or is a directory where a file is needed) instead of a traceback."""
    from biobert.settings import expand_path

    p = expand_path(path)
    if allow_dir and p.is_dir():
        return p
    return require_file(p, what)


def _brief(test: Optional[dict]) -> Optional[dict]:
    if not test:
        return test
    return {k: v for k, v in test.items() if not isinstance(v, dict) or k == "per_label"}


# -- relation extraction ------------------------------------------------------------
def _run_re(config: Optional[Path], overrides: list[str], cv: bool, fold: Optional[str], no_resume: bool) -> None:
    from biobert.config import load_config
    from biobert.recipes.re import REConfig, cv_re, finetune_re

    try:
        if config is None:
            raise BiobertError("E483 give --config (see configs/re/)")
        cfg = load_config(REConfig, config, overrides)
        if cv and fold is not None:  # cross-validation runs every fold; the one named would be ignored
            raise ConfigError(f"E447 give --cv (every fold) or --fold {fold} (one), not both")
        if cv:
            summary = cv_re(cfg, resume=not no_resume, command=_command())
            _echo({"out": cfg.out, "folds": summary["folds"], "mean": summary["mean"], "per_fold": summary["per_fold"]})
            return
        if fold is not None and cfg.data.folds and fold not in [str(f) for f in cfg.data.folds]:
            raise ConfigError(f"E447 --fold {fold} is not one of data.folds {list(cfg.data.folds)}")
        if fold is not None and cfg.data.folds:
            # where --cv puts (and later finds) this fold: folds run one by one, e.g. in parallel jobs, then
            # `--cv` resumes each finished fold and writes the cross-validation report
            cfg.out = str(Path(cfg.out) / f"fold-{fold}")
        rep = finetune_re(cfg, resume=not no_resume, command=_command(), fold=fold)
    except BiobertError as exc:
        _fail(exc)
    _echo({"out": cfg.out, "fold": fold, "dev": rep["dev_f1"], "test": _brief(rep["test"]), "counts": rep["counts"]})


@finetune_app.command("re")
def finetune_re_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/re/)."),
    set_: list[str] = typer.Option([], "--set", help="Override, e.g. --set style=markers --set pooling=entity_start (repeatable)."),
    cv: bool = typer.Option(False, "--cv", help="Run every fold of data.folds and report the mean ± sd (GAD / EU-ADR)."),
    fold: Optional[str] = typer.Option(None, "--fold", help="Run a single fold (fills {fold} in the data paths) into OUT/fold-K when the config lists data.folds, where --cv finds it."),
    encoder: Optional[str] = typer.Option(None, help="Encoder: 'minilm', a directory or a hub id."),
    out: Optional[str] = typer.Option(None, help="Output model directory."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore an existing checkpoint in the output directory."),
) -> None:
    """Fine-tune a relation classifier; prints dev/test scores as JSON."""
    _run_re(config, _overrides(set_, encoder=encoder, out=out, train__seed=seed), cv, fold, no_resume)


@cv_app.command("re")
def cv_re_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="YAML config with data.folds (configs/re/gad.yaml, euadr.yaml)."),
    set_: list[str] = typer.Option([], "--set", help="Override (repeatable)."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    out: Optional[str] = typer.Option(None, help="Output directory (one sub-directory per fold)."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore an existing checkpoint in the output directory."),
) -> None:
    """All folds of an RE config; mean ± sd of P/R/F1 over folds."""
    _run_re(config, _overrides(set_, out=out, train__seed=seed), True, None, no_resume)


@evaluate_app.command("re")
def evaluate_re_cmd(
    model: Path = typer.Option(..., "--model", "-m", help="Directory written by `biobert finetune re`."),
    data: Path = typer.Option(..., "--data", "-d", help="Gold pairs (file, or a DDI / ChemProt release split directory)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="biobert_tsv | chemprot_tsv | chemprot_jsonl | chemprot_bc6 | ddi | ddi_tsv | jsonl (default: the model's training format)."),
    metric: Optional[str] = typer.Option(None, help="binary | chemprot | ddi | micro (default: the model's)."),
    missing_mask: Optional[str] = typer.Option(None, "--missing-mask", help="error | skip (skipped gold pairs count as missed); default: what the model was trained with, else error."),
    predictions: Optional[Path] = typer.Option(None, "--predictions", help="Write per-pair predictions (JSON lines) here."),
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Score an RE model on gold pairs; prints JSON."""
    from biobert.pipeline import Extractor
    from biobert.recipes.re import DIR_FORMATS, FORMAT_DEFAULTS, REDataConfig, evaluate_re, load_re_split, write_re_predictions

    try:
        if fmt is not None and fmt not in FORMAT_DEFAULTS:  # before the path check, which depends on the format
            raise ConfigError(f"E444 --format: unknown RE data format {fmt!r}; expected one of {sorted(FORMAT_DEFAULTS)}")
        _data_path(data, allow_dir=True)  # before the model loads; a directory only for DIR_FORMATS (checked below)
        ex = Extractor.load(model, device=device)
        stats: Counter = Counter()
        skipped: list[dict] = []
        dcfg = REDataConfig(format=fmt or ex.meta.get("data_format", "jsonl"), test=str(data),
                            missing_mask=missing_mask or ex.meta.get("missing_mask", "error"))
        _data_path(data, allow_dir=dcfg.format in DIR_FORMATS)
        if predictions is not None:
            prepare_output(predictions)
        docs, _ = load_re_split(dcfg, "test", None, stats, skipped)
        res, preds = evaluate_re(ex.predictor, docs, metric or ex.meta.get("metric", "micro"),
                                 positive_label=ex.meta.get("positive_label", "1"),
                                 missed_gold=[s["label"] for s in skipped], stats=stats)
        if predictions is not None:
            write_re_predictions(predictions, docs, preds)
    except BiobertError as exc:
        _fail(exc)
    res.update(model=str(model), data=str(data), counts=dict(stats))
    _echo(res)


# -- question answering ---------------------------------------------------------------
def _run_qa(config: Optional[Path], overrides: list[str], cv: bool, no_resume: bool, folds: Optional[str]) -> None:
    from biobert.config import load_config
    from biobert.recipes.qa import QAConfig, cv_qa, finetune_qa

    try:
        if config is None:
            raise BiobertError("E483 give --config (see configs/qa/)")
        cfg = load_config(QAConfig, config, overrides)
        if cv or cfg.data.cv_folds:
            try:
                only = [int(x) for x in folds.split(",")] if folds is not None else None
            except ValueError:  # "" too: it meant every fold without a word
                raise ConfigError(f"E482 --folds takes fold numbers separated by commas (0-based), e.g. 0,2; got {folds!r}") from None
            s = cv_qa(cfg, resume=not no_resume, command=_command(), only_folds=only)
            _echo({"out": cfg.out, "folds": s["folds"], "mean": s["mean"], "per_fold": s["per_fold"],
                   **{k: s[k] for k in ("not_read_in_cv", "folds_missing", "folds_from_earlier_runs") if s[k]}})
            return
        if folds is not None:
            raise ConfigError("E482 --folds chooses cross-validation folds, but this config has no data.cv_folds and "
                              "--cv was not given")
        rep = finetune_qa(cfg, resume=not no_resume, command=_command())
    except BiobertError as exc:
        _fail(exc)
    _echo({"out": cfg.out, "dev": rep["best_dev"], "test": _brief(rep["test"]), "counts": rep["counts"]})


@finetune_app.command("qa")
def finetune_qa_cmd(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML config (see configs/qa/)."),
    set_: list[str] = typer.Option([], "--set", help="Override, e.g. --set train.epochs=2 (repeatable)."),
    cv: bool = typer.Option(False, "--cv", help="Cross-validate by question (data.cv_folds; on by default when the config sets it)."),
    folds: Optional[str] = typer.Option(None, "--folds", help="With CV: only these fold numbers, e.g. 0,1."),
    encoder: Optional[str] = typer.Option(None, help="Encoder: 'minilm', a directory or a hub id (a SQuAD model keeps its span head)."),
    out: Optional[str] = typer.Option(None, help="Output model directory."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore an existing checkpoint in the output directory."),
) -> None:
    """Fine-tune a QA model (factoid / list span head or yes/no head); prints JSON."""
    _run_qa(config, _overrides(set_, encoder=encoder, out=out, train__seed=seed), cv, no_resume, folds)


@cv_app.command("qa")
def cv_qa_cmd(
    config: Path = typer.Option(..., "--config", "-c", help="YAML config with data.cv_folds."),
    set_: list[str] = typer.Option([], "--set", help="Override (repeatable)."),
    folds: Optional[str] = typer.Option(None, "--folds", help="Only these fold numbers, e.g. 0,1."),
    seed: Optional[int] = typer.Option(None, help="Random seed."),
    out: Optional[str] = typer.Option(None, help="Output directory."),
    no_resume: bool = typer.Option(False, "--no-resume", help="Ignore an existing checkpoint in the output directory."),
) -> None:
    """k-fold cross-validation by question; mean ± sd."""
    _run_qa(config, _overrides(set_, out=out, train__seed=seed), True, no_resume, folds)


@evaluate_app.command("qa")
def evaluate_qa_cmd(
    data: list[Path] = typer.Option(..., "--data", "-d", help="Gold questions; repeat for several test batches (each is scored, then the mean over batches)."),
    fmt: str = typer.Option(..., "--format", help="squad | bioasq | pubmedqa"),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Directory written by `biobert finetune qa`."),
    predictions: Optional[list[Path]] = typer.Option(None, "--predictions", help="Score a BioASQ submission JSON (any system's; PubMedQA: {pmid: label}) instead of a model; one per --data."),
    golden: Optional[list[Path]] = typer.Option(None, "--golden", help="Gold answers for --data files without any (BioBERT's BioASQ-test-*.json: the BioASQ golden JSON, e.g. 7B1_golden.json; PubMedQA: test_ground_truth.json); one per --data."),
    task: Optional[str] = typer.Option(None, help="factoid | list | yesno (default: the model's; with --predictions, every type in the data, each scored on its own; pubmedqa: yesno)."),
    answers: Optional[Path] = typer.Option(None, "--answers", help="Write the model's answers per question (JSON) here."),
    device: Optional[str] = DEVICE_OPTION,
) -> None:
    """Score a QA model, or a submission file, on gold questions (BioASQ SAcc/LAcc/MRR, list P/R/F1, yes/no accuracy + macro-F1); prints JSON."""
    from biobert.errors import TrainingError
    from biobert.io.bioasq import read_bioasq_answers
    from biobert.io.pubmedqa import PUBMEDQA_LABELS, read_pubmedqa_labels
    from biobert.recipes.qa import TASKS, attach_gold, combine_batches, evaluate_qa, read_golden, read_qa, score_answers

    try:
        if (model is None) == (not predictions):
            raise BiobertError("E488 give either --model or --predictions")
        if predictions and len(predictions) != len(data):
            raise BiobertError(f"E488 --predictions must come once per --data ({len(data)}), got {len(predictions)}")
        if golden and len(golden) != len(data):
            raise BiobertError(f"E488 --golden must come once per --data ({len(data)}), got {len(golden)}")
        task = _question_type(task, "--task")
        for path in data:
            _data_path(path)
        for path in predictions or []:
            _data_path(path, what="predictions file")
        for path in golden or []:
            _data_path(path, what="golden file")
        if answers is not None:
            prepare_output(answers)
        reader = None
        if model is not None:
            from biobert.pipeline import Reader

            reader = Reader.load(model, device=device)
        if fmt == "pubmedqa":
            if task not in (None, "yesno"):
                raise BiobertError(f"E488 --format pubmedqa holds yes/no/maybe questions: --task must be yesno (or left out), got {task}")
            task = "yesno"
        # the types to score: the one asked for, the model's, or (a submission file) every type the data holds
        want = [task] if task else [reader.default_type] if reader else None
        results: dict[str, list[dict]] = {}
        unscored: dict[str, list[str]] = {}
        all_answers: dict = {}
        for i, path in enumerate(data):
            stats: Counter = Counter()
            # SQuAD files carry no type: read as the type asked for (factoid without one); BioASQ files are read
            # whole and split by type below, so answers to their other questions are not "not in the data"
            exs = read_qa(fmt, path, (want or ["factoid"]) if fmt == "squad" else None, stats, labelled=not golden)
            if golden:
                # counted apart: the data file may carry the same labels (label=yes would count twice)
                gstats: Counter = Counter()
                exs = attach_gold(exs, read_golden(fmt, golden[i], gstats), stats)
                stats.update({f"golden_{k}": v for k, v in gstats.items()})
            preds = None
            if predictions:
                if fmt == "pubmedqa":  # PubMedQA's evaluation.py reads predictions as {pmid: label}
                    preds = {k: {"type": "yesno", "answer": v} for k, v in read_pubmedqa_labels(predictions[i]).items()}
                else:
                    preds = read_bioasq_answers(predictions[i], stats)
                asked = {e.question_id or e.id for e in exs}
                # answers to questions this file does not ask cannot be scored; a count shows a wrong pairing
                stats["predictions_not_in_data"] += sum(1 for q in preds if q not in asked)
            present = [t for t in TASKS if any(e.qtype == t for e in exs)]
            types = want or present or ["factoid"]
            for t in types:
                tstats = Counter(stats)
                sel = exs if fmt == "pubmedqa" else [e for e in exs if e.qtype == t]
                if want:  # counted: with --golden the golden file's type decides
                    tstats.update(f"passages_skipped_type={e.qtype}" for e in exs if fmt != "pubmedqa" and e.qtype != t)
                if reader is not None:
                    res, ans = evaluate_qa(reader.predictor, sel, t, tstats)
                    all_answers.update(ans)
                else:
                    # PubMedQA's macro-F1 averages maybe too (sklearn average='macro'), not yes/no only
                    labels: tuple[str, ...] = PUBMEDQA_LABELS if fmt == "pubmedqa" else ("yes", "no")
                    res = score_answers(sel, preds, t, labels, stats=tstats)
                    res["predictions"] = str(predictions[i])
                if not res["n_questions"] and not want and len(types) > 1:
                    # one type of a mixed file without gold here: left out of its mean, and said so
                    unscored.setdefault(t, []).append(str(path))
                    continue
                if not res["n_questions"]:
                    # scores of 0 over no question would read as a (very bad) result
                    raise TrainingError(
                        f"E535 {path}: no {t} question has a gold answer to score ({res['n_questions_without_gold']} without "
                        f"one, {len(sel)} passages read; counts {dict(tstats)}). Test files such as BioBERT's "
                        "BioASQ-test-*.json carry no answers: pass the official golden file with --golden "
                        "(7B1_golden.json; PubMedQA: test_ground_truth.json). A PubMedQA or BioASQ file of several "
                        "question types is scored per type with --task"
                    )
                if golden:
                    res["golden"] = str(golden[i])
                res.update(data=str(path), counts=dict(tstats))
                results.setdefault(t, []).append(res)
        if answers is not None and reader is not None:
            answers.write_text(json.dumps(all_answers, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        if not any(r["n_questions"] for rs in results.values() for r in rs):
            raise TrainingError(f"E535 no question of {', '.join(map(str, data))} has a gold answer to score "
                                "(pass the official golden file with --golden)")
    except BiobertError as exc:
        _fail(exc)

    def summary(t: str, rs: list[dict]) -> dict:
        return rs[0] if len(rs) == 1 else {"task": t, "mean_over_batches": combine_batches(rs), "batches": rs}

    if len(results) == 1 and not unscored:
        out = summary(*next(iter(results.items())))
    else:
        # a BioASQ file mixes the three types; each is scored on its own questions (batches without a type skip it)
        out = {"tasks": {t: summary(t, rs) for t, rs in results.items()}}
        if unscored:
            out["not_scored_no_gold"] = unscored
    if model is not None:
        out["model"] = str(model)
    _echo(out)


@app.command("answer")
def answer_cmd(
    question: Optional[str] = typer.Argument(None, help="A question (with --passage), or use --input."),
    model: Path = typer.Option(..., "--model", "-m", help="QA model directory (biobert finetune qa) or hub id."),
    passage: Optional[list[str]] = typer.Option(None, "--passage", "-p", help="A passage to answer from (repeatable)."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Questions with their passages: BioASQ, SQuAD or PubMedQA JSON (gold answers, if any, are ignored)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="squad | bioasq | pubmedqa (with --input)."),
    qtype: Optional[str] = typer.Option(None, "--type", help="factoid | list | yesno: the question type for a single question, or the only type answered in --input (default: each question's own)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write here instead of stdout."),
    output_format: str = typer.Option("json", "--output-format", help="json (answers with scores and offsets) | bioasq (a phase B submission) | pubmedqa ({pmid: label}, what PubMedQA's evaluation.py and `evaluate qa --format pubmedqa --predictions` read)."),
    device: Optional[str] = DEVICE_OPTION,
    precision: str = PRECISION_OPTION,
) -> None:
    """Answer questions from passages: factoid top 5, list answers, yes/no; every answer's offsets index its passage."""
    from biobert.io.bioasq import bioasq_submission
    from biobert.pipeline import Reader
    from biobert.recipes.qa import read_qa

    try:
        if output_format not in ("json", "bioasq", "pubmedqa"):
            raise BiobertError(f"E488 --output-format must be json, bioasq or pubmedqa, got {output_format!r}")
        if output_format == "pubmedqa" and input is None:
            raise BiobertError("E488 --output-format pubmedqa needs --input (questions keyed by PMID)")
        if (question is None) == (input is None):
            raise BiobertError("E488 give a question (with --passage) or --input, not both")
        qtype = _question_type(qtype)
        if input is not None:
            require_file(input)
        if output is not None:
            prepare_output(output)
        reader = Reader.load(model, device=device, precision=precision)
        if question is not None:
            if not passage:
                raise BiobertError("E488 a question needs at least one --passage")
            res = reader(question, passage, qtype)
            result: dict[str, Any] = {"q": res}
            # what the reader skipped or cut (empty passages, a long question, over-long answers), as --input and
            # /answer report it; stdout stays the answers alone
            typer.echo(json.dumps({"questions": 1, "counts": dict(getattr(reader, "last_stats", None) or {})}), err=True)
        else:
            if fmt is None:
                raise BiobertError("E488 --input needs --format squad|bioasq|pubmedqa")
            stats: Counter = Counter()
            # gold answers are ignored here: PubMedQA test entries without final_decision are read too
            exs = read_qa(fmt, input, [qtype] if qtype else None, stats, labelled=False)
            # answer what this model can: span questions need the span head, yes/no ones the class head;
            # the rest (summary questions too) are counted, not silently dropped
            can = ({"factoid", "list"} if reader.spec.span else set()) | ({"yesno"} if reader.spec.class_labels else set())
            for e in exs:
                if e.qtype not in can:
                    stats[f"passages_skipped_type={e.qtype}"] += 1
            exs = [e for e in exs if e.qtype in can]
            result = reader.predictor.answer(exs, stats)
            questions = {e.question_id or e.id: e.question for e in exs}
            for qid, res in result.items():
                res["question"] = questions[qid]
            typer.echo(json.dumps({"questions": len(result), "counts": dict(stats)}), err=True)
    except BiobertError as exc:
        _fail(exc)
    if output_format == "pubmedqa":
        # PubMedQA's predictions file: {pmid: "yes" | "no" | "maybe"}; only yes/no(/maybe) answers have a label
        obj = {qid: res["answer"] for qid, res in result.items() if res.get("type") == "yesno"}
        if len(obj) < len(result):
            typer.echo(json.dumps({"not_written_not_yesno": len(result) - len(obj)}), err=True)
    else:
        obj = bioasq_submission(result) if output_format == "bioasq" else (result["q"] if question is not None else result)
    # lone surrogates of a question or passage come back as JSON escapes, as /answer writes them (not a traceback)
    text = dumps(obj, indent=1)
    if output is None:
        typer.echo(text)
    else:
        with partial_output(output) as tmp:
            tmp.write_text(text + "\n", encoding="utf-8")


# -- raw text: NER then RE --------------------------------------------------------------
@app.command("extract")
def extract_cmd(
    text: Optional[str] = typer.Argument(None, help="Text (or use --input)."),
    model: Path = typer.Option(..., "--model", "-m", help="RE model directory (biobert finetune re)."),
    tagger: Optional[str] = typer.Option(None, "--tagger", help="NER tagger directory (default: the bundled tagger)."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help="Input file: raw text, PubTator, BioC or JSONL."),
    input_format: Optional[str] = typer.Option(None, "--input-format", help="text | pubtator | bioc | biocjson | jsonl | json | brat (default: from the name; a directory of .ann files is brat)."),
    output_format: str = typer.Option("json", "--output-format", help="json | jsonl | pubtator | bioc | biocjson"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output file (default: stdout)."),
    keep_spans: bool = typer.Option(False, "--keep-spans", help="Use the input's own entity spans instead of running NER (documents without any are still tagged)."),
    scope: str = typer.Option("sentence", help="Candidate pairs: sentence | window."),
    window_chars: int = typer.Option(300, "--window-chars", help="With --scope window: max distance of the two span starts."),
    type_pairs: Optional[str] = typer.Option(None, "--type-pairs", help="Override head×tail types, e.g. 'Chemical:Gene,Gene:Chemical'."),
    min_score: float = typer.Option(0.0, "--min-score", help="Drop relations scored below this."),
    link: Optional[list[str]] = typer.Option(None, "--link", help="Link the spans (and so the relation arguments) to ids with a dictionary: KB.tsv or LABEL[,LABEL]=KB.tsv; repeatable."),
    link_fuzzy: Optional[float] = typer.Option(None, "--link-fuzzy", help="With --link: also match by character-trigram similarity at this threshold or above."),
    splitter: Optional[str] = SPLITTER_OPTION,
    device: Optional[str] = DEVICE_OPTION,
    precision: str = PRECISION_OPTION,
) -> None:
    """Run NER then RE on raw text or PubTator; every relation points at spans with exact offsets."""
    from biobert import io
    from biobert.linking import apply_linkers
    from biobert.pipeline import Extractor, Tagger
    from biobert.types import Document

    from biobert.tasks.re import parse_type_pairs

    try:
        # every option and the input are checked before a model is loaded
        check_text_argument(text, input)
        if output_format not in EXTRACT_OUTPUT_FORMATS:
            raise ConfigError(f"E420 extract writes relations, which only {', '.join(EXTRACT_OUTPUT_FORMATS)} can hold; "
                              f"got --output-format {output_format!r}")
        tp = parse_type_pairs(type_pairs) if type_pairs is not None else None
        Extractor.check_options(scope=scope, window_chars=window_chars, min_score=min_score)
        if input is not None:
            require_input(input, input_format)
        if output is not None:
            prepare_output(output)
        ex = Extractor.load(model, scope=scope, window_chars=window_chars, type_pairs=tp, min_score=min_score,
                            device=device, precision=precision, splitter=splitter)
        if input is not None:
            docs = io.read(input, fmt=input_format or io.guess_format(input))
        elif text is not None:
            docs = [Document(id="0", text=text)]
        else:
            docs = [Document(id="0", text=sys.stdin.read())]
        # --keep-spans keeps each document's own annotations; documents that have none are still
        # tagged, with --tagger (or the bundled tagger), never silently left without entities
        docs = list(docs)
        need = [i for i, d in enumerate(docs) if not (keep_spans and d.spans)]
        tag_counts: Counter = Counter()
        if need:
            tg = Tagger.load(tagger, device=device, precision=precision, splitter=splitter)
            ex.check_tagger(tg)  # W305 and a counter when its entity types can fill none of the model's type pairs
            tagged = tg([docs[i] for i in need])
            # the input's own spans and relations that tagging replaced (a gold PubTator file without --keep-spans)
            tag_counts = Counter(tg.last_stats)
            for i, d in zip(need, tagged):
                docs[i] = d
        out_docs = ex(docs, tagger=False)
        out_docs, counts = apply_linkers(load_linkers(link or [], fuzzy=link_fuzzy), out_docs)  # re-points relations
        link_counts = {f"link_{k}": v for k, v in counts.items()}
        written = emit_documents(out_docs, output, output_format)
    except BiobertError as exc:
        _fail(exc)
    tag_counts.update(ex.last_stats)  # update, not "+": a Counter sum drops the counts that are 0 ("candidates": 0)
    # what the output format could not hold (scores, arguments named by their text, ...), as /extract says it
    out_counts = {f"output_{k}": v for k, v in written.items()}
    typer.echo(json.dumps({"documents": len(out_docs), **dict(tag_counts), **link_counts, **out_counts}), err=True)
