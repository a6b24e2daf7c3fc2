"""RoPE's tables and Llama 3.1's frequency scaling, in numpy: the compiler stores
these tables in the weight image and the PyTorch reference (model.py) rotates by
the same numbers. Kept apart from model.py so that compiling never imports torch."""
from __future__ import annotations

import numpy as np

from .config import ModelConfig


def rope_table(config: ModelConfig, n_positions: int, local: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of every RoPE angle, [n_positions, head_dim / 2], computed in float64
    and rounded to float32. The compiler stores these very tables in the weight image,
    so the reference and every board rotate by the same numbers. `local`: the sliding
    layers' own table (config.rope_local_theta, unscaled)."""
    half = config.head_dim // 2
    theta = config.rope_local_theta if local else config.rope_theta
    freqs = theta ** (-2.0 * np.arange(half, dtype=np.float64) / config.head_dim)
    if config.rope_freq_factors and not local:
        freqs = freqs / np.asarray(config.rope_freq_factors, dtype=np.float64)
    angles = np.outer(np.arange(n_positions, dtype=np.float64), freqs)
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def llama3_rope_factors(head_dim: int, rope_theta: float, factor: float, low_freq_factor: float,
                        high_freq_factor: float, original_context: int) -> tuple[float, ...]:
    """Llama 3.1's RoPE scaling as a divisor per frequency (what rope_table applies):
    wavelengths shorter than original_context / high_freq_factor keep their frequency,
    those longer than original_context / low_freq_factor are slowed by `factor`, and
    the band between blends the two smoothly in 1 / wavelength."""
    freqs = rope_theta ** (-2.0 * np.arange(head_dim // 2, dtype=np.float64) / head_dim)
    wavelen = 2 * np.pi / freqs
    smooth = np.clip((original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor),
                     0.0, 1.0)
    scaled = (1 - smooth) * freqs / factor + smooth * freqs  # smooth 0: slowed, 1: kept
    return tuple(float(f) for f in freqs / scaled)
