"""The original BioCreative VI ChemProt release: per split, abstracts, entities and relations as TSV files.

Files of a split (``<split>`` is ``training``, ``development``, ``sample`` or ``test``; the test gold
files carry ``_gs``: ``chemprot_test_abstracts_gs.tsv``, ``chemprot_test_gold_standard.tsv``, ...):

* ``chemprot_<split>_abstracts.tsv``: ``PMID<TAB>title<TAB>abstract``;
* ``chemprot_<split>_entities.tsv``: ``PMID<TAB>T#<TAB>CHEMICAL|GENE-Y|GENE-N<TAB>start<TAB>end<TAB>text``;
* ``chemprot_<split>_gold_standard.tsv``: ``PMID<TAB>CPR:n<TAB>Arg1:T#<TAB>Arg2:T#`` (the evaluated
  relations, CPR:3/4/5/6/9), or ``chemprot_<split>_relations.tsv``:
  ``PMID<TAB>CPR:n<TAB>Y|N<TAB>label<TAB>Arg1:T#<TAB>Arg2:T#`` (all relations; ``Y``: evaluated).

Offsets: the release counts characters over the title and the abstract as one string, the abstract
starting at ``len(title) + 1`` (one separating character, as in the tab-separated abstracts line; the
task's converters join them with a space, a tab or a newline, which gives the same offsets). The
document text is ``title + separator + abstract`` with ``separator="\\n"`` by default, so that the title
is a sentence of its own, and every entity is checked: ``text[start:end]`` must be its text column
(E265 otherwise, naming the entities file and line).

:func:`read_chemprot_bc6` gives one :class:`~biobert.types.Document` per abstract: spans typed
``Chemical`` / ``Gene`` (GENE-Y and GENE-N both ``Gene``, as the task evaluates them; the raw type and
the ``T#`` id of each entity are in ``metadata["entities"]``) and one
:class:`~biobert.types.Relation` ``(Arg1, Arg2, CPR:n)`` per gold relation.
:func:`chemprot_bc6_pairs` turns those into RE examples (one document per candidate pair, as
``biobert finetune re`` / ``evaluate re`` read them).

Errors (:class:`~biobert.errors.DataFormatError`): E264 a row with the wrong number of columns, a
non-integer offset or a malformed ``CPR:n`` / ``Arg1:T#``; E265 entity offsets outside the text or not
covering the entity's text; E266 an entity or relation naming an unknown PMID or entity; E267 a PMID or
an entity id given twice; E268 a split's file missing.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

from biobert.errors import DataFormatError
from biobert.io._common import iter_lines
from biobert.types import Document, Relation, Span

__all__ = ["CPR_EVALUATED", "ENTITY_TYPES", "chemprot_bc6_files", "read_chemprot_bc6", "chemprot_bc6_pairs"]

#: the CPR groups the task scores; the other groups are scored as no relation
CPR_EVALUATED = ("CPR:3", "CPR:4", "CPR:5", "CPR:6", "CPR:9")
#: raw entity type -> span label (the labels of the BLUE / bio_electra ChemProt readers' spans)
ENTITY_TYPES = {"CHEMICAL": "Chemical", "GENE-Y": "Gene", "GENE-N": "Gene"}

_CPR = re.compile(r"CPR:\d+")
_ARG = re.compile(r"Arg([12]):(\S+)")


def chemprot_bc6_files(path: str | os.PathLike[str]) -> tuple[Path, Path, Path]:
    """``(abstracts, entities, relations)`` files of a split: ``path`` is its directory or any of its files.

    The relations file is ``*_gold_standard.tsv`` when there is one (the evaluated gold), else ``*_relations*.tsv``.

    Raises:
        DataFormatError: E268 the directory lacks one of the files (the message names the names looked for).
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    prefix = "" if p.is_dir() else p.name.split("_abstracts")[0].split("_entities")[0].split("_gold_standard")[0].split("_relations")[0]

    def find(*kinds: str) -> Path:
        for kind in kinds:
            hits = sorted(f for f in folder.glob(f"{prefix}*{kind}*.tsv") if f.is_file())
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise DataFormatError("E268", str(folder), None, f"one ChemProt *{kind}*.tsv file", found=", ".join(h.name for h in hits))
        raise DataFormatError("E268", str(folder), None,
                              " or ".join(f"a ChemProt file {prefix or 'chemprot_<split>'}*{k}*.tsv" for k in kinds), found="none")

    return find("_abstracts"), find("_entities"), find("_gold_standard", "_relations")


