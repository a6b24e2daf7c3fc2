"""Each board's optimized kernel against the portable reference, and threads:
identical integer sums, identical text."""
import ctypes
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from c_kernels import WeightLayout, build_kernels, grouped_reference
from synthetic import synthetic_tokenizer
from toolchain.boards import KERNELS, all_boards, cpu_flags, get_board
from toolchain.target.build import TEST_BINARY
from toolchain.compile.compiler import compile_project
from toolchain.config import LLAMA2C_SHAPES, random_model
from toolchain.compile.kquant import kquant_dot, quantize_kmatrix
from toolchain.compile.layout import pack_matrix
from toolchain.resources import resource_dir
from toolchain.target.run import emulated_binary, run_image

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

# boards whose kernel is not the reference and that QEMU (or this machine) can run
SELFTEST_BOARDS = [name for name, b in sorted(all_boards().items())
                   if b.best_kernel.feature and b.emulation.get("kind") != "none"]
X86 = [k for k in KERNELS if k.name.startswith("AVX")]


# the Cortex-M kernels with k-quant twins (matvec_kquant_dsp.c, matvec_kquant_mve.c):
# their boards' projects are compiled in q4, so that the build runs its twin; -k checks
# all three against the reference whatever the format, so the test program carries them
CORTEX_M_Q4_TWINS = {"DSP": "matvec_q4_dsp", "MVE": "matvec_q4_mve"}
CORTEX_M_KQUANT_TWINS = {kernel: [f"matvec_{q}_{kernel.lower()}" for q in ("q4", "q5", "q6")]
                         for kernel in CORTEX_M_Q4_TWINS}
# ... and their q8 GEMM twins (gemm_q8_dsp.c, gemm_q8_mve.c: the C and its assembly for
# groups of 64), which -k checks against the reference for batches of 1 to 5 tokens
CORTEX_M_GEMM_TWINS = {kernel: [f"gemm_q8_{kernel.lower()}", f"gemm_q8_{kernel.lower()}_pair_g64"]
                       for kernel in CORTEX_M_Q4_TWINS}
# the x86 GEMM twins (kernels.h: gemm_q8_kernel ...), which -k checks against the reference
X86_GEMM_TWINS = {"AVX512_VNNI": ["gemm_q8_avx512_vnni", "gemm_q4_avx512_vnni", "gemm_q5_avx512_vnni",
                                  "gemm_q6_avx512_vnni"], "AVX_VNNI": ["gemm_q8_avx2"], "AVX2": ["gemm_q8_avx2"],
                  "DISPATCH_X86": ["gemm_q8_avx2"]}


@pytest.fixture(scope="module")
def stories_projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("isa")
    for name in SELFTEST_BOARDS:
        quant = "q4" if get_board(name).best_kernel.name in CORTEX_M_Q4_TWINS else "q8"
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", name, root / name,
                        quant=quant)
    return root


@pytest.mark.parametrize("board", SELFTEST_BOARDS)
def test_board_kernel_matches_reference_on_the_board(stories_projects, board):
    result = run_image(stories_projects / board, ["-k", "12345"], capture=True, timeout=300, binary=TEST_BINARY)
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"kernel (\S+) matches the reference in (\d+) cases", result.stdout)
    assert found and int(found.group(2)) >= 200, result.stdout
    assert found.group(1) != "reference"  # the optimized kernel ran
    b = get_board(board)
    twins = [*CORTEX_M_KQUANT_TWINS.get(b.best_kernel.name, []), *CORTEX_M_GEMM_TWINS.get(b.best_kernel.name, []),
             *X86_GEMM_TWINS.get(b.best_kernel.name, [])]
    if twins:  # linked in, so kernels.h named them (matvec_q4_kernel, gemm_q8_kernel, ...) and -k checked them
        binary = stories_projects / board / emulated_binary(b, TEST_BINARY)  # the one that ran
        symbols = subprocess.run([f"{b.toolchain_prefix}nm", str(binary)], capture_output=True, text=True,
                                 check=True).stdout
        for twin in twins:
            assert re.search(rf" T {twin}$", symbols, re.M), f"{twin} is not in {board}'s llm-test"


