"""`llmtool monitor`: the board's serial console."""
from pathlib import Path

import click

from ..choices import DEFAULT_BAUD


@click.command("monitor", short_help="Talk to OUTDIR's board over its serial port.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--port", required=True, help="The serial port, e.g. /dev/ttyACM0.")
@click.option("--baud", type=int, default=DEFAULT_BAUD, show_default=True, help="The port's speed.")
def command(outdir, port, baud):
    """An interactive console on the board's serial port: each line typed goes to
    the board, what the board sends is printed as it comes. Ctrl-D or Ctrl-C quits."""
    from ..manifest import read_manifest
    from ..target.monitor import monitor

    read_manifest(outdir)  # OUTDIR must be a project: the board it was built for
    monitor(port, baud, notice=lambda text: click.echo(text, err=True))
