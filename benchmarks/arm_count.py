"""Instructions of one 1024 x 1024 matrix-vector product on the Arm Linux boards' kernels,
counted under qemu-user (`-singlestep -d exec,nochain`: one log line per instruction;
an indicator, not a speed): q4, q5, q6 (groups of 256) and q8 (groups of 64) with
NEON on AArch64 (rpi4), with the dot-product extension (rpi5) and with Armv7 NEON
(rpi3-armhf); then per row of 64 and of 172 columns (stories260K's widths: one
short group a row, 2 and 6 sub-blocks); then instructions per MAC of the q8 matrix
for a batch of 8, 16 and 32 tokens, by the board's GEMM twin and by gemm_each (the
matvec kernel token after token). benchmarks/arm_count.c runs the product once or
not at all; the difference of the two runs is the product's.

    python3 benchmarks/arm_count.py [--work /tmp/llmtool-arm-count]

Prints the Markdown tables in docs/benchmarks.md."""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.boards import get_board  # noqa: E402

KERNELS = ROOT / "runtime_c" / "kernels"
SOURCES = ["matmul.c", "layout.c", "f16.c", "matvec_q8.c", "matvec_q8_neon.c", "matvec_q8_dotprod.c",
           "gemm_q8_neon.c", "gemm_q8_dotprod.c",
           "matvec_q4.c", "matvec_q5.c", "matvec_q6.c", "matvec_kquant_neon.c", "matvec_kquant_dotprod.c",
           "matvec_f32.c", "matvec_f32_neon.c"]
BOARDS = {"rpi4": "NEON, AArch64", "rpi5": "dot product", "rpi3-armhf": "NEON, Armv7"}
FORMATS = {4: "q4", 5: "q5", 6: "q6", 8: "q8"}
SHORT = [(1024, 64), (256, 172)]  # rows, columns: instructions per row
BATCHES = (8, 16, 32)  # tokens through the q8 matrix at once


def build(board: str, work: Path) -> Path:
    b = get_board(board)
    binary = work / f"arm_count-{board}"
    subprocess.run([b.cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", *b.cflags,
                    *b.best_kernel.flags, *b.ldflags, f"-I{KERNELS}", "-o", str(binary),
                    str(ROOT / "benchmarks" / "arm_count.c"), *(str(KERNELS / s) for s in SOURCES)], check=True)
    return binary


def executed(board: str, binary: Path, bits: int, calls: int, shape: tuple[int, ...] = (1024, 1024)) -> int:
    """Instructions of one run (shape: rows, columns[, tokens, each]): QEMU logs each
    (a block of one) to stderr."""
    emulation = get_board(board).emulation
    run = subprocess.Popen([emulation["program"], "-cpu", emulation["cpu"], "-singlestep", "-d", "exec,nochain",
                            "-D", "/dev/stderr", str(binary), str(bits), str(calls), *map(str, shape)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    count = sum(line.startswith(b"Trace") for line in run.stderr)
    if run.wait() != 0:
        raise SystemExit(f"{binary} {bits} {calls} failed")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/llmtool-arm-count"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("| board, kernels | " + " | ".join(FORMATS.values()) + " | q5, q6 against q4 |")
    print("|---|" + "---|" * (len(FORMATS) + 1))
    binaries = {board: build(board, args.work) for board in BOARDS}
    for board, name in BOARDS.items():
        binary = binaries[board]
        counts = {bits: executed(board, binary, bits, 1) - executed(board, binary, bits, 0) for bits in FORMATS}
        cells = [f"{counts[bits] / 1e6:.2f}M" for bits in FORMATS]
        print(f"| {board}, {name} | " + " | ".join(cells) +
              f" | {counts[5] / counts[4]:.2f}x, {counts[6] / counts[4]:.2f}x |")
    print("\n| board, kernels, columns | " + " | ".join(FORMATS.values()) + " |")
    print("|---|" + "---|" * len(FORMATS))
    for board, name in BOARDS.items():
        for shape in SHORT:
            per_row = [(executed(board, binaries[board], bits, 1, shape) -
                        executed(board, binaries[board], bits, 0, shape)) / shape[0] for bits in FORMATS]
            print(f"| {board}, {name}, {shape[1]} | " + " | ".join(f"{n:.0f}" for n in per_row) + " |")
    print("\n| board, kernels | 1 token (matvec) | " +
          " | ".join(f"{t} tokens: twin, gemm_each" for t in BATCHES) + " |")
    print("|---|---|" + "---|" * len(BATCHES))
    for board, name in BOARDS.items():
        cells = [f"{per_mac(board, binaries[board], (1024, 1024)):.3f}"]
        for tokens in BATCHES:
            twin, each = (per_mac(board, binaries[board], (1024, 1024, tokens, each)) for each in (0, 1))
            cells.append(f"{twin:.3f}, {each:.3f} ({each / twin:.2f}x)")
        print(f"| {board}, {name} | " + " | ".join(cells) + " |")


def per_mac(board: str, binary: Path, shape: tuple[int, ...]) -> float:
    """Instructions per multiply-accumulate of a q8 product of `shape` (arm_count.c's)."""
    macs = shape[0] * shape[1] * (shape[2] if len(shape) > 2 else 1)
    return (executed(board, binary, 8, 1, shape) - executed(board, binary, 8, 0, shape)) / macs


if __name__ == "__main__":
    main()
