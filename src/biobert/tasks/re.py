"""Relation extraction: classify the relation between two known argument spans.

An RE example is a :class:`~biobert.types.Document` whose first relation
names the pair: ``doc.relations[0].head`` / ``.tail`` are the arguments and
the labels of all relations on that same pair are the gold labels (one for
single-label data, including the negative label such as ``"0"`` / ``"false"``;
several for multi-label data). Unlabelled pairs for prediction are plain
``(text, head, tail)`` triples.

The four task steps, as for NER:

1. ``encode``: :func:`render_pair` rewrites the text in the configured input
   style, then the rendered text is tokenised with offsets and the positions
   of the two arguments' first tokens are found:

   * ``mask`` (BioBERT): each argument is replaced by a mask token for its
     type (``@GENE$``, ``@DISEASE$``; learned from pre-anonymised data);
   * ``markers``: ``[E1] … [/E1]`` and ``[E2] … [/E2]`` are inserted around
     head and tail (added to the tokenizer as special tokens; the embedding
     matrix is resized);
   * ``markers+mask``: both.

   A pair that does not fit in ``max_length`` is read through a window centred
   on the pair. A pair whose two arguments (markers included) cannot fit in
   one window is *flagged and counted* (``pairs_too_long``): dropped from
   training, predicted from the window centred on its first argument at
   inference, never silently truncated.
2. ``loss``: softmax cross-entropy (single-label) or per-label sigmoid
   binary cross-entropy (``multi_label``; the negative label has no output and
   is predicted when no label passes ``threshold``).
3. ``decode``: the [CLS] representation (BERT's pooler when the encoder has
   one), the mean over the input's tokens (``mean``: what sentence-embedding
   encoders such as the default all-MiniLM-L6-v2 were trained to produce) or
   the concatenated hidden states at the two argument starts
   (``entity_start``: marker tokens with markers, first mask token otherwise)
   go through dropout and a linear layer.
4. ``metrics``: :mod:`biobert.metrics` (ChemProt micro over CPR classes, DDI
   micro over 4 types, binary positive-class P/R/F1 for GAD / EU-ADR).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from biobert.device import model_device, to_device
from biobert.encoders import takes_token_type_ids
from biobert.errors import ConfigError, ModelLoadError, TrainingError
from biobert.tasks.batching import pad_inputs
from biobert.tasks.pooling import masked_mean
from biobert.text.words import replace_surrogates, tokenizable
from biobert.types import Document, Span

__all__ = [
    "RESpec",
    "STYLES",
    "POOLINGS",
    "pair_of",
    "render_pair",
    "derive_masks",
    "add_marker_tokens",
    "RelationModel",
    "encode_pair",
    "build_re_features",
    "re_collate",
    "re_loss",
    "REPredictor",
    "candidate_pairs",
    "parse_type_pairs",
    "check_type_pairs",
]

STYLES = ("mask", "markers", "markers+mask")
POOLINGS = ("cls", "mean", "entity_start")
HEAD_FILE = "re_head.safetensors"


@dataclass
class RESpec:
    """Everything inference needs to rebuild a model's input and read its output (saved in ``biobert.json``).

    Args:
        labels: output labels. Single-label: all classes, negative included.
            Multi-label: the positive classes only.
        negative_label: the "no relation" label (``"0"``, ``"false"``, ``"False"``).
        style: ``mask`` | ``markers`` | ``markers+mask``.
        pooling: ``cls`` | ``mean`` | ``entity_start``.
        multi_label: sigmoid per label instead of one softmax.
        threshold: sigmoid threshold (multi-label).
        masks: entity type -> mask string (``mask`` styles).
        markers: ``[head open, head close, tail open, tail close]``.
        max_length: subword positions per input, [CLS] and [SEP] included.
        type_pairs: (head type, tail type) pairs of positive training examples;
            the Extractor only proposes such candidates.
        label_names: names the Extractor gives predicted labels in its
            Relations (``{"1": "Association"}`` for GAD-style 0/1 data).
    """

    labels: list[str]
    negative_label: str = "0"
    style: str = "mask"
    pooling: str = "cls"
    multi_label: bool = False
    threshold: float = 0.5
    masks: dict[str, str] = field(default_factory=dict)
    markers: list[str] = field(default_factory=lambda: ["[E1]", "[/E1]", "[E2]", "[/E2]"])
    max_length: int = 128
    type_pairs: list[list[str]] = field(default_factory=list)
    label_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.style not in STYLES:
            raise ConfigError(f"E440 RE input style must be one of {STYLES}, got {self.style!r}")
        if self.pooling not in POOLINGS:
            raise ConfigError(f"E441 RE pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if len(self.markers) != 4:
            raise ConfigError(f"E442 markers must be 4 strings (head open/close, tail open/close), got {self.markers!r}")

    def to_meta(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "RESpec":
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in meta.items() if k in names})

    @property
    def uses_markers(self) -> bool:
        return self.style in ("markers", "markers+mask")

    @property
    def uses_masks(self) -> bool:
        return self.style in ("mask", "markers+mask")


# -- examples -----------------------------------------------------------------
def pair_of(doc: Document) -> tuple[Span, Span, list[str]]:
    """``(head, tail, gold labels)`` of an RE example document."""
    if not doc.relations:
        raise TrainingError(f"E530 RE example {doc.id!r} has no relation naming its argument pair")
    r0 = doc.relations[0]
    labels = [r.label for r in doc.relations if r.head.key == r0.head.key and r.tail.key == r0.tail.key]
    return r0.head, r0.tail, list(dict.fromkeys(labels))


def derive_masks(docs: Iterable[Document], template: str = "@{TYPE}$") -> dict[str, str]:
    """Mask string per entity type.

    A type whose argument spans all have the same text in ``docs`` comes from
    pre-anonymised data (``@GENE$``, ``BC6ENTC``), and that text is its mask;
    any other type gets ``template`` (``{TYPE}`` upper-cased, ``{type}`` as is).
    """
    seen: dict[str, set[str]] = {}
    for d in docs:
        for r in d.relations[:1]:
            for s in (r.head, r.tail):
                seen.setdefault(s.label, set()).add(d.text[s.start : s.end])
    return {t: (next(iter(v)) if len(v) == 1 else template.format(TYPE=t.upper(), type=t)) for t, v in sorted(seen.items())}


def render_pair(text: str, head: Span, tail: Span, spec: RESpec) -> tuple[str, tuple[int, int], tuple[int, int]]:
    """Rewrite ``text`` for the model; return it with the head's and tail's character ranges in it.

    The returned ranges include the markers (``[E1]BRCA1[/E1]``) when markers are used.
    """
    if head.start < tail.end and tail.start < head.end:
        raise ValueError(f"overlapping arguments ({head.start}, {head.end}) and ({tail.start}, {tail.end}) cannot be rendered")
    pieces: list[str] = []
    ranges: dict[str, tuple[int, int]] = {}
    pos = 0
    length = 0
    for role, s in sorted((("head", head), ("tail", tail)), key=lambda x: x[1].start):
        chunk = text[pos : s.start]
        pieces.append(chunk)
        length += len(chunk)
        inner = text[s.start : s.end]
        if spec.uses_masks:
            inner = spec.masks.get(s.label, "@" + s.label.upper() + "$")
        if spec.uses_markers:
            o, c = spec.markers[0:2] if role == "head" else spec.markers[2:4]
            inner = o + inner + c
        ranges[role] = (length, length + len(inner))
        pieces.append(inner)
        length += len(inner)
        pos = s.end
    pieces.append(text[pos:])
    return "".join(pieces), ranges["head"], ranges["tail"]


def add_marker_tokens(tokenizer: Any, spec: RESpec) -> int:
    """Register the markers as special tokens (no-op when present); returns how many were added."""
    missing = [m for m in spec.markers if m not in tokenizer.get_vocab()]
    if not missing:
        return 0
    return tokenizer.add_tokens(missing, special_tokens=True)


# -- model ----------------------------------------------------------------------
class RelationModel(nn.Module):
    """Encoder + dropout + linear classifier over the [CLS] or entity-start representation.

    ``save_pretrained(dir)`` writes the encoder in Hugging Face format plus
    ``re_head.safetensors``; :meth:`from_dir` loads both back.
    """

    def __init__(self, encoder: nn.Module, num_labels: int, pooling: str = "cls", dropout: float | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        #: segment ids are passed on only to an encoder that has them (:func:`~biobert.encoders.takes_token_type_ids`)
        self.token_types = takes_token_type_ids(encoder)
        hidden = encoder.config.hidden_size
        p = dropout if dropout is not None else getattr(encoder.config, "hidden_dropout_prob", 0.1)
        self.dropout = nn.Dropout(p)
        self.classifier = nn.Linear(hidden * (2 if pooling == "entity_start" else 1), num_labels)
        nn.init.normal_(self.classifier.weight, std=getattr(encoder.config, "initializer_range", 0.02))
        nn.init.zeros_(self.classifier.bias)

    @property
    def config(self) -> Any:
        return self.encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, head_pos: torch.Tensor | None = None,
                tail_pos: torch.Tensor | None = None, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        kw = {"token_type_ids": token_type_ids} if token_type_ids is not None and self.token_types else {}
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, **kw)
        hidden = out.last_hidden_state
        if self.pooling == "entity_start":
            rows = torch.arange(hidden.shape[0], device=hidden.device)
            rep = torch.cat([hidden[rows, head_pos], hidden[rows, tail_pos]], dim=-1)
        elif self.pooling == "mean":
            rep = masked_mean(hidden, attention_mask)
        else:
            pooled = getattr(out, "pooler_output", None)
            rep = pooled if pooled is not None else hidden[:, 0]
        return self.classifier(self.dropout(rep))

    def save_pretrained(self, out: str | Path, **kw: Any) -> None:
        from safetensors.torch import save_file

        kw.pop("safe_serialization", None)
        self.encoder.save_pretrained(out, safe_serialization=True, **kw)
        head = {k: v.detach().contiguous() for k, v in self.classifier.state_dict().items()}
        save_file(head, str(Path(out) / HEAD_FILE), metadata={"pooling": self.pooling, "num_labels": str(self.classifier.out_features)})

    @classmethod
    def from_dir(cls, path: str | Path, num_labels: int, pooling: str) -> "RelationModel":
        from safetensors.torch import load_file
        from transformers import AutoModel

        from biobert.encoders import load_checked

        head_file = Path(path) / HEAD_FILE
        if not head_file.exists():
            raise ModelLoadError(f"E330 {path} has no {HEAD_FILE}; it is not a biobert RE model directory")
        # [CLS] pooling goes through BERT's pooler, so a fine-tuned model must bring its own
        enc = load_checked(AutoModel, str(path), pooler_optional=pooling != "cls")[0]
        model = cls(enc, num_labels, pooling)
        model.classifier.load_state_dict({k: v.float() for k, v in load_file(str(head_file)).items()})
        model.eval()
        return model


def new_relation_model(encoder_name: str, tokenizer: Any, spec: RESpec, dropout: float | None = None) -> RelationModel:
    """A fresh RE model on a pre-trained encoder; adds marker tokens (and resizes embeddings) if needed."""
    from transformers import AutoModel

    from biobert.encoders import load_checked, resolve_encoder

    enc = load_checked(AutoModel, resolve_encoder(encoder_name))[0]  # a bare encoder: no head; a missing pooler is created
    if spec.uses_markers:
        add_marker_tokens(tokenizer, spec)
    if len(tokenizer) > enc.get_input_embeddings().num_embeddings:
        enc.resize_token_embeddings(len(tokenizer))
    return RelationModel(enc, len(spec.labels), spec.pooling, dropout)


# -- encoding -------------------------------------------------------------------
def _first_token_at(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the first token ending after ``char`` (the token at or right after it)."""
    for i, (a, b) in enumerate(offsets):
        if b > char and b > a:
            return i
    return max(0, len(offsets) - 1)


