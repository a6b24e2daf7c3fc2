"""The k-quant reference (toolchain/compile/kquant.py) against kquant_spec.md: bytes
written by an independent loop-per-byte packer, the dot product recomputed by
plain loops, and the quantizer's error and calibration behaviour."""
import numpy as np
import pytest

from toolchain.compile.auto import choose_formats
from toolchain.compile.calibrate import calibration_importance, tensor_sensitivity
from toolchain.compile.kquant import (FORMATS, QMAX, QMIN, SCALE_MAX, SUB, group_bytes, kquant_dot, matrix_bytes,
                                      quantize_kmatrix, unpack)
from toolchain.compile.layout import MIN_SCALE, group_lengths
from toolchain.config import ModelConfig, random_model

SHAPES = [(5, 172, 256), (5, 172, 64), (3, 64, 256), (4, 300, 64), (4, 300, 256), (2, 96, 32)]


def quantize_activations(x: np.ndarray, group_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Like the runtime's prepare_input (quantize_q8.c; ties may round differently):
    int8 values and one f32 scale max|x|/127 per group, 0 below MIN_SCALE."""
    cols = x.shape[-1]
    lengths = group_lengths(cols, min(group_size, cols))
    q, scales, start = np.zeros(cols, dtype=np.int8), [], 0
    for n in lengths:
        part = x[start:start + n].astype(np.float32)
        scale = np.float32(np.abs(part).max() / np.float32(127))
        scale = scale if scale >= MIN_SCALE else np.float32(0)
        if scale > 0:
            q[start:start + n] = np.clip(np.rint(part / scale), -127, 127)
        scales.append(scale)
        start += n
    return q, np.array(scales, dtype=np.float32)

def weights(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    return (0.05 * rng.standard_normal((rows, cols)) + 0.01 * rng.standard_normal((rows, 1))).astype(np.float32)


def spec_bytes(m) -> bytes:
    """The spec's layout, one byte at a time."""
    rows, cols = m.q.shape
    g = min(m.group_size, cols)
    out = bytearray()
    for r in range(rows):
        for gi, start in enumerate(range(0, cols, g)):
            length = min(g, cols - start)
            subs = -(-length // SUB)
            for j in range(subs):
                v = [int(m.q[r, start + SUB * j + k]) if SUB * j + k < length else 0 for k in range(SUB)]
                if m.fmt == "q6":
                    v = [x + 32 for x in v]
                out += bytes((v[k] & 15) | (v[k + 16] & 15) << 4 for k in range(16))
                if m.fmt == "q5":
                    out += sum((v[i] >> 4 & 1) << i for i in range(SUB)).to_bytes(4, "little")
                if m.fmt == "q6":
                    out += bytes(v[k] >> 4 | (v[k + 8] >> 4) << 2 | (v[k + 16] >> 4) << 4 | (v[k + 24] >> 4) << 6
                                 for k in range(8))
            if m.fmt == "q6":
                out += bytes(int(s) for s in m.scales[r, gi, :subs])
                out += m.d[r, gi].astype("<f2").tobytes()
            else:
                six = [int(s) for s in m.scales[r, gi, :subs]] + [int(s) for s in m.mins[r, gi, :subs]]
                stream = sum(s << 6 * i for i, s in enumerate(six))
                out += stream.to_bytes(-(-12 * subs // 8), "little")
                out += m.d[r, gi].astype("<f2").tobytes() + m.dmin[r, gi].astype("<f2").tobytes()
    return bytes(out)


def loop_dot(m, x, xs) -> np.ndarray:
    """The spec's dot product with Python ints and np.float32 scalars, op by op."""
    rows, cols = m.q.shape
    g = min(m.group_size, cols)
    out = np.zeros(rows, dtype=np.float32)
    for r in range(rows):
        total = np.float32(0)
        for gi, start in enumerate(range(0, cols, g)):
            length = min(g, cols - start)
            a = b = 0
            for j in range(-(-length // SUB)):
                cols_j = range(start + SUB * j, min(start + SUB * j + SUB, start + length))
                a += int(m.scales[r, gi, j]) * sum(int(m.q[r, i]) * int(x[i]) for i in cols_j)
                if m.mins is not None:
                    b += int(m.mins[r, gi, j]) * sum(int(x[i]) for i in cols_j)
            part = np.float32(a) * np.float32(m.d[r, gi])
            if m.mins is not None:
                part = part - np.float32(b) * np.float32(m.dmin[r, gi])
            total = total + part * xs[gi]
        out[r] = total
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rows,cols,group", SHAPES)
def test_pack_is_the_spec_layout_and_unpacks(fmt, rows, cols, group):
    m = quantize_kmatrix(weights(rows, cols), fmt, group)
    packed = m.pack()
    assert packed.dtype == np.uint8 and packed.size == matrix_bytes(fmt, rows, cols, group)
    assert packed.tobytes() == spec_bytes(m)
    back = unpack(packed.tobytes(), fmt, rows, cols, group)
    for field in ("q", "scales", "mins", "d", "dmin"):
        a, b = getattr(m, field), getattr(back, field)
        assert (a is None and b is None) or (a.dtype == b.dtype and np.array_equal(a, b)), field
    assert np.array_equal(back.dequantize(), m.dequantize())


@pytest.mark.parametrize("fmt", FORMATS)
def test_values_and_scales_in_range(fmt):
    m = quantize_kmatrix(weights(16, 300) * 40, fmt, 256)
    assert QMIN[fmt] <= m.q.min() and m.q.max() <= QMAX[fmt]
    assert m.scales.max() <= SCALE_MAX[fmt]
    assert np.isfinite(m.d.astype(np.float32)).all() and (m.d >= 0).all()
    if m.mins is not None:
        assert m.mins.max() <= SCALE_MAX[fmt] and (m.dmin >= 0).all() and np.isfinite(m.dmin).all()
    # a short last group stores no sub-scales past its sub-blocks: 300 = 256 + 44 (2 sub-blocks)
    assert not m.scales[:, -1, 2:].any()


def test_zero_rows_quantize_to_zero():
    w = weights(4, 64)
    w[1] = 0
    for fmt in FORMATS:
        m = quantize_kmatrix(w, fmt, 64)
        assert m.d[1, 0] == 0 and not m.dequantize()[1].any()


def test_sizes_match_the_spec():
    assert [8 * group_bytes(f, 256) / 256 for f in FORMATS] == [4.5, 5.5, 6.3125]
    assert 8 * matrix_bytes("q4", 3, 512, 256) / (3 * 512) == 4.5
    # 172 = 5 full sub-blocks + 12: six sub-blocks, 9 bytes of 6-bit scales and mins
    assert group_bytes("q4", 172) == 6 * 16 + 9 + 4
    assert matrix_bytes("q6", 2, 172, 64) == 2 * (2 * (2 * 24 + 2 + 2) + (2 * 24 + 2 + 2))


def test_error_falls_with_more_bits():
    w = weights(64, 256, seed=3)
    errs = [np.linalg.norm(w - quantize_kmatrix(w, f, 256).dequantize()) for f in FORMATS]
    assert errs[0] > errs[1] > errs[2]
    assert errs[0] / np.linalg.norm(w) < 0.1


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rows,cols,group", [(6, 172, 64), (4, 300, 256), (3, 64, 256)])
def test_dot_is_the_integer_formula(fmt, rows, cols, group):
    rng = np.random.default_rng(1)
    m = quantize_kmatrix(weights(rows, cols, seed=2), fmt, group)
    x, xs = quantize_activations(rng.standard_normal(cols).astype(np.float32), group)
    out = kquant_dot(m, x, xs)
    assert out.dtype == np.float32
    assert np.array_equal(out, loop_dot(m, x, xs))
    assert np.array_equal(out, kquant_dot(m.pack().tobytes(), x, xs, fmt, rows, cols, group))
    # the same sums in float64: equal within float32 rounding
    g = min(group, cols)
    x_scaled = x.astype(np.float64) * np.repeat(xs.astype(np.float64), g)[:cols]
    exact = m.dequantize().astype(np.float64) @ x_scaled
    magnitude = np.abs(m.dequantize().astype(np.float64)) @ np.abs(x_scaled)
    assert np.all(np.abs(out - exact) <= 1e-6 * magnitude + 1e-30)


@pytest.mark.parametrize("fmt", FORMATS)
def test_importance_lowers_the_weighted_error(fmt):
    rows, cols = 32, 256
    w = weights(rows, cols, seed=4)
    c = np.where(np.arange(cols) % 8 == 0, 100.0, 0.01)
    plain = quantize_kmatrix(w, fmt, 256).dequantize()
    weighted = quantize_kmatrix(w, fmt, 256, importance=c).dequantize()
    assert ((w - weighted) ** 2 @ c).sum() < 0.9 * ((w - plain) ** 2 @ c).sum()


def test_choose_formats_respects_the_budget():
    sens = {"a": {"q4": 1.0, "q6": 0.1}, "b": {"q4": 0.2, "q6": 0.15}}
    sizes = {"a": {"q4": 100, "q6": 150}, "b": {"q4": 100, "q6": 150}}
    assert choose_formats(sens, sizes, 200) == {"a": "q4", "b": "q4"}
    assert choose_formats(sens, sizes, 260) == {"a": "q6", "b": "q4"}   # the better gain per byte first
    assert choose_formats(sens, sizes, 300) == {"a": "q6", "b": "q6"}
    with pytest.raises(Exception):
        choose_formats(sens, sizes, 199)


def test_calibration_and_sensitivity_on_a_small_model():
    config = ModelConfig(dim=64, n_layers=1, n_heads=4, n_kv_heads=2, vocab_size=64, hidden_dim=96,
                         max_seq_len=32, shared_classifier=False)
    model = random_model(config, seed=5, std=0.1)
    tokens = [1] + list(np.random.default_rng(0).integers(3, 64, 40))
    imp = calibration_importance(model, tokens)
    matrices = {n for n, w in model.tensors.items() if w.ndim == 2}
    assert set(imp) == matrices
    assert all(imp[n].shape == (model.tensors[n].shape[1],) and (imp[n] > 0).all() for n in matrices)
    assert np.all(imp["tok_embeddings.weight"] == 1)  # looked up, not multiplied
    sens = tensor_sensitivity(model, tokens, ("q4", "q8"), 64, imp)
    assert set(sens) == matrices
    assert all(s["q4"] > s["q8"] >= 0 for s in sens.values())
