"""Word tokenisation that returns character ranges into the original string.

The rule mirrors BERT's basic tokenizer and the tokenisation of the BioBERT
CoNLL files: runs of letters/digits form a word, every other non-space
character is a word of its own, whitespace (any Unicode space, NBSP
included) separates, and invisible format characters (soft hyphen,
zero-width space, BOM) join letters around them or else separate. Extra cut points (``boundaries``) force a split, which
readers use so that a gold mention boundary never falls inside a word.
"""

from __future__ import annotations

import re
from typing import Iterable

__all__ = ["tokenize_words"]

# \w in Python's re is Unicode-aware: Greek letters and superscript digits are word characters.
# Underscore is treated as punctuation like BERT does.
# Invisible format characters (soft hyphen, zero-width space / joiners, word joiner, byte-order mark) are what
# BERT's basic tokenizer deletes before it splits: inside a word they join it ("cis\u00adplatin" is one word, as
# BERT sees "cisplatin"), and on their own they separate like whitespace instead of becoming empty words.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_WORD = re.compile(rf"[^\W_]+(?:[{_INVISIBLE}]+[^\W_]+)*|[^\w\s{_INVISIBLE}]|_", re.UNICODE)


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
    for m in _WORD.finditer(text, start, end):
        a, b = m.span()
        # split a word at every forced boundary strictly inside it
        for c in cuts:
            if a < c < b:
                words.append((a, c))
                a = c
        words.append((a, b))
    return words