# boards whose q4, q5 and q6 matrices have twins of the references (kernels.h:
# KERNEL_Q4_TWIN, KERNEL_Q5_Q6_TWINS, which `-k` then checks), and the kernel sets to
# check them in, each with its twins' file suffix (matvec_kquant_neon.c,
# matvec_kquant_dotprod.c): aarch64-linux carries two, picked by LLM_KERNELS
# (dispatch.c); a fixed build ignores the variable
ARM_KQUANT_TWINS = {"rpi4": {"neon": "neon"}, "rpi-zero2w": {"neon": "neon"}, "rpi3-armhf": {"neon": "neon"},
                    "rpi5": {"neon-dotprod": "dotprod"},
                    "aarch64-linux": {"neon-dotprod": "dotprod", "neon": "neon"}}


@pytest.mark.parametrize("board", sorted(ARM_KQUANT_TWINS))
def test_board_q4_q5_q6_kernels_match_reference_on_the_board(shared_models, tmp_path, monkeypatch, board):
    """Compiled in q5 (its program runs the q5 twin); llm-test's -k checks all three
    twins whatever the format, since kernels.h names them, and the set's q8 GEMM twin."""
    out = tmp_path / board
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, out, quant="q5")
    counts = set()
    for kernels, isa in ARM_KQUANT_TWINS[board].items():
        monkeypatch.setenv("LLM_KERNELS", kernels)
        result = run_image(out, ["-k", "12345"], capture=True, timeout=300, binary=TEST_BINARY)
        assert result.returncode == 0, result.stdout + result.stderr
        found = re.search(r"kernel (\S+) matches the reference in (\d+) cases", result.stdout)
        assert found and found.group(1) == kernels, result.stdout
        counts.add(int(found.group(2)))
        # the twins are in the program (built by the run), so kernels.h named them and -k ran them
        # (the set's q8 GEMM twin too, against the reference token by token)
        symbols = subprocess.run([get_board(board).toolchain_prefix + "nm", str(out / TEST_BINARY)],
                                 capture_output=True, text=True, check=True).stdout
        for twin in (*(f"matvec_q{bits}_{isa}" for bits in (4, 5, 6)), f"gemm_q8_{isa}"):
            assert re.search(rf" T {twin}$", symbols, re.M), twin
    assert len(counts) == 1  # every set checks the same cases


