"""Which of runtime_c/'s files a project carries: the portable runtime, which every
build needs (the board's, `make reference`'s and the host emulator's), the platform
glue (platform.h, the command-line helpers cli.c and the board's OS's file), and of
the ISA kernels only those with code in the board's build. An ISA file holds nothing
outside its `#if` (ISA_FILES below), so one whose condition the board's build does
not meet would compile to nothing: it is left out (tests/test_lean_projects.py checks
the table against every board's compiler)."""
from __future__ import annotations

import platform
import re
from pathlib import Path

from ..boards import Board, Kernel
from ..resources import resource_dir

# Every ISA file in runtime_c/kernels/ and the kernels.h macros (LLM_KERNEL_<NAME>)
# under which it has code, any one of them; every other file there is portable.
ISA_FILES: dict[str, frozenset[str]] = {name: frozenset(macros.split()) for name, macros in {
    "matvec_q8_avx512_vnni.c": "AVX512_VNNI",
    "gemm_q8_avx512_vnni.c": "AVX512_VNNI",
    "q8_avx512_vnni.h": "AVX512_VNNI",
    "lanes_avx512.h": "AVX512_VNNI",
    "matvec_q8_avx2.c": "AVX2 AVX_VNNI DISPATCH_X86",
    "gemm_q8_avx2.c": "AVX2 AVX_VNNI DISPATCH_X86",
    "q8_avx2.h": "AVX2 AVX_VNNI DISPATCH_X86",
    "matvec_f32_avx2.c": "X86",
    "matvec_kquant_avx2.c": "X86",
    "matvec_kquant_avx512_vnni.c": "AVX512_VNNI",
    "gemm_kquant_avx512_vnni.c": "AVX512_VNNI",
    "kquant_avx512_vnni.h": "AVX512_VNNI",
    "quantize_q8_avx2.c": "X86",
    "scores_avx2.c": "X86",
    "weighted_sum_avx2.c": "X86",
    "lanes_avx2.h": "X86",
    "prefetch.h": "X86",
    "matvec_q8_dotprod.c": "DOTPROD DISPATCH_A64",
    "matvec_q8_neon.c": "NEON DISPATCH_A64",
    "gemm_q8_dotprod.c": "DOTPROD DISPATCH_A64",
    "gemm_q8_neon.c": "NEON DISPATCH_A64",
    "q8_tile_neon.h": "NEON DOTPROD DISPATCH_A64",
    "matvec_kquant_dotprod.c": "DOTPROD DISPATCH_A64",
    "matvec_kquant_neon.c": "NEON DISPATCH_A64",
    "kquant_neon.h": "NEON DOTPROD DISPATCH_A64",
    "matvec_f32_neon.c": "NEON DOTPROD DISPATCH_A64",
    "lanes_neon.h": "NEON DOTPROD DISPATCH_A64",
    "scores_neon.c": "A64",
    "weighted_sum_neon.c": "A64",
    "softmax_f32_simd.c": "X86 A64",
    "swiglu_f32_simd.c": "X86 A64",
    "exp_f32_simd.h": "X86 A64",
    "lanes_f32.h": "X86 A64",
    "matvec_q8_dsp.c": "DSP",
    "matvec_q8_mve.c": "MVE",
    "gemm_q8_dsp.c": "DSP",
    "gemm_q8_mve.c": "MVE",
    "q8_m.h": "DSP MVE",
    "matvec_kquant_dsp.c": "DSP",
    "matvec_kquant_mve.c": "MVE",
    "kquant_m_asm.h": "DSP MVE",
    "dispatch.c": "DISPATCH_X86 DISPATCH_A64",
    "quantize_q8_vfp.c": "VFP",
    "scores_f32_vfp.c": "VFP",
    "softmax_f32_vfp.c": "VFP",
    "swiglu_f32_vfp.c": "VFP",
    "weighted_sum_f32_vfp.c": "VFP",
}.items()}

# runtime_c/platform/<os>.c: one per Board.os
OPERATING_SYSTEMS = ("linux", "baremetal")

# Headers a chip family's platform files share (runtime_c/platform/), each carried
# with any of the files that include it.
PLATFORM_HEADERS = {
    "rp2_map.h": ("chip_rp2040.c", "chip_rp2350.c", "uart_rp2_pl011.c", "xram_rp2350_psram.c"),  # the RP2s' addresses
    "rp2_clocks.h": ("chip_rp2040.c", "chip_rp2350.c"),                   # their clock start-up
    "imxrt_watchdog.h": ("chip_imxrt1062.c", "chip_imxrt1176.c"),         # the i.MX RTs' watchdogs
    "stm32_gpio.h": ("uart_stm32f4_usart.c", "uart_stm32h7_usart.c", "xram_stm32h747i_disco.c"),  # a pin's function
}


# Bare metal's platform files that depend on the console or the chip (runtime_c/platform/):
# semihosting.c, which the test program always uses, and for a serial console
# serial_console.c over its byte device: a UART driver (uart_<kind>.c) or the RTT ring
# buffers (rtt.c); the chip's start-up (chip_<kind>.c) and its external RAM's
# (xram_<init>.c); the headers they share.
def bare_metal_only(name: str) -> bool:
    """Whether runtime_c/platform/`name` is one that platform_files picks."""
    return name in ("console.h", "semihosting.c", "chip.h", "rtt.c", "serial.h", "serial_console.c", "xram.h") or \
        name.startswith(("uart_", "chip_", "xram_")) or name in PLATFORM_HEADERS


