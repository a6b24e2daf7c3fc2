"""`llmtool run`: the built image on its board's emulator (or natively for host),
with the same command-line flags and stdout contract as `llmtool emulate`."""
from __future__ import annotations

import math
import shlex
import subprocess
import time
from pathlib import Path

from ..boards import Board, get_board
from ..errors import ToolchainError
from ..manifest import read_manifest
from ..progress import phase
from .build import BINARY, TEST_BINARY, make
from .toolcheck import require


# What main.c parses: -t as at most 15 digits (written with six decimals below), a
# seed and a thread count as integers of the C types they become.
MAX_TEMPERATURE = 1e6
MAX_SEED = (1 << 63) - 1
MAX_THREADS = 1024
# The TCP port of QEMU's GDB server (-gdb) for an RTT console: GDB's customary one
QEMU_GDB_PORT = 1234


def check_sampling(temperature: float, topp: float, seed: int | None, threads: int | None = None) -> None:
    """Refuses sampling settings the runtime would misread: NaN or infinite floats
    (click's float type takes "nan"), a seed or thread count past their C types."""
    if not (math.isfinite(temperature) and 0 <= temperature <= MAX_TEMPERATURE):
        raise ToolchainError(f"--temperature must be a number from 0 to {MAX_TEMPERATURE:,.0f}, not {temperature}")
    if not (math.isfinite(topp) and 0 <= topp <= 1):
        raise ToolchainError(f"--top-p must be a number from 0 to 1, not {topp}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ToolchainError(f"--seed must be from 0 (from the clock) to {MAX_SEED}, not {seed}")
    if threads is not None and not 1 <= threads <= MAX_THREADS:
        raise ToolchainError(f"--threads must be from 1 to {MAX_THREADS}, not {threads}")


def image_args(prompt: str, steps: int | None, temperature: float, topp: float, seed: int) -> list[str]:
    """main.c's flags (no -n: its default, 256 or the context if smaller). Floats as
    plain decimals, which main.c parses the same everywhere."""
    return ["-i", prompt, *(["-n", str(steps)] if steps is not None else []), "-t", f"{temperature:.6f}",
            "-p", f"{topp:.6f}", "-s", str(seed)]


def _semihosting_arg(arg: str) -> str:
    """One argument for QEMU's -semihosting-config: QEMU joins them with spaces, so
    quote for the firmware's splitter, and double commas for QEMU's option parser."""
    if arg == "" or any(c in arg for c in ' "\\'):
        arg = '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "arg=" + arg.replace(",", ",,")


# A separate weight image (compile --weights separate), beside the binary in build/
WEIGHTS_IMAGE = "llm_weights.img"


def _qemu_system(program: str, board: Board, binary: Path | str, serial: str, semihosting: str,
                 icount: bool = False, gdb_port: int | None = None, weights_at: int | None = None) -> list[str]:
    """qemu-system booting `binary` on the board's machine, its first serial port on
    `serial` (null, stdio), semihosting as `semihosting` says, with gdb_port: QEMU's
    GDB server on that TCP port; weights_at: a separate weight image loaded there, as
    the board would have it flashed."""
    loader = ["-device", f"loader,file={Path(binary).parent / WEIGHTS_IMAGE},addr={weights_at:#x},force-raw=on"] \
        if weights_at is not None else []
    return [program, "-M", board.emulation.get("machine", "MACHINE"), "-nographic", "-monitor", "none",
            "-serial", serial, *(["-icount", "shift=0"] if icount else []),
            "-semihosting-config", semihosting, *(["-gdb", f"tcp::{gdb_port}"] if gdb_port else []),
            *loader, "-kernel", str(binary)]


def separate_weights(manifest: dict) -> dict | None:
    """A project's separate weight image (llmtool.json "weights"), or None when linked in."""
    weights = manifest.get("weights", {})
    return weights if weights.get("mode") == "separate" else None


def emulator_command(board: Board, binary: Path, args: list[str], check: bool = True,
                     icount: bool = False, weights: dict | None = None) -> list[str]:
    """The command that runs `binary` for `board`; with check, the emulator must be installed.
    icount: one instruction per nanosecond of virtual time (QEMU system emulation).
    weights: a separate weight image (separate_weights), given to the program
    (Linux: -w) or loaded where the board has it flashed (QEMU)."""
    emulation = board.emulation
    kind = emulation.get("kind", "none")
    program = emulation.get("program", "")
    qemu = require(program, emulation["package"]) if check and kind.startswith("qemu") else program
    if weights and board.os == "linux":
        args = ["-w", str(Path(binary).parent / WEIGHTS_IMAGE), *args]
    if kind == "native":
        return [str(binary), *args]
    if kind == "qemu-user":
        return [qemu, "-cpu", emulation["cpu"], str(binary), *args]
    if kind == "qemu-system":
        semihosting = ",".join(["enable=on", "target=native", *map(_semihosting_arg, ["llm", *args])])
        return _qemu_system(qemu, board, binary, "null", semihosting, icount,
                            weights_at=weights["emulated_address"] if weights else None)
    raise ToolchainError(f"{board.name} cannot be emulated (QEMU has no model of its chip); "
                         f"`llmtool build` still checks that it fits")


QEMU_TWINS = (BINARY, TEST_BINARY, Path(f"{BINARY}-reference"), Path(f"{TEST_BINARY}-reference"))


def emulated_binary(board: Board, binary: Path | str) -> Path:
    """The build of `binary` that runs under the board's emulator: where QEMU's machine
    differs from the chip (Board.qemu_link), the program, the test program and their
    reference builds built for it (build/llm-qemu, build/llm-test-qemu,
    build/llm-reference-qemu, ...); else `binary` itself."""
    if board.qemu_link and Path(binary) in QEMU_TWINS:
        return Path(f"{binary}-qemu")
    return Path(binary)


def serial_command(board: Board, binary: Path | str, icount: bool = False, weights: dict | None = None) -> list[str]:
    """QEMU booting a serial-console firmware (compile --console uart) with the board's
    UART on this terminal: a prompt per line in, the text out."""
    return _qemu_system(board.emulation.get("program", "qemu-system-arm"), board, emulated_binary(board, binary),
                        "stdio", "enable=off", icount, weights_at=weights["emulated_address"] if weights else None)


def rtt_command(board: Board, binary: Path | str, gdb_port: int = QEMU_GDB_PORT,
                weights: dict | None = None) -> list[str]:
    """QEMU booting an RTT-console firmware (compile --console rtt) with its GDB server
    on gdb_port, through which `llmtool monitor --gdb` reads and writes the rings."""
    return _qemu_system(board.emulation.get("program", "qemu-system-arm"), board, emulated_binary(board, binary),
                        "null", "enable=off", gdb_port=gdb_port,
                        weights_at=weights["emulated_address"] if weights else None)


def console_refusal(out: Path, board: Board, console: str, binary: Path | str, weights: dict | None = None) -> str:
    """Why `llmtool run` (and bench) cannot run a serial-console firmware, how to talk
    to it, and how to get a firmware with a command line instead."""
    instead = "; or compile with --console semihosting for a command line"
    if console == "rtt":
        return (f"{out} talks through RTT ring buffers (compiled with --console rtt), not a command line: "
                f"in {out}, boot it with `{shlex.join(rtt_command(board, binary, weights=weights))}`, then "
                f"`llmtool monitor {shlex.quote(str(out))} --gdb localhost:{QEMU_GDB_PORT}` and type a prompt per line"
                f"{instead}")
    return (f"{out} talks through the board's UART (compiled with --console uart), not a command line: "
            f"in {out}, boot it with `{shlex.join(serial_command(board, binary, weights=weights))}` and type a prompt per line"
            f"{instead}")


def run_project(out: Path, prompt: str = "", steps: int | None = 256, temperature: float = 1.0,
                topp: float = 0.9, seed: int | None = None, capture: bool = False,
                timeout: float | None = None, threads: int | None = None, mode: str = "generate",
                system: str = "", input_text: str | None = None) -> subprocess.CompletedProcess:
    """Builds the image if needed, then generates; its stdout and stderr are the user's.
    mode "chat" (Linux boards): user turns from stdin, or from input_text."""
    check_sampling(temperature, topp, seed, threads)
    args = image_args(prompt, steps, temperature, topp, seed or time.time_ns() // 1_000_000)
    if threads is not None:
        args += ["-T", str(threads)]
    if mode == "chat":
        if get_board(read_manifest(out)["board"]).os == "baremetal":
            raise ToolchainError("chat reads user turns from stdin: it needs a Linux board")
        args += ["-m", "chat", "-y", system]
    return run_image(out, args, capture, timeout, input_text=input_text)


def run_image(out: Path, args: list[str], capture: bool = False, timeout: float | None = None,
              binary: str = str(BINARY), icount: bool = False,
              input_text: str | None = None) -> subprocess.CompletedProcess:
    """Builds the image if needed and runs it with `args`: the program (main.c's
    flags), or another build of the project, such as the test program (TEST_BINARY:
    llm_test.c's flags) or the reference builds (`make reference`)."""
    out = Path(out)
    manifest = read_manifest(out)
    board = get_board(manifest["board"])
    if manifest.get("console") in ("uart", "rtt") and Path(binary) != TEST_BINARY:
        # the program (and its reference build) reads prompts from its console: no command line
        raise ToolchainError(console_refusal(out, board, manifest["console"], binary, separate_weights(manifest)))
    # the program: as `make` builds it, for the chip too
    target = "all" if Path(binary) == BINARY else str(emulated_binary(board, binary))
    binary = emulated_binary(board, binary)
    command = emulator_command(board, out / binary, args, icount=icount, weights=separate_weights(manifest))
    if not (out / binary).exists():
        phase(f"building {out} for {board.name} with {board.cc} (first run only)...")
    make(out, target, board)
    if separate_weights(manifest):
        make(out, f"build/{WEIGHTS_IMAGE}", board)
    try:
        return subprocess.run(command, capture_output=capture, text=capture or input_text is not None,
                              timeout=timeout, input=input_text)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{board.name}: the image ran for more than {timeout:.0f} s") from None
