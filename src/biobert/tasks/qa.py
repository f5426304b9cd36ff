"""Question answering: an extractive span head and a yes/no(/maybe) head on one encoder.

1. ``encode``: ``[CLS] question [SEP] passage-window [SEP]``. The question is
   cut to ``max_query_length`` subwords; a passage longer than the rest of
   ``max_length`` is covered by overlapping windows (:mod:`biobert.text.windows`),
   never truncated. ``stride`` is the number of subwords two windows share;
   ``doc_stride``, when set, is instead the step between window starts, the
   meaning of BERT's / BioBERT's ``doc_stride`` (128 with ``max_seq_length``
   384: windows overlap by the rest of the window, ~189 subwords after a
   64-subword question, not by 128). Span targets are
   the subwords of the first (leftmost) answer occurrence; a window that does
   not contain the whole answer points at [CLS], as in BERT's SQuAD code (an
   answer that no single window holds is counted: ``answers_in_no_single_window``).
   Training examples whose passage contains no answer are dropped and
   counted (BioBERT drops the ~30% of BioASQ factoid snippets without an
   exact answer).
2. ``loss``: start + end cross-entropy (span head) and/or cross-entropy of the
   classification head on the [CLS] vector; a feature without a target for a
   head (``-100``) is ignored by it.
3. ``decode``: per passage, the ``n_best`` start and end logits of every window
   are combined into spans inside the passage, no longer than
   ``max_answer_length`` subwords and read from the window where their start
   is most central; the ``n_best`` spans (score = start + end logit) get a
   softmax. A span is widened to whole words of the passage
   (:func:`biobert.text.words.tokenize_words`), as BERT's ``run_squad`` maps
   predictions back to whole original tokens: an answer never starts or ends
   inside a word (``s breast cancer`` -> ``patients breast cancer``); spans
   that become equal keep their best score (both counted in the stats).
   Across all passages of a question (:func:`pool_answers`),
   probabilities of case-insensitive duplicates are summed, empty answers and
   answers over 100 characters are dropped; factoid questions return the top
   5, list questions those within ``list_threshold`` of the best (at most
   ``list_top_k``). Answers keep their passage index and character offsets.
   Yes/no questions average the class probabilities over windows and passages.
4. ``metrics``: :func:`biobert.metrics.factoid_scores`, ``list_scores``, ``yesno_scores``.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from biobert.device import model_device, to_device
from biobert.errors import ConfigError, ModelLoadError
from biobert.encoders import check_fits, max_input_length, takes_token_type_ids
from biobert.io.squad import QAExample
from biobert.tasks.batching import pad_field, pad_inputs
from biobert.tasks.pooling import masked_mean
from biobert.text.windows import Window, best_window, make_windows
from biobert.text.words import tokenizable, tokenize_words

__all__ = [
    "QAExample",
    "QASpec",
    "QAModel",
    "new_qa_model",
    "build_qa_features",
    "qa_collate",
    "qa_loss",
    "QAPredictor",
    "pool_answers",
    "select_answers",
    "QTYPES",
    "check_qtype",
    "max_input_length",
    "check_max_length",
    "snap_to_words",
]

#: the BioASQ question types a QA model answers (summary questions need a generated ideal answer: not supported)
QTYPES = ("factoid", "list", "yesno")

CLS_HEAD_FILE = "qa_cls_head.safetensors"
CLS_POOLINGS = ("cls", "mean")


@dataclass
class QASpec:
    """Inference settings of a QA model (saved in ``biobert.json``).

    Args:
        span: the model has a trained extractive span head.
        class_labels: labels of the classification head (``[]``: none).
        max_length / stride / max_query_length: input layout. ``stride`` is the OVERLAP of consecutive
            passage windows, in subwords.
        doc_stride: when set, the STEP between the starts of consecutive passage windows (BERT's ``run_squad``
            ``doc_stride``; BioBERT: max_seq_length 384, doc_stride 128, max_query_length 64), and ``stride`` is
            not used; the overlap is then the passage room left by the question minus ``doc_stride``. ``None``
            (models saved before this setting existed): windows overlap by ``stride``.
        n_best: spans kept per passage; max_answer_length: in subwords (30);
        max_answer_chars: pooled answers longer than this are dropped (100).
        factoid_top_k: answers returned for factoid questions (5).
        list_threshold / list_top_k: list answers within this fraction of the
            best pooled score, at most this many.
        cls_pooling: what the classification head reads: ``cls`` (the [CLS] vector,
            BERT's choice) or ``mean`` (the mean over the window's tokens; the
            representation sentence-embedding encoders such as all-MiniLM-L6-v2
            were trained to produce).
        answer_cleanup: ``none`` (answers are the spans the model scored) or ``biobert``
            (before pooling, as BioBERT's ``transform_nbset2bioasqform.textrip``: one trailing
            ``,`` ``.`` or space is cut, one enclosing pair of parentheses is removed, and an
            answer with an unbalanced parenthesis is dropped; offsets follow the cut).
    """

    span: bool = True
    class_labels: list[str] = field(default_factory=list)
    max_length: int = 384
    stride: int = 128
    max_query_length: int = 64
    doc_stride: int | None = None
    n_best: int = 20
    max_answer_length: int = 30
    max_answer_chars: int = 100
    factoid_top_k: int = 5
    list_threshold: float = 0.5
    list_top_k: int = 10
    cls_pooling: str = "cls"
    answer_cleanup: str = "none"

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "QASpec":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in meta.items() if k in names})


def check_qtype(qtype: str) -> str:
    """A question type as the predictor uses it: ``factoid``, ``list`` or ``yesno``, accepted in any case and
    with surrounding spaces (``"Factoid"`` -> ``"factoid"``).

    Raises:
        ConfigError: E493 anything else; ``summary`` questions are named as unsupported (they need a
            generated ideal answer, which an extractive or yes/no model does not produce).
    """
    norm = qtype.strip().lower() if isinstance(qtype, str) else qtype
    if norm in QTYPES:
        return norm  # type: ignore[return-value]
    if norm == "summary":
        raise ConfigError("E493 summary questions are not supported: the QA models here extract answer spans "
                          f"(factoid, list) or classify yes/no; they do not write ideal answers. Use one of {QTYPES}")
    raise ConfigError(f"E493 unknown question type {qtype!r}; expected one of {QTYPES} (any case)")


def check_max_length(spec: QASpec, model: Any, tokenizer: Any = None) -> None:
    """Refuse a ``spec.max_length`` longer than the model's positions, which would otherwise fail inside the
    encoder with a bare tensor-size error on the first long passage.

    Raises:
        ConfigError: E494.
    """
    check_fits(spec.max_length, max_input_length(model, tokenizer), "QA")


# -- model -----------------------------------------------------------------------
class QAModel(nn.Module):
    """``AutoModelForQuestionAnswering`` plus an optional classification head on the [CLS] vector.

    The saved directory loads with ``AutoModelForQuestionAnswering`` alone
    (span head); the classification head is ``qa_cls_head.safetensors``.
    """

    def __init__(self, span_model: nn.Module, num_classes: int = 0, dropout: float | None = None,
                 pooling: str = "cls") -> None:
        super().__init__()
        if pooling not in CLS_POOLINGS:
            raise ConfigError(f"E485 QA cls_pooling must be one of {CLS_POOLINGS}, got {pooling!r}")
        self.span_model = span_model
        self.pooling = pooling
        #: segment ids are passed on only to an encoder that has them (the tokenizer may declare them anyway)
        self.token_types = takes_token_type_ids(span_model)
        cfg = span_model.config
        self.dropout = nn.Dropout(dropout if dropout is not None else getattr(cfg, "hidden_dropout_prob", 0.1))
        self.cls_head = nn.Linear(cfg.hidden_size, num_classes) if num_classes else None
        if self.cls_head is not None:
            nn.init.normal_(self.cls_head.weight, std=getattr(cfg, "initializer_range", 0.02))
            nn.init.zeros_(self.cls_head.bias)

    @property
    def config(self) -> Any:
        return self.span_model.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        kw = {"token_type_ids": token_type_ids} if token_type_ids is not None and self.token_types else {}
        out = self.span_model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=self.cls_head is not None, **kw)
        cls_logits = None
        if self.cls_head is not None:
            hidden = out.hidden_states[-1]
            if self.pooling == "mean":
                rep = masked_mean(hidden, attention_mask)
            else:
                rep = hidden[:, 0]
            cls_logits = self.cls_head(self.dropout(rep))
        return out.start_logits, out.end_logits, cls_logits

    def save_pretrained(self, out: str | Path, **kw: Any) -> None:
        from safetensors.torch import save_file

        kw.pop("safe_serialization", None)
        self.span_model.save_pretrained(out, safe_serialization=True, **kw)
        if self.cls_head is not None:
            save_file({k: v.detach().contiguous() for k, v in self.cls_head.state_dict().items()}, str(Path(out) / CLS_HEAD_FILE))

    @classmethod
    def from_dir(cls, path: str | Path, num_classes: int = 0, pooling: str = "cls", span: bool = True) -> "QAModel":
        """Load a QA model saved by :meth:`save_pretrained` (or any ``AutoModelForQuestionAnswering`` checkpoint).

        Args:
            num_classes: size of the classification head in ``qa_cls_head.safetensors`` (0: none).
            span: the model must bring a trained span head (``qa_outputs``); ``False`` for yes/no-only models.

        Raises:
            ModelLoadError: E334 ``span`` and the checkpoint has no span-head weights (an encoder or a model of
                another task, whose head transformers would initialise at random); E331 no class-head file.
        """
        from safetensors.torch import load_file
        from transformers import AutoModelForQuestionAnswering

        from biobert.encoders import load_checked

        # E316 if the encoder's weights are missing; a missing span head is checked here to say what to do instead
        span_model, created = load_checked(AutoModelForQuestionAnswering, str(path), new_head=True)
        if span:
            prefix = getattr(span_model, "base_model_prefix", "") + "."
            bad = [k for k in created if not k.startswith(prefix)]
            if bad:
                raise ModelLoadError(
                    f"E334 {path} has no trained question-answering head (missing or mismatched: {', '.join(bad[:4])}); "
                    "it is a plain encoder or a model for another task, and its span head would be random. Fine-tune "
                    "a QA model from it with `biobert finetune qa` (encoder: this directory) and load the result, or "
                    "load a SQuAD/BioASQ-fine-tuned checkpoint"
                )
        model = cls(span_model, num_classes, pooling=pooling)
        if num_classes:
            f = Path(path) / CLS_HEAD_FILE
            if not f.exists():
                raise ModelLoadError(f"E331 {path} has no {CLS_HEAD_FILE} although its biobert.json lists classes")
            model.cls_head.load_state_dict({k: v.float() for k, v in load_file(str(f)).items()})  # type: ignore[union-attr]
        model.eval()
        return model


def new_qa_model(encoder_name: str, num_classes: int = 0, dropout: float | None = None, pooling: str = "cls") -> QAModel:
    """A QA model on a pre-trained encoder, a fine-tuned QA directory or a SQuAD checkpoint (its span head is kept)."""
    from transformers import AutoModelForQuestionAnswering

    from biobert.encoders import load_checked, resolve_encoder

    ref = resolve_encoder(encoder_name)
    span = load_checked(AutoModelForQuestionAnswering, ref, new_head=True)[0]
    model = QAModel(span, num_classes, dropout, pooling)
    f = Path(ref) / CLS_HEAD_FILE
    if num_classes and f.exists():  # continuing from a biobert QA directory with the same head size
        from safetensors.torch import load_file

        state = load_file(str(f))
        if state["weight"].shape[0] == num_classes:
            model.cls_head.load_state_dict({k: v.float() for k, v in state.items()})  # type: ignore[union-attr]
    return model


# -- features ----------------------------------------------------------------------
@dataclass
class _Encoded:
    q_ids: list[int]
    c_ids: list[int]
    offsets: list[tuple[int, int]]
    windows: list[Window]


class _Layout:
    def __init__(self, tokenizer: Any, spec: QASpec) -> None:
        self.tok, self.spec = tokenizer, spec
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.use_tt = "token_type_ids" in getattr(tokenizer, "model_input_names", [])

    def encode(self, examples: Sequence[QAExample], stats: Counter) -> list[_Encoded]:
        # a question is asked of each of its passages: what is done to it is counted once per question
        first = {}
        for i, e in enumerate(examples):
            first.setdefault((e.question_id or e.id, e.question), i)
        once = set(first.values())
        qs = self.tok([tokenizable(e.question, stats if i in once else None) for i, e in enumerate(examples)],
                      add_special_tokens=False, verbose=False)["input_ids"] if examples else []
        cs = self.tok([tokenizable(e.context, stats) for e in examples], add_special_tokens=False, return_offsets_mapping=True, verbose=False) if examples else None
        out = []
        for i, e in enumerate(examples):
            q = qs[i]
            if len(q) > self.spec.max_query_length:
                if i in once:
                    stats["questions_cut_to_max_query_length"] += 1
                q = q[: self.spec.max_query_length]
            c, offs = cs["input_ids"][i], _strip_offsets(e.context, cs["offset_mapping"][i])  # type: ignore[index]
            cap = self.spec.max_length - len(q) - 3
            if cap < 8:
                raise ConfigError(f"E449 max_length {self.spec.max_length} leaves no room for the passage after a {len(q)}-subword question")
            windows = self.windows(len(c), cap) if c else [Window(0, 0)]
            if len(windows) > 1:
                stats["passages_windowed"] += 1
                stats["extra_windows"] += len(windows) - 1
            out.append(_Encoded(q, c, offs, windows))
        return out

    def windows(self, n: int, cap: int) -> list[Window]:
        """Windows of at most ``cap`` subwords over a passage of ``n`` subwords: overlapping by ``stride``, or
        starting every ``doc_stride`` subwords when that is set (as BERT's ``run_squad``, whose step is also
        capped at the window length, so no subword is ever skipped)."""
        if self.spec.doc_stride is not None:
            step = max(1, min(self.spec.doc_stride, cap))
            return make_windows(n, cap, cap - step)
        return make_windows(n, cap, min(self.spec.stride, cap - 1))

    def window_input(self, enc: _Encoded, w: Window) -> dict[str, Any]:
        ids = [self.cls_id] + enc.q_ids + [self.sep_id] + enc.c_ids[w.start : w.end] + [self.sep_id]
        f: dict[str, Any] = {"input_ids": ids, "ctx_offset": len(enc.q_ids) + 2}
        if self.use_tt:
            f["token_type_ids"] = [0] * (len(enc.q_ids) + 2) + [1] * (w.end - w.start + 1)
        return f


def _strip_offsets(text: str, offsets: Sequence[Sequence[int]]) -> list[tuple[int, int]]:
    """Subword offsets narrowed to exclude surrounding whitespace.

    Byte-level BPE tokenizers without an offset-trimming post-processor (ModernBERT's generic
    ``PreTrainedTokenizerFast``) give ``Ġmutations`` the range of `` mutations``, space included, so answers came
    out as `` HTT``: they no longer matched the gold answer, and pooling kept ``HTT`` and `` HTT`` apart. A token that
    is only whitespace becomes empty (and so never bounds an answer).
    """
    out = []
    for a, b in offsets:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        out.append((a, b))
    return out


def _token_span(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """First and last subword covering characters ``[start, end)`` (``None`` if none)."""
    toks = [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]
    return (toks[0], toks[-1]) if toks else None


def build_qa_features(examples: Sequence[QAExample], tokenizer: Any, spec: QASpec, stats: Counter | None = None,
                      train_span: bool = True) -> list[dict[str, Any]]:
    """Training features: one per window, with span and/or class targets (``-100`` where a head has none)."""
    stats = stats if stats is not None else Counter()
    layout = _Layout(tokenizer, spec)
    c2i = {c: i for i, c in enumerate(spec.class_labels)}
    use_span = spec.span and train_span
    feats = []
    for e, enc in zip(examples, layout.encode(examples, stats)):
        cls_target = c2i.get(e.label, -100) if (e.label is not None and c2i) else -100
        span_tok = None
        if use_span and (e.qtype in ("factoid", "list") or not c2i):
            if not e.answers:
                stats["examples_without_answer_dropped"] += 1
                if cls_target == -100:
                    continue
            else:
                a = e.answers[0]
                span_tok = _token_span(enc.offsets, a.start, a.end)
                if span_tok is None:
                    stats["answers_without_subwords_dropped"] += 1
                    continue
        if span_tok is None and cls_target == -100:
            stats["examples_without_target_dropped"] += 1
            continue
        if span_tok is not None and not any(w.start <= span_tok[0] and span_tok[1] < w.end for w in enc.windows):
            # every window of this passage points at [CLS] (as BERT's run_squad does): the answer teaches nothing,
            # which too little window overlap for the answer's length would otherwise hide
            stats["answers_in_no_single_window"] += 1
        for w in enc.windows:
            f = layout.window_input(enc, w)
            if span_tok is not None:
                s, t = span_tok
                if w.start <= s and t < w.end:
                    f["start_positions"], f["end_positions"] = s - w.start + f["ctx_offset"], t - w.start + f["ctx_offset"]
                else:
                    f["start_positions"] = f["end_positions"] = 0
                    stats["windows_without_answer"] += 1
            else:
                f["start_positions"] = f["end_positions"] = -100
            f["class_label"] = cls_target
            feats.append(f)
    stats["features"] += len(feats)
    return feats


def qa_collate(features: list[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Dynamic padding; targets are included when present."""
    batch = pad_inputs(features, pad_id)
    if "token_type_ids" in features[0]:
        batch["token_type_ids"] = pad_field(features, "token_type_ids", 0)
    for key in ("start_positions", "end_positions", "class_label"):
        if key in features[0]:
            batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
    return batch


