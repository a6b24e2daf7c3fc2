"""The external RAM start-up drivers (runtime_c/platform/xram_*.c) and the i.MX RT
FlexSPI boot header (boot_imxrt_flexspi.S). No board and no QEMU machine has these
chips, so what is checked is what can be read off the build: each driver compiles
for its core with the project's warning flags and defines xram_init, uses no .data
or .bss (it runs before they exist), and the boot header, linked at a FlexSPI base,
has the FCB and IVT bytes the boot ROM looks for, with pointers that agree with the
link."""
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = ROOT / "runtime_c"
PLATFORM = RUNTIME / "platform"

COMMON = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-O2", "-mthumb", "-c",
          "-I", str(RUNTIME), "-I", str(PLATFORM)]
M33 = ["-mcpu=cortex-m33", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16"]
M7 = ["-mcpu=cortex-m7", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]

DRIVERS = {
    "xram_rp2350_psram.c": M33,
    "xram_stm32h747i_disco.c": M7,
    "xram_imxrt1176_sdram.c": M7,
    "xram_imxrt1062_psram.c": M7,
}


def run(args):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}{result.stderr}"
    return result.stdout


def symbols(obj):
    """{name: (address, type letter)} from arm-none-eabi-nm."""
    table = {}
    for line in run(["arm-none-eabi-nm", obj]).splitlines():
        parts = line.split()
        if len(parts) == 3:
            table[parts[2]] = (int(parts[0], 16), parts[1])
    return table


def section_sizes(obj):
    """{section: size} from arm-none-eabi-size -A."""
    sizes = {}
    for line in run(["arm-none-eabi-size", "-A", obj]).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
            sizes[parts[0]] = sizes.get(parts[0], 0) + int(parts[1])
    return sizes


def compile_driver(name, tmp_path):
    obj = tmp_path / (Path(name).stem + ".o")
    (tmp_path / "llm_config.h").write_text("#define LLM_CLOCK_MHZ 400\n")  # the project's, for the clock
    run(["arm-none-eabi-gcc", *COMMON, "-I", tmp_path, *DRIVERS[name], str(PLATFORM / name), "-o", obj])
    return obj


@pytest.mark.parametrize("name", sorted(DRIVERS))
def test_each_driver_compiles_for_its_core_and_defines_xram_init(name, tmp_path):
    obj = compile_driver(name, tmp_path)
    table = symbols(obj)
    assert table.get("xram_init", (0, "?"))[1] == "T", f"{name} does not define xram_init"
    # the reset handler runs it before .data is copied and .bss zeroed
    sizes = section_sizes(obj)
    assert sizes.get(".data", 0) == 0 and sizes.get(".bss", 0) == 0, f"{name} uses .data/.bss: {sizes}"
    # and before the C library may be used: nothing undefined (no memcpy, no helpers)
    undefined = [s for s, (_, kind) in table.items() if kind == "U"]
    assert not undefined, f"{name} calls out of itself: {undefined}"


def test_every_driver_includes_the_shared_declaration():
    for name in DRIVERS:
        assert '#include "xram.h"' in (PLATFORM / name).read_text(), name
    assert "void xram_init(void);" in (PLATFORM / "xram.h").read_text()


def test_the_rp2350_direct_mode_routine_fits_its_stack_copy(tmp_path):
    """Direct mode faults every XIP fetch, so that routine runs from a 128-byte copy
    on the stack: it must fit, and be Thumb code of even length."""
    table = symbols(compile_driver("xram_rp2350_psram.c", tmp_path))
    start, end = table["xram_qmi_direct_start"][0], table["xram_qmi_direct_end"][0]
    assert 0 < end - start <= 128 and (end - start) % 2 == 0


BOOT_ROM_ENTRY = """
    .syntax unified
    .thumb
    .text
    .global boot_rom_entry
    .type boot_rom_entry, %function
    .thumb_func
boot_rom_entry:
    b boot_rom_entry
"""

FLASH_SIZE = 0x800000


