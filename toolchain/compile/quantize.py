"""Quantization: symmetric int8 with one scale per group of columns (q8), the
k-quant formats q4, q5 and q6 (kquant.py: 32-column sub-blocks with integer scales
in groups with half-float scales), or plain f32.

Each row of a [rows, cols] matrix is cut into groups of `group_size` columns; when
group_size does not divide cols the last group of every row is simply shorter
(stories260K's w2 has cols = 172 = 64 + 64 + 44), so no group size is shrunk
behind the user's back. The runtime quantizes activations with the same groups.
A q8 scale below layout.MIN_SCALE is taken as 0 (the group's weights are below
1e-17 anyway).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import DEFAULT_GROUP_SIZE, QUANT_MODES
from ..config import Model, ModelConfig
from ..errors import ToolchainError
from ..progress import bar
from .kquant import FORMATS as KQUANT_FORMATS, KQuantMatrix, quantize_kmatrix
from .layout import KQUANT_SUB, MIN_SCALE

LEVELS = {"q8": (-127, 127)}  # the range of a quantized value
# q4, q5, q6: the widest group whose integer sums stay within int32 (kquant.h)
KQUANT_MAX_GROUP = 1024
PROGRESS_PARAMS = 10_000_000  # models above this size show progress bars


@dataclass
class QuantizedMatrix:
    q: np.ndarray       # int8 [rows, cols], values within LEVELS[mode]
    scales: np.ndarray  # float32 [rows, n_groups]
    group_size: int
    mode: str = "q8"

    def dequantize(self) -> np.ndarray:
        rows, cols = self.q.shape
        expanded = np.repeat(self.scales, self.group_size, axis=1)[:, :cols]
        return self.q.astype(np.float32) * expanded


@dataclass
class TensorError:
    name: str
    max_abs: float      # largest |w - dequantized(w)|
    rel_rms: float      # ||w - dequantized(w)|| / ||w||


@dataclass
class QuantizedModel:
    model: Model
    mode: str
    group_size: int
    tensors: dict[str, np.ndarray | QuantizedMatrix | KQuantMatrix]  # matrices quantized, norms f32
    errors: list[TensorError]

    @property
    def formats(self) -> dict[str, str]:
        """Each matrix's format (the runtime's Matrix.format)."""
        return {name: t.fmt if isinstance(t, KQuantMatrix) else t.mode if isinstance(t, QuantizedMatrix) else "f32"
                for name, t in self.tensors.items() if not isinstance(t, np.ndarray) or t.ndim == 2}

    def worst(self) -> TensorError | None:
        return max(self.errors, key=lambda e: e.rel_rms, default=None)


def n_groups(cols: int, group_size: int) -> int:
    return -(-cols // group_size)


def _round(groups: np.ndarray, scales: np.ndarray, mode: str) -> np.ndarray:
    lo, hi = LEVELS[mode]
    safe = np.where(scales > 0, scales, 1.0)[:, :, None]
    return np.clip(np.rint(groups / safe), lo, hi)


def quantize_matrix(w: np.ndarray, group_size: int, mode: str = "q8") -> QuantizedMatrix:
    """q8: one scale max|w| / 127 per group, values rounded to nearest."""
    rows, cols = w.shape
    padded = np.zeros((rows, n_groups(cols, group_size) * group_size), dtype=np.float32)
    padded[:, :cols] = w
    groups = padded.reshape(rows, -1, group_size)
    amax = np.abs(groups).max(axis=2)
    scales = (amax / np.float32(127)).astype(np.float32)
    scales = np.where(scales < MIN_SCALE, np.float32(0), scales)  # a group that small is zeros
    q = _round(groups, scales, mode).astype(np.int8)
    return QuantizedMatrix(q.reshape(rows, -1)[:, :cols].copy(), scales, group_size, mode)


def check_group_size(mode: str, group_size: int, config: ModelConfig | None = None) -> None:
    """A group size the quantizer can take; with a config, at most its widest row or the
    default (a larger group is a row padded with zeros: a group of 2^31 padded every row
    to 2^31 columns). f32 has no groups."""
    if mode not in QUANT_MODES:
        raise ToolchainError(f"unknown quantization {mode!r} (choose from {', '.join(QUANT_MODES)})")
    if group_size < 1:
        raise ToolchainError(f"--group-size must be at least 1, not {group_size}")
    if mode in (*KQUANT_FORMATS, "auto") and (group_size % KQUANT_SUB or group_size > KQUANT_MAX_GROUP):
        raise ToolchainError(f"--group-size {group_size} does not suit {mode}: its groups are made of "
                             f"{KQUANT_SUB}-column sub-blocks, up to {KQUANT_MAX_GROUP} columns (a multiple of "
                             f"{KQUANT_SUB})")
    if config is not None and mode != "f32":
        widest = max(config.dim, config.hidden_dim)
        if group_size > max(widest, DEFAULT_GROUP_SIZE[mode]):
            raise ToolchainError(f"--group-size {group_size} is wider than the model's widest row "
                                 f"({widest} columns)")


def quantize_model(model: Model, mode: str = "q8", group_size: int = 64,
                   importance: dict[str, np.ndarray] | None = None,
                   formats: dict[str, str] | None = None) -> QuantizedModel:
    """Every matrix in `mode`, or with mode "auto" in its format of `formats` (q4, q5,
    q6: weighted by `importance`, a calibration's mean square of each matrix's input
    columns, calibrate.calibration_importance)."""
    check_group_size(mode, group_size, model.config)
    importance, formats = importance or {}, formats or {}
    tensors: dict[str, np.ndarray | QuantizedMatrix | KQuantMatrix] = {}
    errors: list[TensorError] = []
    big = model.config.n_params() > PROGRESS_PARAMS
    for name, w in bar(model.tensors.items(), desc=f"quantize to {mode}", unit="tensor",
                       total=len(model.tensors), disable=not big or mode == "f32", leave=False):
        fmt = formats.get(name, mode)
        if fmt == "f32" or w.ndim != 2:
            tensors[name] = w
            continue
        qm = quantize_kmatrix(w, fmt, group_size, importance.get(name)) if fmt in KQUANT_FORMATS \
            else quantize_matrix(w, group_size, fmt)
        diff = w - qm.dequantize()
        norm = float(np.linalg.norm(w))
        errors.append(TensorError(name, float(np.abs(diff).max()),
                                  float(np.linalg.norm(diff)) / norm if norm > 0 else 0.0))
        tensors[name] = qm
    return QuantizedModel(model, mode, group_size, tensors, errors)
