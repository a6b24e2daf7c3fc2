"""`llmtool build`: cross-compile a project with its board's toolchain and report
its size against the board's flash and RAM."""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..boards import Board, get_board
from ..errors import ToolchainError
from ..manifest import read_manifest
from ..progress import phase
from .toolcheck import require

BINARY = Path("build/llm")            # the program (main.c): `make`
TEST_BINARY = Path("build/llm-test")  # the test program (llm_test.c: -x, -k, -M): `make test`

@dataclass
class SizeReport:
    board: Board
    sections: dict[str, tuple[int, int]]  # allocated section -> (address, size)
    groups: dict[str, int]                # text / rodata / data / bss
    flash_used: int | None                # bare metal: what the code region holds
    ram_used: dict[str, int]              # RAM region -> bytes (Linux: "ram", everything)
    stored: dict[str, int]                # bare metal: other read-only regions -> the weight image's bytes

    def limit(self, region: str) -> int:
        return self.board.region(region).length if self.board.memory and region != "ram" \
            else self.board.ram_bytes

    def fits(self) -> bool:
        flash_ok = self.flash_used is None or self.flash_used <= self.board.flash_bytes
        return flash_ok and all(not self.limit(r) or used <= self.limit(r)
                                for r, used in (self.ram_used | self.stored).items())

    def lines(self) -> list[str]:
        g = self.groups
        out = [f"size of {BINARY} for {self.board.name}:",
               f"  text {g['text']:>12,}   rodata {g['rodata']:>12,}   "
               f"data {g['data']:>10,}   bss {g['bss']:>12,}"]
        rows = [] if self.flash_used is None else \
            [(f"flash ({self.board.code_region})", self.flash_used, self.board.flash_bytes)]
        rows += [(f"weights ({r})", used, self.limit(r)) for r, used in self.stored.items()]
        rows += [(f"RAM ({r})" if r != "ram" else "RAM", used, self.limit(r)) for r, used in self.ram_used.items()]
        for label, used, limit in rows:
            out.append(f"  {label:<18} {used:>12,} of {limit:>13,} bytes  {100 * used / limit:5.1f} %"
                       if limit else f"  {label:<18} {used:>12,} bytes")
        return out


def _section_group(kind: str, flags: str) -> str | None:
    """text / rodata / data / bss from an ELF section's type and flags."""
    if "A" not in flags:
        return None  # not loaded: symbols, debug info
    if "X" in flags:
        return "text"
    if "W" not in flags:
        return "rodata"
    return "bss" if kind == "NOBITS" else "data"


def size_report(out: Path, board: Board, weights: dict | None = None) -> SizeReport:
    """The sizes of build/llm by section, and what each memory region holds: the code
    region its code, read-only data and .data's initial values; RAM regions their
    data, buffers and stack; the region a weight image is stored in when not the code
    region (`weights`: llmtool.json's record of it), the image (a separate one is not
    in the binary, but is flashed there all the same)."""
    readelf = require(f"{board.toolchain_prefix}readelf", board.toolchain_package or "binutils")
    listing = subprocess.run([readelf, "-S", "-W", str(Path(out) / BINARY)], capture_output=True,
                             text=True, check=True).stdout
    sections, groups = {}, {"text": 0, "rodata": 0, "data": 0, "bss": 0}
    held: dict[str, int] = {}
    weights = weights or {}
    for line in listing.splitlines():
        if not re.match(r"^\s*\[\s*\d+\]", line):
            continue
        fields = line.split("]", 1)[1].split()
        if len(fields) < 9:
            continue  # the null section
        name, kind, address, size = fields[0], fields[1], int(fields[2], 16), int(fields[4], 16)
        group = _section_group(kind, fields[6] if len(fields) == 10 else "")
        if group is None or size == 0:
            continue
        sections[name] = (address, size)
        groups[group] += size
        if board.os != "baremetal":
            held["ram"] = held.get("ram", 0) + size  # a Linux process loads everything
            continue
        region = next((r.name for r in board.memory if r.origin <= address < r.origin + r.length),
                      board.ram_region if group in ("data", "bss") else board.code_region)
        if name == ".llm_image" and region != weights.get("stored_in", region) and kind != "NOBITS":
            held[weights["stored_in"]] = held.get(weights["stored_in"], 0) + size  # copied from there
        held[region] = held.get(region, 0) + size
        if group == "data":  # .data's initial values live in flash too
            held[board.code_region] = held.get(board.code_region, 0) + size
    if board.os != "baremetal":
        return SizeReport(board, sections, groups, None, held, {})
    if weights.get("mode") == "separate":
        held[weights["stored_in"]] = held.get(weights["stored_in"], 0) + weights["bytes"]
    flash = held.pop(board.code_region, 0)
    kinds = {r.name: r.kind for r in board.memory}
    stored = {r: n for r, n in held.items() if kinds[r] in ("flash", "xip")}
    ram = {r: n for r, n in held.items() if r not in stored}
    return SizeReport(board, sections, groups, flash, ram, stored)


def error_line(stderr: str) -> str:
    """What a failed make says went wrong, in one line: the first diagnostic (a
    compiler's "error:", the assembler's "Error:"), else the first line naming an
    error, else the first line; never make's own "*** ... Error 1"."""
    lines = [l for l in stderr.splitlines() if l.strip() and not l.startswith("make")]
    for pattern in (r"\b[Ee]rror: ", r"(?i)error"):
        found = [l for l in lines if re.search(pattern, l)]
        if found:
            return found[0]
    return lines[0] if lines else "make failed"


def make(out: Path, target: str, board: Board) -> None:
    """Runs the project's Makefile; a compiler or linker failure becomes one line."""
    require("make", "make")
    require(board.cc, board.toolchain_package)
    result = subprocess.run(["make", "-C", str(out), "--no-print-directory", target],
                            capture_output=True, text=True)
    if result.returncode == 0:
        return
    overflow = re.search(r"region `(\w+)' overflowed by (\d+) bytes", result.stderr)
    if overflow:
        code = overflow.group(1) == "CODE"
        hint = "a smaller model or --quant q8" if code else "a smaller --context needs less RAM"
        raise ToolchainError(f"the image does not fit {board.name}: "
                             f"{board.code_region if code else board.ram_region} overflows by "
                             f"{int(overflow.group(2)):,} bytes ({hint})")
    raise ToolchainError(f"building {out} failed: {error_line(result.stderr)}")


def build_project(out: Path) -> SizeReport:
    board = get_board(read_manifest(out)["board"])
    phase(f"building {out} for {board.name} with {board.cc}...")
    make(out, "all", board)
    report = size_report(out, board, read_manifest(out).get("weights"))
    if not report.fits():
        raise ToolchainError(f"the image does not fit {board.name}: " +
                             "; ".join(" ".join(l.split()) for l in report.lines()[2:]))
    return report