def qa_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """(start CE + end CE) / 2 on features with span targets, plus CE of the class head."""
    start, end, cls_logits = model(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
    total = start.new_zeros(())
    sp = batch.get("start_positions")
    if sp is not None and bool((sp != -100).any()):
        ce = nn.functional.cross_entropy
        total = total + (ce(start, sp, ignore_index=-100) + ce(end, batch["end_positions"], ignore_index=-100)) / 2
    cl = batch.get("class_label")
    if cls_logits is not None and cl is not None and bool((cl != -100).any()):
        total = total + nn.functional.cross_entropy(cls_logits, cl, ignore_index=-100)
    return total


# -- decoding ------------------------------------------------------------------------
def _softmax(xs: Sequence[float]) -> list[float]:
    if not xs:
        return []
    m = max(xs)
    e = [math.exp(x - m) for x in xs]
    s = sum(e)
    return [x / s for x in e]


ANSWER_CLEANUPS = ("none", "biobert")


def biobert_trim(text: str) -> tuple[int, int] | None:
    """BioBERT's answer clean-up (``textrip``) as character cuts: ``(cut at start, cut at end)`` so that the
    cleaned answer is ``text[a : len(text) - b]``, or ``None`` when the answer is dropped (unbalanced
    parentheses). Like the original, only the first rule that applies is used."""
    if text and text[-1] in ",. ":
        return 0, 1
    if len(text) > 2 and text[0] == "(" and text[-1] == ")" and text.count("(") == 1 and text.count(")") == 1:
        return 1, 1
    if ("(" in text) != (")" in text):
        return None
    return 0, 0


def clean_answers(items: Sequence[dict[str, Any]], how: str, stats: Counter | None = None) -> list[dict[str, Any]]:
    """Apply an ``answer_cleanup`` to n-best items (``text``/``start``/``end`` stay consistent); counts
    ``answers_trimmed`` and ``answers_dropped_unbalanced``."""
    if how == "none":
        return list(items)
    if how != "biobert":
        raise ConfigError(f"E489 answer_cleanup must be one of {ANSWER_CLEANUPS}, got {how!r}")
    out = []
    for it in items:
        cut = biobert_trim(it["text"])
        if cut is None:
            if stats is not None:
                stats["answers_dropped_unbalanced"] += 1
            continue
        a, b = cut
        if a or b:
            if stats is not None:
                stats["answers_trimmed"] += 1
            it = {**it, "text": it["text"][a : len(it["text"]) - b]}
            if it.get("start") is not None:
                it["start"] += a
                it["end"] -= b
        out.append(it)
    return out


def pool_answers(nbests: Sequence[Sequence[dict[str, Any]]], max_chars: int = 100, stats: Counter | None = None) -> list[dict[str, Any]]:
    """Pool per-passage n-best lists of one question (BioBERT's ``transform_nbset2bioasqform``).

    Each item is ``{"text", "probability", ...}``. Probabilities of answers
    equal after lower-casing are summed; empty answers and answers longer than
    ``max_chars`` characters are dropped (the long ones counted in ``stats`` as
    ``answers_longer_than_max_chars_dropped``: a question can be left with no answer this way). The surface
    form, passage and offsets of a pooled answer are those of its most probable occurrence.
    Returns ``[{"text", "score", "passage", "start", "end", "count"}]`` by descending score.
    """
    pooled: dict[str, dict[str, Any]] = {}
    for nb in nbests:
        for a in nb:
            text = a["text"]
            if len(text) > max_chars and text.strip() and stats is not None:
                stats["answers_longer_than_max_chars_dropped"] += 1
            if not text.strip() or len(text) > max_chars:
                continue
            key = text.lower()
            p = float(a["probability"])
            cur = pooled.get(key)
            if cur is None:
                pooled[key] = {"text": text, "score": p, "passage": a.get("passage"), "start": a.get("start"),
                               "end": a.get("end"), "count": 1, "_best": p}
            else:
                cur["score"] += p
                cur["count"] += 1
                if p > cur["_best"]:
                    cur.update(text=text, passage=a.get("passage"), start=a.get("start"), end=a.get("end"), _best=p)
    out = sorted(pooled.values(), key=lambda x: -x["score"])
    for x in out:
        x.pop("_best")
    return out


def select_answers(pooled: Sequence[dict[str, Any]], qtype: str, spec: QASpec) -> list[dict[str, Any]]:
    """Factoid: the top ``factoid_top_k``. List: those within ``list_threshold`` of the best, at most ``list_top_k``."""
    if qtype == "list":
        if not pooled:
            return []
        best = pooled[0]["score"]
        return [a for a in pooled if a["score"] >= spec.list_threshold * best][: spec.list_top_k]
    return list(pooled[: spec.factoid_top_k])


def snap_to_words(words: Sequence[tuple[int, int]], start: int, end: int,
                  starts: Sequence[int] | None = None) -> tuple[int, int]:
    """Widen ``[start, end)`` so that it neither starts nor ends inside one of ``words`` (sorted, disjoint
    ``(start, end)`` ranges, e.g. :func:`biobert.text.words.tokenize_words`); the range is only ever widened.
    ``starts``: the words' start offsets, when the caller snaps many spans of one text."""
    starts = starts if starts is not None else [a for a, _ in words]
    i = bisect_right(starts, start) - 1  # the word starting at or before `start`
    if i >= 0 and start < words[i][1]:
        start = words[i][0]
    j = bisect_left(starts, end) - 1  # the word starting before `end`
    if j >= 0 and end < words[j][1]:
        end = words[j][1]
    return start, end


class QAPredictor:
    """Batched inference: n-best spans per passage and class probabilities per passage.

    Raises:
        ConfigError: E494 ``spec.max_length`` is longer than the model can take (:func:`check_max_length`).
    """

    def __init__(self, model: nn.Module, tokenizer: Any, spec: QASpec, batch_tokens: int = 16384) -> None:
        check_max_length(spec, model, tokenizer)
        self.model, self.tokenizer, self.spec, self.batch_tokens = model, tokenizer, spec, batch_tokens
        self.layout = _Layout(tokenizer, spec)

    @torch.inference_mode()
    def run(self, examples: Sequence[QAExample], stats: Counter | None = None) -> list[dict[str, Any]]:
        """Per example: ``{"nbest": [{"text", "probability", "start", "end", "score"}], "class_probs": {label: p} | None}``."""
        stats = stats if stats is not None else Counter()
        spec = self.spec
        encs = self.layout.encode(examples, stats)
        jobs = [(i, wi) for i, enc in enumerate(encs) for wi in range(len(enc.windows))]
        inputs = {(i, wi): self.layout.window_input(encs[i], encs[i].windows[wi]) for i, wi in jobs}
        jobs.sort(key=lambda j: len(inputs[j]["input_ids"]))
        results: dict[tuple[int, int], tuple[list[float], list[float], list[float] | None]] = {}
        was_training = self.model.training
        device = model_device(self.model)
        self.model.eval()
        k = 0
        while k < len(jobs):
            batch = [jobs[k]]
            longest = len(inputs[jobs[k]]["input_ids"])
            k += 1
            while k < len(jobs):
                n = len(inputs[jobs[k]]["input_ids"])
                if max(longest, n) * (len(batch) + 1) > self.batch_tokens:
                    break
                batch.append(jobs[k])
                longest = max(longest, n)
                k += 1
            b = to_device(qa_collate([inputs[j] for j in batch], self.layout.pad_id), device)
            start, end, cls_logits = self.model(b["input_ids"], b["attention_mask"], b.get("token_type_ids"))
            cls_p = torch.softmax(cls_logits.float(), -1) if cls_logits is not None else None
            for row, j in enumerate(batch):
                n = len(inputs[j]["input_ids"])
                results[j] = (start[row, :n].float().tolist(), end[row, :n].float().tolist(),
                              cls_p[row].tolist() if cls_p is not None else None)
        if was_training:
            self.model.train()
        out = []
        for i, (e, enc) in enumerate(zip(examples, encs)):
            nbest = self._nbest(e, enc, [results[(i, wi)] for wi in range(len(enc.windows))], i, stats) if spec.span else []
            class_probs = None
            if spec.class_labels:
                ps = [results[(i, wi)][2] for wi in range(len(enc.windows))]
                mean = [sum(col) / len(ps) for col in zip(*ps)]  # type: ignore[arg-type]
                class_probs = dict(zip(spec.class_labels, mean))
            out.append({"nbest": nbest, "class_probs": class_probs})
        return out

    def _nbest(self, e: QAExample, enc: _Encoded, res: list[tuple[list[float], list[float], Any]], passage: int,
               stats: Counter | None = None) -> list[dict[str, Any]]:
        stats = stats if stats is not None else Counter()
        spec = self.spec
        cands: dict[tuple[int, int], float] = {}
        off = len(enc.q_ids) + 2
        for wi, (w, (st, en, _)) in enumerate(zip(enc.windows, res)):
            n_ctx = w.end - w.start
            if n_ctx <= 0:
                continue
            ctx_st, ctx_en = st[off : off + n_ctx], en[off : off + n_ctx]
            top_s = sorted(range(n_ctx), key=lambda j: -ctx_st[j])[: spec.n_best]
            top_e = sorted(range(n_ctx), key=lambda j: -ctx_en[j])[: spec.n_best]
            for s in top_s:
                gs = s + w.start
                if best_window(enc.windows, gs) != wi:
                    continue
                for t in top_e:
                    if t < s or t - s + 1 > spec.max_answer_length:
                        continue
                    key = (gs, t + w.start)
                    score = ctx_st[s] + ctx_en[t]
                    if score > cands.get(key, -math.inf):
                        cands[key] = score
        ranked = sorted(cands.items(), key=lambda kv: -kv[1])
        # a subword span can start or end inside a word ("s breast cancer"): widen it to whole words, as BERT's
        # run_squad maps predictions to whole original tokens
        words = tokenize_words(e.context)
        starts = [a for a, _ in words]
        # distinct character spans only (several subword spans can map to the same text range, more so after
        # snapping); `ranked` is best first, so a duplicate keeps the best score
        seen: set[tuple[int, int]] = set()
        seen_raw: set[tuple[int, int]] = set()
        items = []
        for (s, t), score in ranked:
            raw = (enc.offsets[s][0], enc.offsets[t][1])
            if raw[1] <= raw[0]:
                continue
            a, b = snap_to_words(words, raw[0], raw[1], starts)
            if (a, b) in seen:
                if raw not in seen_raw:
                    stats["answer_spans_merged_after_snapping"] += 1
                seen_raw.add(raw)
                continue
            seen.add((a, b))
            seen_raw.add(raw)
            if (a, b) != raw:
                stats["answer_spans_snapped_to_words"] += 1
            items.append({"text": e.context[a:b], "start": a, "end": b, "score": score, "passage": passage})
            if len(items) >= spec.n_best:
                break
        for it, p in zip(items, _softmax([x["score"] for x in items])):
            it["probability"] = p
        return items

    def check_can_answer(self, qtype: str) -> str:
        """``qtype`` normalised by :func:`check_qtype`, once the model is known to have the head it needs.

        Raises:
            ConfigError: E493 not factoid, list or yesno.
            ModelLoadError: E332 yes/no without a yes/no head; E335 factoid or list without a span head.
        """
        qtype = check_qtype(qtype)
        if qtype == "yesno" and not self.spec.class_labels:
            raise ModelLoadError("E332 this QA model has no yes/no head; it cannot answer yes/no questions")
        if qtype != "yesno" and not self.spec.span:
            # a yes/no-only model would otherwise answer yes/no to a factoid or list question
            raise ModelLoadError(f"E335 this QA model has no span head (it only answers {'/'.join(self.spec.class_labels)}); "
                                 f"it cannot answer {qtype} questions. Fine-tune one with `biobert finetune qa` and task "
                                 "factoid or list")
        return qtype

    def answer(self, examples: Sequence[QAExample], stats: Counter | None = None,
               runs: Sequence[dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
        """Question-level answers: ``{question_id: {"type", "answers" | "answer", "probs"}}``.

        ``answers`` items carry ``passage`` (index among that question's
        passages, in input order), ``start`` / ``end`` (offsets into that
        passage) and ``text``. ``runs``: the output of :meth:`run` on the same
        examples, to pool the same model outputs under other settings without
        running the model again.

        Raises:
            ConfigError: E493 an example's ``qtype`` is not factoid, list or yesno (:func:`check_qtype`).
            ModelLoadError: E332 a yes/no question for a model without a yes/no head; E335 a factoid or
                list question for a model without a trained span head (a yes/no-only model).
        """
        groups: dict[str, list[int]] = {}
        for i, e in enumerate(examples):
            groups.setdefault(e.question_id or e.id, []).append(i)
        # checked before the model runs: a question this model cannot answer fails fast
        qtypes = {qid: self.check_can_answer(examples[idx[0]].qtype) for qid, idx in groups.items()}
        if runs is None:
            runs = self.run(examples, stats)
        out: dict[str, dict[str, Any]] = {}
        for qid, idx in groups.items():
            qtype = qtypes[qid]
            res: dict[str, Any] = {"type": qtype}
            if qtype == "yesno":
                probs = [runs[i]["class_probs"] for i in idx if runs[i]["class_probs"] is not None]
                if not probs:
                    raise ModelLoadError("E332 this QA model has no yes/no head; it cannot answer yes/no questions")
                mean = {c: sum(p[c] for p in probs) / len(probs) for c in self.spec.class_labels}
                res["answer"] = max(mean, key=mean.__getitem__)
                res["probs"] = mean
            else:
                nbests = []
                for local, i in enumerate(idx):
                    nb = clean_answers(runs[i]["nbest"], self.spec.answer_cleanup, stats)
                    nbests.append([{**a, "passage": local} for a in nb])
                pooled = pool_answers(nbests, self.spec.max_answer_chars, stats)
                res["answers"] = select_answers(pooled, qtype, self.spec)
            out[qid] = res
        return out
