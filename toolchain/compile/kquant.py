"""k-quant weight formats q4, q5, q6 (docs/kquant_spec.md): super-blocks ("groups") of G
columns, sub-blocks of 32 with 6- or 8-bit sub-scales, f16 group scales.

This module is the numpy reference the C kernels are held to: the quantizer, the
byte layout (pack/unpack), the integer-exact dot product with its float32 epilogue
(calibrate.py chooses what the quantizer weighs, and a format per tensor).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ToolchainError
from .layout import KQUANT_HAS_MIN, KQUANT_SPAN_BYTES, MIN_SCALE, group_lengths, kquant_group_bytes

FORMATS = ("q4", "q5", "q6")
SUB = 32                                        # columns per sub-block
QMAX = {"q4": 15, "q5": 31, "q6": 31}           # largest value
QMIN = {"q4": 0, "q5": 0, "q6": -32}            # smallest value
SCALE_MAX = {"q4": 63, "q5": 63, "q6": 255}     # largest sub-block scale (and q4/q5 min)
VALUE_BYTES = KQUANT_SPAN_BYTES                 # bytes of one 32-value sub-block span
HAS_MIN = KQUANT_HAS_MIN
IMPORTANCE_FLOOR = 1e-6                         # of the mean importance, so no column is ignored
ASYM_STEPS = np.arange(21, dtype=np.float32) * np.float32(0.1) - np.float32(1)   # make_qkx2's rmin=-1, rdelta=0.1
SYM_STEPS = np.arange(-9, 10, dtype=np.float32) * np.float32(0.1)                 # make_qx_quants' candidates


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ToolchainError(f"unknown k-quant format {fmt!r} (choose from {', '.join(FORMATS)})")


def n_sub(length: int) -> int:
    return -(-length // SUB)


def group_bytes(fmt: str, length: int) -> int:
    """Bytes of one group of `length` columns: values, sub-scales (and mins), f16 d (and dmin)."""
    check_format(fmt)
    return sum(kquant_group_bytes(fmt, length))


def _lengths(cols: int, group_size: int) -> list[int]:
    if group_size < cols and group_size % SUB:
        raise ToolchainError(f"group size {group_size} is not a multiple of {SUB} (nor the row length {cols})")
    return group_lengths(cols, min(group_size, cols))


def matrix_bytes(fmt: str, rows: int, cols: int, group_size: int) -> int:
    return rows * sum(group_bytes(fmt, n) for n in _lengths(cols, group_size))


@dataclass
class KQuantMatrix:
    fmt: str
    group_size: int
    q: np.ndarray        # [rows, cols]: uint8 (q4/q5) or int8 (q6) values
    scales: np.ndarray   # uint8 [rows, n_groups, subs per full group]; 0 past a short group's sub-blocks
    mins: np.ndarray | None   # uint8 like scales (q4/q5), None for q6
    d: np.ndarray        # float16 [rows, n_groups]
    dmin: np.ndarray | None   # float16 [rows, n_groups] (q4/q5), None for q6

    @property
    def shape(self) -> tuple[int, int]:
        return self.q.shape

    def dequantize(self) -> np.ndarray:
        """float32 weights, each evaluated in float32 as ((d * sc) * q) - (dmin * m),
        d and dmin converted exactly from f16; q6 is (d * sc) * q. The dot product
        never uses this (it sums integers first, see kquant_dot); it is for the
        simulation and the error figures."""
        rows, cols = self.q.shape
        step = (self.d.astype(np.float32)[:, :, None] * self.scales.astype(np.float32))
        w = _to_cols(step, cols, self.group_size) * self.q.astype(np.float32)
        if self.mins is not None:
            w = w - _to_cols(self.dmin.astype(np.float32)[:, :, None] * self.mins.astype(np.float32),
                             cols, self.group_size)
        return w.astype(np.float32)

    def pack(self) -> np.ndarray:
        """The spec's bytes (uint8): rows one after another, each its groups in order."""
        rows, cols = self.q.shape
        grid = _grid(self.q.astype(np.int16), self.group_size)
        parts, first = [], 0
        for length, count in _runs(cols, self.group_size):
            s = n_sub(length)
            sel = slice(first, first + count)
            vals = _pack_values(self.fmt, grid[:, sel, :s])
            scales = self.scales[:, sel, :s]
            if self.mins is not None:
                sub = _pack_6bit(np.concatenate([scales, self.mins[:, sel, :s]], axis=2))
                tail = [self.d[:, sel], self.dmin[:, sel]]
            else:
                sub, tail = scales, [self.d[:, sel]]
            f16 = [t.astype("<f2")[:, :, None].view(np.uint8) for t in tail]
            parts.append(np.concatenate([vals.reshape(rows, count, -1), sub, *f16], axis=2).reshape(rows, -1))
            first += count
        return np.concatenate(parts, axis=1).reshape(-1)


