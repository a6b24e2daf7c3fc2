"""Every board: the project renders and builds -Wall -Wextra -Werror clean, its image
never references the heap, and under QEMU it prints the host emulator's text."""
import json
import re
import shutil
import subprocess
import sys

import pytest

from toolchain.boards import PORTABLE, all_boards, get_board
from toolchain.target.build import build_project
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.errors import ToolchainError
from toolchain.target.run import run_project

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

HEAP = {"malloc", "calloc", "realloc", "free", "_malloc_r", "_free_r", "_sbrk", "sbrk"}
QEMU_BOARDS = ["rpi4", "rpi-zero2w", "rpi5", "aarch64-linux", "rpi3-armhf", "visionfive2", "mps2-an386",
               "mps2-an500", "mps3-an547"]
# boards with an f32 kernel of their own (its layout differs from the portable one)
F32_KERNEL_BOARDS = sorted(name for name, b in all_boards().items()
                           if b.kernel("f32", 64).f32 != PORTABLE.f32 and b.emulation.get("kind") != "none")
PROMPTS = ["", "Once upon a time", "Tom and his dog went to the park"]


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.fixture(scope="module")
def projects(stories, tmp_path_factory):
    """One stories260K q8 project per board, built, at the largest context that fits."""
    root = tmp_path_factory.mktemp("boards")
    built = {}
    for name in all_boards():
        out = root / name
        compile_project(stories[0], stories[1], name, out, quant="q8")
        built[name] = (out, build_project(out))
    return built


def symbols(board, path, *flags):
    nm = f"{board.toolchain_prefix}nm"
    listing = subprocess.run([nm, *flags, str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split("@")[0] for line in listing.splitlines() if line.strip()}


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_board_builds_clean_and_fits(projects, name):
    out, report = projects[name]
    assert (out / "build" / "llm").is_file()
    assert "-Werror" in (out / "Makefile").read_text()
    assert report.fits()
    lines = report.lines()
    assert lines[1].split()[0] == "text" and report.groups["rodata"] > 250_000  # the weight image
    board = get_board(name)
    if board.os == "baremetal":
        assert report.flash_used <= board.flash_bytes and report.ram_used[board.ram_region] <= board.ram_bytes
        assert any("flash" in l for l in lines) and any("RAM" in l for l in lines)


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_image_never_references_the_heap(projects, name):
    out, _ = projects[name]
    board = get_board(name)
    subprocess.run(["make", "-C", str(out), "-s", "build/llm.o"], check=True)
    assert not symbols(board, out / "build" / "llm.o", "-u") & HEAP
    if board.os == "baremetal":  # no C library startup either: the whole ELF is heap-free
        assert not symbols(board, out / "build" / "llm") & HEAP


def test_rp2040_size_report_says_how_it_fits(projects, stories, tmp_path):
    out, report = projects["rp2040"]
    manifest = json.loads((out / "llmtool.json").read_text())
    assert 64 <= manifest["context"] < 512  # the f32 KV cache of 512 positions needs 640 KB
    assert report.fits() and report.ram_used["sram"] <= 264 * 1024
    with pytest.raises(ToolchainError, match=f"the largest that fits is {manifest['context']}"):
        compile_project(stories[0], stories[1], "rp2040", tmp_path / "full", quant="q8", context=512)


def test_build_refuses_an_image_that_does_not_fit(projects, tmp_path):
    """A project edited by hand to need more RAM than the board has: the linker's
    overflow becomes one clear line."""
    out = tmp_path / "rp2040"
    shutil.copytree(projects["rp2040"][0], out)
    plan = (out / "llm_plan.c").read_text()
    (out / "llm_plan.c").write_text(re.sub(r"arena_sram\[(\d+)\]", "arena_sram[400000]", plan))
    with pytest.raises(ToolchainError, match=r"does not fit rp2040: sram overflows by [\d,]+ bytes"):
        build_project(out)


def test_build_and_run_commands(projects):
    out, _ = projects["rpi4"]
    build = subprocess.run([sys.executable, "-m", "toolchain", "build", str(out)],
                           capture_output=True, text=True)
    assert build.returncode == 0 and "RAM" in build.stdout and "text" in build.stdout
    run = subprocess.run([sys.executable, "-m", "toolchain", "run", str(out), "-t", "0", "-n", "20",
                          "-i", "Once upon a time"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Once upon a time") and run.stdout.endswith("\n")
    assert "achieved tok/s" in run.stderr


def test_generated_ci_workflow(projects):
    for name, (out, _) in projects.items():
        workflow = (out / ".github" / "workflows" / "llm.yml").read_text()
        board = get_board(name)
        assert "apt-get install" in workflow and board.toolchain_package.split()[0] in workflow
        if board.emulation["kind"].startswith("qemu"):
            assert board.emulation["program"] in workflow and board.emulation["package"] in workflow
        assert "Getting it onto the board" in (out / "README.md").read_text()


@pytest.fixture(scope="module")
def host_texts(projects):
    """The host emulator's greedy text for each prompt (the same q8 build options)."""
    emu = Emulator(projects["host"][0])
    return {p: emu.generate(p, steps=200, temperature=0.0).text.decode() + "\n" for p in PROMPTS}


@pytest.mark.parametrize("name", QEMU_BOARDS)
def test_qemu_board_matches_host_emulator(projects, host_texts, name):
    out, _ = projects[name]
    for prompt in PROMPTS:
        result = run_project(out, prompt, steps=200, temperature=0.0, capture=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout == host_texts[prompt], (name, prompt)


@pytest.fixture(scope="module")
def f32_projects(stories, tmp_path_factory):
    """stories260K in f32 for the host and each board with an f32 kernel, built."""
    root = tmp_path_factory.mktemp("f32")
    for name in dict.fromkeys(["host", *F32_KERNEL_BOARDS]):
        compile_project(stories[0], stories[1], name, root / name, quant="f32")
        build_project(root / name)
    return root


@pytest.mark.parametrize("name", F32_KERNEL_BOARDS)
def test_f32_kernel_board_matches_host_emulator(f32_projects, name):
    """The board's f32 kernel (in its own layout) prints the host emulator's f32 text."""
    emu = Emulator(f32_projects / "host")
    for prompt in PROMPTS:
        want = emu.generate(prompt, steps=200, temperature=0.0).text.decode() + "\n"
        result = run_project(f32_projects / name, prompt, steps=200, temperature=0.0, capture=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout == want, (name, prompt)
