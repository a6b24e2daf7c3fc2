"""Weight formats against their bytes, measured on the C runtime: each uniform format
(q8 at groups of 64, q4, q5 and q6 at 256) and --quant auto at byte budgets from 0.5
to 0.9 of q8's matrix bytes and at each uniform format's own, compiled for the host
and validated on the emulator (top-1 agreement and mean KL with the f32 reference,
teacher-forced over the text, as `llmtool validate`). Calibration uses the same text
unless --calibrate says otherwise: the calibrated figures are then in-sample.

    python3 benchmarks/quant_table.py MODEL TOKENIZER [--text FILE] [--calibrate FILE] [--work DIR]

Prints Markdown (docs/formats.md's tables come from here)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.choices import DEFAULT_TEXT  # noqa: E402
from toolchain.compile.compiler import compile_project  # noqa: E402
from toolchain.compile.image import image_entries  # noqa: E402
from toolchain.compile.spec import CompileSpec  # noqa: E402
from toolchain.config import tensor_shapes  # noqa: E402
from toolchain.host.validate import validate  # noqa: E402
from toolchain.manifest import read_manifest  # noqa: E402

UNIFORM = ("q8", "q4", "q5", "q6")
BUDGETS = (0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.8, 0.9)
GOALS = ((0.62, 0.87), (0.80, 0.95))  # (matrix bytes as a share of q8's, top-1 at least)


def matrix_bytes(out: Path) -> int:
    spec = CompileSpec.of_project(read_manifest(out))
    shapes = tensor_shapes(spec.config)
    return sum(n for name, n in image_entries(spec) if len(shapes.get(name, ())) == 2)


def measure(out: Path, text: Path) -> tuple[int, int, float, float]:
    report = validate(out, text)
    return matrix_bytes(out), (out / "llm_image.bin").stat().st_size, report.top1_agreement, report.mean_kl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("tokenizer", type=Path)
    ap.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    ap.add_argument("--calibrate", type=Path, default=None, help="[default: the text]")
    ap.add_argument("--work", type=Path, default=Path("/tmp/llmtool-quant"))
    args = ap.parse_args()
    calibration = args.calibrate or args.text
    measured = {}  # every auto build weighs the same matrices on the same text: the first one's

    def build(name: str, quant: str, flash: int | None = None) -> tuple[int, int, float, float]:
        out = args.work / name
        compiled = compile_project(args.model, args.tokenizer, "host", out, quant=quant, force=True,
                                   calibration=calibration, flash=flash, sensitivity=measured.get("auto"))
        if compiled.auto is not None and compiled.auto.sensitivity is not None:
            measured.setdefault("auto", compiled.auto.sensitivity)
        return measure(out, args.text)

    rows = {q: build(q, q) for q in UNIFORM}
    q8_matrices = rows["q8"][0]
    q4_matrices, q4_image = rows["q4"][0], rows["q4"][1]
    print(f"{args.model.name}, calibrated on {calibration.name}, validated on {args.text.name}\n")
    print("| weights | matrix bytes | of q8's | image bytes | top-1 | mean KL (nats) |")
    print("|---|---|---|---|---|---|")

    def line(name, m, image, top1, kl):
        print(f"| {name} | {m:,} | {m / q8_matrices:.3f} | {image:,} | {100 * top1:.2f} % | {kl:.4f} |")

    for q in UNIFORM:
        line(q, *rows[q])
    # each uniform format's own share exactly: rounded to 3 digits it can fall below its bytes (q4's then missing)
    shares = sorted({*BUDGETS, *(rows[q][0] / q8_matrices for q in ("q4", "q5", "q6"))})
    auto = {}
    for share in shares:
        if round(share * q8_matrices) < q4_matrices:
            print(f"| auto, {share:.3f} of q8's | no format is this small: q4 is the smallest | | | | |")
            continue
        flash = q4_image + round(share * q8_matrices) - q4_matrices  # the image's other bytes as q4's
        auto[share] = build(f"auto-{share:.4f}", "auto", flash)
        line(f"auto, {share:.3f} of q8's", *auto[share])
    print()
    for share, goal in GOALS:
        best = max((r[2] for s, r in auto.items() if r[0] <= share * q8_matrices), default=0.0)
        print(f"- at most {share:.2f} of q8's matrix bytes: top-1 {100 * best:.2f} % "
              f"({'meets' if best >= goal else 'misses'} {100 * goal:.0f} %)")
    for q in ("q4", "q5", "q6"):
        same = [r for r in auto.values() if r[0] <= rows[q][0]]
        if not same:
            print(f"- auto within {q}'s bytes: no row")
            continue
        best = max(same, key=lambda r: r[2])
        print(f"- auto within {q}'s bytes: top-1 {100 * best[2]:.2f} % against {q}'s {100 * rows[q][2]:.2f} % "
              f"({'at least as good' if best[2] >= rows[q][2] else 'worse'})")


if __name__ == "__main__":
    main()
