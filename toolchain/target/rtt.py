"""The host's end of an RTT console (compile --console rtt, runtime_c/platform/rtt.c):
the control block `_SEGGER_RTT` found by its symbol in the project's ELF files, its
up buffer read and its down buffer written through a GDB server (gdb_remote.py), in
short stops of the target."""
from __future__ import annotations

import struct
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board
from ..errors import ToolchainError
from .build import BINARY
from .gdb_remote import GdbRemote
from .run import emulated_binary
from .toolcheck import require

SYMBOL = "_SEGGER_RTT"
ID = b"SEGGER RTT\0"
HEADER = struct.Struct("<16sii")        # acID, MaxNumUpBuffers, MaxNumDownBuffers
RING = struct.Struct("<IIIIII")         # sName, pBuffer, SizeOfBuffer, WrOff, RdOff, Flags
WRITE_OFFSET, READ_OFFSET = 12, 16      # WrOff's and RdOff's place in a ring descriptor
FIND_TIMEOUT = 10.0  # seconds for the firmware to write the block's ID (QEMU started with -S: its first run)


def control_block_addresses(out: Path, board: Board) -> list[int]:
    """Where `_SEGGER_RTT` is in build/llm and, where QEMU's link differs, build/llm-qemu:
    the monitor does not know which of them the target runs, so it tries each."""
    nm = require(f"{board.toolchain_prefix}nm", board.toolchain_package or "binutils")
    addresses = []
    for binary in dict.fromkeys([BINARY, emulated_binary(board, BINARY)]):
        if not (out / binary).exists():
            continue
        symbols = subprocess.run([nm, str(out / binary)], capture_output=True, text=True, check=True).stdout
        addresses += [int(line.split()[0], 16) for line in symbols.splitlines() if line.endswith(" " + SYMBOL)]
    if not addresses:
        raise ToolchainError(f"no {SYMBOL} in {out / BINARY}: build it with `llmtool build {out}` "
                             f"(a project compiled with --console rtt)")
    return list(dict.fromkeys(addresses))


@dataclass
class Ring:
    address: int  # of its descriptor
    buffer: int
    size: int
    write_at: int
    read_at: int

    @classmethod
    def at(cls, block: bytes, address: int, offset: int) -> Ring:
        _, buffer, size, write_at, read_at, _ = RING.unpack_from(block, offset)
        if size == 0 or write_at >= size or read_at >= size:
            raise ToolchainError(f"the RTT ring at 0x{address + offset:08x} is inconsistent (size {size}, "
                                 f"write {write_at}, read {read_at}): is the firmware this project's?")
        return cls(address + offset, buffer, size, write_at, read_at)


class RttConsole:
    """The first up and down buffers of the control block that `gdb`'s target has at one
    of `addresses`. Each exchange stops the target for a few memory accesses."""

    def __init__(self, gdb: GdbRemote, addresses: list[int]):
        self.gdb = gdb
        self.address, self.counts = self._find(addresses)

    def _find(self, addresses: list[int]) -> tuple[int, tuple[int, int]]:
        deadline = time.monotonic() + FIND_TIMEOUT
        while True:
            for address in addresses:
                try:
                    name, ups, downs = HEADER.unpack(self.gdb.read(address, HEADER.size))
                except ToolchainError:
                    continue  # not memory on this target: the other link's address
                if name.startswith(ID) and ups >= 1 and downs >= 1:
                    return address, (ups, downs)
            if time.monotonic() > deadline:
                raise ToolchainError(f"no RTT control block ({ID[:-1].decode()!r}) at {SYMBOL} "
                                     f"({', '.join(f'0x{a:08x}' for a in addresses)}) after {FIND_TIMEOUT:.0f} s: "
                                     f"is this project's firmware running?")
            self.gdb.resume()  # not yet written: let the firmware start
            time.sleep(0.1)
            self.gdb.stop()

    def exchange(self, to_send: bytes) -> tuple[int, bytes, bool]:
        """With the target stopped: what the up buffer holds (taken), as much of to_send
        as the down buffer has room for; then the target runs on. Returns how many bytes
        of to_send went, the bytes that came, and whether the firmware has read all it
        was sent."""
        gdb = self.gdb
        if gdb.running:
            gdb.stop()
        ups, downs = self.counts
        block = gdb.read(self.address, HEADER.size + RING.size * (ups + downs))
        up = Ring.at(block, self.address, HEADER.size)
        down = Ring.at(block, self.address, HEADER.size + RING.size * ups)
        received = self._take(up)
        sent = self._put(down, to_send)
        gdb.resume()
        return sent, received, down.read_at == (down.write_at + sent) % down.size

    def _take(self, up: Ring) -> bytes:
        if up.write_at == up.read_at:
            return b""
        if up.write_at > up.read_at:
            data = self.gdb.read(up.buffer + up.read_at, up.write_at - up.read_at)
        else:  # wrapped
            data = self.gdb.read(up.buffer + up.read_at, up.size - up.read_at) + \
                self.gdb.read(up.buffer, up.write_at)
        self.gdb.write(up.address + READ_OFFSET, struct.pack("<I", up.write_at))
        return data

    def _put(self, down: Ring, data: bytes) -> int:
        room = (down.read_at - down.write_at - 1) % down.size
        data = data[:room]
        if not data:
            return 0
        first = data[:down.size - down.write_at]  # up to the ring's end, the rest from its start
        self.gdb.write(down.buffer + down.write_at, first)
        if len(data) > len(first):
            self.gdb.write(down.buffer, data[len(first):])
        # the bytes first, then the offset that hands them over
        self.gdb.write(down.address + WRITE_OFFSET, struct.pack("<I", (down.write_at + len(data)) % down.size))
        return len(data)
