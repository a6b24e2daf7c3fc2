"""The chips without a QEMU model (rp2040, rp2350, nrf52840, nucleo-h743zi): their
start-up and UART drivers are compiled and linked into build/llm, never run, so what
is checked is what can be read off the build: the UART divisors the manuals give,
the driver and start-up in the link and no semihosting in a --console uart image,
the RP2350's IMAGE_DEF block and UF2 file, and the files each project carries."""
import struct
import subprocess

import pytest

from toolchain.boards import get_board
from toolchain.compile.render import uart_values
from toolchain.compile.sources import runtime_files
from toolchain.errors import ToolchainError
from toolchain.resources import resource_dir

CHIPS = ["rp2040", "rp2350", "nrf52840", "nucleo-h743zi"]
UF2_MAGICS = (0x0A324655, 0x9E5D5157, 0x0AB16F30)
UF2_RP2350_ARM_S, UF2_ABSOLUTE = 0xE48BFF59, 0xE48BFF57
# RP2350 datasheet 5.9.5.1: the minimum Arm (Secure) IMAGE_DEF, word by word
IMAGE_DEF = (0xFFFFDED3, 0x10210142, 0x000001FF, 0x00000000, 0xAB123579)


def divisor_registers(name):
    """The board's UART divisor as its registers take it."""
    board = get_board(name)
    divisor = uart_values(board.uart, board.clock_mhz)["divisor"]
    return (divisor >> 6, divisor & 63) if board.uart["kind"] == "rp2-pl011" else divisor


@pytest.mark.parametrize("name,registers", [
    ("rp2350", (81, 24)),        # PL011 TRM: 150 MHz / (16 x 115200) = 81.380; FBRD round(0.380 x 64)
    ("rp2040", (72, 10)),        # 133 MHz: 72.157
    ("nrf52840", 0x01D60000),    # nRF52840 PS, UARTE BAUDRATE Baud115200 (the legacy UART's is 0x01D7E000)
    ("nucleo-h743zi", 1042),     # RM0433 USART, 16x oversampling: 120 MHz / 115200 = 1041.7
])
def test_uart_divisors_are_the_manuals(name, registers):
    assert divisor_registers(name) == registers


def test_the_nrf_uarte_takes_only_the_baud_rates_of_its_table():
    with pytest.raises(ToolchainError, match="the nRF UARTE has no baud rate 100000"):
        uart_values({"kind": "nrf-uarte", "base": 0x40002000, "baud": 100000}, 64)


def platform_files(name, console):
    board = get_board(name)
    return {f.split("/", 1)[1] for f in runtime_files(board, board.best_kernel, console) if f.startswith("platform/")}


def test_each_chip_carries_its_own_start_up_driver_and_boot_block():
    assert {"chip_rp2350.c", "rp2_clocks.h", "rp2_map.h", "uart_rp2_pl011.c", "image_def_rp2350_arm_secure.S"} \
        <= platform_files("rp2350", "uart")
    assert "boot2_generic_03h.S" not in platform_files("rp2350", "uart")
    assert {"chip_rp2040.c", "boot2_generic_03h.S"} <= platform_files("rp2040", "semihosting")
    assert not any(f.startswith("image_def_") for f in platform_files("rp2040", "uart"))
    assert {"chip_stm32h7.c", "stm32_gpio.h", "uart_stm32h7_usart.c"} <= platform_files("nucleo-h743zi", "uart")
    assert {"chip_nrf52.c", "uart_nrf_uarte.c"} <= platform_files("nrf52840", "uart")
    assert not {"rp2_map.h", "stm32_gpio.h"} & platform_files("nrf52840", "uart")
    assert "rp2_map.h" not in platform_files("stm32f405", "uart")


def uf2_tool(tmp_path):
    exe = tmp_path / "uf2"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-o", str(exe),
                    str(resource_dir("runtime_c") / "tools" / "uf2.c")], check=True)
    return exe


