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


def build_kernels(directory: Path) -> ctypes.CDLL:
    src = resource_dir("runtime_c") / "kernels"
    lib = directory / "libkernels.so"
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
                    "-fPIC", "-shared", "-o", str(lib), *map(str, sorted(src.glob("*.c"))), "-lm"],
                   check=True)
    k = ctypes.CDLL(str(lib))
    k.matmul_q8.argtypes = [F32P, I8P, F32P, I8P, F32P] + [ctypes.c_int] * 3
    k.matmul_q4.argtypes = [F32P, I8P, F32P, U8P, F32P] + [ctypes.c_int] * 3
    k.matmul_f32.argtypes = [F32P, F32P, F32P, ctypes.c_int, ctypes.c_int]
    k.quantize_q8.argtypes = [I8P, F32P, F32P, ctypes.c_int, ctypes.c_int]
    k.exp_f32.argtypes = [ctypes.c_float]
    k.exp_f32.restype = ctypes.c_float
    return k
