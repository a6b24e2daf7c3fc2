"""Where a bare-metal image keeps its weights and where it reads them from.

The weight image is stored in a read-only tier: the internal flash beside the code
when both fit, else the fastest memory-mapped external flash (QSPI/OSPI XIP) that
holds it. When a RAM region the weights fit in reads faster than that flash (SDRAM
beside a QSPI flash), start-up copies them there and the forward pass reads the
copy. `compile --weights-in REGION` overrides the choice: a flash region to store
and read them in, a RAM region to copy them to.

With `--weights separate` the firmware holds no weights: the image is flashed on its
own at the store region's weights partition (the region's `weights_offset` in the
board file; in the code region 128 KB in by default, the firmware's room, a sector
boundary on every board's flash; elsewhere its start), and the firmware reads it
there by address, so one firmware runs any image of its shape.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..boards import Board, MemoryRegion
from ..choices import WEIGHTS_MODES
from ..errors import ToolchainError
from .image import image_size

if TYPE_CHECKING:
    from .spec import CompileSpec

# What code and the C library take in flash beside the weight image (measured:
# 12 KB on Cortex-M4, 22 KB on Cortex-M0+ with soft float); an estimate with room.
CODE_ESTIMATE = 32 * 1024
# A separate image's default offset in the code region: the firmware's room
FIRMWARE_PARTITION = 128 * 1024
READ_ONLY = ("flash", "xip")


@dataclass(frozen=True)
class WeightPlacement:
    store: str        # the region the image is flashed to ("" on Linux, or when nothing holds it)
    run: str          # the region the forward pass reads it from: store, or where start-up copies it
    offset: int       # where in `store` it begins: a separate image's partition, else 0 (the linker's choice)
    nbytes: int
    separate: bool

    @property
    def copied(self) -> bool:
        return self.run != self.store

    def held_in(self, region: str) -> int:
        """The bytes a start-up copy of the image takes in RAM region `region`."""
        return self.nbytes if self.copied and self.run == region else 0

    def address(self, board: Board, emulated: bool = False) -> int:
        """Where the image is flashed, when not beside the code (emulated: where QEMU's
        stand-in loads it)."""
        region = board.region(self.store)
        return (board.stand_in(region.name)[0] if emulated else region.origin) + self.offset

    def report(self, board: Board) -> dict:
        out = {"mode": "separate" if self.separate else "linked", "bytes": self.nbytes,
               "stored_in": self.store, "read_from": self.run}
        if self.store and (self.separate or self.store != board.code_region):
            out["address"] = self.address(board)
            out["emulated_address"] = self.address(board, emulated=True)
        return out


def partition_offset(board: Board, region: MemoryRegion) -> int:
    """Where a separate weight image begins in `region`."""
    if region.weights_offset is not None:
        return region.weights_offset
    return FIRMWARE_PARTITION if region.name == board.code_region else 0


def room_for_weights(board: Board, region: MemoryRegion, separate: bool) -> int:
    """The bytes of `region` a weight image may take: in the code region, what the
    code leaves (a separate image: what its partition leaves); elsewhere all of it
    (from the partition on)."""
    if separate:
        return region.length - partition_offset(board, region)
    return region.length - (CODE_ESTIMATE if region.name == board.code_region else 0)


def stores(board: Board) -> list[MemoryRegion]:
    """The read-only regions a weight image may be flashed to, in the order tried:
    the code region, then external flash, the fastest first."""
    xip = sorted((r for r in board.memory if r.kind == "xip"), key=lambda r: -board.read_mb_s_of(r.name))
    return [board.region(board.code_region), *xip]


def place_weights(spec: CompileSpec, nbytes: int | None = None) -> WeightPlacement:
    """Where `spec`'s image is stored and read (bare metal; Linux reads it from the
    binary or a file). A placement whose store is "" holds it nowhere: it does not fit."""
    board = spec.board
    nbytes = image_size(spec) if nbytes is None else nbytes
    separate = spec.weights == "separate"
    if board.os != "baremetal":
        return WeightPlacement("", "", 0, nbytes, separate)
    fitting = [r for r in stores(board) if nbytes <= room_for_weights(board, r, separate)]
    store = fitting[0] if fitting else None
    run = store
    if spec.weights_in:
        wanted = board.region(spec.weights_in)
        if wanted.kind in READ_ONLY:
            store = run = wanted if wanted in fitting else None
        else:
            run = wanted
    elif store is not None:  # copied to external RAM at boot when that reads faster
        faster = [r for r in board.memory if r.kind == "external_ram" and r.length >= nbytes
                  and board.read_mb_s_of(r.name) > board.read_mb_s_of(store.name)]
        if faster:
            run = max(faster, key=lambda r: board.read_mb_s_of(r.name))
    if store is None:
        return WeightPlacement("", "", 0, nbytes, separate)
    offset = partition_offset(board, store) if separate else 0
    return WeightPlacement(store.name, run.name, offset, nbytes, separate)


def check_weights_options(board: Board, weights: str, weights_in: str) -> None:
    """Refuses --weights and --weights-in values the board cannot take, in one line."""
    if weights not in WEIGHTS_MODES:
        raise ToolchainError(f"--weights must be one of {', '.join(WEIGHTS_MODES)}, not {weights!r}")
    if not weights_in:
        return
    if board.os != "baremetal":
        raise ToolchainError(f"--weights-in is for bare-metal boards: {board.name} runs Linux "
                             f"(its weights are read from the binary, or a file with --weights separate)")
    names = [r.name for r in board.memory]
    if weights_in not in names:
        raise ToolchainError(f"--weights-in {weights_in}: board {board.name} has no such memory region "
                             f"(it has {', '.join(names)})")


def no_room(board: Board, image_bytes: int, separate: bool, quant: str) -> str | None:
    """Why no flash region of `board` holds a weight image of `image_bytes`, in
    words, or None when one does."""
    if board.os != "baremetal":
        return None
    rooms = {r.name: room_for_weights(board, r, separate) for r in stores(board)}
    if image_bytes <= max(rooms.values()):
        return None
    where = ", ".join(f"{name} {kib(n)}" for name, n in rooms.items())
    fewer = "fewer bits (--quant q4) or " if quant != "q4" else ""
    return (f"its weight image needs {kib(image_bytes)} and no flash region holds it (room for weights: "
            f"{where}); {fewer}a smaller model might")


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KB" if n < 1 << 20 else f"{n / (1 << 20):,.1f} MB"
