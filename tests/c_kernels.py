"""runtime_c/kernels/ built alone for the host as a shared library, with the
argument types of the kernels the tests call through ctypes."""
import ctypes
import subprocess
from pathlib import Path

import numpy as np

from toolchain.resources import resource_dir

F32P = np.ctypeslib.ndpointer(np.float32, flags="C_CONTIGUOUS")
I8P = np.ctypeslib.ndpointer(np.int8, flags="C_CONTIGUOUS")
U8P = np.ctypeslib.ndpointer(np.uint8, flags="C_CONTIGUOUS")
U16P = np.ctypeslib.ndpointer(np.uint16, flags="C_CONTIGUOUS")


class WeightLayout(ctypes.Structure):
    """runtime_c/kernels/kernels.h: WeightLayout."""
    _fields_ = [("rows", ctypes.c_int), ("cols", ctypes.c_int), ("bias", ctypes.c_int)]

    @classmethod
    def of(cls, layout) -> "WeightLayout":
        return cls(layout.rows, layout.cols, layout.bias)


LAYOUTP = ctypes.POINTER(WeightLayout)


def build_kernels(directory: Path, flags: tuple[str, ...] = ()) -> ctypes.CDLL:
    src = resource_dir("runtime_c") / "kernels"
    lib = directory / "libkernels.so"
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-strict-aliasing",
                    "-fno-math-errno", "-fvect-cost-model=cheap", *flags,  # the projects' MATH flags
                    "-fPIC", "-shared", "-o", str(lib), *map(str, sorted(src.glob("*.c"))), "-lm"],
                   check=True)
    k = ctypes.CDLL(str(lib))
    k.matmul_q8.argtypes = [F32P, I8P, F32P, U8P] + [ctypes.c_int] * 3 + [LAYOUTP]
    k.matmul_kquant.argtypes = [F32P, I8P, F32P, U8P] + [ctypes.c_int] * 4
    k.kquant_row_f32.argtypes = [F32P, U8P] + [ctypes.c_int] * 4
    k.matmul_f32.argtypes = [F32P, F32P, U8P, ctypes.c_int, ctypes.c_int, LAYOUTP]
    k.layout_row_f32.argtypes = [F32P, U8P] + [ctypes.c_int] * 4 + [LAYOUTP, ctypes.c_int]
    k.kernel_selftest.argtypes = [ctypes.c_uint32, ctypes.POINTER(ctypes.c_int)]
    k.quantize_q8.argtypes = [I8P, F32P, F32P, ctypes.c_int, ctypes.c_int]
    k.scores_f32.argtypes = [F32P, F32P, F32P] + [ctypes.c_int] * 3 + [ctypes.c_float]
    k.weighted_sum_f32.argtypes = [F32P, F32P, F32P] + [ctypes.c_int] * 3
    for name, elem in (("f16", U16P), ("i8", I8P)):  # the half and int8 KV caches'
        getattr(k, f"key_dots_{name}").argtypes = [F32P, F32P, elem] + [ctypes.c_int] * 3
        getattr(k, f"value_sums_{name}").argtypes = [F32P, F32P, elem] + [ctypes.c_int] * 3
    k.swiglu_f32.argtypes = [F32P, F32P, ctypes.c_int]
    k.softmax_f32.argtypes = [F32P, ctypes.c_int]
    if hasattr(k, "quantize_q8_avx2"):  # built for x86 kernels
        k.quantize_q8_avx2.argtypes = k.quantize_q8.argtypes
        k.scores_f32_avx2.argtypes = k.scores_f32.argtypes
        k.weighted_sum_f32_avx2.argtypes = k.weighted_sum_f32.argtypes
        k.softmax_f32_simd.argtypes = k.softmax_f32.argtypes
        k.swiglu_f32_simd.argtypes = k.swiglu_f32.argtypes
        for name in ("key_dots_f16", "key_dots_i8", "value_sums_f16", "value_sums_i8"):
            getattr(k, f"{name}_avx2").argtypes = getattr(k, name).argtypes
    k.exp_f32.argtypes = [ctypes.c_float]
    k.exp_f32.restype = ctypes.c_float
    return k


def grouped_reference(wq: np.ndarray, xq: np.ndarray, ws: np.ndarray, xs: np.ndarray, group: int) -> np.ndarray:
    """matvec_q8 in numpy, in the C order: an int32 sum per group, then
    (acc * ws) * xs, added group after group."""
    expected = np.zeros(wq.shape[0], np.float32)
    for g in range(ws.shape[1]):
        sl = slice(g * group, (g + 1) * group)
        acc = (wq[:, sl].astype(np.int32) @ xq[sl].astype(np.int32)).astype(np.float32)
        expected = expected + acc * ws[:, g] * xs[g]
    return expected
