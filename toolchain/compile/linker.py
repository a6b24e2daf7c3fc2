"""The memory map a bare-metal project's linker script (llm.ld, and llm_qemu.ld for a
QEMU stand-in) declares: the code region, the RAM region, each region an arena of
the plan lies in, and the regions the weight image is stored in and read from."""
from __future__ import annotations

from dataclasses import dataclass

from ..boards import Board
from .plan import MemoryPlan


@dataclass(frozen=True)
class LinkRegion:
    label: str    # its name in the script's MEMORY: CODE, RAM, or the region's name in capitals
    name: str     # the board file's
    origin: int
    length: int
    access: str   # rx, rwx, rw


def region_label(board: Board, name: str) -> str:
    return "CODE" if name == board.code_region else "RAM" if name == board.ram_region else name.upper()


def memory_map(board: Board, plan: MemoryPlan, emulated: bool) -> list[LinkRegion]:
    """The regions llm.ld (emulated: llm_qemu.ld) declares, code and RAM first. The
    code region of a separate weight image's store ends where its partition begins,
    so firmware that grows into it fails to link."""
    w = plan.weights
    names = [board.code_region, board.ram_region, *(a.region for a in plan.arenas if a.section)]
    if not w.separate:
        names += [w.store, w.run]
    elif w.copied:
        names.append(w.run)
    out: list[LinkRegion] = []
    for name in dict.fromkeys(n for n in names if n):
        region = board.region(name)
        origin, length = region.origin, region.length
        if emulated:
            origin, length = board.stand_in(name)
        if w.separate and name == w.store == board.code_region:
            length = min(length, w.offset)
        access = "rx" if name == board.code_region else "rwx" if name == board.ram_region else \
            "r" if region.kind in ("flash", "xip") else "rw"
        out.append(LinkRegion(region_label(board, name), name, origin, length, access))
    return out
