"""Boot images and flashing: the RP2040's boot2 and UF2 file, .bin and .hex for the
other bare-metal boards, `llmtool flash`'s command lines and `llmtool monitor`."""
import os
import select
import struct
import subprocess
import sys
import time

import pytest

from toolchain.boards import get_board
from toolchain.errors import ToolchainError
from toolchain.manifest import write_manifest
from toolchain.target import flash

UF2_MAGICS = (0x0A324655, 0x9E5D5157, 0x0AB16F30)


def llmtool(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], capture_output=True, text=True,
                          **kwargs)


def boot_rom_crc32(data: bytes) -> int:
    """The RP2040 boot ROM's CRC-32 of boot2: polynomial 0x04c11db7, initial value
    0xffffffff, most significant bit first, no final xor (CRC-32/MPEG-2)."""
    crc = 0xFFFFFFFF
    for byte in data:
        for bit in range(7, -1, -1):
            top = (crc >> 31) ^ ((byte >> bit) & 1)
            crc = ((crc << 1) & 0xFFFFFFFF) ^ (0x04C11DB7 if top else 0)
    return crc


def test_the_boot_rom_crc_is_crc32_mpeg2():
    assert boot_rom_crc32(b"123456789") == 0x0376E6E7  # the catalogued check value


def symbols(board, elf):
    listing = subprocess.run([f"{board.toolchain_prefix}nm", str(elf)], capture_output=True, text=True,
                             check=True).stdout
    return {fields[2]: int(fields[0], 16) for fields in map(str.split, listing.splitlines()) if len(fields) == 3}


@pytest.mark.slow
def test_rp2040_uf2_holds_the_binary_in_flash(built_board):
    out, board = built_board("rp2040"), get_board("rp2040")
    flash_region = board.region(board.code_region)
    binary = (out / "build" / "llm.bin").read_bytes()
    uf2 = (out / "build" / "llm.uf2").read_bytes()
    assert len(uf2) % 512 == 0
    blocks = [uf2[i:i + 512] for i in range(0, len(uf2), 512)]
    assert len(blocks) == (len(binary) + 255) // 256
    payload = b""
    for n, block in enumerate(blocks):
        start0, start1, flags, address, size, number, count, family = struct.unpack_from("<8I", block)
        (end,) = struct.unpack_from("<I", block, 508)
        assert (start0, start1, end) == UF2_MAGICS
        assert (flags, family) == (0x00002000, 0xE48BFF56)  # family id present: the RP2040's
        assert (size, number, count) == (256, n, len(blocks))
        assert address == flash_region.origin + 256 * n  # contiguous from the start of flash
        assert address + 256 <= flash_region.origin + flash_region.length
        assert block[32 + 256:508] == bytes(476 - 256)
        payload += block[32:32 + 256]
    assert payload[:len(binary)] == binary and payload[len(binary):] == bytes(len(payload) - len(binary))


@pytest.mark.slow
def test_rp2040_boot2_passes_the_boot_rom_check_and_enters_the_vector_table(built_board):
    out, board = built_board("rp2040"), get_board("rp2040")
    binary = (out / "build" / "llm.bin").read_bytes()
    boot2 = binary[:256]
    assert boot2[:252] != bytes(252)
    assert struct.unpack("<I", boot2[252:])[0] == boot_rom_crc32(boot2[:252])
    # the code loads the vector table's address, 0x10000100, from its literal pool
    assert struct.pack("<I", 0x10000100) in boot2[:252]
    names = symbols(board, out / "build" / "llm")
    assert names["vectors"] == 0x10000100
    stack_pointer, reset = struct.unpack_from("<2I", binary, 0x100)
    assert stack_pointer == names["_estack"] and reset == names["reset_handler"] | 1  # Thumb
    sram = board.region(board.ram_region)
    assert sram.origin < stack_pointer <= sram.origin + sram.length