def _cols(line: str, n: int, name: str, lineno: int, shape: str) -> list[str]:
    cols = line.split("\t")
    if len(cols) != n:
        raise DataFormatError("E264", name, lineno, f"{n} tab-separated columns ({shape})", found=line)
    return cols


def read_chemprot_bc6(
    path: str | os.PathLike[str], *, separator: str = "\n", stats: Counter | None = None
) -> list[Document]:
    """Read one split of the original release (a directory or one of its files) as one Document per abstract.

    Args:
        separator: the one character put between title and abstract in the document text (the release's
            offsets allow any single character; see the module docstring).
        stats: counter receiving ``abstracts``, ``entities``, ``entities_type=X``, ``relations``,
            ``relations_label=CPR:n`` and ``entities_duplicate`` (an entity with the offsets and type of
            another one of its abstract: kept once, relations naming either point at it).
    """
    if len(separator) != 1:
        raise ValueError(f"separator must be one character (the release's offsets count one), got {separator!r}")
    stats = stats if stats is not None else Counter()
    abstracts_f, entities_f, relations_f = chemprot_bc6_files(path)

    texts: dict[str, str] = {}
    where: dict[str, int] = {}
    name = str(abstracts_f)
    for lineno, line in iter_lines(abstracts_f):
        if not line.strip():
            continue
        pmid, title, abstract = _cols(line, 3, name, lineno, "PMID<TAB>title<TAB>abstract")
        if pmid in texts:
            raise DataFormatError("E267", name, lineno, f"each PMID once (PMID {pmid} is also on line {where[pmid]})", found=line)
        texts[pmid], where[pmid] = title + separator + abstract, lineno
        stats["abstracts"] += 1

    # T# -> (span, raw type) per PMID
    ents: dict[str, dict[str, tuple[Span, str]]] = {pmid: {} for pmid in texts}
    name = str(entities_f)
    for lineno, line in iter_lines(entities_f):
        if not line.strip():
            continue
        pmid, tid, etype, a, b, mention = _cols(line, 6, name, lineno, "PMID<TAB>T#<TAB>type<TAB>start<TAB>end<TAB>text")
        if pmid not in texts:
            raise DataFormatError("E266", name, lineno, f"a PMID of {abstracts_f.name}", found=pmid)
        if etype not in ENTITY_TYPES:
            raise DataFormatError("E264", name, lineno, f"an entity type in {sorted(ENTITY_TYPES)}", found=etype)
        if not (a.isdigit() and b.isdigit()):
            raise DataFormatError("E264", name, lineno, "integer start and end offsets", found=f"{a}, {b}")
        start, end, text = int(a), int(b), texts[pmid]
        if not start < end <= len(text):
            raise DataFormatError("E265", name, lineno, f"offsets 0 <= start < end <= {len(text)} (title + 1 + abstract of {pmid})",
                                  found=f"{start}, {end}")
        if text[start:end] != mention:
            raise DataFormatError("E265", name, lineno, f"offsets {start}-{end} of {pmid} to cover the entity text {mention!r}",
                                  found=text[start:end])
        if tid in ents[pmid]:
            raise DataFormatError("E267", name, lineno, f"each entity id once per PMID ({tid} of {pmid} is given twice)", found=line)
        ents[pmid][tid] = (Span(start, end, ENTITY_TYPES[etype], text=mention), etype)
        stats["entities"] += 1
        stats[f"entities_type={etype}"] += 1

    rels: dict[str, list[Relation]] = {pmid: [] for pmid in texts}
    name = str(relations_f)
    gold_standard = "_gold_standard" in relations_f.name
    for lineno, line in iter_lines(relations_f):
        if not line.strip():
            continue
        if gold_standard:
            pmid, group, arg1, arg2 = _cols(line, 4, name, lineno, "PMID<TAB>CPR:n<TAB>Arg1:T#<TAB>Arg2:T#")
        else:
            pmid, group, _evaluated, _label, arg1, arg2 = _cols(
                line, 6, name, lineno, "PMID<TAB>CPR:n<TAB>Y|N<TAB>relation<TAB>Arg1:T#<TAB>Arg2:T#")
        group, m1, m2 = group.strip(), _ARG.fullmatch(arg1.strip()), _ARG.fullmatch(arg2.strip())
        if not _CPR.fullmatch(group):
            raise DataFormatError("E264", name, lineno, "a relation group CPR:n in the second column", found=group)
        if not (m1 and m2 and m1.group(1) == "1" and m2.group(1) == "2"):
            raise DataFormatError("E264", name, lineno, "arguments 'Arg1:T#' and 'Arg2:T#'", found=f"{arg1}, {arg2}")
        if pmid not in texts:
            raise DataFormatError("E266", name, lineno, f"a PMID of {abstracts_f.name}", found=pmid)
        for m in (m1, m2):
            if m.group(2) not in ents[pmid]:
                raise DataFormatError("E266", name, lineno, f"an entity of {pmid} in {entities_f.name}", found=m.group(2))
        rels[pmid].append(Relation(ents[pmid][m1.group(2)][0], ents[pmid][m2.group(2)][0], group))
        stats["relations"] += 1
        stats[f"relations_label={group}"] += 1

    docs = []
    for pmid, text in texts.items():
        spans: dict[tuple[int, int, str], Span] = {}
        for span, _ in ents[pmid].values():
            if span.key in spans:
                stats["entities_duplicate"] += 1  # same offsets and type: one span (relations compare by key)
            spans.setdefault(span.key, span)
        entities = {tid: {"type": etype, "start": s.start, "end": s.end} for tid, (s, etype) in ents[pmid].items()}
        docs.append(Document(pmid, text, spans=tuple(sorted(spans.values(), key=lambda s: (s.start, s.end, s.label))),
                             relations=tuple(rels[pmid]),
                             metadata={"source": str(abstracts_f), "group": pmid, "entities": entities}))
    return docs


