"""Board files: one TOML file per board in boards/, describing the target.

Adding a board is adding a file; nothing in the code names a board.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .chips import check_chip
from .choices import CONSOLES
from .compile.layout import WeightLayout
from .errors import ToolchainError
from .resources import resource_dir


@dataclass(frozen=True)
class Kernel:
    """A set of ISA kernels (runtime_c/kernels/*_<name>.c) and the weight layouts
    they read, which the compiler then writes."""
    feature: str                  # the board feature (or host CPU flag) it needs
    name: str                     # LLM_KERNEL_<NAME>
    cflags: tuple[str, ...] = ()  # what the compiler needs for it
    q8: WeightLayout = WeightLayout()
    f32: WeightLayout = WeightLayout(1, 1)
    x_bytes: int = 1              # bytes per activation in the q8 kernel's form

    @property
    def flags(self) -> tuple[str, ...]:
        """-DLLM_KERNEL_<NAME> and what the compiler needs; none for the portable kernels."""
        return (f"-DLLM_KERNEL_{self.name}", *self.cflags) if self.feature else ()

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    def layout(self, quant: str) -> WeightLayout:
        return {"q8": self.q8, "f32": self.f32}.get(quant, KQUANT_LAYOUT)

    def fits(self, quant: str, group_size: int) -> bool:
        """Whether its q8 kernel can take this group size (whole chunks per group)."""
        return quant != "q8" or group_size % self.q8.cols == 0


PORTABLE = Kernel("", "REFERENCE")
# q4, q5, q6 are stored row by row (kquant.h): blocks of one row, the forward pass's
# unit of work; their kernels read no activation past the row
KQUANT_LAYOUT = WeightLayout(1, 8)
# x86 f32 (matvec_f32_avx2): 16 rows a column at a time, one 64-byte line per column
F32_X86 = WeightLayout(16, 1)
# best first
KERNELS = (
    Kernel("mve", "MVE", (), WeightLayout(4, 16)),
    Kernel("dsp", "DSP", (), WeightLayout(4, 4), x_bytes=2),  # int16 activations (matvec_q8_prepare)
    Kernel("dotprod", "DOTPROD", (), WeightLayout(4, 16), f32=WeightLayout(8, 1)),
    Kernel("neon", "NEON", (), WeightLayout(4, 16), f32=WeightLayout(8, 1)),
    # -mf16c: the half KV cache's loads (every AVX2 CPU has F16C)
    Kernel("avx512_vnni", "AVX512_VNNI", ("-mavx2", "-mf16c", "-mavx512f", "-mavx512bw", "-mavx512vl"),
           WeightLayout(16, 4, bias=128), F32_X86),
    Kernel("avx_vnni", "AVX_VNNI", ("-mavx2", "-mf16c"), WeightLayout(8, 4, bias=128), F32_X86),
    Kernel("avx2", "AVX2", ("-mavx2", "-mf16c"), WeightLayout(8, 4), F32_X86),
    # portable builds: every kernel set of the ISA in one binary, one picked at run time
    # from the CPU (runtime_c/kernels/dispatch.c), all reading the layout named here
    Kernel("dispatch-x86", "DISPATCH_X86", (), WeightLayout(8, 4), F32_X86),  # AVX2 or the C
    Kernel("dispatch-a64", "DISPATCH_A64", (), WeightLayout(4, 16), f32=WeightLayout(8, 1)),  # dotprod, NEON or the C
)


def kernel_named(label: str) -> Kernel:
    """The kernels a project was compiled for, by the label its manifest records."""
    return next((k for k in KERNELS if k.label == label), PORTABLE)


def cpu_flags() -> set[str]:
    """This machine's CPU features, for boards that describe the host."""
    try:
        with open("/proc/cpuinfo") as f:
            return {w for line in f if line.startswith(("flags", "Features")) for w in line.split(":")[1].split()}
    except OSError:
        return set()


# Memory tiers: internal flash, memory-mapped external flash (QSPI/OSPI XIP), internal
# RAM, external RAM (PSRAM, SDRAM)
REGION_KINDS = ("flash", "xip", "ram", "external_ram")


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str           # REGION_KINDS: flash and xip are read-only at run time
    origin: int
    length: int
    fast: bool = False  # zero-wait-state memory (CCM, DTCM)
    read_mb_s: float = 0  # its sustained read bandwidth, where not the board's read_mb_s
    # external memory that start-up must bring up (SDRAM, PSRAM; XIP flash the boot ROM
    # does not map): the board's driver for all of them, runtime_c/platform/xram_<init>.c;
    # "" where the boot ROM or the hardware does
    init: str = ""
    weights_offset: int | None = None  # a separate weight image's partition in it (compile/weights.py)


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    os: str                       # "linux" or "baremetal"
    isa: str
    cpu: str
    toolchain_prefix: str = ""    # e.g. "aarch64-linux-gnu-"; "" for the host's cc
    toolchain_package: str = ""   # the Debian package(s) that provide it
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    features: tuple[str, ...] = ()
    detect_features: bool = False  # the host: take the features this machine has
    cores: int = 1
    clock_mhz: int = 0
    read_mb_s: float = 0          # sustained single-core read bandwidth (estimate)
    int8_macs_per_cycle: float = 0
    memory: tuple[MemoryRegion, ...] = ()
    code_region: str = ""         # bare metal: where code and weights go
    ram_region: str = ""          # bare metal: where data, buffers and the stack go
    stack_bytes: int = 0
    install: str = ""             # how to get the built image onto the real board
    console: str = "semihosting"  # bare metal: the default console (CONSOLES)
    uart: dict = field(default_factory=dict)  # kind (UART_KINDS), base, baud[, clock_mhz, pins]: the serial console
    chip: dict = field(default_factory=dict)  # bare metal: kind (chips.CHIP_KINDS) and its clock tree's settings
    # kind: native | qemu-user | qemu-system | none; a QEMU stand-in's memory (region
    # origins), uart, clock_mhz and differs (what a README says of it) where not the chip's
    emulation: dict = field(default_factory=dict)
    flash: dict = field(default_factory=dict)      # bare metal: probes, images, tool settings (llmtool flash)

    @property
    def best_kernel(self) -> Kernel:
        """The best kernels the board's features allow (the host: this CPU's)."""
        features = set(self.features) | (cpu_flags() if self.detect_features else set())
        return next((k for k in KERNELS if k.feature in features), PORTABLE)

    def kernel(self, quant: str, group_size: int) -> Kernel:
        """The kernels a project with these weights uses: the best, unless its q8
        kernel cannot take the group size, then the portable ones."""
        best = self.best_kernel
        return best if best.fits(quant, group_size) else PORTABLE

    @property
    def threads(self) -> int:
        """Threads the runtime may use: the cores of a Linux board (the host's own count)."""
        if self.os != "linux":
            return 1
        return (os.cpu_count() or 1) if self.detect_features else self.cores

    @property
    def has_caches(self) -> bool:
        """A core with L1 caches, which start-up turns on (the Cortex-M7)."""
        return self.cpu == "cortex-m7"

    @property
    def qemu_link(self) -> bool:
        """Whether QEMU's machine differs from the chip, in memory map, console or
        start-up (it models no clock tree): then build/llm-qemu is linked for it
        (LLM_EMULATED) and build/llm for the chip."""
        e = self.emulation
        return e.get("kind") == "qemu-system" and bool(self.chip or e.get("memory") or e.get("uart"))

    @property
    def emulated_clock_mhz(self) -> int:
        """The processor clock under QEMU (SysTick's rate there)."""
        return self.emulation.get("clock_mhz", self.clock_mhz)

    @property
    def cc(self) -> str:
        return f"{self.toolchain_prefix}gcc" if self.toolchain_prefix else "cc"

    def region(self, name: str) -> MemoryRegion:
        for r in self.memory:
            if r.name == name:
                return r
        raise ToolchainError(f"board {self.name}: no memory region named {name!r}")

    def stand_in(self, name: str) -> tuple[int, int]:
        """Region `name`'s origin and length on the board's QEMU stand-in: where
        [emulation] memory moves it (an origin, or [origin, length] where the machine
        has less), else where the chip has it."""
        region = self.region(name)
        where = self.emulation.get("memory", {}).get(name, region.origin)
        origin, length = (where, region.length) if isinstance(where, int) else where
        return origin, min(length, region.length)

    def read_mb_s_of(self, region: str) -> float:
        """A region's sustained read bandwidth: its own, else the board's."""
        return next((r.read_mb_s for r in self.memory if r.name == region), 0) or self.read_mb_s

    @property
    def ram_bytes(self) -> int:
        return self.region(self.ram_region).length if self.ram_region else \
            sum(r.length for r in self.memory if r.kind == "ram")

    @property
    def xram_init(self) -> str:
        """The start-up driver of the board's external memory, or ""."""
        return next((r.init for r in self.memory if r.init), "")

    @property
    def flash_bytes(self) -> int | None:
        return self.region(self.code_region).length if self.code_region else None


# UART kinds runtime_c/platform/uart_<kind>.c drives: Arm's CMSDK APB UART (MPS2, MPS3),
# the STM32F4's and STM32H7's USART, the RP2040's and RP2350's PL011, the nRF52's UARTE,
# the i.MX RT1062's and RT1176's LPUART
UART_KINDS = ("cmsdk-apb", "stm32f4-usart", "stm32h7-usart", "rp2-pl011", "nrf-uarte", "imxrt-lpuart")


def console_for(board: Board, requested: str | None) -> str:
    """The console a compile for `board` gets: --console, else the board file's.
    Linux boards have stdio. (What it returns, asked again, is returned again.)"""
    if board.os != "baremetal":
        if requested not in (None, "stdio"):
            raise ToolchainError(f"--console is for bare-metal boards: {board.name} runs Linux (stdio)")
        return "stdio"
    console = requested or board.console
    if console == "uart" and not board.uart:
        raise ToolchainError(f"--console uart: board {board.name} has no [uart] in its board file")
    return console


def _from_toml(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text())
        for key in ("cflags", "ldflags", "features"):
            data[key] = tuple(data.get(key, ()))
        data["memory"] = tuple(MemoryRegion(**r) for r in data.get("memory", ()))
        board = Board(**data)
    except (TypeError, tomllib.TOMLDecodeError) as e:
        raise ToolchainError(f"board file {path.name}: {e}") from None
    if board.name != path.stem:
        raise ToolchainError(f"board file {path.name} names itself {board.name!r}")
    if board.os == "baremetal":
        board.region(board.code_region), board.region(board.ram_region)
    for r in board.memory:
        if r.kind not in REGION_KINDS:
            raise ToolchainError(f"board file {path.name}: memory {r.name!r} is of kind {r.kind!r}, "
                                 f"not one of {', '.join(REGION_KINDS)}")
        if r.init and r.kind not in ("external_ram", "xip"):
            raise ToolchainError(f"board file {path.name}: memory {r.name!r} has an init driver but is not "
                                 f"external (external_ram or xip)")
    if len({r.init for r in board.memory if r.init}) > 1:
        raise ToolchainError(f"board file {path.name}: one init driver brings up all the external memory")
    if board.console not in CONSOLES:
        raise ToolchainError(f"board file {path.name}: console {board.console!r} is not one of {', '.join(CONSOLES)}")
    for uart in [u for u in (board.uart, board.emulation.get("uart")) if u]:
        if uart.get("kind") not in UART_KINDS or not {"base", "baud"} <= uart.keys():
            raise ToolchainError(f"board file {path.name}: a uart needs kind ({', '.join(UART_KINDS)}), base and baud")
    if board.chip:
        check_chip(path.name, board.chip, board.clock_mhz)
    if board.qemu_link and not board.emulation.get("differs"):
        raise ToolchainError(f"board file {path.name}: [emulation] differs from the chip: say how (differs = ...)")
    return board


def all_boards() -> dict[str, Board]:
    return {p.stem: _from_toml(p) for p in sorted(resource_dir("boards").glob("*.toml"))}


def get_board(name: str) -> Board:
    boards = all_boards()
    if name not in boards:
        raise ToolchainError(f"unknown board {name!r} (known: {', '.join(boards)})")
    return boards[name]
