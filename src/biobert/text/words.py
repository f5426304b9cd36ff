"""Word tokenisation that returns character ranges into the original string.

The rule mirrors BERT's basic tokenizer and the tokenisation of the BioBERT
CoNLL files: runs of letters/digits form a word, every other non-space
character is a word of its own, whitespace (any Unicode space, NBSP
included) separates, and invisible format characters (soft hyphen,
zero-width space, BOM) join letters around them or else separate. Combining
marks (the accent of a decomposed ``e\u0301``) belong to the letter before
them, as in BERT's basic tokenizer, so NFD text splits like NFC text. Extra cut points (``boundaries``) force a split,
which readers use so that a gold mention boundary never falls inside a word.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from collections import Counter
from typing import Iterable

__all__ = ["tokenize_words", "tokenizable", "replace_surrogates"]

# \w in Python's re is Unicode-aware: Greek letters and superscript digits are word characters.
# Underscore is treated as punctuation like BERT does.
# Invisible format characters (soft hyphen, zero-width space / joiners, word joiner, byte-order mark) are what
# BERT's basic tokenizer deletes before it splits: inside a word they join it ("cis\u00adplatin" is one word, as
# BERT sees "cisplatin"), and on their own they separate like whitespace instead of becoming empty words.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"


@lru_cache(maxsize=1)
def _word_pattern() -> re.Pattern[str]:
    """The word regex, built on first use.

    Combining marks (Unicode categories Mn/Mc/Me) are not ``\\w`` in Python's ``re``, so a decomposed accent would cut
    "Be\\u0301hcet" into three words and a mention could start inside a word. ``re`` has no ``\\p{M}``, so the
    class is built from ``unicodedata`` (this Python's Unicode version; ~0.2 s once per process) rather than
    hard-coded ranges that would go stale.
    """
    marks = []
    run_start = prev = None
    for cp in range(sys.maxunicode + 1):
        if unicodedata.category(chr(cp))[0] == "M":
            if run_start is None:
                run_start = cp
            prev = cp
        elif run_start is not None:
            marks.append(f"\\U{run_start:08x}-\\U{prev:08x}" if prev > run_start else f"\\U{run_start:08x}")
            run_start = None
    m = "".join(marks)
    alnum = rf"[^\W_][{m}]*"  # a letter or digit with the marks that follow it
    return re.compile(rf"(?:{alnum})+(?:[{_INVISIBLE}]+(?:{alnum})+)*|[^\w\s{_INVISIBLE}]|_", re.UNICODE)


def tokenize_words(
    text: str, start: int = 0, end: int | None = None, boundaries: Iterable[int] = ()
) -> list[tuple[int, int]]:
    """Return ``(start, end)`` word ranges of ``text[start:end]``, indexed into ``text``.

    Args:
        text: the full string.
        start, end: the region to tokenise (a sentence, say).
        boundaries: character positions where a word must start or end.
    """
    end = len(text) if end is None else end
    cuts = sorted({b for b in boundaries if start < b < end})
    words: list[tuple[int, int]] = []
    for m in _word_pattern().finditer(text, start, end):
        a, b = m.span()
        # split a word at every forced boundary strictly inside it
        for c in cuts:
            if a < c < b:
                words.append((a, c))
                a = c
        words.append((a, b))
    return words


# A lone UTF-16 surrogate (U+D800-U+DFFF) is a valid Python str character but not encodable as UTF-8; JSON escapes
# such as "\\ud83d" produce them, and the Rust tokenizers reject the whole batch with a TypeError.
_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> tuple[str, int]:
    """``text`` with each lone surrogate replaced by U+FFFD, one character for one (offsets stay valid), and how
    many were replaced."""
    return _SURROGATE.subn("\ufffd", text)


def tokenizable(text: str, stats: Counter | None = None) -> str:
    """Return ``text`` with each lone surrogate replaced by U+FFFD, one character for one.

    Only what the tokenizer reads changes: the length is kept, so character offsets into the original text
    stay valid. Replacements are counted in ``stats["surrogates_replaced"]``.
    """
    new, n = replace_surrogates(text)
    if n and stats is not None:
        stats["surrogates_replaced"] += n
    return new