def _runs(cols: int, group_size: int) -> list[tuple[int, int]]:
    """The row's groups as (length, count): the full groups, then a short last one."""
    lengths = _lengths(cols, group_size)
    full = lengths[0]
    count = sum(1 for n in lengths if n == full)
    return [(full, count)] + ([(lengths[-1], 1)] if lengths[-1] != full else [])


def _grid(a: np.ndarray, group_size: int) -> np.ndarray:
    """[rows, cols] -> [rows, n_groups, n_sub(G), 32], zero-padded: the last group and
    the last sub-block of each group may be short."""
    rows, cols = a.shape
    g = min(group_size, cols)
    ng = -(-cols // g)
    out = np.zeros((rows, ng, n_sub(g) * SUB), dtype=a.dtype)
    padded = np.zeros((rows, ng * g), dtype=a.dtype)
    padded[:, :cols] = a
    out[:, :, :g] = padded.reshape(rows, ng, g)
    return out.reshape(rows, ng, n_sub(g), SUB)


def _to_cols(per_sub: np.ndarray, cols: int, group_size: int) -> np.ndarray:
    """Per-sub-block numbers [rows, n_groups, n_sub] spread to [rows, cols]."""
    rows, ng, s = per_sub.shape
    g = min(group_size, cols)
    spread = np.repeat(per_sub, SUB, axis=2)[:, :, :g].reshape(rows, ng * g)
    return spread[:, :cols]


def _from_grid(grid: np.ndarray, cols: int, group_size: int) -> np.ndarray:
    rows, ng = grid.shape[:2]
    g = min(group_size, cols)
    return grid.reshape(rows, ng, -1)[:, :, :g].reshape(rows, ng * g)[:, :cols]


def _nibbles(v: np.ndarray) -> np.ndarray:
    """[..., 32] values 0..15 -> [..., 16] bytes: byte k = v[k] | v[k+16] << 4."""
    return (v[..., :16] | v[..., 16:] << 4).astype(np.uint8)


def _pack_values(fmt: str, q: np.ndarray) -> np.ndarray:
    """[rows, groups, subs, 32] values -> [rows, groups, subs, VALUE_BYTES] bytes."""
    if fmt == "q4":
        return _nibbles(q)
    if fmt == "q5":
        high = np.packbits((q >> 4 & 1).astype(np.uint8), axis=-1, bitorder="little")  # a little-endian uint32
        return np.concatenate([_nibbles(q & 15), high], axis=-1)
    u = q + 32
    h = u >> 4
    high = (h[..., 0:8] | h[..., 8:16] << 2 | h[..., 16:24] << 4 | h[..., 24:32] << 6).astype(np.uint8)
    return np.concatenate([_nibbles(u & 15), high], axis=-1)


def _pack_6bit(values: np.ndarray) -> np.ndarray:
    """[..., n] values 0..63 -> [..., ceil(6n / 8)] bytes, value i at bits [6i, 6i + 6) little-endian."""
    bits = (values[..., None] >> np.arange(6)) & 1
    bits = bits.reshape(*values.shape[:-1], -1).astype(np.uint8)
    return np.packbits(bits, axis=-1, bitorder="little")


def _unpack_6bit(data: np.ndarray, n: int) -> np.ndarray:
    bits = np.unpackbits(data, axis=-1, bitorder="little")[..., :6 * n]
    bits = bits.reshape(*data.shape[:-1], n, 6).astype(np.uint8)
    return (bits << np.arange(6, dtype=np.uint8)).sum(axis=-1, dtype=np.uint8)


def _unpack_values(fmt: str, data: np.ndarray) -> np.ndarray:
    """[..., VALUE_BYTES] -> [..., 32] values (int16)."""
    b = data.astype(np.int16)
    low = np.concatenate([b[..., :16] & 15, b[..., :16] >> 4], axis=-1)
    if fmt == "q4":
        return low
    if fmt == "q5":
        high = np.unpackbits(data[..., 16:20], axis=-1, bitorder="little").astype(np.int16)
        return low | high << 4
    h = b[..., 16:24]
    high = np.concatenate([h & 3, h >> 2 & 3, h >> 4 & 3, h >> 6 & 3], axis=-1)
    return (low | high << 4) - 32


def unpack(data: np.ndarray | bytes, fmt: str, rows: int, cols: int, group_size: int) -> KQuantMatrix:
    """The KQuantMatrix whose pack() gives `data` (the spec's bytes read back)."""
    check_format(fmt)
    data = np.frombuffer(bytes(data), dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
    if data.size != matrix_bytes(fmt, rows, cols, group_size):
        raise ToolchainError(f"{data.size} bytes are not a {rows}x{cols} {fmt} matrix of group {group_size}")
    g = min(group_size, cols)
    ng, full_subs = -(-cols // g), n_sub(g)
    grid = np.zeros((rows, ng, full_subs, SUB), dtype=np.int16)
    scales = np.zeros((rows, ng, full_subs), dtype=np.uint8)
    mins = np.zeros_like(scales) if HAS_MIN[fmt] else None
    d = np.zeros((rows, ng), dtype=np.float16)
    dmin = np.zeros_like(d) if HAS_MIN[fmt] else None
    row_bytes = data.reshape(rows, -1)
    first = offset = 0
    for length, count in _runs(cols, group_size):
        s, gb = n_sub(length), group_bytes(fmt, length)
        block = row_bytes[:, offset:offset + count * gb].reshape(rows, count, gb)
        sel = slice(first, first + count)
        vb = VALUE_BYTES[fmt] * s
        grid[:, sel, :s] = _unpack_values(fmt, block[:, :, :vb].reshape(rows, count, s, -1))
        if HAS_MIN[fmt]:
            sb = -(-12 * s // 8)
            six = _unpack_6bit(block[:, :, vb:vb + sb], 2 * s)
            scales[:, sel, :s], mins[:, sel, :s] = six[:, :, :s], six[:, :, s:]
            d[:, sel] = block[:, :, vb + sb:vb + sb + 2].copy().view("<f2")[:, :, 0]
            dmin[:, sel] = block[:, :, vb + sb + 2:vb + sb + 4].copy().view("<f2")[:, :, 0]
        else:
            scales[:, sel, :s] = block[:, :, vb:vb + s]
            d[:, sel] = block[:, :, vb + s:vb + s + 2].copy().view("<f2")[:, :, 0]
        first += count
        offset += count * gb
    q = _from_grid(grid, cols, group_size).astype(np.int8 if fmt == "q6" else np.uint8)
    return KQuantMatrix(fmt, group_size, q, scales, mins, d, dmin)


# ---- the quantizer ----

def _weighted_fit(w, c, lv, with_min: bool):
    """Weighted least squares of w ~ s * lv + b over the last axis (b = 0 without a
    min, b <= 0 with one: the stored min is -b); returns s, b and the error."""
    sw = c.sum(-1)
    sl, sll, sx, slx = (c * lv).sum(-1), (c * lv * lv).sum(-1), (c * w).sum(-1), (c * lv * w).sum(-1)
    safe = np.where(sll > 0, sll, 1)
    s_only = np.where(sll > 0, slx / safe, 0)
    if with_min:
        det = sw * sll - sl * sl
        ok = det > 0
        det = np.where(ok, det, 1)
        s = (sw * slx - sx * sl) / det
        b = (sll * sx - sl * slx) / det
        s, b = np.where(ok & (b <= 0), s, s_only), np.where(ok & (b <= 0), b, 0)
    else:
        s, b = s_only, np.zeros_like(s_only)
    err = (c * (s[..., None] * lv + b[..., None] - w) ** 2).sum(-1)
    return s, b, err


def _sub_scales(w, c, fmt: str, steps: np.ndarray):
    """Per sub-block float scale s >= 0 and min mn >= 0 (w ~ s * q - mn) by the
    candidate search of llama.cpp's make_qkx2 (q4/q5) / make_qx_quants (q6)."""
    lo, hi = QMIN[fmt], QMAX[fmt]
    best_s = np.zeros(w.shape[:-1], dtype=np.float64)
    best_b = np.zeros_like(best_s)
    best_err = np.full_like(best_s, np.inf)
    if HAS_MIN[fmt]:
        # padding columns have weight 0 in c but must not widen the range
        wmin = np.minimum(np.where(c > 0, w, np.inf).min(-1), 0)
        wmin = np.where(np.isfinite(wmin), wmin, 0)
        span = np.where(c > 0, w, -np.inf).max(-1) - wmin
        span = np.where(np.isfinite(span) & (span > 0), span, 0)
        safe = np.where(span > 0, span, 1)
        for step in steps:
            lv = np.clip(np.rint((hi + step) / safe[..., None] * (w - wmin[..., None])), lo, hi)
            s, b, err = _weighted_fit(w, c, lv, True)
            better = (err < best_err) & (span > 0)
            best_s, best_b = np.where(better, s, best_s), np.where(better, b, best_b)
            best_err = np.where(better, err, best_err)
        best_b = np.where(span == 0, wmin, best_b)  # a flat sub-block: all of it in the min
    else:
        idx = np.abs(w).argmax(-1)
        peak = np.take_along_axis(w, idx[..., None], -1)[..., 0]
        amax = np.abs(peak)
        top = np.where(peak < 0, -lo, hi)   # the side that holds the peak: -32 reaches further
        safe = np.where(amax > 0, amax, 1)
        for step in steps:
            lv = np.clip(np.rint(((top + step) / safe)[..., None] * w), lo, hi)
            s, b, err = _weighted_fit(w, c, lv, False)
            better = (err < best_err) & (amax > 0) & (s >= 0)
            best_s, best_err = np.where(better, s, best_s), np.where(better, err, best_err)
    return np.maximum(best_s, 0), np.maximum(-best_b, 0)


def _f16(x: np.ndarray) -> np.ndarray:
    """Rounded to a finite f16 >= 0; a value below MIN_SCALE (or an f16 subnormal turned 0) is 0."""
    x = np.where(x < MIN_SCALE, 0, x)
    return np.minimum(x, np.finfo(np.float16).max).astype(np.float16)


def _round_values(w, step, low, fmt: str):
    """Values for the stored scales: q = clip(round((w + dmin*m) / (d*sc)))."""
    safe = np.where(step > 0, step, 1)
    q = np.rint((w + low) / safe)
    return np.where(step > 0, np.clip(q, QMIN[fmt], QMAX[fmt]), 0)


def _group_scales(s, mn, w, c, fmt, refine: bool):
    """From float sub-block scales to the stored numbers: f16 d/dmin first, then the
    integer sub-scales and values for them; `refine` then refits d/dmin by weighted
    least squares for the chosen integers, keeping a group's refit if it is better."""
    top = SCALE_MAX[fmt]
    d = _f16(s.max(-1) / top).astype(np.float64)
    dmin = _f16(mn.max(-1) / top).astype(np.float64) if HAS_MIN[fmt] else np.zeros_like(d)

    def integers(d, dmin):
        sc = np.clip(np.rint(s / np.where(d > 0, d, 1)[..., None]), 0, top) * (d > 0)[..., None]
        m = np.clip(np.rint(mn / np.where(dmin > 0, dmin, 1)[..., None]), 0, top) * (dmin > 0)[..., None]
        step = (d[..., None] * sc)[..., None]
        low = (dmin[..., None] * m)[..., None]
        q = _round_values(w, step, low, fmt)
        err = (c * (step * q - low - w) ** 2).sum((-1, -2))
        return sc, m, q, err

    sc, m, q, err = integers(d, dmin)
    if refine:
        # w ~ d * (sc q) - dmin * m over the whole group
        a = (sc[..., None] * q).reshape(*q.shape[:2], -1)
        b = np.broadcast_to(m[..., None], q.shape).reshape(a.shape)
        ww, cc = w.reshape(a.shape), np.broadcast_to(c, w.shape).reshape(a.shape)
        if HAS_MIN[fmt]:
            saa, sab, sbb = (cc * a * a).sum(-1), (cc * a * b).sum(-1), (cc * b * b).sum(-1)
            saw, sbw = (cc * a * ww).sum(-1), (cc * b * ww).sum(-1)
            det = saa * sbb - sab * sab
            ok = det > 0
            det = np.where(ok, det, 1)
            d2 = np.where(ok, (saw * sbb - sbw * sab) / det, d)
            dmin2 = np.where(ok, (saw * sab - sbw * saa) / det, dmin)
        else:
            saa = (cc * a * a).sum(-1)
            d2 = np.where(saa > 0, (cc * a * ww).sum(-1) / np.where(saa > 0, saa, 1), d)
            dmin2 = dmin
        d2, dmin2 = _f16(np.maximum(d2, 0)).astype(np.float64), _f16(np.maximum(dmin2, 0)).astype(np.float64)
        # the integer sub-scales stay; the values are re-rounded for the refit d/dmin
        step = (d2[..., None] * sc)[..., None]
        low = (dmin2[..., None] * m)[..., None]
        q2 = _round_values(w, step, low, fmt)
        err2 = (c * (step * q2 - low - w) ** 2).sum((-1, -2))
        better = err2 < err
        d, dmin = np.where(better, d2, d), np.where(better, dmin2, dmin)
        q = np.where(better[..., None, None], q2, q)
    return d, dmin, sc, m, q


def quantize_kmatrix(w: np.ndarray, fmt: str, group_size: int, importance: np.ndarray | None = None,
                     steps: np.ndarray | None = None, refine: bool = True) -> KQuantMatrix:
    """Quantizes [rows, cols] minimising sum_i c_i (w_i - w~_i)^2, c = importance per
    input column (the calibration mean of x^2) plus a floor, or 1 without it."""
    check_format(fmt)
    rows, cols = w.shape
    c = np.ones(cols) if importance is None else np.asarray(importance, dtype=np.float64)
    c = c + IMPORTANCE_FLOOR * max(float(c.mean()), 1e-30)
    real = _grid(np.ones((1, cols)), group_size)            # 0 on padding
    cg = _grid(c[None, :], group_size) * real
    wg = _grid(np.asarray(w, dtype=np.float64), group_size)
    steps = (ASYM_STEPS if HAS_MIN[fmt] else SYM_STEPS) if steps is None else steps
    s, mn = _sub_scales(wg, cg, fmt, steps)
    d, dmin, sc, m, q = _group_scales(s, mn, wg, cg, fmt, refine)
    values = _from_grid(q, cols, group_size).astype(np.int8 if fmt == "q6" else np.uint8)
    return KQuantMatrix(fmt, group_size, values, sc.astype(np.uint8),
                        m.astype(np.uint8) if HAS_MIN[fmt] else None, d.astype(np.float16),
                        dmin.astype(np.float16) if HAS_MIN[fmt] else None)


# ---- the dot product ----

def kquant_dot(matrix: KQuantMatrix | np.ndarray | bytes, x: np.ndarray, xs: np.ndarray,
               fmt: str | None = None, rows: int | None = None, cols: int | None = None,
               group_size: int | None = None) -> np.ndarray:
    """out[rows] float32 = the spec's dot product of the matrix (a KQuantMatrix, or its
    packed bytes with fmt/rows/cols/group_size) with int8 activations x [cols] whose
    f32 scale per group is xs [n_groups]: exact integer sums per group, then
    ((float)A * d - (float)B * dmin) * xs[g] added group by group in float32."""
    m = matrix if isinstance(matrix, KQuantMatrix) else unpack(matrix, fmt, rows, cols, group_size)
    n_rows, n_cols = m.shape
    xg = _grid(np.asarray(x, dtype=np.int64)[None, :], m.group_size)[0]          # [groups, subs, 32]
    qg = _grid(m.q.astype(np.int64), m.group_size)                               # padding is q = 0
    sums = np.einsum("rgsk,gsk->rgs", qg, xg)                                    # S_j
    a = (m.scales.astype(np.int64) * sums).sum(-1)
    if np.abs(a).max(initial=0) >= 2 ** 31:
        raise ToolchainError("the group's integer sum overflows int32: the group size is too large")
    contrib = a.astype(np.int32).astype(np.float32) * m.d.astype(np.float32)
    if m.mins is not None:
        b = (m.mins.astype(np.int64) * xg.sum(-1)[None]).sum(-1).astype(np.int32)
        contrib = contrib - b.astype(np.float32) * m.dmin.astype(np.float32)
    contrib = contrib * np.asarray(xs, dtype=np.float32)[None, :]
    out = np.zeros(n_rows, dtype=np.float32)
    for g in range(contrib.shape[1]):
        out = out + contrib[:, g]
    return out
