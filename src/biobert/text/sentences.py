"""Rule-based sentence splitting for biomedical text, returning character ranges.

A sentence ends at ``.``, ``!`` or ``?`` (optionally followed by closing
quotes/brackets) when whitespace follows and the next word starts with an
upper-case letter, a digit or an opening bracket, unless the token before the
period is a known abbreviation (``e.g.``, ``Fig.``, ``et al.``, ``pv.``,
species initials like ``E. coli``). Line breaks that separate blocks
(title/abstract, paragraphs) always end a sentence; a single line break inside
a sentence (hard-wrapped text: lower-case word next, no ``.!?`` before it) does not.

Over-splitting hurts NER more than under-splitting here because long
sentences are windowed downstream anyway (``biobert.text.windows``).

Other splitters plug in by name (:func:`get_splitter`): ``lines`` (one sentence per line), ``none`` (no
splitting: windows only), ``pysbd`` (the pySBD rule set; ``pip install pysbd``) and ``spacy:MODEL`` (a spaCy or
scispaCy pipeline such as ``spacy:en_core_sci_sm``), or any callable ``text -> [(start, end), ...]``. Every
splitter runs inside the newline-separated blocks (title / abstract), and whatever it returns is checked:
ranges must index the text, in order, without overlap (E106), so a splitter cannot move an offset.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from biobert.errors import ModelLoadError, OffsetError

__all__ = ["split_sentences", "ABBREVIATIONS", "Splitter", "SPLITTERS", "get_splitter", "splitter_name"]

#: a sentence splitter: text -> sorted, non-overlapping ``(start, end)`` character ranges
Splitter = Callable[[str], list[tuple[int, int]]]

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
    # first, hard blocks separated by newlines
    return [r for a, b in _blocks(text, start, end) for r in _split_block(text, a, b)]


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
    stripped = [_strip(text, a, b) for a, b in out]
    return [(a, b) for a, b in stripped if a < b]


# -- pluggable splitters ------------------------------------------------------------------------------------

#: names :func:`get_splitter` accepts (plus ``spacy:MODEL``)
SPLITTERS = ("rules", "lines", "none", "pysbd")


def _soft_wrap(text: str, m: re.Match[str], start: int, end: int) -> bool:
    """Whether the line break ``m`` wraps one sentence onto the next line (hard-wrapped text: e-mail, PDF
    extractions, fixed-width abstracts) rather than ending a block: a single break (no blank line) with a
    lower-case letter after it and no ``.``, ``!`` or ``?`` before it. A title line, a list item or a table
    row goes on with a capital, a digit or a symbol, so it still ends there."""
    if m.group().count("\n") != 1 or m.end() >= end or not text[m.end()].islower():
        return False
    j = m.start()
    while j > start and text[j - 1].isspace():
        j -= 1
    return j > start and text[j - 1] not in ".!?"


def _blocks(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The line-separated blocks of ``text[start:end]`` (title, abstract, paragraphs) that hold any text; a line
    that wraps a sentence onto the next (:func:`_soft_wrap`) does not end its block."""
    end = len(text) if end is None else end
    out = []
    for m in _BLOCK.finditer(text, start, end):
        if _soft_wrap(text, m, start, end):
            continue
        out.append((start, m.start()))
        start = m.end()
    out.append((start, end))
    return [(a, b) for a, b in out if text[a:b].strip()]


def _flatten_breaks(text: str) -> str:
    """``text`` with every line break character replaced by a space: same length, same offsets."""
    return text.replace("\r", " ").replace("\n", " ")


