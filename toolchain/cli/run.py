"""`llmtool run`: the built image under its board's emulator, or natively."""
import sys
from pathlib import Path

import click

from .emulate import generation_options


@click.command("run", short_help="Run OUTDIR's image under its board's emulator (host: natively).")
@click.argument("outdir", type=click.Path(path_type=Path))
@generation_options
@click.option("--threads", "-T", type=int, default=None,
              help="Threads on Linux boards [default: the board's cores].")
def command(outdir, prompt, steps, temperature, topp, seed, mode, system, threads):
    """Run OUTDIR's image: under qemu-user for Linux boards, qemu-system-arm with
    semihosting for microcontrollers, natively for `host`. Builds it first if
    needed. Same flags and output as `llmtool emulate`."""
    from ..target.run import run_project

    sys.exit(run_project(outdir, prompt, steps, temperature, topp, seed, threads=threads, mode=mode,
                         system=system).returncode)