def test_uf2_refuses_an_image_that_reaches_the_e10_blocks_sector(tmp_path):
    exe = uf2_tool(tmp_path)
    image = tmp_path / "llm.bin"
    image.write_bytes(bytes(0x3FF001))  # one byte into the last 4 KB of a 4 MB flash
    result = subprocess.run([str(exe), str(image), "0x10000000", "0xe48bff59", str(tmp_path / "a.uf2"),
                             "0x103fff00"], capture_output=True, text=True)
    assert result.returncode == 1 and "reaches the flash sector of the RP2350-E10 block" in result.stderr
    image.write_bytes(bytes(0x3FF000))
    result = subprocess.run([str(exe), str(image), "0x10000000", "0xe48bff59", str(tmp_path / "b.uf2"),
                             "0x103fff00"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def tool(board, name, *args):
    return subprocess.run([f"{board.toolchain_prefix}{name}", *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.slow
@pytest.mark.parametrize("name", CHIPS)
def test_the_chips_uart_image_links_its_start_up_and_driver_without_semihosting(built_board, name):
    out, board = built_board(name, "uart"), get_board(name)
    elf = out / "build" / "llm"  # the chip's link (build/llm-qemu is the stand-in's)
    assert "bkpt\t0x00ab" not in tool(board, "objdump", "-d", elf)
    symbols = {line.split()[-1] for line in tool(board, "nm", elf).splitlines()}
    assert {"chip_start", "serial_init", "reset_handler"} <= symbols
    driver = f"uart_{board.uart['kind'].replace('-', '_')}.c"
    assert f"CONSOLE = runtime/platform/serial_console.c runtime/platform/{driver}" in (out / "Makefile").read_text()
    config = (out / "llm_config.h").read_text()
    assert f"#define LLM_CHIP_{board.chip['kind'].upper()} 1" in config
    assert f"#define LLM_UART_DIVISOR {uart_values(board.uart, board.clock_mhz)['divisor']}u" in config


def uf2_blocks(path):
    data = path.read_bytes()
    assert len(data) % 512 == 0
    return [data[i:i + 512] for i in range(0, len(data), 512)]


@pytest.mark.slow
def test_rp2350_uf2_is_the_e10_block_then_the_binary_in_flash(built_board):
    out, board = built_board("rp2350", "uart"), get_board("rp2350")
    flash = board.region(board.code_region)
    assert (flash.origin, flash.length) == (0x10000000, 0x400000)
    binary = (out / "build" / "llm.bin").read_bytes()
    e10, *blocks = uf2_blocks(out / "build" / "llm.uf2")
    for block in (e10, *blocks):
        start0, start1, flags, address, size, *_ = struct.unpack_from("<8I", block)
        assert (start0, start1, struct.unpack_from("<I", block, 508)[0]) == UF2_MAGICS
        assert flags == 0x00002000 and size == 256  # family id present
        assert flash.origin <= address and address + 256 <= flash.origin + flash.length
    # RP2350-E10: the absolute family, block 0 of 2, at the last page, filled with 0xef
    assert struct.unpack_from("<3I", e10, 12)[0] == flash.origin + flash.length - 256
    assert struct.unpack_from("<3I", e10, 20) == (0, 2, UF2_ABSOLUTE)
    assert e10[32:288] == b"\xef" * 256
    payload = b""
    for n, block in enumerate(blocks):
        address, _, number, count, family = struct.unpack_from("<5I", block, 12)
        assert (number, count, family) == (n, len(blocks), UF2_RP2350_ARM_S)
        assert address == flash.origin + 256 * n
        payload += block[32:288]
    assert payload[:len(binary)] == binary and payload[len(binary):] == bytes(len(payload) - len(binary))
    assert flash.origin + len(binary) <= flash.origin + flash.length - 4096  # clear of the E10 page's sector


@pytest.mark.slow
def test_rp2350_image_def_block_follows_the_vector_table_in_the_first_4kb(built_board):
    out, board = built_board("rp2350", "uart"), get_board("rp2350")
    binary = (out / "build" / "llm.bin").read_bytes()
    symbols = {fields[2]: int(fields[0], 16) for fields in map(str.split, tool(board, "nm", out / "build" / "llm")
                                                               .splitlines()) if len(fields) == 3}
    assert symbols["vectors"] == 0x10000000  # the ROM takes the vector table at the start of flash
    offset = symbols["image_def"] - 0x10000000
    assert offset == 16 * 4 and offset + 20 <= 4096  # right after the 16 vectors
    assert struct.unpack_from("<5I", binary, offset) == IMAGE_DEF
    start = binary.find(struct.pack("<I", IMAGE_DEF[0]))
    assert start == offset  # the ROM scans for the start marker: no earlier one
    assert struct.unpack_from("<2I", binary) == (symbols["_estack"], symbols["reset_handler"] | 1)
