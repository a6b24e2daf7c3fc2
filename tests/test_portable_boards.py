"""The portable boards, x86-64 and aarch64-linux: one binary that picks its kernels
at run time from the CPU, and prints the same text with every kernel set, on old
CPUs and new (under QEMU models of them), as the host emulator does."""
import os
import re
import subprocess

import pytest

from project_c import make_var
from toolchain.boards import cpu_flags, get_board
from toolchain.target.build import build_project, make
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

PROMPTS = ["", "Once upon a time"]
STEPS = 200
# QEMU's x86-64 CPUs without AVX2: a 2008 Core i7, and QEMU's own baseline (SSE2..SSE3)
OLD_X86 = ["Nehalem", "qemu64"]


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.fixture(scope="module")
def projects(stories, tmp_path_factory):
    """stories260K for the two portable boards (q8, and f32 on x86-64), built with
    their test programs (build/llm-test: -k)."""
    root = tmp_path_factory.mktemp("portable")
    built = {}
    for board, quant in (("x86-64", "q8"), ("x86-64", "f32"), ("aarch64-linux", "q8")):
        out = root / f"{board}-{quant}"
        compile_project(stories[0], stories[1], board, out, quant=quant)
        build_project(out)
        make(out, "test", get_board(board))
        built[board, quant] = out
    return built


def emulator_texts(out):
    """What the host emulator prints for each prompt (the portable C, the same image)."""
    emu = Emulator(out)
    return {p: emu.generate(p, steps=STEPS, temperature=0.0).text.decode() + "\n" for p in PROMPTS}


def run(command, prompt, env=None):
    """build/llm's greedy text and the kernels it says it picked."""
    result = subprocess.run([*map(str, command), "-t", "0", "-n", str(STEPS), "-i", prompt], capture_output=True,
                            text=True, timeout=300, env={**os.environ, **(env or {})})
    assert result.returncode == 0, (command, result.returncode, result.stderr)  # no SIGILL
    picked = re.search(r"^kernels: (\S+)$", result.stderr, re.M)
    assert picked, result.stderr
    return result.stdout, picked.group(1)


