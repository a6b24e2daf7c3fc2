"""Lean generated projects: a project carries the portable runtime and only its own
board's ISA kernels (toolchain/compile/sources.py), which the board's compiler agrees with;
the user's program (main.c) and the test program (llm_test.c) build apart; every
generated file says how it is regenerated."""
import platform
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from toolchain.boards import PORTABLE, all_boards, get_board
from toolchain.target.build import TEST_BINARY
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.resources import resource_dir
from toolchain.target.run import run_image
from toolchain.compile.sources import ISA_FILES, kernel_macros, needed

KERNELS_DIR = resource_dir("runtime_c") / "kernels"
MATH = ["-std=c11", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-math-errno"]  # the Makefile's


def compiled_files(board, kernel, tmp_path) -> set[str]:
    """The files of runtime_c/kernels/ that hold code in `board`'s build with `kernel`,
    as its compiler sees them: the .c files whose objects define a symbol and the
    headers they include."""
    cc = shutil.which(board.cc)
    if cc is None:
        pytest.skip(f"{board.cc} is not installed")
    sources = sorted(KERNELS_DIR.glob("*.c"))
    subprocess.run([cc, *MATH, *board.cflags, *kernel.flags, "-I", str(KERNELS_DIR.parent), "-I", str(KERNELS_DIR),
                    "-c", "-MMD", *map(str, sources)], cwd=tmp_path, check=True, capture_output=True)
    nm = shutil.which(f"{board.toolchain_prefix}nm")
    has_code = {s.name for s in sources
                if subprocess.run([nm, "--defined-only", str(tmp_path / f"{s.stem}.o")], capture_output=True,
                                  text=True, check=True).stdout.strip()}
    headers = set()
    for deps in tmp_path.glob("*.d"):
        for token in deps.read_text().replace("\\\n", " ").split():
            path = Path(token)
            if path.suffix == ".h" and path.resolve().parent == KERNELS_DIR.resolve():
                headers.add(path.name)
    return has_code | headers


@pytest.mark.parametrize("kernel", ["best", "portable"])
@pytest.mark.parametrize("name", [n if n == "host" else pytest.param(n, marks=pytest.mark.slow)  # cross compilers
                                  for n in sorted(all_boards())])
def test_the_isa_table_is_what_each_compiler_builds(name, kernel, tmp_path):
    """sources.ISA_FILES against the board's compiler, with its best kernels and
    with the portable ones (a group size they cannot take, `make reference`): an ISA
    file is carried exactly when the board's build gives it code (a .c file) or
    includes it (a header)."""
    board = get_board(name)
    kernel = board.best_kernel if kernel == "best" else PORTABLE
    built = compiled_files(board, kernel, tmp_path)
    macros = kernel_macros(board, kernel)
    every = {p.name for p in KERNELS_DIR.iterdir() if p.suffix in (".c", ".h")}
    assert set(ISA_FILES) <= every
    assert {f for f in every if needed(f, macros)} == built, kernel.label
    if kernel == PORTABLE:
        assert not built & set(ISA_FILES)


def kernel_files(out) -> list[str]:
    return sorted(p.name for p in (out / "runtime" / "kernels").iterdir())


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("lean")
    for name in ("mps2-an386", "host"):
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", name, root / name,
                        context=64)
    return root


def test_an_m4_project_has_no_x86_neon_or_mve_kernel(projects):
    files = kernel_files(projects / "mps2-an386")
    assert not [f for f in files if re.search(r"avx|neon|dotprod|mve|simd|lanes|prefetch", f)], files
    assert {"matvec_q8_dsp.c", "softmax_f32_vfp.c", "matvec_q8.c", "selftest.c"} <= set(files)
    assert len(files) < len(list(KERNELS_DIR.iterdir()))
    assert sorted(p.name for p in (projects / "mps2-an386" / "runtime" / "platform").iterdir()) == \
        ["baremetal.c", "chip.h", "cli.c", "cli.h", "console.h", "platform.h", "semihosting.c"]


