"""`llmtool build`: cross-compile a project and check it fits its board."""
from pathlib import Path

import click


@click.command("build", short_help="Cross-compile OUTDIR and check that it fits its board.")
@click.argument("outdir", type=click.Path(path_type=Path))
def command(outdir):
    """Build OUTDIR's image with its board's toolchain (make) and print its size
    (text/rodata/data/bss) against the board's flash and RAM. Fails when the
    image does not fit."""
    from ..target.build import build_project

    report = build_project(outdir)
    for line in report.lines():
        click.echo(line)
