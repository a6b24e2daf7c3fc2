"""The model as a library in a program of your own: `make lib` and CMakeLists.txt
build it without main.c, start-up code or console; examples/embed/ links it from
outside the project, as a host program and as bare-metal firmware built with the
project's CMake toolchain file, and both print llama2.c's known-good text. Two
models compiled with --name link into one program and one firmware, and generate in
turn, token by token, each its own text; with --share-arena, in one arena."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from test_pipeline import KNOWN_TEXT
from toolchain.compile.compiler import compile_project
from toolchain.compile.sources import api_functions
from toolchain.compile.spec import LibraryOptions
from toolchain.config import ModelConfig, random_model
from toolchain.host.emulator import Emulator

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "embed"
QEMU_AN386 = ["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "null",
              "-semihosting-config", "enable=on,target=native", "-kernel"]
# model b: another shape than stories260K's, with its vocabulary, and weights that write
# 200 tokens from BOS without producing BOS (two_models prints every piece after a tag)
SHAPE_B = ModelConfig(dim=48, hidden_dim=128, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=512, max_seq_len=256)


def cmake_build(build, *options):
    """Configures (with `options`: the compiled projects, a toolchain file) and builds the examples."""
    for command in (["cmake", "-S", EXAMPLES, "-B", build, *options],
                    ["cmake", "--build", build]):
        result = subprocess.run(list(map(str, command)), capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_program_of_your_own_links_the_library(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "host",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT={out}")
    story = tmp_path / "build" / "story"
    assert subprocess.run([story], capture_output=True, text=True, check=True).stdout == KNOWN_TEXT + "\n"
    # the callback stops it: BOS and 7 tokens after it
    stopped = subprocess.run([story, "", "8"], capture_output=True, text=True, check=True).stdout
    assert stopped == "Once upon a time, there was a\n" and KNOWN_TEXT.startswith(stopped[:-1])


@pytest.mark.slow  # a cross build and QEMU
def test_the_same_program_as_firmware_under_qemu(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "mps2-an386",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT={out}", f"-DCMAKE_TOOLCHAIN_FILE={out / 'toolchain.cmake'}")
    result = subprocess.run(QEMU_AN386 + [tmp_path / "build" / "firmware" / "story.elf"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == KNOWN_TEXT + "\n", result.stderr


def symbols(archive, nm):
    """The external symbols an archive defines, and those it needs from outside itself."""
    defined, wanted = set(), set()
    for line in subprocess.run([nm, "-g", archive], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "U":
            wanted.add(fields[1])
        elif len(fields) == 3:
            defined.add(fields[2])
    return defined, wanted - defined


@pytest.mark.slow  # cross builds
@pytest.mark.parametrize("board", ["mps2-an386", "nucleo-h743zi", "coral-micro"])
def test_a_bare_metal_library_needs_only_the_c_library(shared_models, tmp_path, board):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board,
                          tmp_path / "out").project.path
    subprocess.run(["make", "-C", out, "-s", "lib"], check=True, capture_output=True)
    archive = out / "build" / "libllm.a"
    _, needed = symbols(archive, "arm-none-eabi-nm")
    libc = set()
    for lib in ("libc.a", "libm.a"):
        path = subprocess.run(["arm-none-eabi-gcc", "-print-file-name=" + lib], capture_output=True, text=True,
                              check=True).stdout.strip()
        libc |= symbols(path, "arm-none-eabi-nm")[0]
    assert needed and needed <= libc, needed - libc
    # of the C library, nothing that writes, reads, allocates or ends the program: the user's firmware does
    assert not needed & {"exit", "_exit", "abort", "printf", "fprintf", "puts", "fputs", "putchar", "fwrite", "write",
                         "_write", "read", "_read", "malloc", "free", "initialise_monitor_handles"}, needed
    listing = subprocess.run(["arm-none-eabi-objdump", "-d", archive], capture_output=True, text=True,
                             check=True).stdout
    assert "bkpt\t0x00ab" not in listing and "svc\t0x00ab" not in listing  # no semihosting call


@pytest.mark.slow  # a cross build and qemu-aarch64
def test_the_program_cross_built_for_a_linux_board(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "rpi4",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT={out}", f"-DCMAKE_TOOLCHAIN_FILE={out / 'toolchain.cmake'}")
    result = subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", tmp_path / "build" / "story"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == KNOWN_TEXT + "\n", result.stderr


def two_models(shared_models, root, board, share_arena=False):
    """stories260K in f32 as library a and a random model of SHAPE_B in q8 as library b,
    compiled for `board`: their project directories, and b's text alone (the emulator's
    greedy generation of 200 positions) beside a's, llama2.c's."""
    options = dict(library=LibraryOptions("a", share_arena))
    a = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, root / "a",
                        quant="f32", **options).project.path
    options = dict(library=LibraryOptions("b", share_arena))
    b = compile_project(random_model(SHAPE_B, seed=14, std=0.3), shared_models / "tok512.bin", board, root / "b",
                        quant="q8", **options).project.path
    alone = Emulator(b).generate("", steps=200, temperature=0.0)
    assert len(alone.tokens) == 1 + 200  # BOS, then no other: every turn has a piece
    return a, b, {"a": KNOWN_TEXT, "b": alone.text.decode()}


def turns(output: str) -> tuple[list[str], dict[str, str]]:
    """two_models' output: the models in the order their pieces came, and each one's text."""
    fields = re.split(r"\[([ab])\]", output.removesuffix("\n"))
    assert fields[0] == ""
    tags, texts = fields[1::2], {"a": "", "b": ""}
    for tag, piece in zip(tags, fields[2::2]):
        texts[tag] += piece
    return tags, texts


def defined_globals(path, nm="nm") -> list[str]:
    listing = subprocess.run([nm, "-g", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    return [line.split()[2] for line in listing.splitlines() if len(line.split()) == 3]


def test_two_models_in_one_program_take_turns(shared_models, tmp_path):
    a, b, texts = two_models(shared_models, tmp_path, "host")
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT_A={a}", f"-DLLM_PROJECT_B={b}")
    program = tmp_path / "build" / "two_models"
    tags, generated = turns(subprocess.run([program], capture_output=True, text=True, check=True).stdout)
    assert generated == texts
    shorter = min(tags.count("a"), tags.count("b"))
    assert tags[:2 * shorter] == ["a", "b"] * shorter and len(set(tags[2 * shorter:])) <= 1  # a, b, a, b ...
    # every symbol a library defines carries its name, the API's included; none clashes
    for name in "ab":
        symbols = defined_globals(tmp_path / "build" / name / f"lib{name}.a")
        assert symbols and all(s.startswith(f"{name}_") for s in symbols), symbols
        assert {f"{name}_{f}" for f in api_functions()} <= set(symbols)
    linked = defined_globals(program)
    assert len(linked) == len(set(linked))
    assert "llm_shared_arena" not in linked


def test_models_compiled_to_share_an_arena(shared_models, tmp_path):
    a, b, texts = two_models(shared_models, tmp_path, "host", share_arena=True)
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT_A={a}", f"-DLLM_PROJECT_B={b}")
    program = tmp_path / "build" / "two_models"
    # one array, as large as the larger model's arena
    sizes = [json.loads((p / "plan.json").read_text())["arenas"] for p in (a, b)]
    assert [[x.get("shared") for x in arenas] for arenas in sizes] == [["llm_shared_arena"]] * 2
    listing = subprocess.run(["nm", "-S", program], capture_output=True, text=True, check=True).stdout
    arena = [line.split() for line in listing.splitlines() if line.endswith(" llm_shared_arena")]
    assert len(arena) == 1 and int(arena[0][1], 16) == max(arenas[0]["bytes"] for arenas in sizes)
    # whole generations in turn are each model's own
    tags, generated = turns(subprocess.run([program, "200"], capture_output=True, text=True, check=True).stdout)
    assert generated == texts and tags == sorted(tags)


@pytest.mark.slow  # cross builds and QEMU
def test_two_models_in_one_firmware_under_qemu(shared_models, tmp_path):
    a, b, texts = two_models(shared_models, tmp_path, "mps2-an386")
    cmake_build(tmp_path / "build", f"-DLLM_PROJECT_A={a}", f"-DLLM_PROJECT_B={b}",
                f"-DCMAKE_TOOLCHAIN_FILE={a / 'toolchain.cmake'}")
    result = subprocess.run(QEMU_AN386 + [tmp_path / "build" / "firmware" / "two_models.elf"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    tags, generated = turns(result.stdout)
    assert generated == texts and tags[:4] == ["a", "b", "a", "b"]
    # `make lib` renames as CMake does
    subprocess.run(["make", "-C", a, "-s", "lib"], check=True, capture_output=True)
    symbols = defined_globals(a / "build" / "liba.a", "arm-none-eabi-nm")
    assert set(symbols) == set(defined_globals(tmp_path / "build" / "a" / "liba.a", "arm-none-eabi-nm"))
    assert all(s.startswith("a_") for s in symbols)
