"""`llmtool monitor`: the board's console: its serial port (--console uart) or its RTT
ring buffers through a GDB server (--console rtt)."""
from pathlib import Path

import click

from ..choices import DEFAULT_BAUD


@click.command("monitor", short_help="Talk to OUTDIR's board over its serial port or RTT.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--port", help="The serial port, e.g. /dev/ttyACM0 (a --console uart project).")
@click.option("--baud", type=int, default=DEFAULT_BAUD, show_default=True, help="The port's speed.")
@click.option("--gdb", "gdb_address", metavar="HOST:PORT",
              help="A GDB server on the target (a --console rtt project): QEMU's -gdb (localhost:1234), "
                   "openocd or pyocd gdbserver (localhost:3333).")
def command(outdir, port, baud, gdb_address):
    """An interactive console on the board: each line typed goes to the board, what
    the board sends is printed as it comes. Ctrl-D or Ctrl-C quits; with --gdb, once
    the board has read what was typed and gone quiet for 2 s."""
    from ..boards import get_board
    from ..errors import ToolchainError
    from ..manifest import read_manifest
    from ..target.monitor import monitor, monitor_rtt

    manifest = read_manifest(outdir)  # OUTDIR must be a project: the board it was built for
    rtt = manifest.get("console") == "rtt"
    if rtt and (port or not gdb_address):
        raise ToolchainError(f"{outdir} talks through RTT (compiled with --console rtt): give --gdb HOST:PORT, "
                             f"its GDB server (QEMU's -gdb localhost:1234, openocd's localhost:3333), not --port")
    if not rtt and (gdb_address or not port):
        raise ToolchainError(f"{outdir} has a {manifest.get('console')} console, not RTT: give --port, the serial "
                             f"port (--gdb is for a project compiled with --console rtt)")
    notice = lambda text: click.echo(text, err=True)  # noqa: E731
    if rtt:
        monitor_rtt(outdir, get_board(manifest["board"]), gdb_address, notice=notice)
    else:
        monitor(port, baud, notice=notice)