def link_boot_header(tmp_path, base, fcb_offset, chip):
    """boot_imxrt_flexspi.S linked the way a board's llm.ld would place it: the FCB
    at base + fcb_offset, the IVT at base + 0x1000, code at base + 0x2000. Returns
    the flash image from base, the symbol table and the object's section sizes."""
    script = tmp_path / "boot.ld"
    script.write_text(f"""
__flash_start = {base:#x};
__flash_size = {FLASH_SIZE:#x};
SECTIONS {{
  .boot_fcb {base + fcb_offset:#x} : {{ KEEP(*(.boot_fcb)) }}
  .boot_ivt {base + 0x1000:#x} : {{ KEEP(*(.boot_ivt)) }}
  .text {base + 0x2000:#x} : {{ *(.text*) }}
}}
""")
    (tmp_path / "reset.s").write_text(BOOT_ROM_ENTRY)
    (tmp_path / "llm_config.h").write_text(f"#define LLM_CHIP_{chip.upper()} 1\n")  # the project's, for the chip
    boot_o, reset_o, elf, image = (tmp_path / n for n in ("boot.o", "reset.o", "boot.elf", "boot.bin"))
    run(["arm-none-eabi-gcc", *M7, "-mthumb", "-I", tmp_path, "-c", PLATFORM / "boot_imxrt_flexspi.S", "-o", boot_o])
    run(["arm-none-eabi-gcc", *M7, "-mthumb", "-c", tmp_path / "reset.s", "-o", reset_o])
    run(["arm-none-eabi-ld", "-T", script, boot_o, reset_o, "-o", elf])
    run(["arm-none-eabi-objcopy", "-O", "binary", elf, image])
    # the binary starts at the lowest section, the FCB: pad it back to the base
    return bytes(fcb_offset) + image.read_bytes(), symbols(elf), section_sizes(boot_o)


def word(data, offset):
    return struct.unpack_from("<I", data, offset)[0]


@pytest.mark.parametrize("chip,base,fcb_offset,clock_code", [
    ("imxrt1062", 0x60000000, 0x000, 6),  # RT1060 code 6 = 100 MHz
    ("imxrt1176", 0x30000000, 0x400, 5),  # RT1170 code 5 = 100 MHz
])
def test_the_flexspi_boot_header_has_what_the_boot_rom_reads(chip, base, fcb_offset, clock_code, tmp_path):
    image, table, sizes = link_boot_header(tmp_path, base, fcb_offset, chip)
    assert sizes[".boot_fcb"] == 512 and sizes[".boot_ivt"] == 48

    fcb = image[fcb_offset:fcb_offset + 512]
    assert fcb[0:4] == b"FCFB" and word(fcb, 0) == 0x42464346
    assert word(fcb, 0x04) == 0x56010400                       # version V1.4.0
    assert fcb[0x0C] == 1                                      # read sample clock: DQS pad loopback
    assert fcb[0x44:0x47] == bytes([1, 4, clock_code])         # serial NOR, quad, 100 MHz
    assert word(fcb, 0x50) == FLASH_SIZE                       # sflashA1Size from the link
    # LUT sequence 0: 0xEB on 1 pad, 24-bit address, 6 dummy cycles, read, on 4 pads
    assert (word(fcb, 0x80), word(fcb, 0x84)) == (0x0A1804EB, 0x26043206)
    assert (word(fcb, 0x1C0), word(fcb, 0x1C4), word(fcb, 0x1D0)) == (256, 4096, 0x10000)

    ivt = image[0x1000:0x1020]
    assert ivt[0] == 0xD1 and ivt[1:3] == b"\x00\x20" and ivt[3] & 0xF0 == 0x40
    entry, _, dcd, boot_data, self_pointer, csf, _ = struct.unpack_from("<7I", ivt, 4)
    entry_point = table["boot_rom_entry"][0]
    assert entry == entry_point | 1 and entry_point == base + 0x2000   # Thumb entry
    assert self_pointer == base + 0x1000 == table["image_vector_table"][0]
    assert boot_data == table["boot_data"][0] and dcd == 0 and csf == 0
    start, size, plugin = struct.unpack_from("<3I", image, boot_data - base)
    assert (start, size, plugin) == (base, FLASH_SIZE, 0)
