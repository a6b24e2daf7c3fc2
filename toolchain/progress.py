"""Progress for a person who waits: one line per slow phase (reading a model,
quantizing, building a library the first time) and tqdm bars, on stderr.

They are shown when stderr is a terminal, where a person reads them; a script or CI
log that captures stderr gets only what it had before (an `error:` line stays the
only line of a failed command). LLMTOOL_PROGRESS=1 shows them anywhere, 0 nowhere.
stdout is never written: it carries the generated text and the --json objects."""
from __future__ import annotations

import os
import sys

PROGRESS_ENV = "LLMTOOL_PROGRESS"


def enabled() -> bool:
    setting = os.environ.get(PROGRESS_ENV, "")
    if setting:
        return setting != "0"
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def phase(text: str) -> None:
    """One line saying what the next slow step is, e.g. "building the host library ..."."""
    if enabled():
        print(text, file=sys.stderr, flush=True)


def bar(iterable, **options):
    """tqdm over `iterable` on stderr, when progress is shown (and options don't disable it)."""
    from tqdm import tqdm

    options["disable"] = options.get("disable", False) or not enabled()
    return tqdm(iterable, file=sys.stderr, dynamic_ncols=True, **options)
