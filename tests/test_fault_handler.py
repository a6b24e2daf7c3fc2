"""The bare-metal fault handler: a load from an address where nothing answers stops
the firmware with one console line naming the fault, the faulting instruction and
the fault registers, under semihosting (exit status 3) and on the UART."""
import re
import subprocess

import pytest

from toolchain.boards import get_board
from toolchain.compile.compiler import compile_project
from toolchain.target.build import BINARY
from toolchain.target.run import emulator_command, serial_command

pytestmark = pytest.mark.slow  # cross builds and QEMU: the full suite only

UNMAPPED = 0x30000000  # nothing at this address on QEMU's mps2-an386
FAULTING_MAIN = f"""int main(int argc, char **argv) {{
    (void)argc;
    (void)argv;
    return *(volatile int *)0x{UNMAPPED:08x}u;
}}
"""


def faulting_build(stories, out, console):
    """The project's firmware with main.c replaced by one that loads from UNMAPPED."""
    compile_project(*stories, "mps2-an386", out, quant="q8", console=console)
    (out / "fault.c").write_text(FAULTING_MAIN)
    subprocess.run(["make", "-s", "build/llm", "SOURCES=fault.c $(PLATFORM) $(CONSOLE) $(RUNTIME) $(GENERATED)"],
                   cwd=out, check=True)
    listing = subprocess.run(["arm-none-eabi-nm", "-S", str(out / BINARY)], capture_output=True, text=True,
                             check=True).stdout
    start, size = next(map(lambda f: (int(f[0], 16), int(f[1], 16)), (line.split() for line in listing.splitlines()
                                                                        if line.endswith(" T main"))))
    return range(start, start + size)


def check_line(line: str, main: range):
    found = re.fullmatch(r"error: the processor faulted \(HardFault\): pc (0x[0-9a-f]{8}) lr 0x[0-9a-f]{8} "
                         r"cfsr (0x[0-9a-f]{8}) hfsr (0x[0-9a-f]{8}) mmfar 0x[0-9a-f]{8} bfar (0x[0-9a-f]{8})", line)
    assert found, line
    pc, cfsr, hfsr, bfar = (int(v, 16) for v in found.groups())
    assert pc in main  # the load in main
    assert cfsr & 0x8200 == 0x8200  # BusFault: precise, BFAR valid
    assert hfsr == 0x40000000  # forced: the BusFault handler is not enabled
    assert bfar == UNMAPPED


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


def test_semihosting_fault_line_and_status(stories, tmp_path):
    out = tmp_path / "out"
    main = faulting_build(stories, out, "semihosting")
    result = subprocess.run(emulator_command(get_board("mps2-an386"), out / BINARY, []), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3
    check_line(result.stderr.strip(), main)


def test_uart_fault_line(stories, tmp_path):
    out = tmp_path / "out"
    main = faulting_build(stories, out, "uart")
    qemu = subprocess.Popen(serial_command(get_board("mps2-an386"), BINARY), cwd=out, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = qemu.stdout.readline()  # the core sleeps after it: QEMU runs on
    finally:
        qemu.kill()
        qemu.wait()
    check_line(line.strip(), main)