@pytest.mark.parametrize("board", ["rpi4", "rpi5", "rpi3-armhf"])
def test_arm_q4_q5_q6_twins_on_wide_groups_and_long_rows(tmp_path, board):
    """tests/c/kquant_twins.c under QEMU: the shapes llm-test -k leaves out (groups of
    512 to 1024, rows past the twins' cached sums, activations of -128, the sums'
    extremes), in q4, q5 and q6."""
    b = get_board(board)
    kernels = resource_dir("runtime_c") / "kernels"
    binary = tmp_path / "kquant_twins"
    sources = [Path(__file__).parent / "c" / "kquant_twins.c", kernels / "f16.c",
               *(kernels / f"matvec_q{bits}.c" for bits in (4, 5, 6)),
               *(kernels / f"matvec_kquant_{isa}.c" for isa in ("neon", "dotprod"))]
    subprocess.run([b.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", *b.cflags,
                    *b.best_kernel.flags, *b.ldflags, f"-I{kernels}", "-o", str(binary), *map(str, sources)],
                   check=True)
    twin = "dotprod" if b.best_kernel.name == "DOTPROD" else "neon"
    symbols = subprocess.run([b.toolchain_prefix + "nm", str(binary)], capture_output=True, text=True,
                             check=True).stdout
    for bits in (4, 5, 6):  # kernels.h named the twins, not the references
        assert re.search(rf" T matvec_q{bits}_{twin}$", symbols, re.M), f"matvec_q{bits}_{twin}"
    result = subprocess.run([b.emulation["program"], "-cpu", b.emulation["cpu"], str(binary)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "k-quant twins match in 2160 cases" in result.stdout, \
        result.stdout + result.stderr


def x86_flags(kernel) -> tuple[str, ...]:
    """The flags to build `kernel` with on this CPU, skipping the test if it cannot run
    here. A CPU with AVX-512 VNNI but no AVX-VNNI (AMD Zen 4) still runs the AVX-VNNI
    kernel: with LLM_VNNI_EVEX it takes the same VPDPBUSD in its EVEX encoding."""
    have = cpu_flags()
    if {kernel.feature, "avx2"} <= have:
        return kernel.flags
    if kernel.feature == "avx_vnni" and {"avx2", "avx512_vnni", "avx512vl"} <= have:
        return (*kernel.flags, "-DLLM_VNNI_EVEX")
    pytest.skip(f"this CPU lacks {kernel.feature}")


@pytest.mark.parametrize("kernel", X86, ids=[k.label for k in X86])
def test_x86_kernels_against_numpy(tmp_path, kernel):
    k = build_kernels(tmp_path, x86_flags(kernel))
    rng = np.random.default_rng(0)
    for rows in (1, 5, kernel.q8.rows, kernel.q8.rows + 3, 3 * kernel.q8.rows):
        for cols in (1, 31, 32, 33, 64, 100, 172, 768, 2048):
            for group in (4, 16, 32, 64, 96, 256):
                if group % kernel.q8.cols:
                    continue
                # zero from cols up to whole chunks (as the runtime pads it), garbage past
                # that, which no kernel may read (the VNNI kernels sum x per group)
                xq = rng.integers(-127, 128, cols + 64, dtype=np.int8)
                xq[cols:-(-cols // kernel.q8.cols) * kernel.q8.cols] = 0
                wq = rng.integers(-127, 128, (rows, cols), dtype=np.int8)
                ng = -(-cols // group)
                ws = rng.random((rows, ng), dtype=np.float32)
                xs = rng.random(ng, dtype=np.float32)
                got = np.zeros(rows, np.float32)
                k.matmul_q8(got, xq, xs, pack_matrix(wq, ws, group, "q8", kernel.q8), rows, cols, group,
                            WeightLayout.of(kernel.q8))
                np.testing.assert_array_equal(got, grouped_reference(wq, xq[:cols], ws, xs, group),
                                              err_msg=f"rows={rows} cols={cols} group={group}")


@pytest.mark.parametrize("quant", ["q4", "q5", "q6"])
@pytest.mark.parametrize("kernel", X86, ids=[k.label for k in X86])
def test_x86_kquant_kernels_against_numpy(tmp_path, kernel, quant):
    """The x86 k-quant twins against kquant.py's dot product, which the format's spec
    defines: short groups and sub-blocks, the widest group, rows past the AVX2
    twins' sums' cache and rows whose reordered activations outgrow the AVX-512 twins'
    buffer (the last: they take the AVX2 q4 twin or the reference), a short last
    sub-block in a group of a whole number of eight (the AVX2 twins' vector scales), short blocks of rows,
    activations down to -128 (the AVX2 twins' VPMADDUBSW pairs at their widest)."""
    k = build_kernels(tmp_path, x86_flags(kernel))
    rng = np.random.default_rng(2)
    for rows, cols, group in [(7, 64, 256), (5, 172, 64), (3, 300, 256), (4, 9, 32), (6, 768, 256),
                              (2, 2048, 1024), (3, 100, 32), (3, 96, 96), (2, 9000, 1024), (9, 544, 288),
                              (2, 3000, 32), (5, 500, 256), (3, 1000, 512)]:
        w = (rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-4, 1)).astype(np.float32)
        m = quantize_kmatrix(w, quant, group)
        xq = rng.integers(-128, 128, cols, dtype=np.int8)
        xs = rng.random(-(-cols // group), dtype=np.float32)
        got = np.zeros(rows, np.float32)
        k.matmul_kquant(got, xq, xs, m.pack(), rows, cols, group, int(quant[1]))
        np.testing.assert_array_equal(got, kquant_dot(m, xq, xs), err_msg=f"rows={rows} cols={cols} group={group}")


@pytest.mark.parametrize("kernel", X86, ids=[k.label for k in X86])
def test_x86_kernel_selftest(tmp_path, kernel):
    """llm-test -k's checks (selftest.c) in each x86 kernel set, the AVX-VNNI one too,
    which no board of ours builds: its matvec and GEMM twins against the reference,
    the GEMM's for batches of 1 to 9 tokens."""
    k = build_kernels(tmp_path, x86_flags(kernel))
    cases = ctypes.c_int(0)
    assert k.kernel_selftest(12345, ctypes.byref(cases)) == 0, f"after {cases.value} cases"
    assert cases.value >= 200


@pytest.mark.parametrize("kernel", X86, ids=[k.label for k in X86])
def test_x86_f32_kernels_against_numpy(tmp_path, kernel):
    """Bit for bit the column-order sum: out[r] = (..(0 + w[r,0] x[0]) + w[r,1] x[1]..),
    each product rounded, then each sum (values of mixed magnitudes and signs, so
    any other order or a fused multiply-add would round differently somewhere)."""
    k = build_kernels(tmp_path, x86_flags(kernel))
    rng = np.random.default_rng(1)
    for rows in (1, 7, 9, kernel.f32.rows, kernel.f32.rows + 5, 3 * kernel.f32.rows):
        for cols in (1, 3, 64, 257, 768):
            w = (rng.standard_normal((rows, cols)) * 10.0 ** rng.integers(-3, 4, (rows, cols))).astype(np.float32)
            x = (rng.standard_normal(cols) * 10.0 ** rng.integers(-3, 4, cols)).astype(np.float32)
            got = np.zeros(rows, np.float32)
            k.matmul_f32(got, x, pack_matrix(w, None, cols, "f32", kernel.f32), rows, cols,
                         WeightLayout.of(kernel.f32))
            want = np.zeros(rows, np.float32)
            for j in range(cols):
                want = want + w[:, j] * x[j]  # float32 throughout: one rounding per step
            np.testing.assert_array_equal(got, want, err_msg=f"rows={rows} cols={cols}")


@pytest.mark.parametrize("kernel", X86, ids=[k.label for k in X86])
def test_x86_quantize_matches_reference(tmp_path, kernel):
    """quantize_q8_avx2 against the portable quantize_q8, byte for byte and scale for
    scale: random values of many magnitudes, exact halves (roundf rounds them away
    from zero), groups below the smallest scale, lengths that are not whole vectors
    or whole groups, and NaN and infinite values (NaN quotients become 0)."""
    k = build_kernels(tmp_path, x86_flags(kernel))
    rng = np.random.default_rng(2)
    halves = np.arange(-127, 127, dtype=np.float32) + np.float32(0.5)  # scale 1: 127 is the max
    cases = [np.concatenate([halves, [np.float32(127)]]), np.full(40, 1e-30, np.float32),
             np.zeros(13, np.float32), np.array([-127.0, 2.5, -2.5, 0.5, -0.5, 126.5], np.float32)]
    for n in (1, 7, 8, 9, 63, 64, 65, 100, 768, 2048):
        cases.append((rng.standard_normal(n) * 10.0 ** rng.integers(-8, 8, n)).astype(np.float32))
    for bad in (np.nan, np.inf, -np.inf):
        x = rng.standard_normal(100).astype(np.float32)
        x[[3, 17, 40, 41, 99]] = bad
        cases.append(x)
    for x in cases:
        for group in (4, 8, 12, 32, 64, 256):
            ng = -(-x.size // group)
            want_q, got_q = np.zeros(x.size, np.int8), np.ones(x.size, np.int8)
            want_s, got_s = np.zeros(ng, np.float32), np.ones(ng, np.float32)
            k.quantize_q8(want_q, want_s, x, x.size, group)
            k.quantize_q8_avx2(got_q, got_s, x, x.size, group)
            np.testing.assert_array_equal(got_s.view(np.uint32), want_s.view(np.uint32), err_msg=f"n={x.size} g={group}")
            np.testing.assert_array_equal(got_q, want_q, err_msg=f"n={x.size} group={group}")
    # the halves really were ties, rounded away from zero
    q, s = np.zeros(halves.size + 1, np.int8), np.zeros(1, np.float32)
    k.quantize_q8_avx2(q, s, cases[0], cases[0].size, 256)
    assert s[0] == 1.0 and q[0] == -127 and q[127] == 1 and q[126] == -1 and q[-2] == 127


def test_x86_attention_kernels_match_reference(tmp_path):
    """The AVX2 attention kernels against the C loops, bit for bit, over f32, half
    and int8 caches: values of every magnitude, halves subnormal to 60000 (any other
    order of the sums, or a fused multiply-add, would round differently), heads and
    position counts that are not whole blocks, rows longer than what is read (the
    context)."""
    k = build_kernels(tmp_path, x86_flags(next(k for k in X86 if k.feature == "avx2")))
    rng = np.random.default_rng(3)

    def floats(*shape):
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-4, 5, shape)).astype(np.float32)

    context = 260
    for head_dim in (1, 7, 8, 33, 48, 64, 72, 128):
        for n in (1, 7, 8, 9, 31, 32, 33, 100, 257, 260):
            keys, q = floats(head_dim, context), floats(head_dim)  # transposed: [head_dim][context]
            want, got = np.zeros(n, np.float32), np.ones(n, np.float32)
            k.scores_f32(want, q, keys, context, n, head_dim, 8.0)
            k.scores_f32_avx2(got, q, keys, context, n, head_dim, 8.0)
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), err_msg=f"d={head_dim} n={n}")
            stride = head_dim + 5  # one head of a wider KV row
            values, att = floats(n, stride), floats(n)
            want, got = np.zeros(head_dim, np.float32), np.ones(head_dim, np.float32)
            k.weighted_sum_f32(want, att, values, stride, n, head_dim)
            k.weighted_sum_f32_avx2(got, att, values, stride, n, head_dim)
            np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), err_msg=f"d={head_dim} n={n}")
            caches = {"f16": lambda *shape: np.clip(floats(*shape), -6e4, 6e4).astype(np.float16).view(np.uint16),
                      "i8": lambda *shape: rng.integers(-128, 128, shape, dtype=np.int8)}
            for name, cache in caches.items():
                keys, values = cache(head_dim, context), cache(n, stride)
                for op, inputs, length in (("key_dots", (q, keys, context), n),
                                           ("value_sums", (att, values, stride), head_dim)):
                    want, got = np.zeros(length, np.float32), np.ones(length, np.float32)
                    getattr(k, f"{op}_{name}")(want, *inputs, n, head_dim)
                    getattr(k, f"{op}_{name}_avx2")(got, *inputs, n, head_dim)
                    np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32),
                                                  err_msg=f"{op}_{name} d={head_dim} n={n}")