# What a chip's boot ROM wants at the start of flash (runtime_c/platform/<key>_<name>.S),
# named by the board file's [flash] key: the RP2040's second-stage boot loader (`boot2`),
# the RP2350's IMAGE_DEF block (`image_def`), the i.MX RT's FlexSPI configuration block
# and image vector table (`boot`).
BOOT_BLOCKS = ("boot2", "image_def", "boot")

# The host tools that make a board's flashing images (runtime_c/tools/), each carried
# by the boards whose [flash] table has the key: boot2_pad.c pads and checksums the
# second-stage boot loader (`boot2`), uf2.c writes build/llm.uf2 (`uf2_family`).
HOST_TOOLS = {"tools/boot2_pad.c": "boot2", "tools/uf2.c": "uf2_family"}

# The files of the test program alone (llm_test.c's -k), not of the user's program.
TEST_RUNTIME = ("kernels/selftest.c",)


def kernel_macros(board: Board, kernel: Kernel) -> frozenset[str]:
    """The LLM_KERNEL_<NAME> macros the board's build defines: its kernels' own and
    those kernels.h derives from it (X86: any AVX set, and the x86-64 board's run-time
    pick; A64: NEON on AArch64, whose float twins Armv7 lacks, the aarch64-linux
    board's pick too; VFP: the Cortex-M kernels on a core with an FPU)."""
    if not kernel.feature:
        return frozenset()
    macros = {kernel.name}
    if kernel.name.startswith("AVX") or kernel.name == "DISPATCH_X86":
        macros.add("X86")
    isa = platform.machine() if board.isa == "native" else board.isa  # the host: this machine's
    if kernel.name in ("NEON", "DOTPROD", "DISPATCH_A64") and isa in ("aarch64", "arm64"):
        macros.add("A64")
    if kernel.name in ("DSP", "MVE") and "fpu" in board.features:
        macros.add("VFP")
    return frozenset(macros)


def needed(name: str, macros: frozenset[str]) -> bool:
    """Whether runtime_c/kernels/`name` has code in a build with these macros."""
    return name not in ISA_FILES or bool(ISA_FILES[name] & macros)


def console_sources(board: Board, console: str, emulated: bool = False) -> list[str]:
    """The platform files (runtime/platform/) build/llm is linked with for `console`,
    or build/llm-qemu (`emulated`: the QEMU stand-in's UART where it has its own)."""
    if console == "semihosting":
        return ["semihosting.c"]
    device = "rtt.c"
    if console == "uart":
        uart = board.emulation.get("uart", board.uart) if emulated else board.uart
        device = f"uart_{uart['kind'].replace('-', '_')}.c"
    return ["serial_console.c", device]


def platform_files(board: Board, console: str) -> set[str]:
    """The bare-metal platform files (runtime_c/platform/) a project with `console`
    carries beyond baremetal.c and cli.c: its consoles' (the chip's UART, and the
    QEMU stand-in's where it has another), its chip's start-up and its external RAM's."""
    if board.os != "baremetal":
        return set()
    files = {"console.h", "semihosting.c", "chip.h", *console_sources(board, console)}
    if console != "semihosting":
        files |= {"serial.h", *console_sources(board, console, emulated=True)}
    if board.chip:
        files.add(f"chip_{board.chip['kind']}.c")
    if board.xram_init:
        files |= {"xram.h", f"xram_{board.xram_init}.c"}
    return files | {h for h, users in PLATFORM_HEADERS.items() if files & set(users)}


def runtime_files(board: Board, kernel: Kernel, console: str) -> list[str]:
    """The files of runtime_c/ (paths relative to it) that a project for `board`
    with `kernel` and `console` carries into its runtime/."""
    root = resource_dir("runtime_c")
    macros = kernel_macros(board, kernel)
    platform_extra = platform_files(board, console)
    files = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix in (".o", ".so"):
            continue
        if rel.parts[0] == "platform" and rel.stem in OPERATING_SYSTEMS and rel.stem != board.os:
            continue  # another OS's platform file
        if rel.parts[0] == "platform" and bare_metal_only(rel.name) and rel.name not in platform_extra:
            continue  # another console's, another chip's, or not bare metal
        if rel.parts[0] == "kernels" and not needed(rel.name, macros):
            continue
        boot_block = next((key for key in BOOT_BLOCKS if rel.stem.startswith(f"{key}_")), None)
        if rel.parts[0] == "platform" and boot_block and rel.stem != f"{boot_block}_{board.flash.get(boot_block)}":
            continue  # another chip's boot loader or boot block, or none
        if rel.as_posix() in HOST_TOOLS and HOST_TOOLS[rel.as_posix()] not in board.flash:
            continue
        files.append(rel.as_posix())
    return files


def copy_runtime(files: list[str], dest: Path) -> None:
    """Copies these files of runtime_c/ (runtime_files) into dest, as they are."""
    root = resource_dir("runtime_c")
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((root / rel).read_bytes())


def api_functions() -> list[str]:
    """The functions runtime_c/llm.h declares, in its order: what a library compiled
    with --name renames and its header declares under the name."""
    text = (resource_dir("runtime_c") / "llm.h").read_text()
    return re.findall(r"^[a-z][^(;{}]*?\b(llm_\w+)\(", text, re.M)
