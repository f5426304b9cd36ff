"""Inference API: ``Tagger.load(x)(text) -> Document``.

    from biobert import Tagger
    tagger = Tagger.load()                      # the bundled multi-type default
    doc = tagger("BRCA1 mutations cause breast cancer.")
    [(s.start, s.end, s.label, s.text) for s in doc.spans]
    docs = tagger(["text one", "text two"])     # batched, length-sorted

Any directory written by ``biobert finetune ner`` or any Hugging Face
token-classification checkpoint (directory or hub id) loads the same way.
Offsets always index the input string; long inputs are sentence-split and
windowed, never truncated.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, overload

import torch

from biobert.device import model_device, place
from biobert.errors import ConfigError, ModelLoadError
from biobert.labels import split_tag
from biobert.modeldir import load_meta, local_model_dir, read_meta
from biobert.tasks.crf import CRF
from biobert.tasks.ner import NERPredictor
from biobert.text.sentences import get_splitter
from biobert.types import Document

__all__ = ["Tagger", "default_tagger_path"]

log = logging.getLogger(__name__)

DEFAULT_TAGGER = "ner-default"


def default_tagger_path() -> Path:
    """Directory of the bundled default tagger (inside the package)."""
    return Path(str(resources.files("biobert"))) / "models" / DEFAULT_TAGGER


def _as_documents(inputs: Any, who: str) -> tuple[bool, list[Document]]:
    """``(single, documents)`` from one text/Document or an iterable of them; a TypeError naming ``who`` and what
    was given otherwise (bytes would iterate as ints, and None or a number is no iterable)."""
    single = isinstance(inputs, (str, Document))
    if not single and (isinstance(inputs, (bytes, bytearray)) or not isinstance(inputs, Iterable)):
        raise TypeError(f"{who} accepts str, Document or an iterable of them, got {type(inputs).__name__}")
    items = [inputs] if single else list(inputs)
    for x in items:  # before any Document is built, which would fail on a non-str with a bare len() error
        if not isinstance(x, (str, Document)):
            raise TypeError(f"{who} accepts str or Document, got {type(x).__name__}")
    # a text is named by its position; where a Document beside it already has that id, the text gets
    # "text-<position>" instead (its position is still in the name), so that ids stay unique and writers that
    # key on them (PubTator PMIDs, brat file names) keep every document apart
    taken = {x.id for x in items if isinstance(x, Document)}
    docs = []
    for i, x in enumerate(items):
        if isinstance(x, Document):
            docs.append(x)
            continue
        name = str(i)
        while name in taken:
            name = f"text-{name}"
        taken.add(name)
        docs.append(Document(id=name, text=x))
    return single, docs


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """Dynamic int8 quantisation of the Linear layers (CPU). Check F1 before trusting it."""
    from torch.ao.quantization import quantize_dynamic

    return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)


def default_batch_tokens(model: Any) -> int:
    """Padded tokens per forward pass: 1,024 on the CPU (the setting every CPU speed in BENCHMARKS.md used),
    16,384 on an accelerator, which needs bigger batches to be kept busy."""
    return 1024 if model_device(model).type == "cpu" else 16384


def _trained_splitter(meta: dict[str, Any]) -> str:
    """The sentence splitter a model was trained with, as saved in its ``biobert.json`` (``rules`` for models
    from before the option, and for custom callables, which cannot be saved)."""
    name = meta.get("splitter") or "rules"
    return "rules" if name == "custom" else str(name)


def _is_tag(label: str) -> bool:
    try:
        split_tag(label)
    except ValueError:
        return False
    return True


class Tagger:
    """Named-entity tagger over raw text or :class:`Document` objects."""

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str], *, max_length: int = 128, stride: int = 32,
                 batch_tokens: int = 1024, source: str = "", meta: dict[str, Any] | None = None, context: int = 0,
                 abbreviations: bool = True, splitter: str | Callable[[str], list[tuple[int, int]]] | None = None,
                 decode: str = "viterbi", crf: CRF | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.source = source
        self.meta = meta or {}
        self.predictor = NERPredictor(model, tokenizer, self.labels, max_length, stride, batch_tokens, context, abbreviations, decode,
                                      crf=crf)
        self.predictor.splitter = get_splitter(splitter)
        #: counters of the last call (windows, words without subwords, ...)
        self.last_stats: Counter = Counter()

    @property
    def types(self) -> list[str]:
        """Entity types the model predicts."""
        return sorted({l.split("-", 1)[1] if "-" in l else "" for l in self.labels if l != "O"})

    @classmethod
    def load(cls, name_or_path: str | os.PathLike[str] | None = None, *, quantize: str | None = None,
             backend: str | None = None, batch_tokens: int | None = None, max_length: int | None = None,
             stride: int | None = None, abbreviations: bool = True, device: str | None = None,
             precision: str = "fp32", splitter: str | Callable[[str], list[tuple[int, int]]] | None = None,
             decode: str | None = None, allow_unchecked_int8: bool = False) -> "Tagger":
        """Load a tagger.

        Args:
            name_or_path: a model directory, a hub id, or ``None`` for the bundled default.
            quantize: ``"int8"``: dynamic int8 quantisation (faster on CPU). Offered only when
                ``biobert export onnx --eval-data`` measured that it costs at most 0.5 F1 against fp32
                (E308 over the limit, E322 never measured).
            backend: ``"torch"`` or ``"onnx"`` (onnxruntime; needs ``biobert export onnx`` first).
                Default: ``"onnx"`` with ``quantize="int8"``, else ``"torch"``. ``backend="torch",
                quantize="int8"`` is torch dynamic quantisation, gated on the export report's
                ``torch_int8_f1_drop`` (it cost 2.96 F1 on NCBI-disease in BENCHMARKS.md).
            allow_unchecked_int8: use an int8 model whose F1 cost was never measured (warning W303
                instead of E322), for callers that score it themselves.
            batch_tokens: padded-token budget per forward pass (default: 1024 on the CPU, 16384 on a GPU).
            max_length, stride: override the window settings saved with the model.
            abbreviations: make each document's spans agree with its ``long form (SF)`` definitions: the
                short form of an entity's long form is tagged wherever it occurs, and a short form whose long
                form is not an entity is untagged (:mod:`biobert.text.abbreviations`; counted in ``last_stats``).
                On by default: +0.4 to +2.4 F1 on whole abstracts, neutral on single sentences (BENCHMARKS.md);
                ``False`` returns exactly what the model predicts.
            device: ``"auto"``/``None`` (a GPU when there is one), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``
                (:mod:`biobert.device`); the int8 and ONNX paths run on the CPU.
            precision: ``"fp32"``, or ``"fp16"`` / ``"bf16"`` weights on a GPU (roughly twice the speed).
            splitter: sentence splitter for text without sentences: ``"rules"``, ``"lines"``, ``"none"``,
                ``"pysbd"``, ``"spacy:MODEL"`` or a callable (:func:`biobert.text.sentences.get_splitter`);
                default: the one the model was trained with (its ``biobert.json``), else ``"rules"``.
            decode: ``"viterbi"`` (the likeliest tag sequence with no ``I-`` after ``O`` or after another type;
                +0.2 to +1.3 dev F1 on every corpus measured in BENCHMARKS.md) or ``"argmax"`` (each word's
                likeliest tag, invalid sequences repaired as conlleval does); default: the model's
                ``biobert.json``, else viterbi. A model trained with a CRF head (``crf`` in its ``biobert.json``)
                adds its learned transition scores to the Viterbi search; argmax ignores them (W308).
        """
        from transformers import AutoModelForTokenClassification

        from biobert.encoders import load_checked, load_tokenizer, resolve_encoder

        if quantize not in (None, "none", "int8"):
            raise ModelLoadError(f"E307 unknown quantize={quantize!r}; expected 'int8' or None")
        if name_or_path is None:
            path = default_tagger_path()
            if not (path / "config.json").exists():
                raise ModelLoadError(
                    f"E306 the bundled default tagger is missing at {path}; rebuild it with "
                    "`bash scripts/build_default_tagger.sh`"
                )
            ref = str(path)
        else:
            ref = resolve_encoder(name_or_path)
        meta = load_meta(ref)  # a directory's or a hub repository's biobert.json ({} for plain checkpoints)
        tokenizer = load_tokenizer(ref)
        model = load_checked(AutoModelForTokenClassification, ref)[0]  # E316/E317: no random encoder or head
        model.eval()
        labels = meta.get("labels") or [model.config.id2label[i] for i in range(model.config.num_labels)]
        bad = [l for l in labels if not _is_tag(l)]
        if bad:
            raise ModelLoadError(
                f"E314 {ref}: labels {bad[:3]} are not B/I/O/E/S tags such as 'B-Disease'; a checkpoint saved "
                "without label names (id2label LABEL_0, LABEL_1, ...) cannot be decoded into entities. Fine-tune it "
                "with `biobert finetune ner`, or set config.json id2label to its real tag names"
            )
        if backend is None:
            backend = "onnx" if quantize == "int8" else "torch"
        if (backend == "onnx" or quantize == "int8") and (device not in (None, "auto", "cpu") or precision != "fp32"):
            raise ModelLoadError(f"E320 the int8 and ONNX paths run in fp32 on the CPU; got device={device!r}, precision={precision!r}")
        if backend == "onnx":
            from biobert.export import OnnxTokenClassifier, check_export_current, check_int8_allowed, onnx_paths

            paths = onnx_paths(ref)
            onnx_file = paths["int8" if quantize == "int8" else "fp32"]
            if not onnx_file.exists():
                raise ModelLoadError(f"E309 {onnx_file} does not exist; run `biobert export onnx --model {ref}` first")
            check_export_current(ref)
            if quantize == "int8":
                check_int8_allowed(ref, "onnx", allow_unchecked_int8)
            # as many threads as torch uses (set by --threads / OMP_NUM_THREADS): ONNX Runtime took every core,
            # so a benchmark with --threads compared torch on N threads with ONNX on all of them
            model = OnnxTokenClassifier(onnx_file, threads=torch.get_num_threads())
        elif backend != "torch":
            raise ModelLoadError(f"E310 unknown backend={backend!r}; expected 'torch' or 'onnx'")
        elif quantize == "int8":
            from biobert.export import check_export_current, check_int8_allowed, onnx_paths

            if onnx_paths(ref)["report"].exists():
                check_export_current(ref)  # the measurement must be of these weights
            check_int8_allowed(ref, "torch", allow_unchecked_int8)
            model = _quantize_int8(model)
        if backend == "torch" and quantize != "int8":
            model = place(model, device, precision)
        decode = decode or str(meta.get("decode", "viterbi"))
        if "crf" in meta and decode == "argmax":
            # the emissions of a CRF-trained model lean on the transitions: alone they scored 10-14 F1 lower (test), 13-23 (dev)
            log.warning("W308 %s was trained with a CRF head; argmax decoding ignores its transition scores and "
                        "scored 10-23 F1 below viterbi on NCBI-disease (BENCHMARKS.md); use decode='viterbi'", ref)
        return cls(
            model, tokenizer, labels,
            max_length=max_length or int(meta.get("max_length", 128)),
            stride=stride if stride is not None else int(meta.get("stride", 32)),
            batch_tokens=batch_tokens or default_batch_tokens(model), source=ref, meta=meta,
            context=int(meta.get("context", 0)),  # neighbouring-sentence context, as the model was trained
            abbreviations=abbreviations,
            splitter=splitter if splitter is not None else _trained_splitter(meta),
            decode=decode,
            # a model trained with a CRF head decodes with its learned transitions (biobert.tasks.crf)
            crf=CRF.from_meta(labels, meta["crf"], f"{ref}/biobert.json") if "crf" in meta else None,
        )

    @overload
    def __call__(self, inputs: str | Document) -> Document: ...
    @overload
    def __call__(self, inputs: Iterable[str | Document]) -> list[Document]: ...

    def __call__(self, inputs: Any) -> Any:
        """Tag one text/Document (returns a Document) or an iterable of them (returns a list)."""
        single, docs = _as_documents(inputs, "Tagger")
        self.last_stats = Counter()
        #: per document, what was changed after prediction (abbreviation counters): lets a server that batches
        #: several requests into one call give each request its own counts
        self.last_doc_stats: list[Counter] = []
        # the input's metadata, sentences and tokens are kept; its spans and relations are replaced by the
        # predictions (relations refer to the old spans) and counted in last_stats
        out = self.predictor.predict_documents(docs, stats=self.last_stats, doc_stats=self.last_doc_stats)
        return out[0] if single else out


# ---------------------------------------------------------------------------
# Relation extraction and question answering (appended for biobert#3)
# ---------------------------------------------------------------------------

from biobert.types import Relation  # noqa: E402


class Extractor:
    """Relation extraction over raw text or :class:`Document` objects: NER spans -> candidate pairs -> relations.

        from biobert import Extractor
        ex = Extractor.load("runs/re/gad")            # a directory written by `biobert finetune re`
        doc = ex("BRCA1 mutations cause breast cancer.")  # tags with the bundled NER tagger first
        [(r.head.text, r.label, r.tail.text, r.score) for r in doc.relations]

    Candidates are ordered span pairs whose (head type, tail type) the model
    saw in positive training pairs (``type_pairs`` in its ``biobert.json``;
    override with ``type_pairs=``), in the same sentence (``scope="sentence"``)
    or with starts at most ``window_chars`` apart (``scope="window"``). Each is
    shown to the model as its sentence(s) rendered in the model's input style.
    Relation labels are the model's labels, renamed by ``label_names`` in its
    ``biobert.json`` (GAD / EU-ADR: ``"1"`` -> ``"Association"``).
    Every returned relation's head and tail are spans of the returned document,
    so ``doc.text[r.head.start:r.head.end] == r.head.text`` holds.

    Nothing is skipped silently: ``last_stats`` counts zero-width spans and overlapping span pairs that cannot
    be arguments (``spans_empty_skipped``, ``pairs_overlapping_skipped``; see
    :func:`biobert.tasks.re.candidate_pairs`), and ``type_pairs_unmatched_by_tagger`` the type pairs that the
    tagger last used (or given to :meth:`check_tagger`) can never fill, and with ``min_score`` above 0
    ``relations_below_min_score`` the predicted relations dropped for a score below it. When a call tags documents, the tagger's
    counters are added too (``input_spans_replaced``, ``input_relations_dropped``: gold annotations replaced).
    """

    def __init__(self, model: Any, tokenizer: Any, spec: Any, *, source: str = "", meta: dict[str, Any] | None = None,
                 scope: str = "sentence", window_chars: int = 300, type_pairs: Iterable[Sequence[str]] | None = None,
                 min_score: float = 0.0, batch_tokens: int = 1024,
                 splitter: str | Callable[[str], list[tuple[int, int]]] | None = None) -> None:
        """See the class docstring; ``type_pairs=None`` means the model's own pairs (all pairs for a model saved
        without any), and an explicitly empty list is an error.

        Raises:
            ConfigError: E436 empty or malformed ``type_pairs``, E437 a negative ``window_chars``, E438 a
                ``min_score`` outside [0, 1], E443 an unknown ``scope``.
        """
        from biobert.tasks.re import REPredictor, check_type_pairs

        self.check_options(scope=scope, window_chars=window_chars, min_score=min_score)
        if type_pairs is not None:
            self.type_pairs: list[tuple[str, ...]] | None = list(check_type_pairs(type_pairs))
        else:
            # a model saved without type pairs (none seen in training) proposes every pair, as it always did
            self.type_pairs = [tuple(p) for p in spec.type_pairs] if spec.type_pairs else None
        self.spec, self.source, self.meta = spec, source, meta or {}
        self.predictor = REPredictor(model, tokenizer, spec, batch_tokens)
        self.scope, self.window_chars, self.min_score = scope, window_chars, min_score
        self._tagger: Tagger | None = None
        #: the tagger last checked by check_tagger, and how many type pairs its types cannot fill
        self._checked_tagger: Any = None
        self._unmatched_type_pairs = 0
        #: sentences for candidate pairs in documents that bring spans but no sentences (keep_spans input);
        #: tagged documents carry the tagger's sentences
        self.splitter = get_splitter(splitter)
        #: counters of the last call (candidates, windowed / too long pairs, ...)
        self.last_stats: Counter = Counter()

    @staticmethod
    def check_options(*, scope: str = "sentence", window_chars: int = 300, min_score: float = 0.0) -> None:
        """Check the candidate and threshold options (before a model is loaded, by :meth:`load`).

        Raises:
            ConfigError: E443 an unknown ``scope``, E437 a ``window_chars`` that is not an integer of at least 0,
                E438 a ``min_score`` outside [0, 1] (scores are probabilities: anything above 1 drops every relation).
        """
        from numbers import Integral, Real

        from biobert.errors import ConfigError

        if scope not in ("sentence", "window"):
            raise ConfigError(f"E443 candidate scope must be 'sentence' or 'window', got {scope!r}")
        if isinstance(window_chars, bool) or not isinstance(window_chars, Integral) or window_chars < 0:
            raise ConfigError(f"E437 window_chars must be an integer of at least 0, got {window_chars!r}")
        if isinstance(min_score, bool) or not isinstance(min_score, Real) or not 0.0 <= min_score <= 1.0:
            raise ConfigError(f"E438 min_score must be a probability in [0, 1], got {min_score!r}")

    def check_tagger(self, tagger: Any) -> int:
        """Compare the tagger's entity types with the type pairs; returns how many pairs they can never fill.

        When none of the pairs can be filled (a ChemProt model behind a Gene/Disease tagger), no span pair can
        ever be a candidate and every call would return no relations: that is logged (W305), and the count is
        reported as ``type_pairs_unmatched_by_tagger`` in ``last_stats`` of the calls that follow. A tagger
        without a ``types`` attribute, or an extractor that takes every pair (``type_pairs`` None), is not checked.
        """
        self._checked_tagger = tagger
        types = getattr(tagger, "types", None)
        if self.type_pairs is None or types is None or isinstance(types, str):
            self._unmatched_type_pairs = 0
            return 0
        known = set(types)
        bad = [p for p in self.type_pairs if not set(p) <= known]
        self._unmatched_type_pairs = len(bad)
        if bad and len(bad) == len(self.type_pairs):
            log.warning("W305 none of the relation model's type pairs %s can be filled by the tagger's entity types %s: "
                        "no relation will ever be found (give type_pairs=, or a tagger of those types)",
                        [":".join(p) for p in self.type_pairs], sorted(known))
        return len(bad)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, device: str | None = None, precision: str = "fp32", **kw: Any) -> "Extractor":
        """Load a directory written by ``biobert finetune re``, or a hub id of one, onto ``device`` (as in
        :meth:`Tagger.load`); other keyword arguments as for the constructor, whose options are checked before
        the model is loaded."""
        from biobert.encoders import load_tokenizer, resolve_encoder
        from biobert.tasks.re import RelationModel, RESpec, check_type_pairs

        cls.check_options(**{k: kw[k] for k in ("scope", "window_chars", "min_score") if k in kw})
        if kw.get("type_pairs") is not None:
            check_type_pairs(kw["type_pairs"])

        path = local_model_dir(resolve_encoder(path))  # a hub id is fetched whole: the RE head is a file of its own
        meta = read_meta(path)
        if meta.get("task") != "re":
            raise ModelLoadError(f"E333 {path} is not a biobert relation-extraction model directory (biobert.json task != 're')")
        spec = RESpec.from_meta(meta)
        tokenizer = load_tokenizer(str(path))
        model = place(RelationModel.from_dir(path, len(spec.labels), spec.pooling), device, precision)
        return cls(model, tokenizer, spec, source=str(path), meta=meta, **kw)

    def _get_tagger(self, tagger: Any) -> "Tagger":
        if tagger is None:
            if self._tagger is None:
                self._tagger = Tagger.load()
            return self._tagger
        if isinstance(tagger, (str, os.PathLike)):
            return Tagger.load(tagger)
        return tagger

    def __call__(self, inputs: Any, tagger: Any = None) -> Any:
        """Extract relations from one text/Document (returns a Document) or an iterable of them (returns a list).

        Args:
            tagger: a :class:`Tagger`, a tagger directory, or ``None``: texts and
                Documents without spans are tagged with the bundled default
                tagger; Documents that already have spans keep them unless a
                tagger is given. ``False``: never tag; every Document's spans
                are used as they are (a text has none, so no relations).
        """
        from biobert.tasks.re import candidate_pairs, shift_span

        single, docs = _as_documents(inputs, "Extractor")
        if tagger is False:
            need = []
        else:
            need = [i for i, d in enumerate(docs) if tagger is not None or not d.spans]
        self.last_stats = Counter()
        if need:
            tg = self._get_tagger(tagger)
            if tg is not self._checked_tagger:  # once per tagger: the warning is not repeated on every call
                self.check_tagger(tg)
            tagged = tg([docs[i] for i in need])
            # what tagging changed (gold spans replaced, their relations dropped, ...) is part of this call's counts
            self.last_stats.update(getattr(tg, "last_stats", None) or {})
            for i, d in zip(need, tagged):
                docs[i] = d
        if self._unmatched_type_pairs:
            self.last_stats["type_pairs_unmatched_by_tagger"] = self._unmatched_type_pairs
        jobs: list[tuple[int, Any, Any]] = []
        pairs = []
        for di, d in enumerate(docs):
            # zero-width spans and overlapping pairs are skipped there and counted in last_stats
            for h, t, a, b in candidate_pairs(d, self.type_pairs, scope=self.scope, window_chars=self.window_chars,
                                              splitter=self.splitter, stats=self.last_stats):
                jobs.append((di, h, t))
                pairs.append((d.text[a:b], shift_span(h, a), shift_span(t, a)))
        self.last_stats["candidates"] = len(pairs)
        preds = self.predictor.predict(pairs, self.last_stats) if pairs else []
        rels: list[list[Relation]] = [[] for _ in docs]
        names = self.spec.label_names
        below = 0
        for (di, h, t), p in zip(jobs, preds):
            if self.spec.multi_label:
                for lab in p["labels"]:
                    q = p["probs"][lab]
                    if q >= self.min_score:
                        rels[di].append(Relation(h, t, names.get(lab, lab), round(float(q), 6)))
                    else:
                        below += 1
            elif p["label"] != self.spec.negative_label:
                if (p["score"] or 0.0) >= self.min_score:
                    rels[di].append(Relation(h, t, names.get(p["label"], p["label"]), round(float(p["score"]), 6)))
                else:
                    below += 1
        self.last_stats["relations"] = sum(len(r) for r in rels)
        if self.min_score > 0:  # relations predicted but dropped by min_score: counted, never silently gone
            self.last_stats["relations_below_min_score"] = below
        out = []
        for d, r in zip(docs, rels):
            # predictions replace the input's relations, and its document-level gold relations (PubTator CID lines,
            # BioC relations) go too, or a writer would print them beside the predictions; both counted
            if d.relations:
                self.last_stats["input_relations_replaced"] += len(d.relations)
            if d.metadata.get("relations"):
                self.last_stats["input_metadata_dropped:relations"] += 1
                d = dataclasses.replace(d, metadata={k: v for k, v in d.metadata.items() if k != "relations"})
            out.append(d.with_relations(r))
        return out[0] if single else out


class Reader:
    """Question answering over passages: ``Reader.load(dir)(question, passages)``.

        from biobert import Reader
        reader = Reader.load("runs/qa/bioasq")
        reader("Which gene is mutated in cystic fibrosis?", ["Mutations in the CFTR gene cause cystic fibrosis."])
        # {'question': ..., 'type': 'factoid', 'answers': [{'text': 'CFTR', 'score': 0.93, 'passage': 0, 'start': 17, 'end': 21, ...}]}

    Factoid questions return the top 5 answers pooled over all passages, list
    questions those within ``list_threshold`` of the best, yes/no questions
    ``{"answer": "yes", "probs": {...}}``. ``start`` / ``end`` index the
    passage number ``passage``: ``passages[a["passage"]][a["start"]:a["end"]] == a["text"]``.
    Answers are whole words of their passage (a span never starts or ends inside a word).

    Raises (constructor): ConfigError E494 when ``spec.max_length`` is longer than the model can take.
    """

    def __init__(self, model: Any, tokenizer: Any, spec: Any, *, source: str = "", meta: dict[str, Any] | None = None,
                 batch_tokens: int = 16384) -> None:
        from biobert.tasks.qa import QAPredictor

        self.spec, self.source, self.meta = spec, source, meta or {}
        self.predictor = QAPredictor(model, tokenizer, spec, batch_tokens)
        self.last_stats: Counter = Counter()
        #: what :meth:`load` changed in the settings (``max_length_capped_to_model`` for a checkpoint without
        #: ``biobert.json`` whose default max_length the model cannot take)
        self.load_stats: Counter = Counter()

    @property
    def default_type(self) -> str:
        """The question type answered when none is given: the model's ``qa_task``, else what its heads can do."""
        return str(self.meta.get("qa_task") or ("factoid" if self.spec.span else "yesno"))

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, device: str | None = None, precision: str = "fp32", **kw: Any) -> "Reader":
        """Load a directory written by ``biobert finetune qa``, a hub id of one, or any ``AutoModelForQuestionAnswering``
        checkpoint with a trained span head (SQuAD-fine-tuned), onto ``device`` (as in :meth:`Tagger.load`).

        A checkpoint without ``biobert.json`` gets BioBERT's defaults (max_length 384, stride 128, 64-subword
        questions), cut to what its position embeddings take (logged as W330, counted in ``load_stats``).

        Raises:
            ModelLoadError: E333 a biobert model of another task; E334 a checkpoint without a trained QA head
                (a plain encoder such as ``minilm``, a tagger); E301/E311/E312 it cannot be loaded.
            ConfigError: E494 its ``biobert.json`` max_length is longer than the model can take.
        """
        from biobert.encoders import load_tokenizer, resolve_encoder
        from biobert.tasks.qa import QAModel, QASpec, max_input_length

        ref = resolve_encoder(path)
        meta = load_meta(ref)
        if meta:
            ref = local_model_dir(ref)  # a biobert QA model from the hub: its yes/no head is a file of its own
        if meta and meta.get("task") != "qa":
            raise ModelLoadError(f"E333 {path} is a biobert {meta.get('task')!r} model, not a QA model")
        spec = QASpec.from_meta(meta) if meta else QASpec()
        tokenizer = load_tokenizer(ref)
        model = place(QAModel.from_dir(ref, len(spec.class_labels), spec.cls_pooling, span=spec.span), device, precision)
        capped = None
        limit = max_input_length(model, tokenizer)
        if not meta and limit is not None and spec.max_length > limit:
            # the defaults are BioBERT's (BERT-base, 512 positions); a smaller encoder would fail on the first long
            # passage with a bare tensor-size error, so its windows shrink with the same proportions
            capped = (spec.max_length, limit)
            spec = dataclasses.replace(spec, max_length=limit, stride=min(spec.stride, limit // 3),
                                       max_query_length=min(spec.max_query_length, limit // 2))
            log.warning("W330 %s has no biobert.json and takes at most %d subwords: QA max_length %d -> %d "
                        "(stride %d, max_query_length %d)", ref, limit, capped[0], limit, spec.stride, spec.max_query_length)
        reader = cls(model, tokenizer, spec, source=str(ref), meta=meta, **kw)
        if capped is not None:
            reader.load_stats["max_length_capped_to_model"] += 1
        return reader

    def __call__(self, question: str, passages: str | Sequence[str], qtype: str | None = None) -> dict[str, Any]:
        """Answer ``question`` from ``passages`` (one string or several).

        Args:
            qtype: ``factoid``, ``list`` or ``yesno`` in any case (default: :attr:`default_type`).

        Raises:
            TypeError: the question or a passage is not a string.
            ConfigError: E493 another question type (``summary`` is not supported); E336 an empty question.
            ModelLoadError: E332 / E335 the model lacks the head the type needs (yes/no head; span head).
        """
        from biobert.io.squad import QAExample

        if not isinstance(question, str):
            raise TypeError(f"Reader's question must be a str, got {type(question).__name__}")
        ps = [passages] if isinstance(passages, str) else list(passages)
        for p in ps:
            if not isinstance(p, str):
                raise TypeError(f"Reader's passages must be str, got {type(p).__name__}")
        if not question.strip():
            # the model would still pick a span of every passage, with a confident score, for no question at all
            raise ConfigError("E336 the question is empty; give the question to answer")
        # validated (and lower-cased) before anything runs, also when there are no passages
        qt = self.predictor.check_can_answer(qtype if qtype is not None else self.default_type)
        self.last_stats = Counter()
        kept = [i for i, p in enumerate(ps) if p.strip()]
        if len(kept) < len(ps):  # nothing to read an answer from: left out, and said
            self.last_stats["empty_passages_skipped"] = len(ps) - len(kept)
        exs = [QAExample(f"q_{i:03d}", question, ps[i], "q", qt) for i in kept]
        res = self.predictor.answer(exs, self.last_stats)["q"] if exs else {"type": qt, "answers": []}
        if "answers" in res and len(kept) < len(ps):  # an answer's passage indexes the passages as given
            res["answers"] = [{**a, "passage": kept[a["passage"]]} if a.get("passage") is not None else a
                              for a in res["answers"]]
        return {"question": question, **res}


__all__ += ["Extractor", "Reader"]