def x86_float_twins(tmp_path):
    """Runs each (op, x, h3) through the C and the AVX2 twin, in process (ctypes)."""
    k = build_kernels(tmp_path, x86_flags(next(k for k in X86 if k.feature == "avx2")))

    def run(requests):
        results = []
        for op, x, h3 in requests:
            want, got = x.copy(), x.copy()
            if op == "softmax":
                k.softmax_f32(want, x.size)
                k.softmax_f32_simd(got, x.size)
            else:
                k.swiglu_f32(want, h3, x.size)
                k.swiglu_f32_simd(got, h3, x.size)
            results.append((want, got))
        return results
    return run


def aarch64_float_twins(tmp_path):
    """Runs every (op, x, h3) through the C and the NEON twin in one run of
    tests/c/float_twins.c, built as for rpi4 and run under its QEMU."""
    board = get_board("rpi4")
    binary = tmp_path / "float_twins"
    kernels = resource_dir("runtime_c") / "kernels"
    sources = [Path(__file__).parent / "c" / "float_twins.c"] + [
        kernels / f for f in ("softmax_f32.c", "softmax_f32_simd.c", "swiglu_f32.c", "swiglu_f32_simd.c", "exp_f32.c")]
    subprocess.run([board.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-math-errno",
                    *board.cflags, *board.best_kernel.flags, *board.ldflags, f"-I{kernels}", "-o", str(binary),
                    *map(str, sources), "-lm"], check=True)

    def run(requests):
        stdin = b"".join(np.int32([op == "swiglu", x.size]).tobytes() + x.tobytes() +
                         (h3.tobytes() if op == "swiglu" else b"") for op, x, h3 in requests)
        out = subprocess.run([board.emulation["program"], "-cpu", board.emulation["cpu"], str(binary)],
                             input=stdin, capture_output=True, check=True).stdout
        floats, results, at = np.frombuffer(out, np.float32), [], 0
        for _, x, _ in requests:
            results.append((floats[at:at + x.size], floats[at + x.size:at + 2 * x.size]))
            at += 2 * x.size
        assert at == floats.size
        return results
    return run


