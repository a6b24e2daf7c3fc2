"""`llmtool flash`: a built image onto the real board, with the tool of the probe
(the board file's [flash] table: its probes, best first, and their settings)."""
from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from ..boards import Board, get_board
from ..errors import ToolchainError
from ..manifest import read_manifest
from .build import BINARY, build_project
from .run import WEIGHTS_IMAGE
from .toolcheck import require

# each of choices.FLASH_PROBES -> (program, Debian package, how to install it when not from Debian)
TOOLS = {
    "openocd": ("openocd", "openocd", None),
    "pyocd": ("pyocd", "", "pip install pyocd"),
    "st-flash": ("st-flash", "stlink-tools", None),
    "picotool": ("picotool", "picotool", None),
    "uf2": ("cp", "coreutils", None),
}
# where a desktop mounts the boot ROM's drive (and the file it always has); the drive's
# name by the board's UF2 family: the RP2040's, the RP2350's
UF2_MOUNT_ROOTS, UF2_INFO = (Path("/media"), Path("/run/media")), "INFO_UF2.TXT"
UF2_DRIVES = {0xE48BFF56: "RPI-RP2", 0xE48BFF59: "RP2350"}


def uf2_drive(port: str | None, name: str) -> Path:
    """The mounted UF2 drive: `port`, or the one drive called `name` under /media."""
    if port is not None:
        if not (Path(port) / UF2_INFO).is_file():
            raise ToolchainError(f"{port} is not a mounted UF2 drive (no {UF2_INFO}): hold BOOTSEL "
                                 f"while plugging the board in, and give the drive's mount point")
        return Path(port)
    found = sorted(p for root in UF2_MOUNT_ROOTS for p in (*root.glob(name), *root.glob(f"*/{name}"))
                   if (p / UF2_INFO).is_file())
    if not found:
        raise ToolchainError(f"no {name} drive mounted under /media: hold BOOTSEL while plugging "
                             f"the board in (or give its mount point with --port)")
    return found[0]


def setting(board: Board, key: str):
    if key not in board.flash:
        raise ToolchainError(f"board file {board.name}.toml: its [flash] table has no {key}")
    return board.flash[key]


def flash_command(out: Path, board: Board, probe: str, port: str | None, weights_at: int | None = None) -> list[str]:
    """The command line that writes `out`'s firmware to the board through `probe`,
    or with `weights_at` its weight image (build/llm_weights.img) at that address,
    leaving the firmware as it is; `port` picks the probe by its serial number, or
    (uf2) is the drive's mount point."""
    probes = board.flash.get("probes", ())
    if probe not in probes:
        raise ToolchainError(f"board {board.name} is not flashed with {probe} "
                             f"(its probes: {', '.join(probes) or 'none'})")
    image = Path(out) / BINARY
    weights = Path(out) / "build" / WEIGHTS_IMAGE
    at = f"0x{weights_at:08x}" if weights_at is not None else None
    if probe == "openocd":
        serial = ["-c", f"adapter serial {port}"] if port else []
        what = f"{weights} {at}" if at else f"{image}"
        return ["openocd", *(a for cfg in setting(board, "openocd") for a in ("-f", cfg)), *serial,
                "-c", f"program {what} verify reset exit"]
    if probe == "pyocd":
        return ["pyocd", "load", "--target", setting(board, "pyocd_target"), *(["--uid", port] if port else []),
                *(["--base-address", at, str(weights)] if at else [f"{image}.hex"])]
    if probe == "st-flash":
        code = board.region(board.code_region)
        if at and not code.origin <= weights_at < code.origin + code.length:
            raise ToolchainError(f"st-flash writes the internal flash only: write {weights} at {at} with "
                                 f"STM32CubeProgrammer and the board's external loader")
        return ["st-flash", *(["--serial", port] if port else []), "--reset", "write",
                *([str(weights), at] if at else [f"{image}.bin", f"0x{board.region(board.code_region).origin:08x}"])]
    if probe == "uf2":
        return ["cp", str(weights.with_suffix(".uf2")) if at else f"{image}.uf2",
                f"{uf2_drive(port, UF2_DRIVES[setting(board, 'uf2_family')])}/"]
    if port is not None:
        raise ToolchainError("picotool takes no --port: it finds the board in BOOTSEL mode on USB")
    return ["picotool", "load", str(weights), "--offset", at] if at else ["picotool", "load", "--execute", f"{image}.uf2"]


def weights_apart(manifest: dict, board: Board, probe: str) -> int | None:
    """Where the project's weight image is written on its own, or None: a separate
    image always; weights linked in but stored outside the code region, where the
    probe writes the firmware from a file of the code region alone (llm.bin, llm.uf2)."""
    weights = manifest.get("weights", {})
    if "address" not in weights:
        return None
    if weights["mode"] == "separate" or probe in ("st-flash", "uf2", "picotool"):
        return weights["address"]
    return None


def flash_project(out: Path, probe: str | None, port: str | None, dry_run: bool,
                  echo=print, part: str = "all") -> None:
    """Echoes the command lines that write `out`'s firmware and its weight image
    (where written apart: `part` firmware or weights writes one of them) to its board
    (the board's first probe unless `probe`) and, unless `dry_run`, builds the image
    and runs them."""
    manifest = read_manifest(out)
    board = get_board(manifest["board"])
    probe = probe or next(iter(board.flash.get("probes", ())), None)
    if probe is None:
        raise ToolchainError(f"board {board.name} is not flashed by llmtool (its board file has no "
                             f"[flash] probes): copy {BINARY} to it as the project's README says")
    address = weights_apart(manifest, board, probe)
    if part == "weights" and address is None:
        raise ToolchainError(f"{out}'s weights are written with its firmware (compile --weights separate "
                             f"for an image of their own)")
    commands = ([flash_command(out, board, probe, port)] if part != "weights" else []) + \
        ([flash_command(out, board, probe, port, address)] if address is not None and part != "firmware" else [])
    if dry_run:
        for command in commands:
            echo(shlex.join(command))
        return
    require(*TOOLS[probe])
    build_project(out)
    for command in commands:
        echo(shlex.join(command))
        status = subprocess.run(command).returncode
        if status != 0:
            raise ToolchainError(f"{command[0]} failed with exit status {status} (its own messages are above)")
