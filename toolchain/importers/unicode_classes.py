"""The Unicode character classes Llama 3's pre-tokenizer needs, as a compact table for
the C runtime (runtime_c/tokenizer_tiktoken.c), generated from Python's unicodedata.

The pattern distinguishes letters (\\p{L}), numbers (\\p{N}) and whitespace (\\s);
everything else is "other". The table lists the codepoints where the class changes,
each as `codepoint << 2 | class`, starting at U+0000: about 1,500 entries (6 KB),
put into the weight image only for a tiktoken tokenizer.
"""
from __future__ import annotations

import functools
import unicodedata

import numpy as np

OTHER, LETTER, NUMBER, SPACE = range(4)  # runtime_c/tokenizer_tiktoken.c: CharClass
CLASS_BITS = 2
# The separators U+001C..U+001F: Python's str.isspace() counts them, Unicode's
# White_Space property (what \s means in tiktoken's regex engine) does not.
NOT_WHITE_SPACE = frozenset("\x1c\x1d\x1e\x1f")


def char_class(c: str) -> int:
    category = unicodedata.category(c)
    if category[0] == "L":
        return LETTER
    if category[0] == "N":
        return NUMBER
    if c.isspace() and c not in NOT_WHITE_SPACE:
        return SPACE
    return OTHER


@functools.cache
def class_runs() -> np.ndarray:
    """uint32 `start << 2 | class` for every run of codepoints of one class, in order."""
    runs, previous = [], None
    for cp in range(0x110000):
        cls = char_class(chr(cp))
        if cls != previous:
            runs.append(cp << CLASS_BITS | cls)
            previous = cls
    return np.array(runs, dtype="<u4")
