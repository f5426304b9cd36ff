"""Abbreviation definitions in running text, and abbreviation-consistent entity spans.

Biomedical abstracts define an abbreviation once, as ``long form (SF)``, and then
use the short form alone: "Cowden disease (CD) ... CD patients". A sentence-level
tagger sees "CD" without its definition and often misses it, or tags a short
form whose long form is not an entity at all ("proopiomelanocortin (POMC)").

:func:`find_abbreviations` finds ``long form (SF)`` pairs with the algorithm of
Schwartz & Hearst (2003, "A simple algorithm for identifying abbreviation
definitions in biomedical text"): the short form is 2-10 characters, at most
two words, starts with a letter or digit and has a letter; the long form is the
shortest run of the words just before the parenthesis whose characters contain
the short form's letters and digits in order, the first one at the start of a
word. Only the ``long form (short form)`` pattern is read, which is the one
abstracts use; ``SF (long form)`` is not.

:func:`propagate_abbreviations` makes a document's predicted spans agree with
its definitions ("one sense per discourse"), using the first definition of each
short form:

* the long form is an entity of type T (a predicted span ends where it ends):
  every whole-word occurrence (on the document's word boundaries) of the short form that no span touches becomes a
  span of type T, with the long form's score;
* no predicted span touches the long form: spans that are exactly an occurrence
  of the short form are removed.

Every change is counted (``abbreviation_spans_added`` / ``_removed``); offsets
are those of the original text, so ``text[start:end] == mention`` still holds.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from biobert.text.words import tokenize_words
from biobert.types import Document, Span

__all__ = ["Abbreviation", "find_abbreviations", "propagate_abbreviations"]

_PAREN = re.compile(r"\(([^()]{1,20})\)")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """A definition ``long form (short form)``; both are character ranges of the text."""

    long_start: int
    long_end: int
    short_start: int
    short_end: int

    def long(self, text: str) -> str:
        return text[self.long_start : self.long_end]

    def short(self, text: str) -> str:
        return text[self.short_start : self.short_end]


def _valid_short(sf: str) -> bool:
    return 2 <= len(sf) <= 10 and len(sf.split()) <= 2 and sf[0].isalnum() and any(c.isalpha() for c in sf)


def _best_long_start(sf: str, lf: str) -> int | None:
    """Index in ``lf`` where the shortest matching long form starts (Schwartz & Hearst), or ``None``."""
    s, l = len(sf) - 1, len(lf) - 1
    while s >= 0:
        c = sf[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # the short form's first character must start a word of the long form
        while l >= 0 and (lf[l].lower() != c or (s == 0 and l > 0 and lf[l - 1].isalnum())):
            l -= 1
        if l < 0:
            return None
        l -= 1
        s -= 1
    k = l + 1  # back to the start of the word that holds the first match
    while k > 0 and not lf[k - 1].isspace():
        k -= 1
    return k


def find_abbreviations(text: str) -> list[Abbreviation]:
    """All ``long form (SF)`` definitions in ``text``, in order of appearance."""
    out: list[Abbreviation] = []
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        # "(SF; p < 0.05)" or "(SF, ref)": the short form is the part before the separator
        cut = min([i for i in (inner.find(";"), inner.find(",")) if i >= 0], default=len(inner))
        raw = inner[:cut]
        sf = raw.strip()
        if not _valid_short(sf):
            continue
        s_start = m.start(1) + (len(raw) - len(raw.lstrip()))
        # candidate long form: up to min(|SF| + 5, 2 |SF|) words before the parenthesis, same line
        before_end = m.start()
        while before_end > 0 and text[before_end - 1] in " \t":
            before_end -= 1
        line_start = text.rfind("\n", 0, before_end) + 1
        words = list(_WORD.finditer(text, line_start, before_end))
        n = min(len(sf) + 5, 2 * len(sf))
        if not words:
            continue
        cand_start = words[max(0, len(words) - n)].start()
        lf = text[cand_start:before_end]
        k = _best_long_start(sf, lf)
        if k is None:
            continue
        long_start = cand_start + k
        long_text = text[long_start:before_end]
        if len(long_text) <= len(sf) or sf.lower() in long_text.lower().split():
            continue
        out.append(Abbreviation(long_start, before_end, s_start, s_start + len(sf)))
    return out


def _occurrences(text: str, sf: str, starts: set[int], ends: set[int]) -> list[tuple[int, int]]:
    """Case-sensitive occurrences of ``sf`` that start and end on word boundaries.

    The boundaries are those of the document's words (``starts``/``ends``), not an ASCII notion of a word: "TNF"
    in "TNF\u03b1" is inside a word for the tokenizer, and a span there could not be written as CoNLL (E110).
    """
    pat = re.compile(re.escape(sf))
    return [(m.start(), m.end()) for m in pat.finditer(text) if m.start() in starts and m.end() in ends]


def propagate_abbreviations(doc: Document, stats: Counter | None = None) -> Document:
    """Return ``doc`` with its spans made consistent with its abbreviation definitions (see the module doc)."""
    stats = stats if stats is not None else Counter()
    text = doc.text
    pairs = find_abbreviations(text)
    if not pairs:
        return doc
    stats["abbreviation_definitions"] += len(pairs)
    spans = list(doc.spans)
    words = doc.tokens or tokenize_words(text)
    starts, ends = {a for a, _ in words}, {b for _, b in words}
    seen: set[str] = set()
    for ab in pairs:
        sf = ab.short(text)
        if sf in seen:  # one sense per document: the first definition decides
            continue
        seen.add(sf)
        touching = [s for s in spans if s.start < ab.long_end and ab.long_start < s.end]
        defining = [s for s in touching if s.end == ab.long_end and s.start >= ab.long_start]
        occ = _occurrences(text, sf, starts, ends)
        if defining:
            lf = max(defining, key=lambda s: s.end - s.start)
            for a, b in occ:
                if any(s.start < b and a < s.end for s in spans):
                    continue
                spans.append(Span(a, b, lf.label, lf.score, text=text[a:b]))
                stats["abbreviation_spans_added"] += 1
        elif not touching:
            exact = set(occ)
            keep = [s for s in spans if (s.start, s.end) not in exact]
            stats["abbreviation_spans_removed"] += len(spans) - len(keep)
            spans = keep
    return replace(doc, spans=tuple(sorted(spans, key=lambda s: (s.start, s.end, s.label))))
