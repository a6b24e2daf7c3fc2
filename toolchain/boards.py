"""Board files: one TOML file per board in boards/, describing the target.

Adding a board is adding a file; nothing in the code names a board.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ToolchainError
from .resources import resource_dir


# Kernel variants, best first: (board feature, LLM_KERNEL_<NAME> macro, extra compiler flags)
KERNELS = (
    ("mve", "MVE", ()),
    ("dsp", "DSP", ()),
    ("dotprod", "DOTPROD", ()),
    ("neon", "NEON", ()),
    ("avx_vnni", "AVX_VNNI", ("-mavx2", "-mavxvnni")),
    ("avx2", "AVX2", ("-mavx2",)),
)


def cpu_flags() -> set[str]:
    """This machine's CPU features, for boards that describe the host."""
    try:
        with open("/proc/cpuinfo") as f:
            return {w for line in f if line.startswith(("flags", "Features")) for w in line.split(":")[1].split()}
    except OSError:
        return set()


@dataclass(frozen=True)
class MemoryRegion:
    name: str
    kind: str          # "flash" (read-only at run time) or "ram"
    origin: int
    length: int
    fast: bool = False  # zero-wait-state memory (CCM, DTCM)


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
    emulation: dict = field(default_factory=dict)  # kind: native | qemu-user | qemu-system | none

    @property
    def kernel_flags(self) -> tuple[str, ...]:
        """-DLLM_KERNEL_<ISA> (and what the compiler needs for it) for the best kernel
        the board's features allow; empty for the portable reference."""
        features = set(self.features) | (cpu_flags() if self.detect_features else set())
        for feature, macro, flags in KERNELS:
            if feature in features:
                return (f"-DLLM_KERNEL_{macro}", *flags)
        return ()

    @property
    def kernel_x_bytes(self) -> int:
        """Bytes per activation in the kernel's form (runtime_c/kernels/kernels.h)."""
        return 2 if "-DLLM_KERNEL_DSP" in self.kernel_flags else 1

    @property
    def threads(self) -> int:
        """Threads the runtime may use: the cores of a Linux board (the host's own count)."""
        if self.os != "linux":
            return 1
        return (os.cpu_count() or 1) if self.detect_features else self.cores

    @property
    def cc(self) -> str:
        return f"{self.toolchain_prefix}gcc" if self.toolchain_prefix else "cc"

    def region(self, name: str) -> MemoryRegion:
        for r in self.memory:
            if r.name == name:
                return r
        raise ToolchainError(f"board {self.name}: no memory region named {name!r}")

    @property
    def ram_bytes(self) -> int:
        return self.region(self.ram_region).length if self.ram_region else \
            sum(r.length for r in self.memory if r.kind == "ram")

    @property
    def flash_bytes(self) -> int | None:
        return self.region(self.code_region).length if self.code_region else None


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
    return board


def all_boards() -> dict[str, Board]:
    return {p.stem: _from_toml(p) for p in sorted(resource_dir("boards").glob("*.toml"))}


def get_board(name: str) -> Board:
    boards = all_boards()
    if name not in boards:
        raise ToolchainError(f"unknown board {name!r} (known: {', '.join(boards)})")
    return boards[name]
