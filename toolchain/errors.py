"""The one exception type users see.

Anything the user can cause (a bad file, an option that does not fit) raises
ToolchainError with a message that reads as one line; the CLI prints it as
`error: <message>` and exits 1. Everything else is a bug and keeps its traceback.
"""


class ToolchainError(Exception):
    """A problem with the user's input, explained in one line."""