def _strip(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _align(text: str, start: int, end: int, pieces: list[str], who: str) -> list[tuple[int, int]]:
    """Character ranges of the sentence strings ``pieces`` inside ``text[start:end]``, found in order (a
    splitter that returns strings cannot be trusted with offsets)."""
    out, pos = [], start
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        at = text.find(piece, pos, end)
        if at < 0:
            raise OffsetError(f"E106 the {who} splitter returned a sentence that is not in the text at or after offset {pos}: {piece[:60]!r}")
        out.append((at, at + len(piece)))
        pos = at + len(piece)
    return out


def _lines(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        a, b = _strip(text, pos, pos + len(line))
        if a < b:
            out.append((a, b))
        pos += len(line) + 1
    return out


def _none(text: str) -> list[tuple[int, int]]:
    a, b = _strip(text, 0, len(text))
    return [(a, b)] if a < b else []


def _pysbd() -> Splitter:
    try:
        import pysbd
    except ImportError:
        raise ModelLoadError("E313 the pysbd splitter needs the pysbd package: pip install 'biobert[sentences]' (or pip install pysbd)") from None
    seg = pysbd.Segmenter(language="en", clean=False)

    def split(text: str) -> list[tuple[int, int]]:
        # a line break left inside a block wraps a sentence: pySBD would end the sentence there, so it sees a space
        # (same length, so the ranges found in the flattened text are the original's)
        flat = _flatten_breaks(text)
        return [r for a, b in _blocks(text) for r in _align(flat, a, b, seg.segment(flat[a:b]), "pysbd")]

    return split


def _spacy(model: str) -> Splitter:
    try:
        import spacy
    except ImportError:
        raise ModelLoadError(f"E313 the spacy:{model} splitter needs spaCy and the model: pip install spacy (scispaCy models: "
                             "https://allenai.github.io/scispacy/)") from None
    try:
        nlp = spacy.load(model, exclude=["ner", "lemmatizer", "attribute_ruler"])
    except OSError as e:
        raise ModelLoadError(f"E313 spaCy cannot load {model!r}: {e}") from None

    def split(text: str) -> list[tuple[int, int]]:
        out = []
        flat = _flatten_breaks(text)  # as for pySBD: a wrapped line is no sentence end
        for a, b in _blocks(text):
            for sent in nlp(flat[a:b]).sents:  # spaCy's character offsets are exact: no alignment needed
                x, y = _strip(text, a + sent.start_char, a + sent.end_char)
                if x < y:
                    out.append((x, y))
        return out

    return split


def _checked(split: Callable[[str], Any], who: str) -> Splitter:
    def run(text: str) -> list[tuple[int, int]]:
        ranges, prev = [], 0
        for a, b in split(text):
            a, b = int(a), int(b)
            if not (prev <= a <= b <= len(text)):
                raise OffsetError(f"E106 the {who} splitter returned ({a}, {b}) after ({prev}, ...) for a text of "
                                  f"{len(text)} characters; expected sorted, non-overlapping ranges inside the text")
            prev = b
            a, b = _strip(text, a, b)  # surrounding whitespace is no part of a sentence
            if a < b:
                ranges.append((a, b))
        return ranges

    run.splitter_name = who  # type: ignore[attr-defined]
    return run


def get_splitter(spec: str | Splitter | None = None) -> Splitter:
    """A sentence splitter by name (``rules``, the default; ``lines``; ``none``; ``pysbd``; ``spacy:MODEL``) or a
    callable, wrapped so that its ranges are checked (E106).

    Raises:
        ConfigError: E435 an unknown name. ModelLoadError: E313 a splitter whose package or model is missing.
    """
    from biobert.errors import ConfigError

    if spec is None or spec == "rules":
        return _checked(split_sentences, "rules")
    if callable(spec):
        return _checked(spec, getattr(spec, "splitter_name", getattr(spec, "__name__", "custom")))
    if spec == "lines":
        return _checked(_lines, "lines")
    if spec == "none":
        return _checked(_none, "none")
    if spec == "pysbd":
        return _checked(_pysbd(), "pysbd")
    if isinstance(spec, str) and spec.startswith("spacy:") and len(spec) > 6:
        return _checked(_spacy(spec[6:]), spec)
    raise ConfigError(f"E435 unknown sentence splitter {spec!r}; expected one of {', '.join(SPLITTERS)}, spacy:MODEL, or a callable")


def splitter_name(splitter: Splitter | None) -> str:
    """The name a splitter was made from (recorded in model directories and run reports)."""
    return "rules" if splitter is None else str(getattr(splitter, "splitter_name", "custom"))
