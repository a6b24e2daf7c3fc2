"""Does a model fit a board? Flash and RAM needs from the image layout and the
memory plan, and the largest context that fits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..boards import Board
from ..choices import DEFAULT_BATCH, MAX_CONTEXT
from .image import image_size
from .plan import MemoryPlan, plan_fits, plan_memory
from .weights import CODE_ESTIMATE

if TYPE_CHECKING:
    from .spec import CompileSpec

# On Linux, images this large are read from a copy in 2 MB pages (runtime_c/image.c).
IMAGE_COPY_BYTES = 16 << 20


def image_copied(board: Board, image_bytes: int) -> bool:
    return board.os == "linux" and image_bytes >= IMAGE_COPY_BYTES


@dataclass(frozen=True)
class Fit:
    context: int
    plan: MemoryPlan
    image_bytes: int
    flash_needed: int | None   # bare metal: image + code estimate; None where storage is a disk
    flash_limit: int | None
    ram_needed: int            # Linux: the image is in RAM too
    ram_limit: int             # 0: unknown (host)
    fits: bool


def assess(spec: CompileSpec) -> Fit:
    """Flash and RAM `spec` needs on its board, against the board's limits."""
    board, context = spec.board, spec.context
    plan = plan_memory(spec)
    image = image_size(spec)
    if board.os == "baremetal":
        # the code region holds the code, and the weights unless they are stored elsewhere
        w = plan.weights
        flash = CODE_ESTIMATE + (image if w.store == board.code_region and not w.separate else 0)
        limit = w.offset if w.separate and w.store == board.code_region else board.flash_bytes
        fits = bool(w.store) and flash <= limit and plan_fits(plan, board)
        ram_limit = sum(r.length for r in board.memory if r.kind in ("ram", "external_ram")
                        and (r.name == board.ram_region or any(a.region == r.name for a in plan.arenas)))
        ram = plan.ram_bytes + (w.nbytes if w.copied else 0)  # with the weights' copy, where made
        return Fit(context, plan, image, flash, limit, ram, ram_limit, fits)
    ram = image + plan.ram_bytes  # the image once: mapped from a file, or moved to its copy (runtime_c/image.c)
    return Fit(context, plan, image, None, None, ram, board.ram_bytes,
               not board.ram_bytes or ram <= board.ram_bytes)


def largest(lo: int, hi: int, fits) -> int:
    """The largest n in lo..hi for which fits(n) (true up to some n, false after), or lo."""
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def largest_context(spec: CompileSpec, cap: int = MAX_CONTEXT) -> int:
    """The largest context for `spec` (at most max_seq_len and `cap`) that fits its
    board, or 0."""
    return largest(0, min(spec.config.max_seq_len, cap), lambda n: assess(spec.at(n)).fits)


def largest_batch(spec: CompileSpec, cap: int = DEFAULT_BATCH) -> int:
    """The largest batch for `spec` (at most `cap` and its context) whose activations
    fit its board beside everything else, or 1."""
    return largest(1, min(cap, spec.context), lambda n: assess(spec.batched(n)).fits)
