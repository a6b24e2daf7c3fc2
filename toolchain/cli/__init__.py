"""llmtool's command line: one module per command group.

A command module imports at its top only click and toolchain.choices (the options'
choices and defaults), and what it works with inside its function: `llmtool --help`,
every command's --help and `llmtool boards` then start in a tenth of a second, where
torch alone takes seconds to import (tests/test_cli_startup.py holds them to it)."""
from __future__ import annotations

import sys
import warnings

import click

from .. import __version__
from ..errors import ToolchainError


MAX_MESSAGE = 500  # characters: a message quoting a file's value never floods the terminal


def one_line(message: str) -> str:
    text = " ".join(message.split("\n"))
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


class Group(click.Group):
    """Turns a ToolchainError, or an OSError on a named path, into one line on stderr
    and exit status 1. numpy's
    RuntimeWarnings (overflow in a cast of a damaged file's values, say) are not
    shown: the checks that follow turn what matters into that line."""

    def invoke(self, ctx):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return super().invoke(ctx)
        except ToolchainError as e:
            click.echo(f"error: {one_line(str(e))}", err=True)
            sys.exit(1)
        except OSError as e:  # a path of the user's that cannot be read or written
            if e.filename is None:
                raise
            click.echo(f"error: {one_line(f'{e.filename}: {e.strerror or e}')}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmtool")
def main():
    """Compile llama-family language models into self-contained C projects for
    small boards, and run them on the host emulator or the board.

    \b
    Typical use:
      llmtool compile stories260K.bin --tokenizer tok512.bin --board host -o out/
      llmtool emulate out/ --prompt "Once upon a time"
      llmtool compile stories260K.bin --tokenizer tok512.bin --board rpi4 -o pi/
      llmtool build pi/ && llmtool run pi/ --prompt "Once upon a time"
    """


def _register():
    from . import (analyze, bench, boards, build, compile, demo, emulate, flash, monitor, run, tokenizer,  # noqa: A004 (named for commands)
                   train, validate)

    for module in (compile, build, run, flash, monitor, emulate, validate, analyze, bench, boards, train, demo,
                   tokenizer):
        main.add_command(module.command)


_register()
