"""Quantization: symmetric int8 with one scale per group of columns, or plain f32.

Each row of a [rows, cols] matrix is cut into groups of `group_size` columns; when
group_size does not divide cols the last group of every row is simply shorter
(stories260K's w2 has cols = 172 = 64 + 64 + 44), so no group size is shrunk
behind the user's back. The runtime quantizes activations with the same groups.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from .config import Model
from .errors import ToolchainError

QUANT_MODES = ("f32", "q8")
PROGRESS_PARAMS = 10_000_000  # models above this size show progress bars


@dataclass
class QuantizedMatrix:
    q: np.ndarray       # int8 [rows, cols]
    scales: np.ndarray  # float32 [rows, n_groups]
    group_size: int

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
    tensors: dict[str, np.ndarray | QuantizedMatrix]  # matrices quantized, norms f32
    errors: list[TensorError]

    def worst(self) -> TensorError | None:
        return max(self.errors, key=lambda e: e.rel_rms, default=None)


def n_groups(cols: int, group_size: int) -> int:
    return -(-cols // group_size)


def quantize_q8(w: np.ndarray, group_size: int) -> QuantizedMatrix:
    rows, cols = w.shape
    padded = np.zeros((rows, n_groups(cols, group_size) * group_size), dtype=np.float32)
    padded[:, :cols] = w
    groups = padded.reshape(rows, -1, group_size)
    scales = (np.abs(groups).max(axis=2) / 127.0).astype(np.float32)
    safe = np.where(scales > 0, scales, 1.0)[:, :, None]
    q = np.clip(np.rint(groups / safe), -127, 127).astype(np.int8)
    return QuantizedMatrix(q.reshape(rows, -1)[:, :cols].copy(), scales, group_size)


def quantize_model(model: Model, mode: str = "q8", group_size: int = 64) -> QuantizedModel:
    if mode not in QUANT_MODES:
        raise ToolchainError(f"unknown quantization {mode!r} (choose from {', '.join(QUANT_MODES)})")
    if group_size < 1:
        raise ToolchainError(f"--group-size must be at least 1, not {group_size}")
    tensors: dict[str, np.ndarray | QuantizedMatrix] = {}
    errors: list[TensorError] = []
    big = model.config.n_params() > PROGRESS_PARAMS
    for name, w in tqdm(model.tensors.items(), desc="quantize", unit="tensor",
                        disable=not big or mode == "f32", leave=False):
        if mode == "f32" or w.ndim != 2:
            tensors[name] = w
            continue
        qm = quantize_q8(w, group_size)
        diff = w - qm.dequantize()
        norm = float(np.linalg.norm(w))
        errors.append(TensorError(name, float(np.abs(diff).max()),
                                  float(np.linalg.norm(diff)) / norm if norm > 0 else 0.0))
        tensors[name] = qm
    return QuantizedModel(model, mode, group_size, tensors, errors)
