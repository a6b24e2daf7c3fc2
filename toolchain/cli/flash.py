"""`llmtool flash`: a built image onto the real board."""
from pathlib import Path

import click

from ..choices import FLASH_PROBES


@click.command("flash", short_help="Write OUTDIR's image to the real board.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--probe", type=click.Choice(FLASH_PROBES), default=None,
              help="How to write it [default: the board's first, from its board file's [flash] probes].")
@click.option("--port", default=None,
              help="The probe's serial number (openocd, pyocd, st-flash), or the mount point of the "
                   "board's UF2 drive (uf2; default: the RPI-RP2 drive under /media).")
@click.option("--part", type=click.Choice(["all", "firmware", "weights"]), default="all", show_default=True,
              help="With a weight image of its own (compile --weights separate): write both, the firmware "
                   "alone, or the weights alone (a model update leaves the firmware as it is).")
@click.option("--dry-run", is_flag=True, help="Print the command lines, run nothing.")
def command(outdir, probe, port, part, dry_run):
    """Build OUTDIR's image if needed and write it to the board with the probe's
    tool: openocd (build/llm), pyocd (build/llm.hex), st-flash (build/llm.bin at
    the start of flash), picotool or a copy to the RP2040's USB drive
    (build/llm.uf2). A weight image of its own (build/llm_weights.img) is written
    at its address by a second command. Prints the command lines it runs."""
    from ..target.flash import flash_project

    flash_project(outdir, probe, port, dry_run, echo=click.echo, part=part)
