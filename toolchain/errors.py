"""The one exception type users see.

Anything the user can cause (a bad file, an option that does not fit) raises
ToolchainError with a message that reads as one line; the CLI prints it as
`error: <message>` and exits 1. Everything else is a bug and keeps its traceback.
"""


class ToolchainError(Exception):
    """A problem with the user's input, explained in one line."""


def brief(e: BaseException) -> str:
    """A library's exception as a few words for one of our lines: its first line, at
    most 200 characters (zipfile quotes whole headers, torch appends advice)."""
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return first if len(first) <= 200 else first[:197] + "..."
