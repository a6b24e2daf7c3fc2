"""Builds llama2.c's 15M/42M/110M shapes (random weights, vocab 32000) and stories260K
for the host, times reference kernels against optimized ones on 1 and 2 threads
against the measured roofline, and counts Cortex-M instructions under QEMU.

    python3 benchmarks/run.py [--shared ../shared/models] [--work /tmp/llmtool-bench]

Prints Markdown tables (the README's come from here)."""
from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from synthetic import synthetic_tokenizer  # noqa: E402
from toolchain.bench import bench, count_instructions, read_bandwidth_gb_s  # noqa: E402
from toolchain.compiler import compile_project  # noqa: E402
from toolchain.config import LLAMA2C_SHAPES, random_model  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return f"{cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {platform.machine()}"


def host_projects(shared: Path, work: Path) -> dict[str, Path]:
    projects = {}
    for name, config in LLAMA2C_SHAPES.items():
        out = work / name
        compile_project(random_model(config, seed=0), synthetic_tokenizer(config.vocab_size), "host", out,
                        quant="q8", context=min(config.max_seq_len, 256), force=True, model_name=name)
        projects[name] = out
    out = work / "stories260K"
    compile_project(shared / "stories260K.bin", shared / "tok512.bin", "host", out, quant="q8", force=True)
    projects["stories260K"] = out
    return {k: projects[k] for k in ("stories260K", "stories15M", "stories42M", "stories110M")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--work", type=Path, default=Path("/tmp/llmtool-bench"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    bw = read_bandwidth_gb_s()
    print(f"Machine: {machine()}; single-core read bandwidth {bw:.1f} GB/s (numpy sum over 512 MB)\n")
    print("| model | weights/token | roofline | reference 1T | optimized 1T | optimized 2T | 2T/1T | % of roofline (1T) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, out in host_projects(args.shared, args.work).items():
        ref = bench(out, 1, reference=True, bandwidth=bw)
        one = bench(out, 1, bandwidth=bw)
        two = bench(out, 2, bandwidth=bw)
        print(f"| {name} | {one['weight_bytes_per_token'] / 1e6:.1f} MB | {one['roofline_tok_s']:.0f} tok/s "
              f"| {ref['decode_tok_s']:.1f} | {one['decode_tok_s']:.1f} ({one['kernels']}) | {two['decode_tok_s']:.1f} "
              f"| {two['decode_tok_s'] / one['decode_tok_s']:.2f}x | {one['percent_of_roofline']:.0f} % |", flush=True)
    print("\nCortex-M, stories260K q8, instructions counted under QEMU (-icount shift=0, SysTick):\n")
    print("| board | kernels | instructions per MAC (1024x1024) | instructions per token (200 tokens) | tok/s at board clock |")
    print("|---|---|---|---|---|")
    for board in ("mps2-an386", "mps3-an547"):
        out = args.work / board
        compile_project(args.shared / "stories260K.bin", args.shared / "tok512.bin", board, out, quant="q8",
                        force=True)
        for reference in (True, False):
            c = count_instructions(out, reference)
            print(f"| {board} | {c['kernels']} | {c['instructions_per_mac']:.3f} | {c['instructions_per_token']:,} "
                  f"| {c['tok_s_at_clock']:.1f} at {c['clock_mhz']} MHz |", flush=True)
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
