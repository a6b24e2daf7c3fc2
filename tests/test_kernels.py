"""The C reference kernels, built alone and called through ctypes, against numpy."""
import ctypes

import numpy as np
import pytest

from c_kernels import WeightLayout as WeightLayout_c
from c_kernels import build_kernels, grouped_reference
from toolchain.compile.kquant import FORMATS, kquant_dot, quantize_kmatrix
from toolchain.compile.layout import BITS, WeightLayout, pack_matrix
from toolchain.compile.quantize import LEVELS


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return build_kernels(tmp_path_factory.mktemp("kernels"))


# layouts the compiler writes (toolchain/boards.py) and some it might: every chunk a
# whole number of 4-byte words, so scales stay aligned
LAYOUTS = {"q8": [WeightLayout(1, 4), WeightLayout(4, 4), WeightLayout(4, 16), WeightLayout(16, 4, bias=128),
                  WeightLayout(8, 4, bias=128), WeightLayout(3, 8)],
           "f32": [WeightLayout(1, 1), WeightLayout(8, 1), WeightLayout(16, 1), WeightLayout(4, 4)]}
SHAPES = [(7, 64, 64), (5, 172, 64), (3, 100, 32), (4, 9, 64), (2, 1, 2), (3, 45, 10), (19, 72, 24), (33, 65, 16)]


