"""Builds llama2.c's 15M/42M/110M shapes (random weights, vocab 32000) and stories260K
for the host, times reference kernels against optimized ones on 1 and 2 threads
against the measured roofline, and counts Cortex-M instructions under QEMU.

    python3 benchmarks/run.py [--shared ../shared/models] [--work /tmp/llmtool-bench] [--repeats 5]

Prints Markdown tables (docs/benchmarks.md's come from here)."""
from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
from statistics import median
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from synthetic import synthetic_tokenizer  # noqa: E402
from toolchain.host.bench import bench, count_instructions  # noqa: E402
from toolchain.compile.compiler import compile_project  # noqa: E402
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


def median_run(runs: list[dict]) -> dict:
    """Each timed figure of `runs` as its median: on a shared machine the bandwidth
    changes from second to second with the neighbours' load."""
    timed = ("decode_tok_s", "read_bw_gb_s", "threads_read_bw_gb_s", "roofline_tok_s", "threads_roofline_tok_s",
             "percent_of_roofline", "percent_of_threads_roofline")
    return {**runs[0], **{key: median(r[key] for r in runs) for key in timed}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--work", type=Path, default=Path("/tmp/llmtool-bench"))
    parser.add_argument("--repeats", type=int, default=5, help="pairs of 1- and 2-thread runs per model")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}. Each figure is the median of {args.repeats} alternating 1- and 2-thread runs, "
          "each run followed by its own bandwidth measurement (toolchain/host/read_bandwidth.c over 512 MB, on one core and on two).\n")
    print("| model | weights/token | read bw 1 / 2 cores | roofline 1T / 2T | reference 1T | optimized 1T "
          "| optimized 2T | 2T/1T | % of roofline 1T / 2T |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, out in host_projects(args.shared, args.work).items():
        ref = bench(out, 1, reference=True)
        pairs = [(bench(out, 1), bench(out, 2)) for _ in range(args.repeats)]
        one, two = (median_run([p[k] for p in pairs]) for k in (0, 1))
        ratio = median(b["decode_tok_s"] / a["decode_tok_s"] for a, b in pairs)
        print(f"| {name} | {one['weight_bytes_per_token'] / 1e6:.1f} MB "
              f"| {one['read_bw_gb_s']:.1f} / {two['threads_read_bw_gb_s']:.1f} GB/s "
              f"| {one['roofline_tok_s']:.0f} / {two['threads_roofline_tok_s']:.0f} tok/s "
              f"| {ref['decode_tok_s']:.1f} | {one['decode_tok_s']:.1f} ({one['kernels']}) | {two['decode_tok_s']:.1f} "
              f"| {ratio:.2f}x | {one['percent_of_roofline']:.0f} % / {two['percent_of_threads_roofline']:.0f} % |",
              flush=True)
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
