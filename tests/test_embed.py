"""The model as a library in a program of your own: `make lib` and CMakeLists.txt
build it without main.c, start-up code or console; examples/embed/ links it from
outside the project, as a host program and as bare-metal firmware built with the
project's CMake toolchain file, and both print llama2.c's known-good text."""
import subprocess
from pathlib import Path

import pytest

from test_pipeline import KNOWN_TEXT
from toolchain.compile.compiler import compile_project
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "embed"


def cmake_build(source, build, project, *options):
    """Configures and builds the example at `source` against the compiled `project`."""
    for command in (["cmake", "-S", source, "-B", build, f"-DLLM_PROJECT={project}", *options],
                    ["cmake", "--build", build]):
        result = subprocess.run(list(map(str, command)), capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_program_of_your_own_links_the_library(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "host",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(EXAMPLES, tmp_path / "build", out)
    story = tmp_path / "build" / "host" / "story"
    assert subprocess.run([story], capture_output=True, text=True, check=True).stdout == KNOWN_TEXT + "\n"
    # the callback stops it: BOS and 7 tokens after it
    stopped = subprocess.run([story, "", "8"], capture_output=True, text=True, check=True).stdout
    assert stopped == "Once upon a time, there was a\n" and KNOWN_TEXT.startswith(stopped[:-1])


@pytest.mark.slow  # a cross build and QEMU
def test_the_same_program_as_firmware_under_qemu(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "mps2-an386",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(EXAMPLES, tmp_path / "build", out, f"-DCMAKE_TOOLCHAIN_FILE={out / 'toolchain.cmake'}")
    result = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
                             "null", "-semihosting-config", "enable=on,target=native", "-kernel",
                             tmp_path / "build" / "firmware" / "story.elf"], capture_output=True, text=True, timeout=300)
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
    listing = subprocess.run(["arm-none-eabi-objdump", "-d", archive], capture_output=True, text=True,
                             check=True).stdout
    assert "bkpt\t0x00ab" not in listing and "svc\t0x00ab" not in listing  # no semihosting call


@pytest.mark.slow  # a cross build and qemu-aarch64
def test_the_program_cross_built_for_a_linux_board(shared_models, tmp_path):
    out = compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "rpi4",
                          tmp_path / "out", quant="f32").project.path
    cmake_build(EXAMPLES, tmp_path / "build", out, f"-DCMAKE_TOOLCHAIN_FILE={out / 'toolchain.cmake'}")
    result = subprocess.run(["qemu-aarch64", "-cpu", "cortex-a72", tmp_path / "build" / "host" / "story"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == KNOWN_TEXT + "\n", result.stderr
