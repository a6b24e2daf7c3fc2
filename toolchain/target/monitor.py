"""`llmtool monitor`: the board's console on this terminal: its serial port, or its RTT
ring buffers through a GDB server."""
from __future__ import annotations

import os
import select
import sys
import time

from ..errors import ToolchainError, brief


def monitor(port: str, baud: int, stdin_fd: int | None = None, stdout=None, notice=None) -> None:
    """Copies lines typed on stdin to the serial port and the port's bytes to stdout
    until stdin ends (Ctrl-D) or the port goes away."""
    try:
        import serial
    except ImportError:
        raise ToolchainError("monitor needs pyserial: pip install pyserial") from None
    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout = stdout or sys.stdout.buffer
    try:
        link = serial.Serial(port, baud, timeout=0)
    except (serial.SerialException, ValueError) as e:
        raise ToolchainError(f"cannot open {port}: {brief(e)}") from None
    if notice:
        notice(f"connected to {port} at {baud} baud; Ctrl-D or Ctrl-C quits")
    with link:
        while True:
            ready, _, _ = select.select([stdin_fd, link.fileno()], [], [])
            try:
                if link.fileno() in ready:
                    stdout.write(link.read(4096))
                    stdout.flush()
                if stdin_fd in ready:
                    line = os.read(stdin_fd, 4096)
                    if not line:
                        return
                    link.write(line)
            except serial.SerialException as e:
                raise ToolchainError(f"{port}: {brief(e)}") from None


# How often the RTT monitor stops the target to look: soon again while text flows or
# lines wait to go, backing off to the slowest while the console is idle.
RTT_POLL_FASTEST, RTT_POLL_SLOWEST = 0.005, 0.2
RTT_QUIET_AFTER_EOF = 2.0  # stdin ended: quit once the firmware has read it all and been quiet this long


def monitor_rtt(out, board, gdb_address: str, stdin_fd: int | None = None, stdout=None, notice=None) -> None:
    """Copies stdin to the firmware's RTT down buffer and its up buffer to stdout,
    through the GDB server at gdb_address, until stdin ends and the firmware has
    answered (or Ctrl-C)."""
    from .gdb_remote import GdbRemote
    from .rtt import RttConsole, control_block_addresses

    stdin_fd = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    stdout = stdout or sys.stdout.buffer
    addresses = control_block_addresses(out, board)
    with GdbRemote(gdb_address) as gdb:
        console = RttConsole(gdb, addresses)
        if notice:
            notice(f"connected to RTT at 0x{console.address:08x} through {gdb_address}; Ctrl-D or Ctrl-C quits")
        pending, stdin_open, interval, last_activity = b"", True, RTT_POLL_FASTEST, time.monotonic()
        while True:
            if stdin_open and select.select([stdin_fd], [], [], interval)[0]:
                data = os.read(stdin_fd, 65536)
                pending += data
                stdin_open = bool(data)
            elif not stdin_open:
                time.sleep(interval)
            sent, received, drained = console.exchange(pending)
            pending = pending[sent:]
            if received:
                stdout.write(received)
                stdout.flush()
            if sent or received:
                interval, last_activity = RTT_POLL_FASTEST, time.monotonic()
            else:
                interval = min(2 * interval, RTT_POLL_SLOWEST)
            if not stdin_open and not pending and drained and \
                    time.monotonic() - last_activity > RTT_QUIET_AFTER_EOF:
                return
