"""--quant auto: a weight format per matrix (q4, q5, q6 or q8; the norms stay f32)
within a byte budget for the weight image, chosen to keep the summed sensitivity
least: each matrix's measured cost in each format (calibrate.tensor_sensitivity: the
mean KL divergence of the next-token distribution over the calibration text when that
matrix alone is quantized), upgraded greedily by KL saved per byte
(choose_formats)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ..config import Model, tensor_shapes
from ..errors import ToolchainError
from ..progress import phase
from .image import image_size
from .layout import matrix_bytes
from .spec import CompileSpec
from .weights import room_for_weights, stores

AUTO_FORMATS = ("q4", "q5", "q6", "q8")
VALUE_BITS = {"q4": 4, "q5": 5, "q6": 6, "q8": 8}
# the calibration tokens the sensitivities are measured on: each matrix and format is
# a forward pass over them
SENSITIVITY_TOKENS = 256


@dataclass(frozen=True)
class AutoChoice:
    formats: dict[str, str]  # each matrix's
    budget: int              # the image bytes it was chosen for
    image_bytes: int         # the image's, at the context it was chosen at
    predicted_kl: float      # the sum of the chosen formats' sensitivities: the mean KL it predicts
    # what it chose by: each matrix's cost in each format (None: no choice was made)
    sensitivity: dict[str, dict[str, float]] | None = None

    def report(self) -> dict:
        counts = {f: sum(1 for v in self.formats.values() if v == f) for f in AUTO_FORMATS}
        return {"budget_bytes": self.budget, "image_bytes": self.image_bytes, "predicted_kl": self.predicted_kl,
                "matrices": {f: n for f, n in counts.items() if n}}


def with_formats(spec: CompileSpec, formats: dict[str, str]) -> CompileSpec:
    return replace(spec, formats=tuple(formats.items()))


def board_budget(spec: CompileSpec, smallest: int) -> int | None:
    """The weight image's room on the board: the first region it may be stored in (the
    code region first) that holds it all in q4; None on Linux, which has no such limit."""
    if spec.board.os != "baremetal":
        return None
    separate = spec.weights == "separate"
    rooms = [room_for_weights(spec.board, r, separate) for r in stores(spec.board)]
    return next((room for room in rooms if room >= smallest), max(rooms))


def choose(spec: CompileSpec, flash: int | None,
           sensitivity: Callable[[dict[str, tuple[int, int]]], dict[str, dict[str, float]]]) -> AutoChoice:
    """The formats for `spec` (quant "auto", at its context) within `flash` bytes of
    image (None: the board's room), by the matrices' `sensitivity` (called only when
    there is a choice to make): measured (measured_sensitivity) or estimated."""
    shapes = {n: s for n, s in tensor_shapes(spec.config).items() if len(s) == 2}
    q8_layout = spec.kernel.layout("q8")
    sizes = {n: {f: matrix_bytes(*shape, spec.group_size, f, q8_layout) for f in AUTO_FORMATS}
             for n, shape in shapes.items()}
    smallest = image_size(with_formats(spec, {n: "q4" for n in shapes}))
    budget = flash if flash is not None else board_budget(spec, smallest)
    if budget is None:  # no limit: the best there is
        choice = {n: "q8" for n in shapes}
        return AutoChoice(choice, 0, image_size(with_formats(spec, choice)), 0.0)
    if smallest > budget:
        raise ToolchainError(f"{budget:,} bytes cannot hold the weight image even with every matrix in q4 "
                             f"({smallest:,} bytes)")
    cost = sensitivity(shapes)
    floor = sum(s["q4"] for s in sizes.values())
    target = budget - (smallest - floor)  # the matrices' share: the rest as all-q4's
    while True:  # other formats align otherwise: take off what they overran by (all q4 fits)
        choice = choose_formats(cost, sizes, target)
        image = image_size(with_formats(spec, choice))
        if image <= budget:
            return AutoChoice(choice, budget, image, sum(cost[n][f] for n, f in choice.items()), cost)
        target = max(target - (image - budget), floor)


def choose_formats(sensitivity: dict[str, dict[str, float]], sizes: dict[str, dict[str, int]],
                   budget_bytes: int) -> dict[str, str]:
    """A format per tensor keeping the summed sizes within budget_bytes (the caller
    takes the fixed bytes, norms and tables, off first): each starts in its smallest
    format; the upgrade with the best KL gain per byte that still fits is taken
    until none fits or gains."""
    choice = {name: min(sizes[name], key=sizes[name].get) for name in sensitivity}
    used = sum(sizes[name][fmt] for name, fmt in choice.items())
    if used > budget_bytes:
        raise ToolchainError(f"{budget_bytes:,} bytes cannot hold the tensors even in their smallest formats "
                             f"({used:,} bytes)")
    while True:
        best = None
        for name, now in choice.items():
            for fmt, kl in sensitivity[name].items():
                extra = sizes[name][fmt] - sizes[name][now]
                gain = sensitivity[name][now] - kl
                if extra > 0 and gain > 0 and used + extra <= budget_bytes:
                    rate = gain / extra
                    if best is None or rate > best[0]:
                        best = (rate, name, fmt, extra)
        if best is None:
            return choice
        _, name, fmt, extra = best
        choice[name] = fmt
        used += extra


def measured_sensitivity(spec: CompileSpec, model: Model, tokens: list[int], importance: dict[str, np.ndarray]):
    """Each matrix's mean KL in each format, over the first SENSITIVITY_TOKENS of the
    calibration text (calibrate.tensor_sensitivity)."""
    def measure(shapes: dict[str, tuple[int, int]]) -> dict[str, dict[str, float]]:
        from .calibrate import tensor_sensitivity  # torch's: only when there is a choice

        phase(f"measuring {len(shapes)} matrices' sensitivity to {', '.join(AUTO_FORMATS)} "
              f"over {min(len(tokens), SENSITIVITY_TOKENS)} tokens...")
        return tensor_sensitivity(model, tokens[:SENSITIVITY_TOKENS], AUTO_FORMATS, spec.group_size, importance,
                                  spec.tokenizer.bos_id)
    return measure


def estimated_sensitivity(shapes: dict[str, tuple[int, int]]) -> dict[str, dict[str, float]]:
    """Without weights (analyze): a matrix's rounding error, its size times 4^-bits for
    the bits its format stores a weight in."""
    return {n: {f: rows * cols * 4.0 ** -VALUE_BITS[f] for f in AUTO_FORMATS} for n, (rows, cols) in shapes.items()}
