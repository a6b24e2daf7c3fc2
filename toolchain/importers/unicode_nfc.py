"""The tables of Unicode Normalization Form C (NFC) the C encoder normalizes text with
(runtime_c/tokenizer_nfc.c), generated from Python's unicodedata (its
unidata_version: Unicode 14.0 with Python 3.11), put into the weight image only for a
tokenizer.json whose normalizer is NFC (Qwen2, 2.5, 3). About 21 KB:
- classes: the canonical combining class, `codepoint << 8 | class` where it changes,
  from U+0000 (570 runs, 2.3 KB);
- mappings: every canonical decomposition mapping (one step: one or two code points),
  sorted by code point, two words each: the code point | its second part's index in
  `marks` (1 on; 0: a singleton) << 21 | excluded from composition << 28, and the first
  part (2,061 mappings, 16 KB). Hangul syllables are not there: the C computes them;
- marks: the mappings' second parts, sorted (85 code points);
- composites: the primary composites (two-part mappings not excluded from composition),
  as indices into `mappings` sorted by first part and second part's index (941, 1.9 KB).
One table of one-step mappings serves both ways: a full decomposition applies them
again to the first part (a second part never decomposes: checked here), and composing
looks a pair up among the composites.
"""
from __future__ import annotations

import functools
import unicodedata

import numpy as np

UNICODE_VERSION = unicodedata.unidata_version
MARK_SHIFT, EXCLUDED_SHIFT = 21, 28  # runtime_c/tokenizer_nfc.c reads the words so
MAX_STEPS = 4  # mappings a full decomposition applies at most (tokenizer_nfc.c: NFC_MAX_STEPS)
HANGUL = range(0xAC00, 0xAC00 + 11172)  # computed in C, not tabled


def canonical_mapping(cp: int) -> list[int]:
    """The one-step canonical decomposition of `cp`, [] if none (or a compatibility one)."""
    fields = unicodedata.decomposition(chr(cp)).split()
    return [] if not fields or fields[0].startswith("<") else [int(f, 16) for f in fields]


def _steps(cp: int, mappings: dict[int, list[int]]) -> int:
    return 1 + _steps(mappings[cp][0], mappings) if cp in mappings else 0


@functools.cache
def nfc_tables() -> dict[str, np.ndarray]:
    """The four arrays, by the names the image gives them after "vocab.nfc_"."""
    classes, previous = [], None
    for cp in range(0x110000):
        ccc = unicodedata.combining(chr(cp))
        if ccc != previous:
            classes.append(cp << 8 | ccc)
            previous = ccc
    mappings = {cp: m for cp in range(0x110000) if cp not in HANGUL and (m := canonical_mapping(cp))}
    marks = sorted({m[1] for m in mappings.values() if len(m) == 2})
    assert not set(marks) & set(mappings) and len(marks) < 1 << (EXCLUDED_SHIFT - MARK_SHIFT)
    assert max(_steps(cp, mappings) for cp in mappings) <= MAX_STEPS
    rows, composites = [], []
    for i, (cp, m) in enumerate(sorted(mappings.items())):
        mark = marks.index(m[1]) + 1 if len(m) == 2 else 0
        excluded = unicodedata.normalize("NFC", chr(cp)) != chr(cp)  # Full_Composition_Exclusion
        rows.append([cp | mark << MARK_SHIFT | excluded << EXCLUDED_SHIFT, m[0]])
        if mark and not excluded:
            composites.append((m[0], mark, i))
    return {"classes": np.array(classes, dtype="<u4"), "mappings": np.array(rows, dtype="<u4"),
            "marks": np.array(marks, dtype="<u4"),
            "composites": np.array([i for *_, i in sorted(composites)], dtype="<u2")}