@pytest.mark.parametrize("rows,cols,group", SHAPES)
def test_matmul_sums_groups_exactly_in_every_layout(kernels, rows, cols, group):
    mode = "q8"
    rng = np.random.default_rng(rows * cols)
    ng = -(-cols // group)
    lo, hi = LEVELS[mode]
    wq = rng.integers(lo, hi + 1, (rows, cols), dtype=np.int8)
    xq = np.zeros(cols + 32, np.int8)  # kernels read whole chunks: zeros after the end
    xq[:cols] = rng.integers(-127, 128, cols, dtype=np.int8)
    ws = rng.random((rows, ng), dtype=np.float32)
    xs = rng.random(ng, dtype=np.float32)
    expected = grouped_reference(wq, xq[:cols], ws, xs, group)
    for layout in LAYOUTS[mode]:
        packed = pack_matrix(wq, ws, group, mode, layout)
        out = np.zeros(rows, np.float32)
        getattr(kernels, f"matmul_{mode}")(out, xq, xs, packed, rows, cols, group, WeightLayout_c.of(layout))
        np.testing.assert_array_equal(out, expected, err_msg=str(layout))
        row = np.zeros(cols, np.float32)  # one row back as floats (the embedding lookup)
        kernels.layout_row_f32(row, packed, rows, cols, group, BITS[mode], WeightLayout_c.of(layout), rows - 1)
        np.testing.assert_array_equal(row, wq[-1] * np.repeat(ws[-1], group)[:cols])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("rows,cols,group", [(7, 64, 256), (5, 172, 64), (3, 300, 256), (4, 9, 32), (2, 1, 32),
                                             (6, 100, 1024), (3, 2048, 1024)])
def test_kquant_matmul_is_the_numpy_reference_bit_for_bit(kernels, fmt, rows, cols, group):
    """q4, q5, q6 in C against kquant.py's dot product, which the formats' spec defines:
    short last groups and sub-blocks, the widest group, extreme activations."""
    rng = np.random.default_rng(rows * cols + group)
    w = rng.standard_normal((rows, cols)).astype(np.float32) * rng.random(cols).astype(np.float32)
    w[0, :min(cols, 32)] = 0.0  # a zero sub-block
    m = quantize_kmatrix(w, fmt, group, rng.random(cols) + 0.01)
    packed = m.pack()
    ng = -(-cols // group)
    xq = rng.integers(-127, 128, cols, dtype=np.int8)
    xq[:min(cols, 8)] = [-127, 127] * (min(cols, 8) // 2) + [127] * (min(cols, 8) % 2)
    xs = rng.random(ng, dtype=np.float32) * 0.1
    out = np.zeros(rows, np.float32)
    kernels.matmul_kquant(out, xq, xs, packed, rows, cols, group, int(fmt[1]))
    np.testing.assert_array_equal(out, kquant_dot(m, xq, xs))
    row = np.zeros(cols, np.float32)  # one row back as floats (the embedding lookup)
    kernels.kquant_row_f32(row, packed, cols, group, int(fmt[1]), rows - 1)
    np.testing.assert_array_equal(row, m.dequantize()[-1])


@pytest.mark.parametrize("rows,cols,_", SHAPES)
def test_matmul_f32_sums_in_column_order_in_every_layout(kernels, rows, cols, _):
    rng = np.random.default_rng(rows + cols)
    w = rng.standard_normal((rows, cols)).astype(np.float32)
    x = rng.standard_normal(cols).astype(np.float32)
    expected = np.zeros(rows, np.float32)
    for j in range(cols):  # the C order: one column after another, no fused multiply-add
        expected = expected + w[:, j] * x[j]
    for layout in LAYOUTS["f32"]:
        packed = pack_matrix(w, None, cols, "f32", layout)
        out = np.zeros(rows, np.float32)
        kernels.matmul_f32(out, x, packed, rows, cols, WeightLayout_c.of(layout))
        np.testing.assert_array_equal(out, expected, err_msg=str(layout))
        row = np.zeros(cols, np.float32)
        kernels.layout_row_f32(row, packed, rows, cols, cols, 32, WeightLayout_c.of(layout), rows // 2)
        np.testing.assert_array_equal(row, w[rows // 2])


def test_quantize_q8_round_trip_and_tail_group(kernels):
    x = np.random.default_rng(1).standard_normal(172).astype(np.float32)
    x[128:] = 0.0  # an all-zero (tail) group must give scale 0, not NaN
    xq = np.zeros(172, np.int8)
    xs = np.zeros(3, np.float32)
    kernels.quantize_q8(xq, xs, x, 172, 64)
    assert xs[2] == 0.0 and not xq[128:].any()
    for g in range(2):
        sl = slice(g * 64, (g + 1) * 64)
        assert xs[g] == np.float32(np.abs(x[sl]).max()) / np.float32(127)
        assert np.abs(xq[sl] * xs[g] - x[sl]).max() <= xs[g] / 2 * 1.0001
        assert np.abs(xq[sl]).max() == 127


def test_quantize_q8_rounds_halves_away_from_zero(kernels):
    # amax 127: scale 1, so every x + 0.5 is a tie, which roundf (the reference) takes away from zero
    x = np.concatenate([np.arange(-127, 127) + 0.5, np.arange(-127, 128), [127.0, -0.25, 0.25, -0.0]])
    x = x.astype(np.float32)
    xq = np.zeros(x.size, np.int8)
    xs = np.zeros(1, np.float32)
    kernels.quantize_q8(xq, xs, x, x.size, x.size)
    assert xs[0] == 1.0
    np.testing.assert_array_equal(xq, (np.sign(x) * np.floor(np.abs(x.astype(np.float64)) + 0.5)).astype(np.int8))


def test_quantize_q8_turns_nan_quotients_into_zeros(kernels):
    # NaN or infinite activations (a weight image with such values passes its CRC when
    # the CRC was computed after them): (int)NaN is undefined behaviour in C, and was
    # -127 on x86; each NaN quotient is 0 now, as the VFP twin's conversion gives
    nan, inf = np.float32(np.nan), np.float32(np.inf)
    x = np.array([1.0, nan, -2.0, 127.0, inf, 3.0, -inf, 5.0], np.float32)
    xq, xs = np.full(8, 99, np.int8), np.zeros(2, np.float32)
    kernels.quantize_q8(xq, xs, x, 8, 4)
    assert xs[0] == 1.0 and list(xq[:4]) == [1, 0, -2, 127]  # the NaN ignored by the max, then 0
    assert xs[1] == inf and not xq[4:].any()  # an infinite max: x / inf is 0, inf / inf NaN, so 0


def test_attention_and_swiglu_kernels_in_their_order(kernels):
    # the float kernels' documented formulas, summed in order in float32 (the VFP
    # assembly twins are held to these same floats by `llm-test -k` on the boards)
    rng = np.random.default_rng(5)
    for head_dim, n, stride in ((8, 1, 1), (8, 37, 40), (6, 9, 9), (16, 100, 128)):
        q = rng.standard_normal(head_dim).astype(np.float32)
        keys = (rng.standard_normal(head_dim * stride) * 10.0).astype(np.float32)
        att = np.zeros(n, np.float32)
        kernels.scores_f32(att, q, keys, stride, n, head_dim, np.float32(2.828427))
        want = np.zeros(n, np.float32)
        for i in range(head_dim):
            want = want + q[i] * keys[i * stride:i * stride + n]
        np.testing.assert_array_equal(att, want / np.float32(2.828427))
        kernels.softmax_f32(att, n)
        values = rng.standard_normal(n * stride + head_dim).astype(np.float32)
        out = np.zeros(head_dim, np.float32)
        kernels.weighted_sum_f32(out, att, values, stride, n, head_dim)
        want = np.zeros(head_dim, np.float32)
        for t in range(n):
            want = want + att[t] * values[t * stride:t * stride + head_dim]
        np.testing.assert_array_equal(out, want)
    h = (rng.standard_normal(300) * 30.0).astype(np.float32)
    h3 = rng.standard_normal(300).astype(np.float32)
    want = np.array([g / (np.float32(1.0) + np.float32(kernels.exp_f32(float(-g)))) * b for g, b in zip(h, h3)],
                    np.float32)
    kernels.swiglu_f32(h, h3, h.size)
    np.testing.assert_array_equal(h, want)


def test_exp_f32_within_two_ulp(kernels):
    for x in np.linspace(-87.0, 88.0, 20001, dtype=np.float32):
        got = kernels.exp_f32(float(x))
        want = np.exp(np.float64(x))
        assert abs(got - want) <= 2 * np.spacing(np.float32(want)), x
    assert kernels.exp_f32(-200.0) == 0.0
    assert kernels.exp_f32(100.0) == float("inf")


def test_tanh_f32_close_and_geglu_from_it(kernels):
    """tanh from exp_f32 (the boards' C libraries' tanhf differ): within 2^-23 of the
    true value, and 4 ulp of it near 0 too; Gemma's GELU gate computed from it."""
    kernels.tanh_f32.argtypes = [ctypes.c_float]
    kernels.tanh_f32.restype = ctypes.c_float
    xs = np.concatenate([np.linspace(-12.0, 12.0, 20001), np.geomspace(1e-30, 0.2, 2001)]).astype(np.float32)
    for x in np.concatenate([xs, -xs]):
        want = np.float32(np.tanh(np.float64(x)))
        assert abs(kernels.tanh_f32(float(x)) - np.tanh(np.float64(x))) <= max(4 * np.spacing(abs(want)), 2.0 ** -23), x
    assert kernels.tanh_f32(100.0) == 1.0 and kernels.tanh_f32(-100.0) == -1.0
    kernels.geglu_f32.argtypes = kernels.swiglu_f32.argtypes
    rng = np.random.default_rng(5)
    h, h3 = (rng.standard_normal(300) * 4.0).astype(np.float32), rng.standard_normal(300).astype(np.float32)
    want = 0.5 * h.astype(np.float64) * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h.astype(np.float64) ** 3))) * h3
    kernels.geglu_f32(h, h3, h.size)
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-6)


def test_f16_conversion_matches_ieee(kernels):
    kernels.f32_to_f16.argtypes = [ctypes.c_float]
    kernels.f32_to_f16.restype = ctypes.c_uint16
    kernels.f16_to_f32.argtypes = [ctypes.c_uint16]
    kernels.f16_to_f32.restype = ctypes.c_float
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.standard_normal(3000) * 10.0 ** rng.integers(-9, 6, 3000),
                             [0.0, -0.0, 65504.0, 65520.0, 1e9, -1e9, 6e-8, 3e-8, 2.9e-8, np.inf, -np.inf]])
    for v in values.astype(np.float32):
        with np.errstate(over="ignore"):  # 1e9 becomes inf, as it should
            want = np.float32(v).astype(np.float16)
        assert kernels.f32_to_f16(float(v)) == want.view(np.uint16), v
    for bits in range(0, 0x10000, 7):  # every class: subnormals, normals, inf
        h = np.uint16(bits).view(np.float16)
        if not np.isnan(h):
            assert kernels.f16_to_f32(bits) == np.float32(h), hex(bits)