def _last_token_before(offsets: Sequence[tuple[int, int]], char: int) -> int:
    """Index of the last token starting before ``char``."""
    last = 0
    for i, (a, b) in enumerate(offsets):
        if a < char and b > a:
            last = i
    return last


def encode_pair(tokenizer: Any, text: str, head: Span, tail: Span, spec: RESpec, stats: Counter) -> dict[str, Any] | None:
    """One model input for a pair: ``input_ids``, ``head_pos``, ``tail_pos`` and ``too_long``.

    Returns ``None`` only for overlapping arguments (counted as ``pairs_overlapping``).
    """
    try:
        rendered, (h0, h1), (t0, t1) = render_pair(text, head, tail, spec)
    except ValueError:
        stats["pairs_overlapping"] += 1
        return None
    # surrogates replaced one for one: the offsets found below still index `rendered`
    enc = tokenizer(tokenizable(rendered, stats), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offs = enc["input_ids"], enc["offset_mapping"]
    hs, ts = _first_token_at(offs, h0), _first_token_at(offs, t0)
    he, te = _last_token_before(offs, h1), _last_token_before(offs, t1)
    cap = spec.max_length - 2
    n = len(ids)
    too_long = False
    if n <= cap:
        a = 0
    else:
        lo, hi = min(hs, ts), max(he, te) + 1
        if hi - lo <= cap:
            a = min(max(0, lo - (cap - (hi - lo)) // 2), n - cap)
            stats["pairs_windowed"] += 1
        else:
            too_long = True
            stats["pairs_too_long"] += 1
            lo2, hi2 = min(hs, ts), max(hs, ts) + 1  # at least both argument starts, if they fit
            a = min(max(0, lo2 - (cap - (hi2 - lo2)) // 2), n - cap) if hi2 - lo2 <= cap else max(0, min(hs, n - cap))
    b = min(n, a + cap)
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    clip = lambda p: min(max(p - a, 0), b - a - 1) + 1  # noqa: E731 - +1 for [CLS]
    return {"input_ids": [cls_id] + ids[a:b] + [sep_id], "head_pos": clip(hs), "tail_pos": clip(ts), "too_long": too_long}


def build_re_features(docs: Sequence[Document], tokenizer: Any, spec: RESpec, stats: Counter | None = None,
                      drop_too_long: bool = True) -> list[dict[str, Any]]:
    """Training features from gold RE example documents (see the module docstring for what is counted)."""
    stats = stats if stats is not None else Counter()
    l2i = {l: i for i, l in enumerate(spec.labels)}
    feats = []
    for d in docs:
        head, tail, labels = pair_of(d)
        f = encode_pair(tokenizer, d.text, head, tail, spec, stats)
        if f is None:
            continue
        if f["too_long"] and drop_too_long:
            stats["pairs_too_long_dropped"] += 1
            continue
        if spec.multi_label:
            target = [0.0] * len(spec.labels)
            for l in labels:
                if l == spec.negative_label:
                    continue
                if l not in l2i:
                    raise TrainingError(f"E531 label {l!r} of {d.id!r} is not in the model's labels {spec.labels}")
                target[l2i[l]] = 1.0
            f["labels"] = target
        else:
            if len(labels) > 1:
                raise TrainingError(f"E532 example {d.id!r} has {len(labels)} labels {labels}; set multi_label: true")
            if labels[0] not in l2i:
                raise TrainingError(f"E531 label {labels[0]!r} of {d.id!r} is not in the model's labels {spec.labels}")
            f["labels"] = l2i[labels[0]]
        feats.append(f)
    stats["features"] += len(feats)
    return feats


def re_collate(features: list[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Dynamic padding plus argument positions and labels."""
    batch = {
        **pad_inputs(features, pad_id),
        "head_pos": torch.tensor([f["head_pos"] for f in features], dtype=torch.long),
        "tail_pos": torch.tensor([f["tail_pos"] for f in features], dtype=torch.long),
    }
    if "labels" in features[0]:
        lab = [f["labels"] for f in features]
        batch["labels"] = torch.tensor(lab, dtype=torch.float if isinstance(lab[0], list) else torch.long)
    return batch


def re_loss(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy (single-label) or binary cross-entropy per label (multi-label targets are float)."""
    logits = model(batch["input_ids"], batch["attention_mask"], batch["head_pos"], batch["tail_pos"])
    labels = batch["labels"]
    if labels.dtype.is_floating_point:
        return nn.functional.binary_cross_entropy_with_logits(logits, labels)
    return nn.functional.cross_entropy(logits, labels)


# -- inference --------------------------------------------------------------------
class REPredictor:
    """Batched prediction for (text, head, tail) pairs under a padded-token budget."""

    def __init__(self, model: nn.Module, tokenizer: Any, spec: RESpec, batch_tokens: int = 1024) -> None:
        self.model, self.tokenizer, self.spec, self.batch_tokens = model, tokenizer, spec, batch_tokens
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    @torch.inference_mode()
    def predict(self, pairs: Sequence[tuple[str, Span, Span]], stats: Counter | None = None) -> list[dict[str, Any]]:
        """For each pair: ``{"label", "score", "labels" (multi-label: all passing), "probs", "too_long"}``."""
        stats = stats if stats is not None else Counter()
        spec = self.spec
        per_pair: Counter = Counter()
        feats: list[dict[str, Any] | None] = [encode_pair(self.tokenizer, t, h, tl, spec, per_pair) for t, h, tl in pairs]
        # a lone surrogate is one per text, however many candidate pairs render that text (the tagger counts the
        # same way); the pairs of one document share its text object
        surrogates = per_pair.pop("surrogates_replaced", 0)
        stats.update(per_pair)
        if surrogates:
            stats["surrogates_replaced"] += sum(replace_surrogates(t)[1] for t in {id(t): t for t, _, _ in pairs}.values())
        order = sorted((i for i, f in enumerate(feats) if f is not None), key=lambda i: len(feats[i]["input_ids"]))  # type: ignore[index]
        probs: dict[int, list[float]] = {}
        was_training = self.model.training
        device = model_device(self.model)
        self.model.eval()
        k = 0
        while k < len(order):
            batch = [order[k]]
            longest = len(feats[order[k]]["input_ids"])  # type: ignore[index]
            k += 1
            while k < len(order):
                n = len(feats[order[k]]["input_ids"])  # type: ignore[index]
                if max(longest, n) * (len(batch) + 1) > self.batch_tokens:
                    break
                batch.append(order[k])
                longest = max(longest, n)
                k += 1
            b = to_device(re_collate([feats[i] for i in batch], self.pad_id), device)  # type: ignore[misc]
            logits = self.model(b["input_ids"], b["attention_mask"], b["head_pos"], b["tail_pos"]).float()
            p = torch.sigmoid(logits) if spec.multi_label else torch.softmax(logits, -1)
            for row, i in enumerate(batch):
                probs[i] = p[row].tolist()
        if was_training:
            self.model.train()
        out = []
        for i, f in enumerate(feats):
            if f is None:  # overlapping arguments: no input can be built; predicted negative with no score
                out.append({"label": spec.negative_label, "score": None, "labels": [], "probs": None, "too_long": False})
                continue
            pr = probs[i]
            if spec.multi_label:
                passing = [(l, q) for l, q in zip(spec.labels, pr) if q >= spec.threshold]
                passing.sort(key=lambda x: -x[1])
                label, score = (passing[0] if passing else (spec.negative_label, 1.0 - max(pr, default=0.0)))
                labels = [l for l, _ in passing]
            else:
                j = max(range(len(pr)), key=pr.__getitem__)
                label, score = spec.labels[j], pr[j]
                labels = [] if label == spec.negative_label else [label]
            out.append({"label": label, "score": float(score), "labels": labels,
                        "probs": dict(zip(spec.labels, [round(x, 6) for x in pr])), "too_long": f["too_long"]})
        return out

    def predict_docs(self, docs: Sequence[Document], stats: Counter | None = None) -> list[dict[str, Any]]:
        """Predictions for gold RE example documents (their first relation names the pair)."""
        return self.predict([(d.text, *pair_of(d)[:2]) for d in docs], stats)


# -- candidates for raw text ------------------------------------------------------
def check_type_pairs(type_pairs: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """``type_pairs`` as a list of ``(head type, tail type)`` tuples, checked.

    Raises:
        ConfigError: E436 an empty list (it would allow no candidate at all; ``None`` is the way to say "the
            model's own pairs") or an item that is not two non-empty strings.
    """
    if isinstance(type_pairs, (str, bytes)):
        raise ConfigError(f"E436 type_pairs must be a list of (head type, tail type) pairs, got the string {type_pairs!r}")
    out = []
    for p in type_pairs:
        if isinstance(p, (str, bytes)) or not isinstance(p, Sequence) or len(p) != 2 \
                or not all(isinstance(t, str) and t for t in p):
            raise ConfigError(f"E436 each type pair must be two non-empty type names (head, tail), got {p!r}")
        out.append((p[0], p[1]))
    if not out:
        raise ConfigError("E436 type_pairs is empty, so no pair of spans could ever be a candidate; give at least one "
                          "(head type, tail type) pair, or None for the model's own pairs")
    return out


def parse_type_pairs(value: str) -> list[tuple[str, str]]:
    """Parse ``--type-pairs``: ``"Chemical:Gene,Gene:Chemical"`` -> ``[("Chemical", "Gene"), ("Gene", "Chemical")]``.

    Spaces around the names are ignored (``"Chemical:Gene, Gene:Chemical"``); type names hold none at their ends.

    Raises:
        ConfigError: E436 an item that is not ``HEAD:TAIL`` with two non-empty names, or no item at all.
    """
    pairs = []
    for item in value.split(","):
        parts = [x.strip() for x in item.split(":")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(f"E436 --type-pairs expects HEAD:TAIL[,HEAD:TAIL...] such as 'Chemical:Gene,Gene:Chemical', "
                              f"got {item.strip()!r} in {value!r}")
        pairs.append((parts[0], parts[1]))
    return check_type_pairs(pairs)


def candidate_pairs(
    doc: Document,
    type_pairs: Iterable[Sequence[str]] | None,
    *,
    scope: str = "sentence",
    window_chars: int = 300,
    splitter: Callable[[str], list[tuple[int, int]]] | None = None,
    stats: Counter | None = None,
) -> list[tuple[Span, Span, int, int]]:
    """Ordered candidate argument pairs from a document's spans.

    Pairs that cannot be shown to the model are skipped and counted in ``stats``, never dropped silently:

    * ``spans_empty_skipped``: a zero-width span (``start == end``) names no text, so it is no relation argument;
      it is counted once per span (skipped rather than an error: one such span, from a file's annotations,
      should not stop the other documents of a batch);
    * ``pairs_overlapping_skipped``: two spans that share characters (nested, crossing, or the same range with
      two labels) cannot both be marked or masked in one text (:func:`render_pair`); counted per ordered pair
      that the types and the scope would otherwise have allowed.

    Args:
        type_pairs: allowed ``(head type, tail type)``; ``None`` allows any two different spans.
        scope: ``sentence`` (both spans in one sentence; the document's
            sentences, else ``splitter``, else the rule-based splitter) or ``window`` (span starts at
            most ``window_chars`` apart).
        stats: counters for the skipped spans and pairs (above).
    Returns:
        ``(head, tail, context start, context end)``: the character range of
        the sentence(s) to show the model.
    """
    from biobert.text.sentences import split_sentences

    if scope not in ("sentence", "window"):
        raise ConfigError(f"E443 candidate scope must be 'sentence' or 'window', got {scope!r}")
    stats = stats if stats is not None else Counter()
    allowed = {tuple(p) for p in type_pairs} if type_pairs is not None else None
    sents = sorted(doc.sentences) or (splitter or split_sentences)(doc.text)
    if not sents:
        sents = [(0, len(doc.text))]

    def sent_of(x: int) -> int:
        for i, (a, b) in enumerate(sents):
            if a <= x < b:
                return i
        # between sentences (whitespace): the next one
        return next((i for i, (a, _) in enumerate(sents) if a > x), len(sents) - 1)

    out = []
    spans = [s for s in doc.spans if s.end > s.start]
    if len(spans) < len(doc.spans):
        stats["spans_empty_skipped"] += len(doc.spans) - len(spans)
    for h in spans:
        for t in spans:
            if h is t:
                continue
            if allowed is not None and (h.label, t.label) not in allowed:
                continue
            if allowed is None and h.label == t.label and h.key > t.key:
                continue  # same-type pairs once, in text order, when no direction is known
            sh, st = sent_of(h.start), sent_of(t.start)
            if scope == "sentence" and sh != st:
                continue
            if scope == "window" and abs(h.start - t.start) > window_chars:
                continue
            if h.start < t.end and t.start < h.end:
                stats["pairs_overlapping_skipped"] += 1
                continue
            a = min(sents[min(sh, st)][0], h.start, t.start)
            b = max(sents[max(sh, st)][1], h.end, t.end)
            out.append((h, t, a, b))
    return out


def shift_span(s: Span, delta: int) -> Span:
    """``s`` moved by ``-delta`` characters (into a sub-string starting at ``delta``)."""
    return Span(s.start - delta, s.end - delta, s.label, s.score, s.ids, s.text)


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False)
