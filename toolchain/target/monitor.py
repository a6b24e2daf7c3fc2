"""`llmtool monitor`: the board's serial console on this terminal."""
from __future__ import annotations

import os
import select
import sys

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
