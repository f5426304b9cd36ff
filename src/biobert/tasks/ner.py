"""Named-entity recognition: the reference task.

The four steps every task implements:

1. ``encode``: Documents -> sentences of words (character ranges) -> subword
   windows. Words map to subwords only through the tokenizer's ``word_ids``;
   a word that yields no subword (a control character such as ``\\x96``) is
   given ``[UNK]`` and counted, never dropped. Sentences longer than the model
   are covered by overlapping windows, never truncated. With ``context > 0``
   each window is padded out with up to ``context`` subwords of the
   neighbouring sentences on each side (document-level context, as in FLERT,
   Schweter & Akbik 2020); context positions carry no label and no prediction.
2. ``loss``: softmax cross-entropy on the first subword of each word (or on all
   subwords). With several corpora, a corpus that does not annotate a type
   must not teach that the type is ``O``: for an ``O`` word of such a corpus
   the loss is ``-log sum p(y)`` over ``O`` and the labels of the types the
   corpus does not annotate (partial-label likelihood), so the model is
   neither rewarded nor punished for tagging, say, a gene inside a
   chemical-only corpus.
3. ``decode``: each word is read from the window where it is most central;
   word tags are its likeliest label (``argmax``) or the likeliest valid
   BIO sequence (``viterbi``), chunked with conlleval semantics and turned
   into character spans of the original text.
4. ``metrics``: strict entity-level P/R/F1 (``biobert.metrics``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Hashable, Iterable, Sequence

import torch

from biobert.device import model_device, to_device
from biobert.encoders import check_window_settings, max_input_length
from biobert.io.conll import CONTEXT_GROUP
from biobert.errors import ConfigError, OffsetError
from biobert.labels import allowed_transitions, bio_label_list, chunks_to_tags, split_tag, tags_to_chunks, viterbi_decode_batch
from biobert.tasks.batching import pad_field, pad_inputs
from biobert.tasks.crf import CRF
from biobert.text.abbreviations import propagate_abbreviations
from biobert.text.sentences import Splitter, split_sentences
from biobert.text.windows import Window, best_window, make_windows
from biobert.text.words import tokenizable, tokenize_words
from biobert.types import Document, Span

__all__ = [
    "ANNOTATION_METADATA",
    "Sentence",
    "document_sentences",
    "SubwordEncoder",
    "NERPredictor",
    "build_features",
    "ner_collate",
    "ner_loss",
    "iter_window_batches",
    "allowed_o_matrix",
    "labels_for_types",
    "sentence_groups",
    "neighbour_context",
    "window_input",
    "CONTEXT_GROUP",
    "DECODERS",
]

#: how word tags are read from the label distributions (NERPredictor ``decode``)
DECODERS = ("argmax", "viterbi")


@dataclass
class Sentence:
    """One unit of NER input: words of one document, with optional gold tags."""

    doc_index: int
    words: list[tuple[int, int]]
    tags: list[str] | None = None
    corpus: int = 0


def labels_for_types(types: Iterable[str]) -> list[str]:
    """The BIO label list of a model that predicts ``types``."""
    return bio_label_list(types)


def _spans_to_word_chunks(
    spans: Sequence[Span], words: list[tuple[int, int]], stats: Counter
) -> list[tuple[int, int, str]]:
    """Map character spans onto word indices; overlapping and misaligned spans are counted and skipped."""
    start_at = {a: i for i, (a, _) in enumerate(words)}
    end_at = {b: i for i, (_, b) in enumerate(words)}
    chunks: list[tuple[int, int, str]] = []
    taken_until = -1
    # longest first at equal start, so a nested inner span is the one dropped
    for s in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if s.start not in start_at or s.end not in end_at:
            stats["spans_misaligned_dropped"] += 1
            continue
        a, b = start_at[s.start], end_at[s.end] + 1
        if a < taken_until:
            stats["spans_overlapping_dropped"] += 1
            continue
        chunks.append((a, b, s.label))
        taken_until = b
    return chunks


def document_sentences(
    doc: Document, doc_index: int, *, with_gold: bool, corpus: int = 0, stats: Counter | None = None,
    splitter: Splitter | None = None,
) -> list[Sentence]:
    """Cut a document into word-tokenised sentences (with BIO tags from its spans if ``with_gold``).

    Uses the document's own sentences and tokens when present (CoNLL input),
    otherwise splits sentences (with ``splitter``, default the rule-based
    :func:`~biobert.text.sentences.split_sentences`) and words itself, forcing word boundaries at
    span boundaries. A gold span that crosses a sentence boundary merges the
    two sentences (counted as ``sentences_merged``): training data is never
    cut inside an entity. A document's own sentences are made to cover its text
    (:func:`_cover_text`), so no text is left untagged.
    """
    stats = stats if stats is not None else Counter()
    text = doc.text
    split = splitter or split_sentences
    sents = _cover_text(text, doc.sentences, split, stats) if doc.sentences else list(split(text))
    if with_gold and doc.spans and len(sents) > 1:
        merged: list[tuple[int, int]] = [sents[0]]
        for a, b in sents[1:]:
            prev_end = merged[-1][1]
            # a gold span that starts before this sentence and ends after the previous one crosses the cut
            if any(s.start < a and s.end > prev_end for s in doc.spans):
                merged[-1] = (merged[-1][0], b)
                stats["sentences_merged"] += 1
            else:
                merged.append((a, b))
        sents = merged
    boundaries = sorted({x for s in doc.spans for x in (s.start, s.end)}) if with_gold else []
    out: list[Sentence] = []
    tokens = _cover_tokens(doc, stats) if doc.tokens else []
    ti = 0
    for a, b in sents:
        if tokens:
            words = []
            while ti < len(tokens) and tokens[ti][0] < b:
                if tokens[ti][0] >= a:
                    words.append(tokens[ti])
                ti += 1
        else:
            words = tokenize_words(text, a, b, boundaries)
        if not words:
            continue
        tags = None
        if with_gold:
            inside = [s for s in doc.spans if s.start >= a and s.end <= b]
            tags = chunks_to_tags(_spans_to_word_chunks(inside, words, stats), len(words))
        out.append(Sentence(doc_index, words, tags, corpus))
        stats["sentences"] += 1
        stats["words"] += len(words)
    return out


#: Metadata keys that readers fill from a file's annotations rather than its text: gold relations (PubTator, BioC),
#: composite-mention names and padded mentions (PubTator), per-annotation infons and discontinuous mentions (BioC),
#: brat fragments and attribute/event lines, and CoNLL's untyped flag and repaired-tag count. A tagged document
#: drops them with the gold spans they refer to.
ANNOTATION_METADATA = (
    "relations", "composite_names", "padded_mentions", "span_infons", "discontinuous_groups",
    "discontinuous_annotations", "individual_mentions", "brat_fragments", "brat_other", "brat_ids",
    "brat_relation_ids", "id_columns", "unresolved_relations", "untyped", "repaired_tags", "bioc_annotation_ids",
    "bioc_relations",
)


def _has_surrogate(word_lists: Sequence[Sequence[str]]) -> bool:
    """Whether any word holds a lone surrogate (one scan of the joined words; the usual answer is no)."""
    return any(tokenizable(w) != w for w in ("".join(ws) for ws in word_lists))


def _cover_tokens(doc: Document, stats: Counter) -> list[tuple[int, int]]:
    """A document's own tokens (CoNLL words, another tokeniser's), sorted and made to cover its text.

    Text outside every token would never be tagged, so each such stretch is split into words here
    (``tokens_added_for_uncovered_text``). Tokens that overlap or hold no character cannot be words of one
    tag sequence (each would be tagged on its own, giving overlapping spans).

    Raises:
        OffsetError: E107 an empty token, or two tokens that overlap.
    """
    tokens = sorted(doc.tokens)
    for (a, b), (c, _) in zip(tokens, tokens[1:] + [(len(doc.text) + 1, 0)]):
        if a == b:
            raise OffsetError(f"E107 document {doc.id!r}: empty token ({a}, {b}); tokens must hold at least one character")
        if c < b:
            raise OffsetError(f"E107 document {doc.id!r}: token ({a}, {b}) {doc.text[a:b]!r} overlaps the token starting "
                              f"at {c}; tokens must not overlap")
    out: list[tuple[int, int]] = []
    pos = 0
    for a, b in [*tokens, (len(doc.text), len(doc.text))]:
        if doc.text[pos:a].strip():
            gap = tokenize_words(doc.text, pos, a)
            stats["tokens_added_for_uncovered_text"] += len(gap)
            out += gap
        if a < b:
            out.append((a, b))
        pos = b
    return out


def _cover_text(
    text: str, sentences: Sequence[tuple[int, int]], split: Splitter, stats: Counter
) -> list[tuple[int, int]]:
    """A document's own sentences, made to cover its text exactly once.

    Overlapping sentences would tag the same words twice (duplicate spans) and are merged
    (``sentences_overlapping_merged``); text outside every sentence would never be tagged (or, in training, its gold
    mentions never seen), so each such gap is split into sentences of its own (``sentences_added_for_uncovered_text``).
    """
    merged: list[tuple[int, int]] = []
    for a, b in sorted(sentences):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            stats["sentences_overlapping_merged"] += 1
        else:
            merged.append((a, b))
    out: list[tuple[int, int]] = []
    pos = 0
    for a, b in [*merged, (len(text), len(text))]:
        if text[pos:a].strip():
            gap = [(pos + x, pos + y) for x, y in split(text[pos:a])]
            stats["sentences_added_for_uncovered_text"] += len(gap)
            out += gap
        if b > a:
            out.append((a, b))
        pos = max(pos, b)
    return out


class SubwordEncoder:
    """Word lists -> subword ids with word alignment, using ``word_ids`` only.

    A word with no subword (the tokenizer deletes some control characters)
    becomes ``[UNK]`` so that every word keeps a position and a prediction;
    such words are counted in ``stats["words_without_subwords"]``.
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tok = tokenizer
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
        self.unk_id = tokenizer.unk_token_id
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        #: ids of a bare word-start marker (SentencePiece ``▁``): ALBERT, DeBERTa-v3 and XLM-R spell a word they
        #: cannot read as ``▁`` + ``<unk>`` (or ``▁`` alone when the normaliser deletes it), which says nothing of it
        self.blank_ids = _marker_ids(tokenizer)

    def encode(
        self, word_lists: Sequence[Sequence[str]], stats: Counter | None = None, batch: int = 2048
    ) -> list[tuple[list[int], list[int]]]:
        """For each word list return ``(subword_ids, first_subword_index_per_word)`` plus piece counts.

        Returns a list of ``(ids, starts)`` where ``starts[w]`` is the index in
        ``ids`` of word ``w``'s first subword; word ``w`` spans
        ``ids[starts[w]:starts[w+1]]``.
        """
        stats = stats if stats is not None else Counter()
        out: list[tuple[list[int], list[int]]] = []
        for k in range(0, len(word_lists), batch):
            chunk = [list(w) for w in word_lists[k : k + batch]]
            if _has_surrogate(chunk):
                chunk = [[tokenizable(w, stats) for w in words] for words in chunk]
            # verbose=False: a sentence longer than the encoder's maximum is expected here (it is windowed below),
            # so the tokenizer's 'longer than the specified maximum sequence length' warning would only mislead
            enc = self.tok(chunk, is_split_into_words=True, add_special_tokens=False, verbose=False)
            for j, words in enumerate(chunk):
                ids_in = enc["input_ids"][j]
                wids = enc.word_ids(j)
                pieces: list[list[int]] = [[] for _ in words]
                for tid, wi in zip(ids_in, wids):
                    if wi is not None:
                        pieces[wi].append(tid)
                ids: list[int] = []
                starts: list[int] = []
                for p in pieces:
                    if not p:
                        stats["words_without_subwords"] += 1
                        p = [self.unk_id]
                    starts.append(len(ids))
                    ids.extend(p)
                out.append((ids, starts))
        return out