def chemprot_bc6_pairs(
    docs: Sequence[Document],
    *,
    negative: str = "False",
    evaluated: Sequence[str] = CPR_EVALUATED,
    stats: Counter | None = None,
    skipped: list[dict] | None = None,
) -> list[Document]:
    """RE examples from abstract documents: every (Chemical, Gene) pair of one sentence, labelled by its CPR group.

    Each example's text is the sentence (sentences of the rule-based splitter, the title being one), its
    spans are the two arguments and its relation ``(chemical, gene, label)``, as the BLUE conversion of the
    release builds them. The label is the pair's gold group when it is evaluated, else ``negative``.
    Nothing is dropped silently; counted in ``stats``:

    * ``pairs``, ``pairs_label=X``;
    * ``pairs_not_evaluated_group_as_negative=CPR:n``: a gold relation of a group the task does not score;
    * ``gold_extra_label_on_pair``: a pair with two evaluated groups (a single-label model predicts one):
      the first in file order is its label, the others go to ``skipped``;
    * ``gold_not_a_candidate``: a gold relation whose arguments are in different sentences, overlap, or are
      not (Chemical, Gene): it goes to ``skipped`` (label and rule) and is scored as missed by evaluation;
    * ``pairs_overlapping_skipped``, ``spans_empty_skipped``: as counted by :func:`biobert.tasks.re.candidate_pairs`.
    """
    from biobert.tasks.re import candidate_pairs, shift_span

    stats = stats if stats is not None else Counter()
    evaluated_set = set(evaluated)
    out: list[Document] = []
    for doc in docs:
        tids = {(e["start"], e["end"], ENTITY_TYPES[e["type"]]): tid for tid, e in sorted(doc.metadata.get("entities", {}).items())}
        gold: dict[tuple, list[str]] = {}
        for r in doc.relations:
            gold.setdefault((r.head.key, r.tail.key), []).append(r.label)
        for h, t, a, b in candidate_pairs(doc, [("Chemical", "Gene")], scope="sentence", stats=stats):
            labels = gold.pop((h.key, t.key), [])
            scored = list(dict.fromkeys(l for l in labels if l in evaluated_set))  # a relation listed twice counts once
            for l in labels:
                if l not in evaluated_set:
                    stats[f"pairs_not_evaluated_group_as_negative={l}"] += 1
            for extra in scored[1:]:
                stats["gold_extra_label_on_pair"] += 1
                if skipped is not None:
                    skipped.append({"pmid": doc.id, "label": extra, "rule": "gold_extra_label_on_pair"})
            label = scored[0] if scored else negative
            hs, ts = shift_span(h, a), shift_span(t, a)
            pid = f"{doc.id}.{tids.get(h.key, h.start)}.{tids.get(t.key, t.start)}"
            out.append(Document(pid, doc.text[a:b], spans=(hs, ts) if hs.start < ts.start else (ts, hs),
                                relations=(Relation(hs, ts, label),),
                                metadata={"source": doc.metadata.get("source"), "group": doc.id, "offset": a}))
            stats["pairs"] += 1
            stats[f"pairs_label={label}"] += 1
        for (hk, tk), labels in gold.items():
            for l in labels:
                if l not in evaluated_set:
                    continue  # scored as no relation anyway: nothing is missed
                stats["gold_not_a_candidate"] += 1
                if skipped is not None:
                    skipped.append({"pmid": doc.id, "label": l, "rule": "gold_not_a_candidate", "head": list(hk), "tail": list(tk)})
    return out
