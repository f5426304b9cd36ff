"""Rule-based sentence splitting for biomedical text, returning character ranges.

A sentence ends at ``.``, ``!`` or ``?`` (optionally followed by closing
quotes/brackets) when whitespace follows and the next word starts with an
upper-case letter, a digit or an opening bracket, unless the token before the
period is a known abbreviation (``e.g.``, ``Fig.``, ``et al.``, ``pv.``,
species initials like ``E. coli``). Newlines that separate blocks
(title/abstract) always end a sentence.

Over-splitting hurts NER more than under-splitting here because long
sentences are windowed downstream anyway (``biobert.text.windows``).
"""

from __future__ import annotations

import re

__all__ = ["split_sentences", "ABBREVIATIONS"]

ABBREVIATIONS = frozenset(
    """
    e.g i.e al etc vs cf approx ca fig figs eq eqs ref refs no nos vol suppl resp
    dr prof mr mrs ms jr sr st inc ltd co corp dept univ
    pv subsp sp spp var cv sect ser gen nov comb syn
    jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)

_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+([\"'\u201c\u2018(\[]?[A-Z0-9\u0391-\u03a9])")
_BLOCK = re.compile(r"\n\s*")


def _is_abbreviation(text: str, dot: int) -> bool:
    """True if the period at ``dot`` closes an abbreviation or an initial."""
    j = dot
    while j > 0 and not text[j - 1].isspace():
        j -= 1
    word = text[j:dot].strip("([{\"'").lower()
    if not word:
        return False
    if word in ABBREVIATIONS:
        return True
    if len(word) == 1 and word.isalpha():  # initials: "E. coli", "J. Smith"
        return True
    # dotted abbreviations such as "i.e" / "e.g" / "U.S"
    return bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", word))


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence ranges (stripped of surrounding whitespace).

    Every non-space character of the region lies in exactly one returned range.
    """
    end = len(text) if end is None else end
    out: list[tuple[int, int]] = []
    # first, hard blocks separated by newlines
    block_start = start
    for m in _BLOCK.finditer(text, start, end):
        out.extend(_split_block(text, block_start, m.start()))
        block_start = m.end()
    out.extend(_split_block(text, block_start, end))
    return out


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    cur = start
    for m in _END.finditer(text, start, end):
        nxt = _NEXT_START.match(text, m.end(), end)
        if not nxt:
            continue
        dot = m.start()
        if text[dot] == "." and m.end() - dot == 1 and _is_abbreviation(text, dot):
            continue
        out.append((cur, m.end()))
        cur = nxt.start(1)
    out.append((cur, end))
    # strip whitespace at both ends, drop empty ranges
    stripped = []
    for a, b in out:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            stripped.append((a, b))
    return stripped
