"""Each board's optimized kernel against the portable reference, and threads:
identical integer sums, identical text."""
import ctypes
import subprocess

import numpy as np
import pytest

from synthetic import synthetic_tokenizer
from toolchain.boards import all_boards, cpu_flags
from toolchain.compiler import compile_project
from toolchain.config import LLAMA2C_SHAPES, random_model
from toolchain.resources import resource_dir
from toolchain.run import run_image

# boards whose kernel is not the reference and that QEMU (or this machine) can run
SELFTEST_BOARDS = [name for name, b in sorted(all_boards().items())
                   if b.kernel_flags and b.emulation.get("kind") != "none"]


@pytest.fixture(scope="module")
def stories_projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("isa")
    for name in SELFTEST_BOARDS:
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", name, root / name)
    return root


@pytest.mark.parametrize("board", SELFTEST_BOARDS)
def test_board_kernel_matches_reference_on_the_board(stories_projects, board):
    result = run_image(stories_projects / board, ["-k", "12345"], capture=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches the reference in 135 cases" in result.stdout
    assert "kernel reference" not in result.stdout  # the optimized kernel ran


@pytest.mark.parametrize("kernel,flags", [("AVX2", ["-mavx2"]), ("AVX_VNNI", ["-mavx2", "-mavxvnni"])])
def test_x86_kernels_against_numpy(tmp_path, kernel, flags):
    needed = {"AVX2": {"avx2"}, "AVX_VNNI": {"avx2", "avx_vnni"}}[kernel]
    if not needed <= cpu_flags():  # a CPU without the instructions (CI's machine has both)
        pytest.skip(f"this CPU lacks {', '.join(sorted(needed - cpu_flags()))}")
    src = resource_dir("runtime_c") / "kernels"
    lib = tmp_path / "k.so"
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared",
                    f"-DLLM_KERNEL_{kernel}", *flags, "-o", str(lib),
                    str(src / "group_dot_q8_avx2.c"), str(src / "group_dot_q8.c")], check=True)
    k = ctypes.CDLL(str(lib))
    k.group_dot_q8_avx2.argtypes = [ctypes.c_void_p] * 3 + [ctypes.c_int] * 2
    rng = np.random.default_rng(0)
    for n in (1, 31, 32, 33, 64, 100, 172, 768, 2048, 3000):
        for group in (1, 16, 32, 64, 96, 256):
            x = rng.integers(-127, 128, n, dtype=np.int8)
            w = rng.integers(-127, 128, n, dtype=np.int8)
            groups = -(-n // group)
            got = np.zeros(groups, np.int32)
            k.group_dot_q8_avx2(got.ctypes.data, x.ctypes.data, w.ctypes.data, n, group)
            prod = x.astype(np.int32) * w.astype(np.int32)
            want = [prod[i * group:(i + 1) * group].sum() for i in range(groups)]
            np.testing.assert_array_equal(got, want, err_msg=f"n={n} group={group}")


@pytest.fixture(scope="module")
def threaded_project(tmp_path_factory):
    """The stories15M shape: its matrices are big enough to be split across threads."""
    out = tmp_path_factory.mktemp("threads") / "out"
    compile_project(random_model(LLAMA2C_SHAPES["stories15M"], seed=9), synthetic_tokenizer(32000), "host", out,
                    quant="q8", context=64)
    subprocess.run(["make", "-C", str(out), "-s", "all", "reference"], check=True)
    return out


def test_threads_and_kernels_give_identical_text(threaded_project):
    def run(binary, threads):
        result = subprocess.run([str(threaded_project / "build" / binary), "-t", "0", "-n", "48", "-T", str(threads),
                                 "-i", "the cat"], capture_output=True, text=True, check=True)
        return result.stdout

    texts = {(b, t): run(b, t) for b in ("llm", "llm-reference") for t in (1, 2)}
    assert len(set(texts.values())) == 1, texts
    assert len(next(iter(texts.values()))) > 20
