"""The `llmtool` command's entry point. It imports nothing heavy itself, so that
SIGINT (Ctrl-C) and SIGTERM end the command with one line from its first instant,
imports included, and unwind it so that no hidden output directory is left."""
import signal
import sys


class Terminated(BaseException):
    """SIGTERM, raised where the program is, like KeyboardInterrupt for SIGINT."""


def _terminate(signum, frame):
    raise Terminated(signum)


def main() -> None:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from .cli import main as cli

        cli()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Terminated:
        print("terminated", file=sys.stderr)
        sys.exit(143)
