"""The C reference kernels, built alone and called through ctypes, against numpy."""
import ctypes

import numpy as np
import pytest

from c_kernels import build_kernels
from toolchain.quantize import LEVELS, pack_q4


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return build_kernels(tmp_path_factory.mktemp("kernels"))


@pytest.mark.parametrize("mode", ["q8", "q4"])
@pytest.mark.parametrize("rows,cols,group", [(7, 64, 64), (5, 172, 64), (3, 100, 32), (4, 9, 64), (2, 1, 2),
                                             (3, 45, 10)])
def test_matmul_sums_groups_exactly(kernels, mode, rows, cols, group):
    rng = np.random.default_rng(rows * cols)
    ng = -(-cols // group)
    lo, hi = LEVELS[mode]
    wq = rng.integers(lo, hi + 1, (rows, cols), dtype=np.int8)
    xq = rng.integers(-127, 128, cols, dtype=np.int8)
    ws = rng.random((rows, ng), dtype=np.float32)
    xs = rng.random(ng, dtype=np.float32)
    out = np.zeros(rows, np.float32)
    if mode == "q8":
        kernels.matmul_q8(out, xq, xs, wq, ws, rows, cols, group)
    else:  # the image's packing, from the compiler
        kernels.matmul_q4(out, xq, xs, np.ascontiguousarray(pack_q4(wq)), ws, rows, cols, group)
    expected = np.zeros(rows, np.float32)
    for g in range(ng):  # the C order: int32 sum per group, then (acc * ws) * xs, groups in order
        sl = slice(g * group, (g + 1) * group)
        acc = (wq[:, sl].astype(np.int32) @ xq[sl].astype(np.int32)).astype(np.float32)
        expected = expected + acc * ws[:, g] * xs[g]
    np.testing.assert_array_equal(out, expected)


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


def test_matmul_f32_matches_numpy(kernels):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((33, 65)).astype(np.float32)
    x = rng.standard_normal(65).astype(np.float32)
    out = np.zeros(33, np.float32)
    kernels.matmul_f32(out, x, w, 33, 65)
    np.testing.assert_allclose(out, w.astype(np.float64) @ x, rtol=1e-5, atol=1e-5)


def test_exp_f32_within_two_ulp(kernels):
    for x in np.linspace(-87.0, 88.0, 20001, dtype=np.float32):
        got = kernels.exp_f32(float(x))
        want = np.exp(np.float64(x))
        assert abs(got - want) <= 2 * np.spacing(np.float32(want)), x
    assert kernels.exp_f32(-200.0) == 0.0
    assert kernels.exp_f32(100.0) == float("inf")


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