@pytest.mark.parametrize("twins", [x86_float_twins, aarch64_float_twins], ids=["avx2", "neon"])
def test_softmax_and_swiglu_twins_match_reference(tmp_path, twins):
    """The AVX2 and NEON softmax and SwiGLU (a vector of exponentials at a time)
    against the C, bit for bit: a dense sweep over the exponential's whole range and
    past both ends, its edges (subnormal results, rounding of k at +-0.5), random bit
    patterns (NaNs with payloads, infinities, subnormals), at lengths that are not
    whole vectors; softmax also with the maximum at x[0], at the end, and a NaN first."""
    run = twins(tmp_path)
    rng = np.random.default_rng(4)
    sweep = np.linspace(-110.0, 95.0, 200_003, dtype=np.float32)
    edges = np.array([-87.0, -86.99999, -87.00001, -103.97208, -103.972076, -103.97209, -0.0, 0.0, 1e-30,
                      -0.34657359, -0.34657362, 0.34657359, -88.0, -150.0, -np.inf, np.inf, 87.0, 88.72283,
                      88.722839, 100.0, np.nan], np.float32)
    bits = rng.integers(0, 1 << 32, 4099, dtype=np.uint64).astype(np.uint32).view(np.float32)
    cases = [sweep, -sweep, edges, bits, rng.permutation(sweep)[:1001]]
    cases += [sweep[rng.integers(0, sweep.size, n)] for n in (1, 3, 4, 5, 7, 8, 9, 31, 33, 100)]
    requests = [("swiglu", x, (rng.standard_normal(x.size) * 10.0 ** rng.integers(-3, 4, x.size)).astype(np.float32))
                for x in cases]
    for x in cases:
        with np.errstate(all="ignore"):  # the random bit patterns overflow in x - max
            shifts = (x - np.float32(np.nanmax(x[np.isfinite(x)])), x)
        for shifted in shifts:
            for variant in (shifted, shifted[::-1].copy(), np.concatenate([np.float32([np.nan]), shifted])):
                requests.append(("softmax", variant, None))
    for (op, x, _), (want, got) in zip(requests, run(requests), strict=True):
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32), err_msg=f"{op} n={x.size}")


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
