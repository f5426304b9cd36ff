"""NER recipe: read corpora -> fine-tune -> select on dev -> test -> save a model directory.

    from biobert.recipes.ner import NERConfig, finetune_ner
    cfg = load_config(NERConfig, "configs/ner/ncbi_disease.yaml")
    summary = finetune_ner(cfg)

Several corpora train one model (multi-corpus, multi-type). Each corpus
declares the entity types it annotates (inferred from its training data when
not given); see :func:`biobert.tasks.ner.ner_loss` for how unannotated types
are kept from being learned as ``O``. Dev and test scores of a corpus only
count the types that corpus annotates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import torch

from biobert import distributed
from biobert.config import to_dict
from biobert.errors import ConfigError, TrainingError
from biobert.metrics import entity_scores
from biobert.modeldir import save_model_dir
from biobert.report import data_record, write_report
from biobert.settings import expand_path
from biobert.text.sentences import get_splitter
from biobert.tasks.crf import CRFTagger
from biobert.tasks.ner import (
    NERPredictor,
    Sentence,
    SubwordEncoder,
    allowed_o_matrix,
    build_features,
    document_sentences,
    labels_for_types,
    ner_collate,
    ner_loss,
    sentence_groups,
)
from biobert.train import TrainConfig, Trainer, require_data_path, encoder_fingerprint, run_fingerprint, set_seed
from biobert.train import describe as describe_training
from biobert.types import Document, Span

__all__ = ["CorpusConfig", "NERConfig", "finetune_ner", "evaluate_ner", "load_corpus"]

log = logging.getLogger(__name__)


@dataclass
class CorpusConfig:
    """One NER corpus. Paths may use ``{data}`` (the ``BIOBERT_DATA`` root)."""

    name: str
    train: str | None = None
    dev: str | None = None
    test: str | None = None
    #: "auto": each file's format from its name (``.pubtator``, a ``.txt`` that starts like PubTator, BioC
    #: ``.xml``, ``.bioc.json``, ``.jsonl``, a brat directory...), CoNLL otherwise; or one format name for all splits
    format: str = "auto"
    #: label given to untyped B/I tags (BioBERT's collapsed files), e.g. "Disease"
    untyped_label: str = "ENTITY"
    #: entity types this corpus annotates (default: the types found in its training data)
    types: list[str] | None = None


@dataclass
class NERConfig:
    """Everything a NER fine-tuning run needs. One YAML file per paper table row."""

    corpora: list[CorpusConfig]
    out: str = "runs/ner"
    encoder: str = "minilm"
    #: "train" (select on dev) or "train+dev" (no model selection; fixed epochs). Recorded in the report.
    train_on: str = "train"
    max_length: int = 128
    stride: int = 32
    label_all_subwords: bool = False
    #: subwords of neighbouring-sentence context added on each side of every window (FLERT; 0: sentences alone).
    #: Saved with the model, so tagging uses the same context. Costs roughly (sentence + 2*context) / sentence
    #: more compute per step; raise max_length with it.
    context: int = 0
    #: sentence splitter for documents without sentences (PubTator, BioC, text; CoNLL brings its own):
    #: rules | lines | none | pysbd | spacy:MODEL (biobert.text.sentences). Saved with the model for tagging.
    splitter: str = "rules"
    #: how word tags are read from the label distributions: "viterbi" (the likeliest sequence with no I- after O
    #: or after another type; +0.2 to +1.3 dev F1 on all five BioBERT NER sets, BENCHMARKS.md) or "argmax" (each
    #: word alone, repaired as conlleval does). Used for dev selection and test, and saved with the model so
    #: tagging decodes the same way.
    decode: str = "viterbi"
    #: a linear-chain CRF head (biobert.tasks.crf): learned start, transition and end scores over the word tags,
    #: trained with the encoder by the sequence likelihood and added by the viterbi decoder. Saved in biobert.json.
    #: Off: each word's softmax alone, decoded under fixed BIO constraints.
    crf: bool = False
    #: the CRF scores' learning rate as a multiple of train.lr: they start at zero, where the encoder starts trained
    crf_lr_scale: float = 100.0
    train: TrainConfig = field(default_factory=TrainConfig)
    #: knowledge distillation: tagger directories (or hub ids) whose word-level label distributions the model
    #: also learns from, averaged when several (an ensemble of seeds, or a larger model; any tokenizer, the same
    #: label names). Computed once on the training sentences before the first step and recorded in the report.
    teachers: list[str] = field(default_factory=list)
    #: share of the loss that is the teachers' soft targets: (1 - w) * CE(gold) + w * T^2 * KL(teacher || model)
    distill_weight: float = 0.5
    #: softmax temperature T of both distributions in the soft term
    distill_temperature: float = 2.0
    #: with k teachers trained with ``holdout`` 1/k ... k/k on this run's training data: every training sentence
    #: learns from the one teacher that never saw it, not from the mean of all. Teachers trained on a sentence
    #: mostly repeat its gold tags; held-out predictions carry what a model really gets wrong on unseen text.
    cross_fit: bool = False
    #: "i/k": train on all training documents but the i-th of k contiguous, equal shares (documents in file
    #: order, corpus by corpus, after train_on's merge). A share keeps a document whole; CoNLL files without
    #: -DOCSTART- (BioBERT's) are one document per sentence, so each of the k - 1 share boundaries may cut one
    #: abstract. Makes the teachers of a ``cross_fit`` student; recorded in biobert.json with a hash of the
    #: training documents.
    holdout: str | None = None
    #: store fp16 weights in the final directory (halves its size)
    save_half: bool = False
    #: optional name recorded in the model card
    name: str | None = None

    def validate(self, where: str = "") -> None:
        """Check the values at config load, before any data or model is read (see :mod:`biobert.config`).

        Raises:
            ConfigError: E407 train_on, E408 no corpus, E409 context, E415 any other value out of range.
        """
        from biobert.config import check_choice, check_range
        from biobert.tasks.ner import DECODERS

        def key(k: str) -> str:
            return f"{where}.{k}" if where else k

        if self.train_on not in ("train", "train+dev"):
            raise ConfigError(f"E407 {key('train_on')} must be 'train' or 'train+dev', got {self.train_on!r}")
        if not self.corpora:
            raise ConfigError(f"E408 {key('corpora')}: at least one corpus is needed")
        if self.context < 0:
            raise ConfigError(f"E409 {key('context')} must be >= 0 subwords, got {self.context}")
        check_range(self.max_length, key("max_length"), ge=1)
        check_range(self.stride, key("stride"), ge=0)
        check_choice(self.decode, key("decode"), DECODERS)
        check_range(self.crf_lr_scale, key("crf_lr_scale"), gt=0, lt=float("inf"))
        if self.crf and self.decode != "viterbi":
            raise ConfigError(f"E412 {key('crf')} is true but {key('decode')} is {self.decode!r}: the learned "
                              "transitions are only used by decode: viterbi")
        if self.crf and self.label_all_subwords:
            # the chain would run over subwords in training and over words when tagging
            raise ConfigError(f"E413 {key('crf')} and {key('label_all_subwords')} cannot both be true: the CRF runs "
                              "over words (their first subwords)")
        check_range(self.distill_weight, key("distill_weight"), gt=0, le=1)
        check_range(self.distill_temperature, key("distill_temperature"), gt=0, lt=float("inf"))
        if self.teachers and (self.crf or self.label_all_subwords):
            # the soft targets are one distribution per word, learned by the softmax at its first subword
            raise ConfigError(f"E414 {key('teachers')} cannot be combined with {key('crf' if self.crf else 'label_all_subwords')}: "
                              "distillation matches the softmax at each word's first subword to the teachers'")
        if self.holdout is not None:
            parse_holdout(self.holdout, key("holdout"))
        if self.cross_fit and self.holdout is not None:
            # the student's shares would be cut twice (its holdout's k and its teachers' k)
            raise ConfigError(f"E414 {key('cross_fit')} and {key('holdout')} cannot be combined: a cross-fit student "
                              "learns from every share")
        if self.cross_fit and len(self.teachers) < 2:
            raise ConfigError(f"E414 {key('cross_fit')} needs the k >= 2 teachers trained with holdout 1/k ... k/k "
                              f"in {key('teachers')}, got {len(self.teachers)}")
        # the NER dev evaluation reports entity-level precision, recall and f1 (recipes.ner._combine)
        self.train.validate(key("train"), metrics=("precision", "recall", "f1"))


def parse_holdout(value: str, where: str = "holdout") -> tuple[int, int]:
    """``"i/k"`` as ``(i, k)``, 1 <= i <= k, k >= 2.

    Raises:
        ConfigError: E415 anything else.
    """
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(value))
    if not m or not (int(m[2]) >= 2 and 1 <= int(m[1]) <= int(m[2])):
        raise ConfigError(f"E415 {where} must be 'i/k' with 1 <= i <= k and k >= 2 (leave out the i-th of k shares "
                          f"of the training documents), got {value!r}")
    return int(m[1]), int(m[2])


def holdout_shares(n: int, k: int) -> list[int]:
    """The share (1..k) of each of ``n`` documents in order: k contiguous runs whose sizes differ by at most one."""
    return [j * k // n + 1 for j in range(n)]


def training_documents_sha256(corpora: Sequence[tuple[str, Sequence[Document]]]) -> str:
    """One hash of the training documents as a run learns from them (corpus names, texts, spans, in order).

    Teachers made with ``holdout`` and their ``cross_fit`` student compare it: the shares are positions in this
    list, so a teacher made from other files, another order or another ``train_on`` would teach the wrong
    sentences.
    """
    h = hashlib.sha256()
    for name, docs in corpora:
        h.update(f"corpus\x00{name}\x00{len(docs)}\x00".encode())
        for d in docs:
            h.update(d.text.encode("utf-8", "surrogatepass") + b"\x00")
            h.update(";".join(f"{sp.start},{sp.end},{sp.label}" for sp in d.spans).encode() + b"\x00")
    return h.hexdigest()


def corpus_format(c: CorpusConfig, path: str) -> str:
    """The format one file of corpus ``c`` is read in: ``c.format``, or with ``"auto"`` the one its name says.

    Training files in CoNLL come under any name (CoNLL-2003's own are ``.txt``), and a raw-text file has no
    annotations to learn from, so a name that says nothing, or says text, means CoNLL; a ``.txt`` file that starts
    like a PubTator record is PubTator.
    """
    if c.format != "auto":
        return c.format
    from biobert.io import guess_annotated_format

    # a name no format claims is CoNLL (a directory without .ann files is then E423 at the path check)
    return guess_annotated_format(expand_path(path))


def load_corpus(c: CorpusConfig, split: str) -> list[Document]:
    """Read one split (``train``/``dev``/``test``) of a corpus (``[]`` if not configured)."""
    path = getattr(c, split)
    if not path:
        return []
    fmt = corpus_format(c, path)
    p = require_data_path(expand_path(path), f"corpora[{c.name}].{split}", allow_dir=fmt == "brat")
    if fmt == "conll":
        from biobert.io.conll import read_conll

        return read_conll(p, untyped_label=c.untyped_label)
    from biobert import io

    return io.read(p, fmt=fmt)


def _types_in(docs: Sequence[Document]) -> set[str]:
    return {s.label for d in docs for s in d.spans}


def scored_spans(spans: Sequence[Span], types: set[str] | None = None, ignore_types: bool = False) -> list[Span]:
    """The spans an NER score compares: only ``types`` (``None``: all), each labelled ``ENTITY`` with
    ``ignore_types`` (BioBERT's untyped protocol). Shared by :func:`evaluate_ner` and the predictions file of
    ``biobert evaluate ner``, so that the file holds what was scored."""
    kept = [s for s in spans if types is None or s.label in types]
    return [replace(s, label="ENTITY") for s in kept] if ignore_types else kept


def evaluate_ner(
    predictor: NERPredictor,
    docs: Sequence[Document],
    types: set[str] | None = None,
    ignore_types: bool = False,
    stats: Counter | None = None,
) -> tuple[dict[str, Any], list[Document]]:
    """Strict entity-level scores of ``predictor`` on gold ``docs``.

    Args:
        types: score only these types (predictions of other types are ignored,
            because the corpus does not annotate them); ``None`` keeps all.
        ignore_types: compare boundaries only (BioBERT's untyped protocol).
    Returns:
        (metrics, predicted documents)
    """
    # the predictor sees the documents without their gold annotations (it never reads them, and tagging a
    # document with spans counts them as replaced, which is noise in an evaluation)
    bare = [replace(d, spans=(), relations=()) for d in docs]
    stats = stats if stats is not None else Counter()
    pred_docs = predictor.predict_documents(bare, stats=stats, keep_types=types)
    gold, pred = [], []
    for i, (g, p) in enumerate(zip(docs, pred_docs)):
        mine = [(i, s.start, s.end, s.label) for s in scored_spans(g.spans, types, ignore_types)]
        _count_unmatchable_gold(mine, p, stats)
        gold += mine
        pred += [(i, s.start, s.end, s.label) for s in scored_spans(p.spans, None, ignore_types)]
    metrics = entity_scores(gold, pred)
    metrics["metric"] = "strict entity-level exact match (conlleval semantics), micro"
    return metrics, pred_docs


def _count_unmatchable_gold(gold: list[tuple[int, int, int, str]], pred_doc: Document, stats: Counter) -> None:
    """Count the gold spans of one document that a tagger's output cannot match, so that a score is never lower
    for reasons the output does not show: a span given twice (scored once: ``gold_duplicate_spans_merged``; with
    ``ignore_types`` also one span under two types), spans that overlap or nest (one BIO tag per word can
    produce only one of them: ``gold_spans_overlapping``), and spans whose edge falls inside a word the tagger
    tagged whole (``Ca`` of ``Ca2+`` in BC5CDR's PubTator files: ``gold_spans_not_on_word_edges``). Each is
    still scored, as a miss where it cannot be found, as conlleval would."""
    keys = [(a, b, lab) for _, a, b, lab in gold]
    dup = len(keys) - len(set(keys))
    if dup:
        stats["gold_duplicate_spans_merged"] += dup
    spans = sorted(set(keys))
    reach = -1
    overlapping: set[tuple[int, int, str]] = set()
    for k, (a, b, _) in enumerate(spans):
        if a < reach:  # starts before an earlier span ends: both are one of an overlapping pair
            overlapping.add(spans[k])
            overlapping.update(x for x in spans[:k] if x[1] > a)
        reach = max(reach, b)
    if overlapping:
        stats["gold_spans_overlapping"] += len(overlapping)
    if pred_doc.tokens:
        starts = {a for a, _ in pred_doc.tokens}
        ends = {b for _, b in pred_doc.tokens}
        off = sum(1 for a, b, _ in spans if a not in starts or b not in ends)
        if off:
            stats["gold_spans_not_on_word_edges"] += off


def _combine(per_corpus: dict[str, dict[str, Any]]) -> dict[str, Any]:
    tp = sum(m["tp"] for m in per_corpus.values())
    npred = sum(m["n_pred"] for m in per_corpus.values())
    ngold = sum(m["n_gold"] for m in per_corpus.values())
    from biobert.metrics import prf

    return prf(tp, npred, ngold)


def _model_card(cfg: NERConfig, labels: list[str], corpus_types: dict[str, list[str]], test: dict[str, Any], command: str | None) -> str:
    lines = [
        f"# {cfg.name or 'biobert NER model'}",
        "",
        "Token-classification model fine-tuned with `biobert` (BioBERT NER protocol: "
        f"{'all-subword' if cfg.label_all_subwords else 'first-subword'} labels,",
        f"{'softmax + linear-chain CRF' if cfg.crf else 'softmax'} head, {cfg.decode} decoding, strict entity-level F1 "
        "with conlleval semantics).",
        "",
        f"* Encoder: `{cfg.encoder}`",
        f"* Labels: {', '.join(labels)}",
        f"* Trained on: {cfg.train_on}; max_length {cfg.max_length}, stride {cfg.stride}, "
        f"context {cfg.context} subwords each side; "
        f"{describe_training(cfg.train)}",
    ]
    if cfg.teachers:
        how = ("each training sentence taught by the one teacher held out of it (cross-fit)" if cfg.cross_fit
               else "their word-level label distributions averaged")
        lines.append(f"* Distilled from {len(cfg.teachers)} teacher(s), {how} "
                     f"(loss weight {cfg.distill_weight}, temperature {cfg.distill_temperature}): "
                     + ", ".join(f"`{t}`" for t in cfg.teachers))
    if cfg.holdout:
        lines.append(f"* Trained without share {cfg.holdout} of the training documents (a cross-fit teacher)")
    lines += [
        "",
        "## Training data",
        "",
        "| corpus | types | train | dev | test |",
        "|---|---|---|---|---|",
    ]
    for c in cfg.corpora:
        lines.append(f"| {c.name} | {', '.join(corpus_types[c.name])} | {c.train or ''} | {c.dev or ''} | {c.test or ''} |")
    lines += ["", "## Test results (strict entity-level, micro)", "", "| corpus | type | P | R | F1 |", "|---|---|---|---|---|"]
    for name, m in test.items():
        lines.append(f"| {name} | all | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} |")
        for t, pt in m.get("per_type", {}).items():
            lines.append(f"| {name} | {t} | {pt['precision']:.4f} | {pt['recall']:.4f} | {pt['f1']:.4f} |")
    if not test:
        lines.append("| (no test set configured) | | | | |")
    lines += ["", "## Reproduce", "", "```", command or "biobert finetune ner --config <config.yaml>", "```", ""]
    lines += ["Load it with `biobert.Tagger.load(<this directory>)`; `report.json` has versions, data hashes and all settings.", ""]
    return "\n".join(lines)


def teacher_targets(cfg: NERConfig, sentences: Sequence[Sentence], doc_texts: Sequence[str],
                    doc_meta: Sequence[dict[str, Any]], labels: list[str], stats: Counter,
                    cross_fit: tuple[list[int], str] | None = None) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """The teachers' mean probability over ``labels`` for every word of the training ``sentences``.

    Each teacher tags the words with its own tokenizer, windows and context, so any tagger with the same label
    names can teach (columns are matched by name). Returns the targets and what the report records: each
    teacher's source, weights hash and word-level agreement with the gold tags.

    With ``cross_fit = (share of each sentence, hash of the training documents)`` each teacher tags only the
    sentences of the share it was held out of (its biobert.json ``holdout``), so every sentence gets the
    distribution of the one teacher that never trained on it.

    Raises:
        ConfigError: E419 a teacher lacks one of the student's labels, or predicts labels the student lacks; with
            cross_fit, a teacher without a holdout, of another number of shares or other training documents,
            or two teachers of one share.
    """
    from biobert.export import weights_sha256
    from biobert.pipeline import Tagger

    t0 = time.time()
    words = [[doc_texts[s.doc_index][a:b] for a, b in s.words] for s in sentences]
    gold = [s.tags or [] for s in sentences]
    total: list[torch.Tensor | None] = [None] * len(sentences)
    record: list[dict[str, Any]] = []
    seen_shares: dict[int, str] = {}
    for ref in cfg.teachers:
        teacher = Tagger.load(ref, abbreviations=False)
        if set(teacher.labels) != set(labels):
            raise ConfigError(f"E419 teacher {ref!r} has labels {teacher.labels}; the model learns {labels}: a teacher "
                              "must predict exactly the same label names")
        idx = list(range(len(sentences)))
        if cross_fit is not None:
            share = _teacher_share(ref, teacher.meta.get("holdout"), len(cfg.teachers), cross_fit[1], seen_shares)
            idx = [i for i in idx if cross_fit[0][i] == share]
        cols = [teacher.labels.index(l) for l in labels]
        sub = [sentences[i] for i in idx]
        groups = sentence_groups(sub, doc_meta) if teacher.predictor.context else None
        dist = [d[:, cols] for d in teacher.predictor.word_distributions([words[i] for i in idx], stats, groups)]
        pred = [labels[j] for d in dist for j in d.argmax(-1).tolist()]
        flat_gold = [t for i in idx for t in gold[i]]
        agreement = round(sum(p == g for p, g in zip(pred, flat_gold)) / len(flat_gold), 4) if flat_gold else None
        src = Path(teacher.source)
        record.append({"teacher": ref, "weights_sha256": weights_sha256(src) if src.is_dir() else None,
                       ("held_out_word_agreement_with_gold" if cross_fit else "train_word_agreement_with_gold"): agreement})
        if cross_fit is not None:
            record[-1].update(share=share, sentences=len(idx), words=len(flat_gold))
        for i, d in zip(idx, dist):
            total[i] = d if total[i] is None else total[i] + d
        log.info("teacher %s: %s of the %d %s words' gold tags are its likeliest", ref, agreement, len(flat_gold),
                 "held-out" if cross_fit else "training")
    n_teach = 1 if cross_fit is not None else len(cfg.teachers)
    if any(t is None for t in total):  # cannot happen with k teachers of shares 1..k (checked above)
        raise ConfigError("E419 cross_fit: some training sentences have no teacher held out of them")
    stats["distill_words"] += sum(len(g) for g in gold)
    out = {"teachers": record, "weight": cfg.distill_weight, "temperature": cfg.distill_temperature,
           "cross_fit": cross_fit is not None, "teacher_seconds": round(time.time() - t0, 1)}
    return [t / n_teach for t in total], out  # type: ignore[operator]


def _teacher_share(ref: str, holdout: Any, k: int, train_sha: str, seen: dict[int, str]) -> int:
    """The share a cross-fit teacher was held out of, after checking it fits this run (E419)."""
    if not isinstance(holdout, dict):
        raise ConfigError(f"E419 cross_fit: teacher {ref!r} was not trained with holdout (its biobert.json has no "
                          f"'holdout'); train each of the {k} teachers with --set holdout=i/{k}")
    share, shares = holdout.get("share"), holdout.get("shares")
    if shares != k:
        raise ConfigError(f"E419 cross_fit: teacher {ref!r} was held out of share {share} of {shares}, but {k} "
                          f"teachers are given: give one teacher per share")
    if holdout.get("training_documents_sha256") != train_sha:
        raise ConfigError(f"E419 cross_fit: teacher {ref!r} was trained on other training documents (hash "
                          f"{str(holdout.get('training_documents_sha256'))[:12]}..., this run's {train_sha[:12]}...): "
                          "the same corpora, files, train_on and types are needed, or its shares are other sentences")
    if share in seen:
        raise ConfigError(f"E419 cross_fit: teachers {seen[share]!r} and {ref!r} were both held out of share "
                          f"{share}/{k}: each share needs its own teacher")
    seen[share] = ref
    return int(share)


def finetune_ner(cfg: NERConfig, resume: bool = True, command: str | None = None, progress: bool = True) -> dict[str, Any]:
    """Fine-tune, evaluate and save. Returns the run summary (also written to ``report.json``)."""
    from biobert.encoders import load_token_classifier, load_tokenizer

    if cfg.train_on not in ("train", "train+dev"):
        raise ConfigError(f"E407 train_on must be 'train' or 'train+dev', got {cfg.train_on!r}")
    if not cfg.corpora:
        raise ConfigError("E408 at least one corpus is needed")
    if cfg.context < 0:
        raise ConfigError(f"E409 context must be >= 0 subwords, got {cfg.context}")
    t0 = time.time()
    set_seed(cfg.train.seed)
    stats: Counter = Counter()
    splits: dict[str, dict[str, list[Document]]] = {}
    files: list[str] = []
    # every configured path is checked before anything is read or loaded (E423 names the config key)
    for ci, c in enumerate(cfg.corpora):
        for s in ("train", "dev", "test"):
            if getattr(c, s):
                require_data_path(expand_path(getattr(c, s)), f"corpora.{ci}.{s}", allow_dir=corpus_format(c, getattr(c, s)) == "brat")
    if cfg.train_on == "train+dev" and not any(c.dev for c in cfg.corpora):
        raise ConfigError("E497 train_on is 'train+dev' but no corpus has a dev file; set corpora.N.dev or use "
                          "train_on: train")
    notes: dict[str, Any] = {}  # what the report must say about data that was not used as configured
    for c in cfg.corpora:
        splits[c.name] = {s: load_corpus(c, s) for s in ("train", "dev", "test")}
        files += [str(expand_path(p)) for p in (c.train, c.dev, c.test) if p]
        for s in ("train", "dev", "test"):
            # I- after O (or after another type) read as conlleval reads it: a change to the data, so counted
            n_fixed = sum(d.metadata.get("repaired_tags", 0) for d in splits[c.name][s])
            if n_fixed:
                stats[f"tags_repaired_as_conlleval:{c.name}:{s}"] += n_fixed
        if c.dev and not splits[c.name]["dev"]:
            log.warning("corpus %s: dev file %s holds no documents; it takes no part in model selection", c.name, c.dev)
            notes.setdefault("empty_dev_files", []).append({"corpus": c.name, "path": str(c.dev)})
        if cfg.train_on == "train+dev":
            splits[c.name]["train"] = splits[c.name]["train"] + splits[c.name]["dev"]
            splits[c.name]["dev"] = []
    for ci, c in enumerate(cfg.corpora):
        # a file read in the wrong format (or a corpus that lost its tags) has documents but no entities: as
        # training data it would teach that everything is O, as dev or test data it would score 0
        for s in ("train", "dev", "test"):
            if splits[c.name][s] and not any(d.spans for d in splits[c.name][s]) and getattr(c, s):
                fmt = corpus_format(c, getattr(c, s))
                if s == "train" and c.types is None:
                    raise TrainingError(f"E502 corpus {c.name}: {getattr(c, s)} holds no entity spans when read as {fmt}; "
                                        f"set corpora.{ci}.format to the file's format")
                log.warning("corpus %s: %s file %s holds no entity spans (read as %s)", c.name, s, getattr(c, s), fmt)
                notes.setdefault("splits_without_entities", []).append({"corpus": c.name, "split": s, "path": str(getattr(c, s)), "format": fmt})
    corpus_types = {c.name: sorted(c.types if c.types is not None else _types_in(splits[c.name]["train"])) for c in cfg.corpora}
    for c in cfg.corpora:
        if c.types is None:
            continue
        # `types:` says what the corpus annotates: training spans of other types are not learned from it (their
        # words are O for this corpus, which label masking reads as "none of its types"); dropped and counted
        dropped = Counter(sp.label for d in splits[c.name]["train"] for sp in d.spans if sp.label not in c.types)
        if dropped:
            keep_t = set(c.types)
            splits[c.name]["train"] = [replace(d, spans=tuple(sp for sp in d.spans if sp.label in keep_t)) for d in splits[c.name]["train"]]
            for t, n in sorted(dropped.items()):
                stats[f"train_spans_of_undeclared_types_dropped:{c.name}:{t}"] += n
            log.warning("corpus %s: %d training span(s) of types outside its types %s dropped: %s", c.name,
                        sum(dropped.values()), c.types, dict(dropped))
    train_sha = training_documents_sha256([(c.name, splits[c.name]["train"]) for c in cfg.corpora])
    # the share (1..k) of every training document, for holdout (dropped here) and cross_fit (one teacher each)
    i_out, k_out = parse_holdout(cfg.holdout) if cfg.holdout else (0, 0)
    k_shares = k_out or (len(cfg.teachers) if cfg.cross_fit else 0)
    shares = {c.name: holdout_shares(len(splits[c.name]["train"]), k_shares) if k_shares else [] for c in cfg.corpora}
    if cfg.holdout:
        held: dict[str, int] = {}
        for c in cfg.corpora:
            kept = [d for d, sh in zip(splits[c.name]["train"], shares[c.name]) if sh != i_out]
            held[c.name] = len(splits[c.name]["train"]) - len(kept)
            splits[c.name]["train"], shares[c.name] = kept, [sh for sh in shares[c.name] if sh != i_out]
        if not any(held.values()):
            n_docs = {c.name: len(splits[c.name]["train"]) for c in cfg.corpora}
            raise ConfigError(f"E415 holdout {cfg.holdout} leaves out no document: the training data has {n_docs} "
                              f"document(s), fewer than {k_out} shares")
        notes["holdout"] = {"share": i_out, "shares": k_out, "documents_held_out": held,
                            "training_documents_sha256": train_sha}
        log.info("holdout %s: %s training document(s) left out", cfg.holdout, held)
    all_types = sorted({t for ts in corpus_types.values() for t in ts})
    if not all_types:
        raise TrainingError("E502 the training data contains no entity spans")
    labels = labels_for_types(all_types)
    label2id = {l: i for i, l in enumerate(labels)}
    # dev/test spans of a type the model learns from other corpora but this corpus does not annotate are not
    # scored: counted per type, and said. Types the model never learns are scored (misses), as conlleval would,
    # so that finetune's test F1 is the one `biobert evaluate ner` gives for the same model and file.
    unscored: dict[str, dict[str, dict[str, int]]] = {}
    score_types: dict[str, dict[str, set[str]]] = {}
    for c in cfg.corpora:
        for s in ("dev", "test"):
            gold_types = _types_in(splits[c.name][s])
            unknown = gold_types - set(all_types)
            score_types.setdefault(c.name, {})[s] = set(corpus_types[c.name]) | unknown
            if unknown:
                log.warning("corpus %s: %s spans of types the model does not learn %s count as misses", c.name, s, sorted(unknown))
                notes.setdefault("gold_types_not_learned", {}).setdefault(c.name, {})[s] = sorted(unknown)
            n = Counter(sp.label for d in splits[c.name][s] for sp in d.spans if sp.label not in score_types[c.name][s])
            if n:
                unscored.setdefault(c.name, {})[s] = dict(sorted(n.items()))
                log.warning("corpus %s: %d %s span(s) of types not in its training types %s are left out of the "
                            "scores: %s", c.name, sum(n.values()), s, corpus_types[c.name], dict(n))

    splitter = get_splitter(cfg.splitter)  # fails now, not after loading, if its package or model is missing
    tokenizer = load_tokenizer(cfg.encoder)
    model = load_token_classifier(cfg.encoder, labels)
    # with a CRF the trainer sees classifier + CRF as one module; the classifier alone is saved as the HF model
    net: torch.nn.Module = CRFTagger(model, labels) if cfg.crf else model
    encoder = SubwordEncoder(tokenizer)

    sentences = []
    doc_texts: list[str] = []
    doc_meta: list[dict[str, Any]] = []
    doc_share: list[int] = []
    for ci, c in enumerate(cfg.corpora):
        for j, d in enumerate(splits[c.name]["train"]):
            sentences += document_sentences(d, len(doc_texts), with_gold=True, corpus=ci, stats=stats, splitter=splitter)
            doc_texts.append(d.text)
            doc_meta.append(d.metadata)
            doc_share.append(shares[c.name][j] if shares[c.name] else 0)
    allowed = allowed_o_matrix(labels, [corpus_types[c.name] for c in cfg.corpora])
    soft = None
    if cfg.teachers:
        if not bool(allowed.sum(1).eq(1).all()):
            raise ConfigError("E414 teachers need corpora that annotate the same types: the soft targets would teach "
                              "a corpus's O words the types it does not annotate")
        soft, notes["distillation"] = teacher_targets(
            cfg, sentences, doc_texts, doc_meta, labels, stats,
            cross_fit=([doc_share[s.doc_index] for s in sentences], train_sha) if cfg.cross_fit else None)
    feats = build_features(
        sentences, doc_texts, encoder, label2id, max_length=cfg.max_length, stride=cfg.stride,
        label_all_subwords=cfg.label_all_subwords, stats=stats,
        context=cfg.context, groups=sentence_groups(sentences, doc_meta) if cfg.context else None, soft=soft,
    )
    predictor = NERPredictor(model, tokenizer, labels, cfg.max_length, cfg.stride, context=cfg.context, decode=cfg.decode,
                             crf=net.crf if cfg.crf else None)
    predictor.splitter = splitter

    def evaluate(m: torch.nn.Module) -> dict[str, Any]:
        per = {}
        for c in cfg.corpora:
            if splits[c.name]["dev"]:
                per[c.name], _ = evaluate_ner(predictor, splits[c.name]["dev"], score_types[c.name]["dev"])
        return _combine(per)

    has_dev = any(splits[c.name]["dev"] for c in cfg.corpora)
    if not has_dev:
        why = "train_on is train+dev" if cfg.train_on == "train+dev" else "no dev documents"
        if cfg.train_on == "train":
            log.warning("no dev documents: no model selection; the weights after the last epoch are kept")
        notes["model_selection"] = f"none ({why}): the weights after the last epoch are kept"
        if cfg.train.average_last:
            notes["model_selection"] = f"none ({why}): the average of the weights after the last {cfg.train.average_last} epochs is kept"
    else:
        notes["model_selection"] = f"best dev {cfg.train.select_metric}"
        if cfg.train.average_last:
            notes["model_selection"] += f" among the epochs and the average of the last {cfg.train.average_last}"
    out = Path(cfg.out)
    # what the run is: a checkpoint made with anything else is not resumed (E504); the test files only score it
    fingerprint = run_fingerprint(
        to_dict(cfg), {f"corpora.{ci}.{s}": expand_path(getattr(c, s)) for ci, c in enumerate(cfg.corpora)
                       for s in ("train", "dev") if getattr(c, s)},
        exclude=("corpora.*.test", "teachers"), labels=labels, corpus_types=corpus_types,
        # the teachers as a set (their order changes no target) with their weights: a teacher retrained in place
        # would give a resumed student other targets than its first steps learned from
        teachers=sorted((t["teacher"], t["weights_sha256"] or "") for t in notes["distillation"]["teachers"]) if cfg.teachers else [],
        # the encoder's weights and vocabulary, not only its path: either changed in place was resumed as "verified"
        **encoder_fingerprint(cfg.encoder, tokenizer))
    trainer = Trainer(
        net, feats, lambda b: ner_collate(b, encoder.pad_id),
        lambda m, b: ner_loss(m, b, allowed, label2id["O"], crf=cfg.crf,
                              distill=(cfg.distill_weight, cfg.distill_temperature) if cfg.teachers else None),
        evaluate if has_dev else None, out, cfg.train, progress=progress, fingerprint=fingerprint,
        lr_multipliers={"crf.": cfg.crf_lr_scale} if cfg.crf else None,
        # the loss (softmax, distillation or CRF) is a mean over labelled subwords: shards weigh by them
        loss_units=lambda f: sum(1 for x in f["labels"] if x != -100),
    )
    summary = trainer.train(resume=resume)
    if not distributed.is_main():  # data-parallel run: process 0 tests and saves
        return distributed.wait_for_report(out / "report.json")

    test: dict[str, Any] = {}
    test_stats: Counter = Counter()
    model.eval()
    for c in cfg.corpora:
        if splits[c.name]["test"]:
            test[c.name], _ = evaluate_ner(predictor, splits[c.name]["test"], score_types[c.name]["test"], stats=test_stats)
    meta = {
        "task": "ner",
        "labels": labels,
        "max_length": cfg.max_length,
        "stride": cfg.stride,
        "context": cfg.context,
        "splitter": cfg.splitter,
        "decode": cfg.decode,
        "corpus_types": corpus_types,
        "encoder": cfg.encoder,
    }
    if cfg.crf:
        meta["crf"] = net.crf.to_meta()
    if cfg.holdout:
        meta["holdout"] = notes["holdout"]
    card = _model_card(cfg, labels, corpus_types, test, command)
    save_model_dir(out, model, tokenizer, meta, card, half=cfg.save_half)
    report = {
        "task": "ner",
        "command": command,
        "config": to_dict(cfg),
        "train_on": cfg.train_on,
        "seed": cfg.train.seed,
        "data": data_record(files),
        "labels": labels,
        "corpus_types": corpus_types,
        "data_changes": dict(stats),
        "unscored_spans": unscored,
        **notes,
        "test_inference_counts": dict(test_stats),
        "train": summary,
        "dev_f1": summary["best_dev"],
        "test": test,
        "wall_seconds": round(time.time() - t0, 1),
    }
    write_report(out / "report.json", report)
    distributed.barrier()  # releases the other processes (distributed.wait_for_report)
    return report


def dumps_scores(m: dict[str, Any]) -> str:
    """Pretty JSON for printing metrics."""
    return json.dumps(m, indent=2)