def _marker_ids(tokenizer: Any) -> frozenset[int]:
    """Id of the bare SentencePiece word-start marker ``▁`` in ``tokenizer``'s vocabulary (none for WordPiece).

    Byte-level BPE needs no such entry: it spells every character in bytes, so a word never comes out as its
    marker ``Ġ`` alone or beside an unknown token.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    marker = backend.token_to_id("\u2581") if backend is not None else None
    return frozenset() if marker is None or marker == tokenizer.unk_token_id else frozenset({marker})


def unseen_words(ids: Sequence[int], starts: Sequence[int], unk_id: int | None,
                 blank_ids: frozenset[int] | set[int] = frozenset()) -> set[int]:
    """Words whose subwords are all ``[UNK]`` (or a bare word-start marker, ``blank_ids``): the model saw nothing
    of them.

    These are words the tokenizer deletes (control characters such as ``\\x96``,
    a mis-decoded cp1252 en-dash) or cannot spell (an emoji); a SentencePiece
    tokenizer spells them ``▁`` + ``<unk>``, or ``▁`` alone.
    """
    if unk_id not in ids and not (blank_ids and not blank_ids.isdisjoint(ids)):
        return set()  # the usual case for WordPiece: skip the per-word scan on the inference path
    nothing = {unk_id, *blank_ids}
    bounds = list(starts) + [len(ids)]
    return {w for w in range(len(starts)) if all(t in nothing for t in ids[bounds[w] : bounds[w + 1]])}


def trim_unseen_edges(tags: Sequence[str], unseen: set[int]) -> tuple[list[str], int]:
    """Move entity boundaries off words the model could not see; return the new tags and the number of words untagged.

    An ``[UNK]`` word may sit inside an entity (between two of its words), but
    it cannot start or end one: ``IL-6\\x96induced`` must give ``IL-6``, not
    ``IL-6\\x96``. A chunk made only of unseen words is dropped. Tags are
    rewritten only when a boundary moves, so predictions are otherwise unchanged.
    """
    chunks, n = [], 0
    for a, b, typ in tags_to_chunks(tags):
        a2, b2 = a, b
        while a2 < b2 and a2 in unseen:
            a2 += 1
        while b2 > a2 and (b2 - 1) in unseen:
            b2 -= 1
        n += (a2 - a) + (b - b2)
        if b2 > a2:
            chunks.append((a2, b2, typ))
    if n == 0:
        return list(tags), 0
    return chunks_to_tags(chunks, len(tags)), n


def _window_plan(n_sub: int, max_length: int, stride: int) -> list[Window]:
    capacity = max_length - 2  # [CLS] ... [SEP]
    return make_windows(n_sub, capacity, min(stride, capacity - 1))


def sentence_groups(sentences: Sequence[Sentence], docs_meta: Sequence[dict[str, Any]]) -> list[Hashable]:
    """Context group of each sentence: its document, or the running text its document belongs to.

    Sentences of one document are neighbours. Documents that are single
    sentences of one running text (``metadata["context_group"]``, set by the
    CoNLL reader for files without ``-DOCSTART-``) are neighbours too, in
    their order; independent texts (a list given to a tagger) never are.
    """
    out: list[Hashable] = []
    for s in sentences:
        g = docs_meta[s.doc_index].get(CONTEXT_GROUP)
        out.append((s.corpus, "text", g) if g is not None else (s.corpus, "doc", s.doc_index))
    return out


def neighbour_context(
    ids: Sequence[Sequence[int]], groups: Sequence[Hashable] | None, context: int
) -> list[tuple[list[int], list[int]]]:
    """Up to ``context`` subwords before and after each sequence, from its neighbours in the same group.

    ``ids[i]`` are the subwords of sentence ``i``, in text order; the left
    context is the end of the preceding sentences, the right context the
    start of the following ones, never crossing a change of group.
    """
    n = len(ids)
    if context <= 0 or groups is None:
        return [([], []) for _ in range(n)]
    out: list[tuple[list[int], list[int]]] = []
    for i in range(n):
        left: list[int] = []
        j = i - 1
        while j >= 0 and len(left) < context and groups[j] == groups[i]:
            left = list(ids[j][-(context - len(left)):]) + left
            j -= 1
        right: list[int] = []
        j = i + 1
        while j < n and len(right) < context and groups[j] == groups[i]:
            right += list(ids[j][: context - len(right)])
            j += 1
        out.append((left, right))
    return out


def window_input(
    ids: Sequence[int], win: Window, left: Sequence[int], right: Sequence[int], max_length: int, context: int
) -> tuple[list[int], int, int]:
    """Subwords of one window with up to ``context`` subwords of context on each side, within ``max_length - 2``.

    Context is read from the sentence itself beyond the window first, then
    from the neighbours (``left``/``right``). When the window leaves less room
    than ``2 * context``, the room is shared evenly and a side with less
    context available gives its share to the other.

    Returns ``(subword ids without [CLS]/[SEP], n_left, n_right)``: the window's
    own positions are ``n_left .. n_left + len(window) - 1``.
    """
    core = list(ids[win.start : win.end])
    if context <= 0:
        return core, 0, 0
    room = max(0, max_length - 2 - len(core))
    left_stream = list(left) + list(ids[: win.start])
    right_stream = list(ids[win.end :]) + list(right)
    lw, rw = min(context, len(left_stream)), min(context, len(right_stream))
    if lw + rw > room:
        nl = min(lw, max(room // 2, room - rw))
        nr = min(rw, room - nl)
    else:
        nl, nr = lw, rw
    return (left_stream[len(left_stream) - nl :] if nl else []) + core + right_stream[:nr], nl, nr


def build_features(
    sentences: Sequence[Sentence],
    doc_texts: Sequence[str],
    encoder: SubwordEncoder,
    label2id: dict[str, int],
    *,
    max_length: int = 128,
    stride: int = 32,
    label_all_subwords: bool = False,
    stats: Counter | None = None,
    context: int = 0,
    groups: Sequence[Hashable] | None = None,
    soft: Sequence[torch.Tensor] | None = None,
) -> list[dict[str, Any]]:
    """Training features (one per window) from gold-tagged sentences.

    With ``context > 0`` every window also carries up to ``context`` subwords
    of its neighbours (same ``groups`` value, see :func:`sentence_groups`) on
    each side, unlabelled. ``soft`` (one ``[n_words, n_labels]`` probability
    matrix per sentence, columns in ``label2id`` order) adds a teacher's
    distribution for each labelled position as ``feature["soft"]``, in position
    order (first-subword labels only).
    """
    if soft is not None and label_all_subwords:
        raise ValueError("soft targets are per word: they need first-subword labels")
    stats = stats if stats is not None else Counter()
    word_lists = [[doc_texts[s.doc_index][a:b] for a, b in s.words] for s in sentences]
    encoded = encoder.encode(word_lists, stats)
    ctx = neighbour_context([ids for ids, _ in encoded], groups, context)
    feats: list[dict[str, Any]] = []
    for k, (s, (ids, starts), (left, right)) in enumerate(zip(sentences, encoded, ctx)):
        assert s.tags is not None
        sub_labels = [-100] * len(ids)
        if soft is not None and len(soft[k]) != len(starts):
            raise ValueError(f"sentence {k}: {len(soft[k])} soft targets for {len(starts)} words")
        for w, st in enumerate(starts):
            tag = s.tags[w]
            if tag not in label2id:
                raise KeyError(f"label {tag!r} is not in the model's label set")
            sub_labels[st] = label2id[tag]
            if label_all_subwords:
                end = starts[w + 1] if w + 1 < len(starts) else len(ids)
                prefix, typ = split_tag(tag)
                cont = label2id[f"I-{typ}" if typ else "I"] if prefix == "B" else label2id[tag]
                for k in range(st + 1, end):
                    sub_labels[k] = cont
        windows = _window_plan(len(ids), max_length, stride)
        if len(windows) > 1:
            stats["sentences_windowed"] += 1
            stats["extra_windows"] += len(windows) - 1
        for w in windows:
            inp, nl, nr = window_input(ids, w, left, right, max_length, context)
            if nl or nr:
                stats["context_subwords"] += nl + nr
            feat = {
                "input_ids": [encoder.cls_id] + inp + [encoder.sep_id],
                "labels": [-100] * (1 + nl) + sub_labels[w.start : w.end] + [-100] * (nr + 1),
                "corpus": s.corpus,
            }
            if soft is not None:  # the words whose first subword lies in this window, in order
                in_window = [wi for wi, st in enumerate(starts) if w.start <= st < w.end]
                feat["soft"] = soft[k][in_window].float()
            feats.append(feat)
    stats["features"] += len(feats)
    return feats


def ner_collate(features: list[dict[str, Any]], pad_id: int = 0) -> dict[str, torch.Tensor]:
    """Pad to the longest feature of the batch (dynamic padding); labels pad with -100 (ignored)."""
    batch = pad_inputs(features, pad_id)
    batch["labels"] = pad_field(features, "labels", -100)
    if "corpus" in features[0]:
        batch["corpus"] = torch.tensor([f["corpus"] for f in features], dtype=torch.long)
    if "soft" in features[0]:
        # row-major like ``logits[labels != -100]``: feature by feature, positions in order
        batch["soft"] = torch.cat([f["soft"] for f in features])
    return batch


def allowed_o_matrix(labels: Sequence[str], corpus_types: Sequence[Iterable[str]]) -> torch.Tensor:
    """``[n_corpora, n_labels]`` bool: labels an ``O`` word of each corpus may take without loss.

    ``O`` itself, plus ``B-``/``I-`` labels of every type the corpus does not annotate.
    """
    m = torch.zeros((len(corpus_types), len(labels)), dtype=torch.bool)
    for c, types in enumerate(corpus_types):
        annotated = set(types)
        for j, lab in enumerate(labels):
            prefix, typ = split_tag(lab)
            m[c, j] = prefix == "O" or typ not in annotated
    return m


def _allowed_sets(batch: dict[str, torch.Tensor], allowed_o: torch.Tensor | None, o_id: int) -> torch.Tensor | None:
    """``(batch, positions, n_labels)`` bool: the labels each position may take without loss (partial labels), or
    None when every position has exactly its gold label (a single corpus, or corpora that annotate the same types)."""
    if allowed_o is None or bool(allowed_o.sum(1).eq(1).all()):
        return None
    labels = batch["labels"]
    per_tok = allowed_o.to(labels.device)[batch["corpus"]].unsqueeze(1).expand(-1, labels.shape[1], -1)
    onehot = torch.nn.functional.one_hot(labels.clamp(min=0), allowed_o.shape[1]).bool()
    return torch.where((labels == o_id).unsqueeze(-1), per_tok, onehot)


def ner_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor], allowed_o: torch.Tensor | None = None, o_id: int = 0,
             crf: bool = False, distill: tuple[float, float] | None = None) -> torch.Tensor:
    """Cross-entropy on labelled positions; partial-label likelihood for ``O`` when ``allowed_o`` is given.

    With ``crf``, ``model`` is a :class:`~biobert.tasks.crf.CRFTagger` (possibly wrapped for data parallelism) and the
    loss is the CRF's sequence negative log-likelihood per labelled word, over the same allowed label sets.

    With ``distill = (weight, temperature)`` and teacher probabilities in ``batch["soft"]`` (one row per labelled
    position), the loss is ``(1 - weight) * CE + weight * T^2 * KL(teacher_T || student_T)``, both distributions
    softened by ``T`` (Hinton et al. 2015; ``T^2`` keeps the gradient scale of the soft term independent of ``T``).
    """
    labels = batch["labels"]
    if crf:
        allowed = _allowed_sets(batch, allowed_o, o_id)
        # through the module's own forward, so a data-parallel wrapper sees the CRF's parameters used
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=labels, allowed=allowed).loss
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    sel = labels != -100
    lg = logits[sel].float()  # the loss in fp32 under autocast too
    lab = labels[sel]
    allowed = _allowed_sets(batch, allowed_o, o_id)
    if distill is not None and "soft" in batch:
        weight, t = distill
        ce = torch.nn.functional.cross_entropy(lg, lab)
        teacher = torch.softmax(batch["soft"].float().clamp_min(1e-12).log() / t, -1)
        kd = torch.nn.functional.kl_div(torch.log_softmax(lg / t, -1), teacher, reduction="batchmean") * (t * t)
        return (1 - weight) * ce + weight * kd
    if allowed is None:
        return torch.nn.functional.cross_entropy(lg, lab)
    allowed = allowed[sel]
    return (torch.logsumexp(lg, -1) - torch.logsumexp(lg.masked_fill(~allowed, float("-inf")), -1)).mean()


@dataclass
class _Plan:
    sent: int
    windows: list[Window]
    ids: list[int]
    starts: list[int]
    owner: list[int] = field(default_factory=list)  # word -> window index
    #: per window: input ids without [CLS]/[SEP] (window plus context), and the position of the window's start in them
    inputs: list[list[int]] = field(default_factory=list)
    shifts: list[int] = field(default_factory=list)


def iter_window_batches(plans: Sequence[Any], jobs: list[tuple[int, int]], encoder: SubwordEncoder, batch_tokens: int):
    """Yield ``(jobs_of_batch, padded_batch)`` for windows ``(plan, window)``, shortest first.

    ``plans[p]`` needs ``.ids`` (subword ids) and ``.windows``, and may have
    ``.inputs`` (per window, the ids to feed, context included). Windows are
    sorted by length and packed while ``longest * count <= batch_tokens``, so
    padding stays small; ``[CLS]``/``[SEP]`` are added here.
    """

    def window_ids(p: int, w: int) -> Sequence[int]:
        inputs = getattr(plans[p], "inputs", None)
        if inputs:
            return inputs[w]
        win = plans[p].windows[w]
        return plans[p].ids[win.start : win.end]

    lengths = {j: len(window_ids(*j)) for j in jobs}
    jobs = sorted(jobs, key=lengths.__getitem__)
    k = 0
    while k < len(jobs):
        longest = 0
        batch: list[tuple[int, int]] = []
        while k < len(jobs):
            n = lengths[jobs[k]] + 2
            if batch and max(longest, n) * (len(batch) + 1) > batch_tokens:
                break
            longest = max(longest, n)
            batch.append(jobs[k])
            k += 1
        feats = [{"input_ids": [encoder.cls_id, *window_ids(p, w), encoder.sep_id]} for p, w in batch]
        yield batch, ner_collate(feats, encoder.pad_id)


class NERPredictor:
    """Batched, windowed inference from word lists to word tags and probabilities.

    Windows from all sentences are sorted by length and batched under a token
    budget, so padding stays small (1,024 padded tokens per forward pass was
    1.5x faster than 8,192 on this 2-core CPU: activations stay in cache); each word's prediction is read from the
    window where its first subword is most central.
    """

    def __init__(self, model: Any, tokenizer: Any, labels: Sequence[str], max_length: int = 128, stride: int = 32,
                 batch_tokens: int = 1024, context: int = 0, abbreviations: bool = False, decode: str = "viterbi",
                 crf: CRF | None = None):
        if decode not in DECODERS:
            raise ConfigError(f"E492 unknown decode={decode!r}; expected one of {', '.join(DECODERS)}")
        # before the first long sentence meets the encoder (a bare tensor-size error) or a window that cannot
        # advance; the stride used to be clamped without a word
        check_window_settings(max_length, stride, max_input_length(model, tokenizer), "NER")
        self.model = model
        self.encoder = SubwordEncoder(tokenizer)
        self.labels = list(labels)
        self.max_length = max_length
        self.stride = stride
        self.batch_tokens = batch_tokens
        #: subwords of neighbouring-sentence context on each side of a window (0: sentences alone)
        self.context = context
        #: make spans agree with each document's ``long form (SF)`` definitions (biobert.text.abbreviations)
        self.abbreviations = abbreviations
        #: sentence splitter for documents without sentences (None: the rule-based default)
        self.splitter: Splitter | None = None
        #: "argmax" (each word's likeliest tag) or "viterbi" (the likeliest valid BIO/IOBES sequence)
        self.decode = decode
        #: learned start/transition/end scores (:class:`biobert.tasks.crf.CRF`) that ``viterbi`` adds to the
        #: allowed moves; None: every allowed move scores 0. Read at each call, so a CRF in training is current.
        self.crf = crf
        self._transitions = allowed_transitions(self.labels)

    @torch.inference_mode()
    def _forward(self, word_lists: Sequence[Sequence[str]], stats: Counter, groups: Sequence[Hashable] | None,
                 full: bool) -> tuple[list[_Plan], list[list[tuple[int, int]]], dict[tuple[int, int], Any]]:
        """Run the model over every window of ``word_lists``. Returns the plans, each word's ``(window, position)``
        and, per ``(plan, window)``, every label's log-probability per position (``full``) or ``(argmax ids, their
        probabilities)`` as lists (cheaper to read when only the best label is wanted)."""
        encoded = self.encoder.encode(word_lists, stats)
        ctx = neighbour_context([ids for ids, _ in encoded], groups, self.context)
        plans: list[_Plan] = []
        jobs: list[tuple[int, int]] = []  # (plan index, window index)
        for i, ((ids, starts), (left, right)) in enumerate(zip(encoded, ctx)):
            windows = _window_plan(len(ids), self.max_length, self.stride) if ids else []
            if len(windows) > 1:
                stats["sentences_windowed"] += 1
            owner = [best_window(windows, st) for st in starts]
            inputs, shifts = [], []
            for w in windows:
                inp, nl, _ = window_input(ids, w, left, right, self.max_length, self.context)
                inputs.append(inp)
                shifts.append(nl)
            plans.append(_Plan(i, windows, ids, starts, owner, inputs, shifts))
            jobs += [(i, w) for w in range(len(windows))]
        # one prob matrix per (plan, window), filled batch by batch
        results: dict[tuple[int, int], Any] = {}
        was_training = getattr(self.model, "training", False)
        if hasattr(self.model, "eval"):
            self.model.eval()
        device = model_device(self.model)
        for batch, b in iter_window_batches(plans, jobs, self.encoder, self.batch_tokens):
            b = to_device(b, device)
            logits = self.model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits
            if full:  # every label's log-probability, gathered per word by the caller
                logp = torch.log_softmax(logits.float(), -1).cpu()
                for row, (p, w) in enumerate(batch):
                    results[(p, w)] = logp[row]
                continue
            # argmax and its probability per position, moved to Python lists once per batch
            best_p, best_i = torch.softmax(logits.float(), -1).max(-1)
            best_p, best_i = best_p.tolist(), best_i.tolist()
            for row, (p, w) in enumerate(batch):
                results[(p, w)] = (best_i[row], best_p[row])
        if was_training and hasattr(self.model, "train"):
            self.model.train()
        positions = [[(pl.owner[wi], st - pl.windows[pl.owner[wi]].start + 1 + pl.shifts[pl.owner[wi]])
                      for wi, st in enumerate(pl.starts)] for pl in plans]
        return plans, positions, results

    def word_distributions(self, word_lists: Sequence[Sequence[str]], stats: Counter | None = None,
                           groups: Sequence[Hashable] | None = None) -> list[torch.Tensor]:
        """Each word's probability over :attr:`labels` (``[n_words, n_labels]`` per word list), read at its first
        subword in the window where that subword is most central: what a teacher gives a student to learn from
        (:mod:`biobert.recipes.ner`, ``teachers``)."""
        stats = stats if stats is not None else Counter()
        plans, positions, results = self._forward(word_lists, stats, groups, full=True)
        out = []
        for k, pl in enumerate(plans):
            rows = [results[(pl.sent, w)][pos] for w, pos in positions[k]]
            out.append(torch.stack(rows).exp() if rows else torch.zeros((0, len(self.labels))))
        return out

    def predict_words(
        self, word_lists: Sequence[Sequence[str]], stats: Counter | None = None, groups: Sequence[Hashable] | None = None
    ) -> list[tuple[list[str], list[float]]]:
        """Tags and tag probabilities for each word list.

        ``groups`` (one key per word list) says which lists are neighbouring
        sentences of one text, for models trained with context; without it
        every list stands alone.
        """
        stats = stats if stats is not None else Counter()
        viterbi = self.decode == "viterbi"
        plans, positions, results = self._forward(word_lists, stats, groups, full=viterbi)
        if viterbi:
            decoded = self._viterbi([[results[(pl.sent, w)][pos] for w, pos in positions[k]] for k, pl in enumerate(plans)])
        out: list[tuple[list[str], list[float]]] = []
        for k, pl in enumerate(plans):
            if viterbi:
                tags, scores = decoded[k]
            else:
                tags, scores = [], []
                for w, pos in positions[k]:
                    idx, prob = results[(pl.sent, w)]
                    tags.append(self.labels[idx[pos]])
                    scores.append(prob[pos])
            unseen = unseen_words(pl.ids, pl.starts, self.encoder.unk_id, self.encoder.blank_ids)
            if unseen:
                tags, n = trim_unseen_edges(tags, unseen)
                stats["entity_edges_trimmed_unseen_word"] += n
            out.append((tags, scores))
        return out

    def _viterbi(self, sentences: list[list[torch.Tensor]], chunk: int = 256) -> list[tuple[list[str], list[float]]]:
        """For each sentence (one log-probability row per word): the tags of the likeliest valid sequence (with the
        CRF's learned scores added, if any), each with the probability the word's own label distribution gave it.
        Sentences of similar length are decoded together, so padding stays small even beside a very long sentence."""
        out: list[tuple[list[str], list[float]]] = [([], []) for _ in sentences]
        crf = self.crf
        learned = None if crf is None else tuple(t.detach().float().cpu() for t in (crf.start, crf.transitions, crf.end))
        order = sorted((k for k, rows in enumerate(sentences) if rows), key=lambda k: len(sentences[k]))
        for i in range(0, len(order), chunk):
            ks = order[i : i + chunk]
            lengths = [len(sentences[k]) for k in ks]
            scores = torch.nn.utils.rnn.pad_sequence([torch.stack(sentences[k]) for k in ks], batch_first=True)
            paths = viterbi_decode_batch(scores, lengths, *self._transitions, learned=learned)
            # the chosen labels' log-probabilities, gathered in one call
            idx = torch.nn.utils.rnn.pad_sequence([torch.tensor(p) for p in paths], batch_first=True)
            probs = scores.gather(2, idx[:, :, None]).squeeze(2).exp().tolist()
            for b, (k, path) in enumerate(zip(ks, paths)):
                out[k] = [self.labels[j] for j in path], probs[b][: len(path)]
        return out

    def predict_documents(self, docs: Sequence[Document], stats: Counter | None = None, keep_types: set[str] | None = None,
                          doc_stats: list[Counter] | None = None) -> list[Document]:
        """Tag documents: returns copies with predicted spans, sentences and tokens.

        ``doc_stats``, when given, receives one Counter per document with what was changed in that document
        after prediction (the abbreviation counters), for callers that batch documents of several requests.

        The input's spans and relations are replaced (counted as ``input_spans_replaced`` and
        ``input_relations_dropped`` in ``stats``), and so is the metadata that describes them
        (:data:`ANNOTATION_METADATA`, counted per key as ``input_metadata_dropped:<key>``: the number of documents that had it, not of its entries); the rest of its
        metadata, its sentences and its tokens are kept."""
        stats = stats if stats is not None else Counter()
        sents: list[Sentence] = []
        for i, d in enumerate(docs):
            sents += document_sentences(d, i, with_gold=False, stats=stats, splitter=self.splitter)
        words = [[docs[s.doc_index].text[a:b] for a, b in s.words] for s in sents]
        groups = sentence_groups(sents, [d.metadata for d in docs]) if self.context > 0 else None
        preds = self.predict_words(words, stats, groups)
        per_doc: list[list[Span]] = [[] for _ in docs]
        per_doc_tokens: list[list[tuple[int, int]]] = [[] for _ in docs]
        per_doc_sents: list[list[tuple[int, int]]] = [[] for _ in docs]
        for s, (tags, scores) in zip(sents, preds):
            per_doc_tokens[s.doc_index] += s.words
            per_doc_sents[s.doc_index].append((s.words[0][0], s.words[-1][1]))
            for a, b, typ in tags_to_chunks(tags):
                if keep_types is not None and typ not in keep_types:
                    continue
                start, end = s.words[a][0], s.words[b - 1][1]
                score = sum(scores[a:b]) / (b - a)
                per_doc[s.doc_index].append(Span(start, end, typ, round(score, 6), text=docs[s.doc_index].text[start:end]))
        out = []
        for i, d in enumerate(docs):
            # a tagger's output replaces the spans a document came with (gold mentions of an annotated PubTator
            # file, say) and the relations between them; counted, so the replacement is never silent
            if d.spans:
                stats["input_spans_replaced"] += len(d.spans)
            if d.relations:
                stats["input_relations_dropped"] += len(d.relations)
            meta = dict(d.metadata)
            for key in ANNOTATION_METADATA:
                # these describe the input's annotations, not its text: kept, a PubTator writer would print the
                # gold CID lines beside the predictions, and a CoNLL writer would drop the predicted types
                if meta.pop(key, None):
                    stats[f"input_metadata_dropped:{key}"] += 1
            doc = Document(
                id=d.id,
                text=d.text,
                spans=tuple(sorted(per_doc[i], key=lambda s: (s.start, s.end))),
                relations=(),
                metadata=meta,
                sentences=d.sentences or tuple(per_doc_sents[i]),
                # the words tagged: the document's own tokens, unless text outside them had to be split into
                # words (_cover_tokens), whose spans the given tokens could not hold (a CoNLL writer needs them)
                tokens=d.tokens if d.tokens and len(per_doc_tokens[i]) == len(d.tokens) else tuple(per_doc_tokens[i]),
            )
            if self.abbreviations:
                own: Counter = Counter()
                doc = propagate_abbreviations(doc, own)  # adds spans only of types already kept
                stats.update(own)
                if doc_stats is not None:
                    doc_stats.append(own)
            elif doc_stats is not None:
                doc_stats.append(Counter())
            out.append(doc)
        return out


def sentence_tags(docs: Sequence[Document], stats: Counter | None = None) -> list[list[str]]:
    """Gold BIO tags per sentence (used to write ``token gold pred`` files)."""
    out = []
    for i, d in enumerate(docs):
        out += [s.tags or [] for s in document_sentences(d, i, with_gold=True, stats=stats)]
    return out