def selftest(command, env=None):
    """build/llm-test -k: the kernels it picked, checked against the reference."""
    result = subprocess.run([*map(str, command), "-k", "4242"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"^kernel (\S+) matches the reference in (\d+) cases$", result.stdout, re.M)
    assert found and int(found.group(2)) > 1000, result.stdout
    return found.group(1)


def needs_avx2():
    if not {"avx2", "f16c"} <= cpu_flags():
        pytest.skip("this CPU lacks AVX2: the native run takes the portable kernels")


@pytest.mark.parametrize("quant", ["q8", "f32"])
def test_x86_64_same_text_with_avx2_forced_portable_and_old_cpus(projects, quant):
    needs_avx2()
    out = projects["x86-64", quant]
    llm = out / "build" / "llm"
    want = emulator_texts(out)
    for prompt in PROMPTS:
        assert run([llm], prompt) == (want[prompt], "avx2")
        assert run([llm], prompt, {"LLM_KERNELS": "reference"}) == (want[prompt], "reference")
        for cpu in OLD_X86:
            assert run(["qemu-x86_64", "-cpu", cpu, llm], prompt) == (want[prompt], "reference"), cpu
    assert len(want["Once upon a time"]) > 200


def test_x86_64_selftest_on_each_kernel_set(projects, tmp_path):
    """llm -k checks the kernels it picked against the reference (q4, q5 and q6 twins
    too, whatever the image's format)."""
    needs_avx2()
    out = projects["x86-64", "q8"]
    test = out / "build" / "llm-test"
    assert selftest([test]) == "avx2"
    assert selftest([test], {"LLM_KERNELS": "avx2"}) == "avx2"
    # the AVX2 set carries the k-quant twins, so the run above checked them: dispatch.c
    # (its only user here) refers to them
    obj = tmp_path / "dispatch.o"
    subprocess.run(["cc", *make_var(out, "CFLAGS").split(), "-c", "-o", str(obj), "runtime/kernels/dispatch.c"],
                   cwd=out, check=True)
    undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()
    assert {"matvec_q4_avx2", "matvec_q5_avx2", "matvec_q6_avx2"} <= set(undefined)
    assert selftest([test], {"LLM_KERNELS": "reference"}) == "reference"
    assert selftest(["qemu-x86_64", "-cpu", "Nehalem", test]) == "reference"
    assert selftest([test], {"LLM_KERNELS": "no-such-set"}) == "avx2"  # an unknown name: the best


def test_host_board_build_dies_on_an_old_cpu(stories, tmp_path):
    """What the portable board is for: a host build takes this CPU's features at
    compile time, and an older x86-64 gets an illegal instruction."""
    needs_avx2()
    compile_project(stories[0], stories[1], "host", tmp_path / "host", quant="q8")
    build_project(tmp_path / "host")
    result = subprocess.run(["qemu-x86_64", "-cpu", "Nehalem", tmp_path / "host" / "build" / "llm", "-t", "0",
                             "-n", "20"], capture_output=True, timeout=300)
    assert result.returncode == -4  # SIGILL


def functions(objdump: str) -> dict[str, list[str]]:
    """objdump -d's listing: each function's instruction lines."""
    listing, name = {}, None
    for line in objdump.splitlines():
        head = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if head:
            name = head.group(1)
            listing[name] = []
        elif name and "\t" in line:
            listing[name].append(line)
    return listing


def defined_functions(nm_flags, obj, prefix=""):
    listing = subprocess.run([f"{prefix}nm", "--defined-only", *nm_flags, str(obj)], capture_output=True, text=True,
                             check=True).stdout
    return {f[2] for f in map(str.split, listing.splitlines()) if len(f) == 3 and f[1] in "Tt"}


def test_x86_64_avx_only_inside_the_isa_kernels(projects, tmp_path):
    """objdump -d build/llm: of the project's own functions (those of build/llm.o), only
    the functions of the AVX2 kernel files hold a VEX instruction (ymm registers, or
    any v-mnemonic); everything else is baseline x86-64."""
    out = projects["x86-64", "q8"]
    assert "-mavx" not in (out / "Makefile").read_text()
    subprocess.run(["make", "-C", str(out), "-s", "build/llm.o"], check=True)
    project = defined_functions([], out / "build" / "llm.o")
    # the files compiled for AVX2 (LLM_TARGET_AVX2), each alone with the Makefile's flags
    kernels = out / "runtime" / "kernels"
    isa_files = sorted(f for f in kernels.glob("*.c") if re.search(r"^LLM_TARGET_AVX2$", f.read_text(), re.M))
    assert {f.name for f in isa_files} >= {"matvec_q8_avx2.c", "matvec_f32_avx2.c", "quantize_q8_avx2.c",
                                           "scores_avx2.c", "weighted_sum_avx2.c", "softmax_f32_simd.c",
                                           "matvec_kquant_avx2.c"}
    cflags = make_var(out, "CFLAGS").split()
    isa = set()
    for f in isa_files:
        subprocess.run(["cc", *cflags, "-c", "-o", str(tmp_path / f"{f.stem}.o"), str(f)], cwd=out, check=True)
        isa |= defined_functions([], tmp_path / f"{f.stem}.o")
    listing = functions(subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(out / "build" / "llm")],
                                       capture_output=True, text=True, check=True).stdout)

    def vex(name):
        return any("%ymm" in line or re.search(r"\tv[a-z]", line) for line in listing[name])

    ours = project & set(listing)
    assert {"llm_forward", "matvec_q8_reference", "kernels_init", "main"} <= ours
    assert {name for name in ours if vex(name)} <= isa
    assert all(vex(name) for name in ("matvec_q8_avx2", "matvec_f32_avx2", "softmax_f32_simd", "scores_f32_avx2",
                                      "matvec_q4_avx2", "matvec_q5_avx2", "matvec_q6_avx2"))


def test_aarch64_same_text_with_and_without_dotprod(projects):
    out = projects["aarch64-linux", "q8"]
    llm = out / "build" / "llm"
    want = emulator_texts(out)
    for prompt in PROMPTS:
        assert run(["qemu-aarch64", "-cpu", "cortex-a53", llm], prompt) == (want[prompt], "neon")
        assert run(["qemu-aarch64", "-cpu", "cortex-a76", llm], prompt) == (want[prompt], "neon-dotprod")
        assert run(["qemu-aarch64", "-cpu", "cortex-a76", llm], prompt, {"LLM_KERNELS": "reference"}) == \
            (want[prompt], "reference")
    test = out / "build" / "llm-test"
    assert selftest(["qemu-aarch64", "-cpu", "cortex-a53", test]) == "neon"
    assert selftest(["qemu-aarch64", "-cpu", "cortex-a76", test]) == "neon-dotprod"
    assert selftest(["qemu-aarch64", "-cpu", "cortex-a76", test], {"LLM_KERNELS": "neon"}) == "neon"


def test_aarch64_dot_products_only_in_their_kernel(projects):
    """SDOT (Armv8.2-A) appears in the dot-product kernels alone (q8's matvec and GEMM, the
    k-quants'): the rest of the binary is Armv8.0-A, which the Cortex-A53 run above executed."""
    board = get_board("aarch64-linux")
    listing = functions(subprocess.run([f"{board.toolchain_prefix}objdump", "-d", "--no-show-raw-insn",
                                        str(projects["aarch64-linux", "q8"] / "build" / "llm")],
                                       capture_output=True, text=True, check=True).stdout)
    assert {name for name, lines in listing.items() if any("\tsdot" in line for line in lines)} == \
        {"matvec_q8_dotprod", "gemm_q8_dotprod", "matvec_q4_dotprod", "matvec_q5_dotprod", "matvec_q6_dotprod"}
