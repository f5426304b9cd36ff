"""DDI-2013 corpus XML (Herrero-Zazo et al. 2013): one Document per ``<pair>``.

Each ``<sentence text=…>`` holds ``<entity id charOffset type text>`` and
``<pair id e1 e2 ddi [type]>`` elements. A pair becomes a
:class:`~biobert.types.Document` whose text is the sentence, whose two spans
are the pair's entities (typed ``drug`` / ``group`` / ``brand`` /
``drug_n``) and whose single relation is ``(e1, e2, label)`` with label
``mechanism`` / ``effect`` / ``advise`` / ``int`` or ``false``.

Offsets: ``charOffset`` is *inclusive* (``"12-27"`` is ``text[12:28]``) and
may be discontinuous (``"59-65;75-78"``).

Every rule that changes or drops something is counted in ``stats``
(:data:`RULES` lists them); nothing else is filtered. In particular no
negative-instance filtering (same-name pairs, etc.) is applied, unlike some
published DDI systems.

* ``discontinuous_entities``: an entity with several fragments becomes the
  span from its first fragment's start to its last fragment's end (the
  "hull"; ``discontinuous="hull"``, default) or every pair using it is dropped
  (``discontinuous="drop"``, counted as ``pairs_dropped_discontinuous``).
* ``discontinuous_text_mismatch``: a discontinuous entity whose fragments,
  joined with or without a space, do not spell its ``text`` attribute (4 in
  the corpus, e.g. ``(R)-warfarin`` whose offsets are one character off). The
  hull is kept as the corpus gives it.
* ``pairs_dropped_true_without_type``: ``ddi="true"`` without a ``type``
  (1 pair in Train/DrugBank): it has no class, so it is dropped.
* ``pairs_dropped_overlapping_args``: the two arguments overlap (a
  discontinuous hull covering the other entity), so they cannot both be
  marked; dropped. The labels of dropped pairs are counted too
  (``..._label=X``) and, with ``skipped=[]``, returned so that evaluation can
  count dropped gold positives as misses.
* ``sentences_without_pairs``: sentences with fewer than two entities give no pair.

Errors (:class:`~biobert.errors.DataFormatError`, each naming the file and the
line of the element): E257 not well-formed XML or a sentence without ``text``;
E258 a malformed or out-of-range ``charOffset``; E259 a continuous entity whose
offsets do not cover its ``text``, an entity id given twice in a sentence, a
pair naming an unknown entity, or a pair whose ``ddi`` is not true/false.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from biobert.errors import DataFormatError
from biobert.types import Document, Relation, Span

__all__ = ["DDI_LABELS", "DDI_POSITIVE", "RULES", "read_ddi", "ddi_files"]

DDI_POSITIVE = ("advise", "effect", "int", "mechanism")
DDI_LABELS = DDI_POSITIVE + ("false",)
RULES = (
    "discontinuous_entities",
    "discontinuous_text_mismatch",
    "pairs_dropped_discontinuous",
    "pairs_dropped_true_without_type",
    "pairs_dropped_overlapping_args",
    "sentences_without_pairs",
)


def ddi_files(path: str | os.PathLike[str]) -> list[Path]:
    """The XML files under ``path`` (a file or a directory, searched recursively, sorted)."""
    p = Path(path)
    if p.is_dir():
        return sorted(x for x in p.rglob("*.xml") if x.is_file())
    return [p]


def _parse_offsets(raw: str, n: int, where: str, line: int | None) -> list[tuple[int, int]]:
    frags = []
    for part in raw.split(";"):
        bits = part.strip().split("-")
        if len(bits) != 2 or not all(b.isdigit() for b in bits):
            raise DataFormatError("E258", where, line, "charOffset 'start-end' (inclusive), fragments joined by ';'", found=raw)
        a, b = int(bits[0]), int(bits[1]) + 1
        if not 0 <= a < b <= n:
            raise DataFormatError("E258", where, line, f"offsets inside the sentence (length {n})", found=raw)
        frags.append((a, b))
    return frags


def read_ddi(
    path: str | os.PathLike[str],
    *,
    discontinuous: str = "hull",
    stats: Counter | None = None,
    skipped: list[dict] | None = None,
) -> list[Document]:
    """Read a DDI XML file, or every XML file under a directory, as one Document per pair.

    Args:
        discontinuous: ``"hull"`` (default) or ``"drop"`` (see the module docstring).
        stats: counter receiving ``pairs``, ``pairs_label=X`` and every rule in :data:`RULES`.
        skipped: if given, receives ``{"pair", "label", "rule"}`` for every dropped pair.
    """
    if discontinuous not in ("hull", "drop"):
        raise ValueError(f"discontinuous must be 'hull' or 'drop', got {discontinuous!r}")
    stats = stats if stats is not None else Counter()
    for r in RULES:
        stats.setdefault(r, 0)
    from lxml import etree  # (with bioc) for the line of every element in the errors

    # no external entities or network access (internal ones still expand, as xml.etree did): the corpus is plain
    # XML. libxml2 counts lines up to 65535 only: an error past that line names 65535
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    docs: list[Document] = []
    for f in ddi_files(path):
        where = str(f)
        try:
            root = etree.parse(str(f), parser).getroot()
        except etree.XMLSyntaxError as exc:
            raise DataFormatError("E257", where, exc.lineno, "well-formed DDI XML", found=str(exc)) from None
        stats["files"] += 1
        for sent in root.iter("sentence"):
            text = sent.get("text")
            if text is None:
                raise DataFormatError("E257", where, sent.sourceline, "a 'text' attribute on every <sentence>", found=sent.get("id"))
            ents: dict[str, tuple[Span, bool]] = {}
            for e in sent.iter("entity"):
                eid, etext = e.get("id", ""), e.get("text", "")
                if eid in ents:
                    raise DataFormatError("E259", where, e.sourceline, f"each entity id once in sentence {sent.get('id')}", found=eid)
                frags = _parse_offsets(e.get("charOffset", ""), len(text), where, e.sourceline)
                disc = len(frags) > 1
                if disc:
                    stats["discontinuous_entities"] += 1
                    pieces = [text[a:b] for a, b in frags]
                    if etext not in ("".join(pieces), " ".join(pieces)):
                        stats["discontinuous_text_mismatch"] += 1
                elif text[frags[0][0] : frags[0][1]] != etext:
                    raise DataFormatError(
                        "E259", where, e.sourceline, f"entity {eid} offsets {e.get('charOffset')} to cover its text {etext!r}",
                        found=text[frags[0][0] : frags[0][1]],
                    )
                a, b = frags[0][0], frags[-1][1]
                ents[eid] = (Span(a, b, e.get("type", "drug"), text=text[a:b]), disc)
            pairs = list(sent.iter("pair"))
            if not pairs:
                stats["sentences_without_pairs"] += 1
            for p in pairs:
                pid = p.get("id", "")
                e1, e2 = p.get("e1", ""), p.get("e2", "")
                if e1 not in ents or e2 not in ents:
                    raise DataFormatError("E259", where, p.sourceline, f"pair {pid} to name entities of its sentence", found=f"{e1}, {e2}")
                ddi = (p.get("ddi") or "").lower()
                if ddi not in ("true", "false"):
                    # anything else read as "true" would make a positive of a pair the corpus may not say is one
                    raise DataFormatError("E259", where, p.sourceline, f"pair {pid} with ddi=\"true\" or ddi=\"false\"",
                                          found=p.get("ddi"))
                label = "false" if ddi == "false" else (p.get("type") or "").lower()
                (h, hd), (t, td) = ents[e1], ents[e2]
                rule = None
                if not label:
                    rule = "pairs_dropped_true_without_type"
                elif discontinuous == "drop" and (hd or td):
                    rule = "pairs_dropped_discontinuous"
                elif h.start < t.end and t.start < h.end:
                    rule = "pairs_dropped_overlapping_args"
                if rule is not None:
                    stats[rule] += 1
                    stats[f"{rule}_label={label or 'true'}"] += 1
                    if skipped is not None:
                        skipped.append({"pair": pid, "label": label or "true", "rule": rule})
                    continue
                docs.append(
                    Document(
                        pid, text, spans=tuple(sorted((h, t), key=lambda s: (s.start, s.end))),
                        relations=(Relation(h, t, label),),
                        metadata={"source": where, "sentence": sent.get("id"), "e1": e1, "e2": e2},
                    )
                )
                stats["pairs"] += 1
                stats[f"pairs_label={label}"] += 1
    return docs
