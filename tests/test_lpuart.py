"""The i.MX RT LPUART driver (runtime_c/platform/uart_imxrt_lpuart.c) for the RT1062
(Teensy 4.1) and RT1176 (Coral Dev Board Micro): no board file uses it yet and no
QEMU machine has the chip, so what is checked is its BAUD value (the LPUART
chapter: OSR = oversampling - 1 in bits 28:24, SBR in bits 12:0, BOTHEDGE for 4x to
7x oversampling), that it compiles for each chip with the firmware's flags, defines
the serial.h byte device, and refuses a divisor or chip it cannot drive."""
import re
import subprocess

import pytest

from toolchain.boards import UART_KINDS
from toolchain.compile.render import uart_values
from toolchain.errors import ToolchainError
from toolchain.resources import resource_dir

PLATFORM = resource_dir("runtime_c") / "platform"
DRIVER = PLATFORM / "uart_imxrt_lpuart.c"
CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", "-mcpu=cortex-m7", "-mfloat-abi=hard",
          "-mfpu=fpv5-d16"]
SERIAL = {"serial_init", "serial_can_send", "serial_send", "serial_has_byte", "serial_receive"}
# the chip's macro and its console LPUART: LPUART6 on both (RT1060 RM, RT1170 RM memory maps)
CHIPS = {"IMXRT1062": 0x40198000, "IMXRT1176": 0x40090000}
BAUD_115200_24MHZ = (15 << 24) | 13  # 24 MHz / (16 x 115200) = 13.02
BOTHEDGE = 1 << 17


def lpuart(baud=115200, clock_mhz=24):
    return {"kind": "imxrt-lpuart", "base": 0x40198000, "baud": baud, "clock_mhz": clock_mhz}


def test_the_lpuart_divisor_is_its_baud_register_at_16x_oversampling():
    assert "imxrt-lpuart" in UART_KINDS
    assert uart_values(lpuart(), 600)["divisor"] == BAUD_115200_24MHZ
    assert uart_values(lpuart(baud=9600), 600)["divisor"] == (15 << 24) | 156  # 156.25
    assert uart_values(lpuart(baud=1_000_000, clock_mhz=80), 600)["divisor"] == (15 << 24) | 5
    assert uart_values(lpuart(), 600)["macro"] == "IMXRT_LPUART"


def test_the_lpuart_refuses_a_baud_rate_its_sbr_cannot_hold():
    with pytest.raises(ToolchainError, match="SBR 0, not 1 to 8191"):
        uart_values(lpuart(baud=4_000_000), 600)
    with pytest.raises(ToolchainError, match="SBR 9766, not 1 to 8191"):
        uart_values(lpuart(baud=1200, clock_mhz=187.5), 600)


def compile_driver(tmp_path, defines, name="uart.o"):
    """The driver compiled against an llm_config.h holding `defines`: the result."""
    (tmp_path / "llm_config.h").write_text("".join(f"#define LLM_{k} {v}\n" for k, v in defines.items()))
    return subprocess.run(["arm-none-eabi-gcc", *CFLAGS, "-I", str(tmp_path), "-I", str(PLATFORM), "-c",
                           str(DRIVER), "-o", str(tmp_path / name)], capture_output=True, text=True)


def literal_words(obj):
    """The 32-bit literals in the object's code (its register addresses and values)."""
    listing = subprocess.run(["arm-none-eabi-objdump", "-d", str(obj)], capture_output=True, text=True,
                             check=True).stdout
    return {int(w, 16) for w in re.findall(r"\.word\s+0x([0-9a-f]+)", listing)}


@pytest.mark.parametrize("chip", CHIPS)
def test_the_driver_compiles_for_each_chip_and_defines_the_byte_device(tmp_path, chip):
    result = compile_driver(tmp_path, {f"CHIP_{chip}": 1, "UART_BASE": f"0x{CHIPS[chip]:08x}u",
                                       "UART_DIVISOR": f"{BAUD_115200_24MHZ}u"})
    assert result.returncode == 0, result.stderr
    symbols = subprocess.run(["arm-none-eabi-nm", str(tmp_path / "uart.o")], capture_output=True, text=True,
                             check=True).stdout
    defined = {line.split()[2] for line in symbols.splitlines() if len(line.split()) == 3 and line.split()[1] == "T"}
    assert SERIAL <= defined
    words = literal_words(tmp_path / "uart.o")
    assert CHIPS[chip] in words and BAUD_115200_24MHZ in words  # 16x: BAUD as rendered, no BOTHEDGE


def test_the_driver_samples_both_edges_below_8x_oversampling(tmp_path):
    osr_4x = (3 << 24) | 52  # 4x oversampling: 24 MHz / (4 x 115200) = 52.08
    result = compile_driver(tmp_path, {"CHIP_IMXRT1062": 1, "UART_BASE": "0x40198000u", "UART_DIVISOR": f"{osr_4x}u"})
    assert result.returncode == 0, result.stderr
    assert osr_4x | BOTHEDGE in literal_words(tmp_path / "uart.o")


@pytest.mark.parametrize("defines,message", [
    ({"UART_DIVISOR": "13u"}, "oversamples 4 to 32 times"),      # OSR 0: a bare divisor, not a BAUD value
    ({"UART_DIVISOR": f"{15 << 24}u"}, "an SBR of 0"),
    ({"UART_DIVISOR": f"{BAUD_115200_24MHZ | 1 << 13}u"}, "only BAUD's OSR and SBR"),
    ({"CHIP_IMXRT1062": None}, "names neither LLM_CHIP_IMXRT1062 nor LLM_CHIP_IMXRT1176"),
])
def test_the_driver_refuses_a_divisor_or_chip_it_cannot_drive(tmp_path, defines, message):
    config = {"CHIP_IMXRT1062": 1, "UART_BASE": "0x40198000u", "UART_DIVISOR": f"{BAUD_115200_24MHZ}u"}
    config = {k: v for k, v in (config | defines).items() if v is not None}
    result = compile_driver(tmp_path, config)
    assert result.returncode != 0 and message in result.stderr