def intel_hex(path):
    """The bytes an Intel HEX file writes, from its lowest address: (address, data)."""
    memory, upper = {}, 0
    for line in path.read_text().split():
        record = bytes.fromhex(line[1:])
        assert sum(record) % 256 == 0
        count, offset, kind = record[0], int.from_bytes(record[1:3], "big"), record[3]
        data = record[4:4 + count]
        if kind == 0:
            memory.update((upper + offset + i, b) for i, b in enumerate(data))
        elif kind in (2, 4):  # extended segment address (x 16), extended linear address (x 65536)
            upper = int.from_bytes(data, "big") << (4 if kind == 2 else 16)
    base = min(memory)
    return base, bytes(memory.get(a, 0) for a in range(base, max(memory) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mps2-an386", "stm32f405"])
def test_bin_and_hex_hold_the_program_from_the_start_of_flash(built_board, name):
    out, board = built_board(name), get_board(name)
    binary = (out / "build" / "llm.bin").read_bytes()
    base, data = intel_hex(out / "build" / "llm.hex")
    assert base == board.region(board.code_region).origin and data == binary
    names = symbols(board, out / "build" / "llm")
    assert struct.unpack_from("<2I", binary) == (names["_estack"], names["reset_handler"] | 1)
    assert not (out / "build" / "llm.uf2").exists() and not (out / "runtime" / "tools").exists()


@pytest.mark.slow
def test_flash_uf2_copies_the_image_to_the_drive(built_board, tmp_path):
    out = built_board("rp2040")
    (tmp_path / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nBoard-ID: RPI-RP2\n")
    result = llmtool("flash", out, "--probe", "uf2", "--port", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"cp {out}/build/llm.uf2 {tmp_path}/\n"
    assert (tmp_path / "llm.uf2").read_bytes() == (out / "build" / "llm.uf2").read_bytes()


@pytest.fixture
def project(tmp_path):
    """An OUTDIR for a board, as far as flash and monitor read it (its manifest)."""
    def make(board):
        out = tmp_path / board
        out.mkdir(exist_ok=True)
        write_manifest(out, {"board": board})
        return out
    return make


def dry_run_lines(out, *args):
    result = llmtool("flash", out, "--dry-run", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.replace(str(out), "OUT").splitlines()


# (board, probe) -> the command line; None: the board's default
COMMANDS = {
    ("rp2040", "picotool"): "picotool load --execute OUT/build/llm.uf2",
    ("rp2040", "openocd"): "openocd -f interface/cmsis-dap.cfg -f target/rp2040.cfg "
                           "-c 'program OUT/build/llm verify reset exit'",
    ("rp2040", "pyocd"): "pyocd load --target rp2040 OUT/build/llm.hex",
    ("stm32f405", None): "st-flash --reset write OUT/build/llm.bin 0x08000000",
    ("stm32f405", "openocd"): "openocd -f interface/stlink.cfg -f target/stm32f4x.cfg "
                              "-c 'program OUT/build/llm verify reset exit'",
    ("stm32f405", "pyocd"): "pyocd load --target stm32f405rg OUT/build/llm.hex",
    ("mps2-an386", None): "pyocd load --target cortex_m OUT/build/llm.hex",
    ("mps2-an500", "pyocd"): "pyocd load --target cortex_m OUT/build/llm.hex",
    ("mps3-an547", None): "pyocd load --target cortex_m OUT/build/llm.hex",
    ("rp2350", "picotool"): "picotool load --execute OUT/build/llm.uf2",
    ("rp2350", "openocd"): "openocd -f interface/cmsis-dap.cfg -f target/rp2350.cfg "
                           "-c 'program OUT/build/llm verify reset exit'",
    ("rp2350", "pyocd"): "pyocd load --target rp2350 OUT/build/llm.hex",
    ("nrf52840", None): "pyocd load --target nrf52840 OUT/build/llm.hex",
    ("nrf52840", "openocd"): "openocd -f interface/cmsis-dap.cfg -f target/nrf52.cfg "
                             "-c 'program OUT/build/llm verify reset exit'",
    ("nucleo-h743zi", None): "st-flash --reset write OUT/build/llm.bin 0x08000000",
    ("nucleo-h743zi", "openocd"): "openocd -f interface/stlink.cfg -f target/stm32h7x.cfg "
                                  "-c 'program OUT/build/llm verify reset exit'",
    ("nucleo-h743zi", "pyocd"): "pyocd load --target stm32h743zitx OUT/build/llm.hex",
}


@pytest.mark.parametrize("board,probe", COMMANDS)
def test_flash_dry_run_prints_the_command(project, board, probe):
    out = project(board)
    assert dry_run_lines(out, *(("--probe", probe) if probe else ())) == [COMMANDS[board, probe]]


def test_flash_port_picks_the_probe_or_the_drive(project, tmp_path):
    assert dry_run_lines(project("stm32f405"), "--port", "066DFF") == \
        ["st-flash --serial 066DFF --reset write OUT/build/llm.bin 0x08000000"]
    assert dry_run_lines(project("stm32f405"), "--probe", "openocd", "--port", "066DFF")[0].endswith(
        "-c 'adapter serial 066DFF' -c 'program OUT/build/llm verify reset exit'")
    assert dry_run_lines(project("rp2040"), "--probe", "pyocd", "--port", "E6614C") == \
        ["pyocd load --target rp2040 --uid E6614C OUT/build/llm.hex"]
    drive = tmp_path / "drive"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("Board-ID: RPI-RP2\n")
    assert dry_run_lines(project("rp2040"), "--port", drive) == [f"cp OUT/build/llm.uf2 {drive}/"]
    assert dry_run_lines(project("rp2350"), "--port", drive) == [f"cp OUT/build/llm.uf2 {drive}/"]


def test_flash_finds_the_rpi_rp2_drive_under_media(project, tmp_path, monkeypatch, capsys):
    out = project("rp2040")
    monkeypatch.setattr(flash, "UF2_MOUNT_ROOTS", (tmp_path / "media",))
    with pytest.raises(ToolchainError, match="no RPI-RP2 drive mounted"):
        flash.flash_project(out, None, None, dry_run=True)
    drive = tmp_path / "media" / "pi" / "RPI-RP2"
    drive.mkdir(parents=True)
    (drive / "INFO_UF2.TXT").write_text("Board-ID: RPI-RP2\n")
    flash.flash_project(out, None, None, dry_run=True)
    assert capsys.readouterr().out == f"cp {out}/build/llm.uf2 {drive}/\n"
    with pytest.raises(ToolchainError, match="no RP2350 drive mounted"):  # the Pico 2's drive has its own name
        flash.flash_project(project("rp2350"), None, None, dry_run=True)
    drive = tmp_path / "media" / "pi" / "RP2350"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("Board-ID: RP2350\n")
    flash.flash_project(project("rp2350"), None, None, dry_run=True)
    assert capsys.readouterr().out == f"cp {project('rp2350')}/build/llm.uf2 {drive}/\n"


def assert_one_error(result, words):
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert words in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("board,probe,words", [
    ("rp2040", "openocd", "openocd not found: install the Debian package openocd"),
    ("rp2040", "picotool", "picotool not found: install the Debian package picotool"),
    ("stm32f405", "st-flash", "st-flash not found: install the Debian package stlink-tools"),
    ("mps2-an386", "pyocd", "pyocd not found: pip install pyocd"),
])
def test_a_missing_flashing_tool_is_one_line(project, tmp_path, board, probe, words):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    result = llmtool("flash", project(board), "--probe", probe, env={**os.environ, "PATH": str(empty)})
    assert_one_error(result, words)


@pytest.mark.parametrize("board,args,words", [
    ("stm32f405", ("--probe", "uf2"), "board stm32f405 is not flashed with uf2 (its probes: st-flash, openocd, pyocd)"),
    ("rpi4", (), "board rpi4 is not flashed by llmtool"),
    ("rp2040", ("--probe", "picotool", "--port", "x"), "picotool takes no --port"),
    ("rp2040", ("--probe", "uf2", "--port", "/"), "/ is not a mounted UF2 drive"),
])
def test_flash_refusals_are_one_line(project, board, args, words):
    assert_one_error(llmtool("flash", project(board), "--dry-run", *args), words)


def read_until(fd, wanted, timeout=10.0):
    got, deadline = b"", time.monotonic() + timeout
    while wanted not in got and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            got += chunk
    return got


def test_monitor_carries_lines_both_ways_through_a_pty(project):
    """A pty pair stands in for the board's USB serial port: llmtool holds the
    slave end as the port, the test plays the board on the master end."""
    board, port = os.openpty()
    monitor = subprocess.Popen([sys.executable, "-m", "toolchain", "monitor", project("rp2040"), "--port",
                                os.ttyname(port), "--baud", "115200"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        monitor.stdin.write(b"Once upon a time\n")
        monitor.stdin.flush()
        assert read_until(board, b"\n") == b"Once upon a time\n"
        os.write(board, b"there was a board.\n\xff\x00raw bytes too")
        assert read_until(monitor.stdout.fileno(), b"too") == b"there was a board.\n\xff\x00raw bytes too"
        monitor.stdin.close()  # Ctrl-D
        assert monitor.wait(timeout=10) == 0
        assert monitor.stderr.read().decode().startswith(f"connected to {os.ttyname(port)} at 115200 baud")
    finally:
        monitor.kill()
        os.close(board)
        os.close(port)


def test_monitor_on_a_missing_port_is_one_line(project):
    assert_one_error(llmtool("monitor", project("rp2040"), "--port", "/dev/no-such-port"),
                     "cannot open /dev/no-such-port")