def test_a_host_project_has_no_kernel_of_another_isa(projects):
    files = kernel_files(projects / "host")
    other = r"avx|prefetch" if platform.machine() in ("aarch64", "arm64") else r"neon|dotprod|mve|dsp|vfp"
    assert not [f for f in files if re.search(other, f)], files
    assert "linux.c" in {p.name for p in (projects / "host" / "runtime" / "platform").iterdir()}
    assert "baremetal.c" not in {p.name for p in (projects / "host" / "runtime" / "platform").iterdir()}


@pytest.mark.parametrize("name", [pytest.param("mps2-an386", marks=pytest.mark.slow), "host"])  # QEMU
def test_a_lean_project_builds_its_programs_and_passes_its_selftest(projects, name):
    out = projects / name
    subprocess.run(["make", "-s", "-C", str(out), "all", "test", "reference", "build/llm-test-reference"],
                   check=True, capture_output=True)
    for binary in ("llm", "llm-test", "llm-reference", "llm-test-reference"):
        assert (out / "build" / binary).is_file(), binary
    kernel = "dsp" if name == "mps2-an386" else get_board("host").best_kernel.label
    for binary, label in ((TEST_BINARY, kernel), (f"{TEST_BINARY}-reference", "reference")):
        result = run_image(out, ["-k", "7"], capture=True, timeout=300, binary=binary)
        assert result.returncode == 0, result.stdout + result.stderr
        assert re.fullmatch(rf"kernel {label} matches the reference in \d+ cases\n", result.stdout), result.stdout
    # the program has none of the test modes, and says where they are
    for flag in ("-x", "-k") + (("-M",) if name == "mps2-an386" else ()):
        program = run_image(out, [flag, "7"], capture=True, timeout=300)
        assert (program.returncode, program.stdout, program.stderr) == \
            (2, "", f"error: {flag} is a mode of the test program: run build/llm-test (make test)\n"), flag


@pytest.mark.slow  # QEMU
def test_the_emulator_builds_an_m4_project_here_and_agrees_with_it(projects):
    """The host library of an M4 project (its runtime with the portable kernels, as
    this machine's cc builds it) gives the text its image gives under QEMU."""
    out = projects / "mps2-an386"
    emulated = Emulator(out).generate("Once upon a time", steps=30, temperature=0.0)
    board = run_image(out, ["-i", "Once upon a time", "-n", "30", "-t", "0"], capture=True, timeout=300)
    assert board.returncode == 0 and board.stdout == emulated.text.decode() + "\n", board.stderr


@pytest.mark.parametrize("name", ["mps2-an386", "host"])
def test_generated_files_say_so_and_main_c_is_the_users(projects, name):
    out = projects / name
    generated = ["Makefile", "llm_config.h", "llm_weights.c", "llm_plan.c", "llm_image.S", "llm_test.c",
                 ".github/workflows/llm.yml"] + (["llm.ld"] if name == "mps2-an386" else [])
    command = (f"llmtool compile MODEL --tokenizer TOKENIZER --board {name} --quant q8 --group-size 64 --kv f32 "
               f"--context 64 --batch 32 --force -o OUTDIR")
    for path in generated:
        first, second = (out / path).read_text().splitlines()[:2]
        assert re.fullmatch(rf"(/\*|#) \S+ - generated by llmtool \S+ from stories260K for {name}; do not edit\.",
                            first), (path, first)
        assert second.endswith(f"Regenerate: {command}"), (path, second)
    assert "yours to adapt" in (out / "main.c").read_text().splitlines()[0]
    readme = (out / "README.md").read_text()
    assert f"```sh\n{command}\n```" in readme
    assert "| `main.c` | the program, `build/llm`: a command line over `runtime/llm.h` | yours |" in readme
    assert "| `llm_test.c` | the test program, `build/llm-test` (`make test`) | generated |" in readme
