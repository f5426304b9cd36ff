"""Text utilities with character offsets: word tokenisation, sentence splitting, windows.

Nothing in here touches a model; every function returns ranges into the string it was given.
"""

from biobert.text.sentences import split_sentences
from biobert.text.words import tokenize_words
from biobert.text.windows import Window, make_windows

__all__ = ["split_sentences", "tokenize_words", "Window", "make_windows"]
