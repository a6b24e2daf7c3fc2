"""Builds llama2.c's 15M/42M/110M shapes (random weights, vocab 32000) and stories260K
for the host, times reference kernels against optimized ones on 1 and 2 threads
against the measured roofline (decode, and a 128-token prompt in batches), times the 110M shape's weight formats against q8, and
counts Cortex-M instructions under QEMU for q8 and q4.

    python3 benchmarks/run.py [--shared ../shared/models] [--work /tmp/llmtool-bench] [--repeats 5]

Prints Markdown tables (docs/benchmarks.md's come from here)."""
from __future__ import annotations

import argparse
import functools
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
from toolchain.host.bench import bench, compare, compare_counts, median_run  # noqa: E402
from toolchain.compile.compiler import compile_project  # noqa: E402
from toolchain.config import LLAMA2C_SHAPES, random_model  # noqa: E402


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return f"{cpu}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores, {platform.machine()}"


@functools.lru_cache(maxsize=1)  # the 110M shape, last of host_projects', is the formats table's too
def shape_model(name: str):
    config = LLAMA2C_SHAPES[name]
    return random_model(config, seed=0), synthetic_tokenizer(config.vocab_size)


def host_projects(shared: Path, work: Path) -> dict[str, Path]:
    projects = {}
    for name, config in LLAMA2C_SHAPES.items():
        out = work / name
        compile_project(*shape_model(name), "host", out, quant="q8", context=min(config.max_seq_len, 256), force=True,
                        model_name=name)
        projects[name] = out
    out = work / "stories260K"
    compile_project(shared / "stories260K.bin", shared / "tok512.bin", "host", out, quant="q8", force=True)
    projects["stories260K"] = out
    return {k: projects[k] for k in ("stories260K", "stories15M", "stories42M", "stories110M")}


def formats_table(work: Path, repeats: int, q8: Path) -> None:
    """The 110M shape's q8 build (host_projects') and its q4, q5 and q6 ones timed in
    turn on 1 and 2 threads."""
    model, tok = shape_model("stories110M")
    outs = [q8]
    for quant in ("q4", "q5", "q6"):
        outs.append(work / f"stories110M-{quant}")
        compile_project(model, tok, "host", outs[-1], quant=quant, context=256, force=True, model_name="stories110M")
    one, two = compare(outs, 1, repeats=repeats), compare(outs, 2, repeats=repeats)
    print(f"\nWeight formats, stories110M shape (random weights), host, {repeats} rounds of the four in turn, medians:\n")
    print("| format | weights/token | decode 1T | vs q8 1T | decode 2T | vs q8 2T | prompt 1T | prompt 2T |")
    print("|---|---|---|---|---|---|---|---|")
    for a, b in zip(one, two):
        print(f"| {a['quant']} | {a['weight_bytes_per_token'] / 1e6:.1f} MB | {a['decode_tok_s']:.1f} "
              f"| {a['decode_vs_base']:.2f}x | {b['decode_tok_s']:.1f} | {b['decode_vs_base']:.2f}x "
              f"| {a['prompt_tok_s']:.1f} | {b['prompt_tok_s']:.1f} |", flush=True)


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
          "| optimized 2T | 2T/1T | % of roofline 1T / 2T | prompt 1T / 2T |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    projects = host_projects(args.shared, args.work)
    for name, out in projects.items():
        ref = bench(out, 1, reference=True)
        pairs = [(bench(out, 1), bench(out, 2)) for _ in range(args.repeats)]
        one, two = (median_run([p[k] for p in pairs]) for k in (0, 1))
        ratio = median(b["decode_tok_s"] / a["decode_tok_s"] for a, b in pairs)
        print(f"| {name} | {one['weight_bytes_per_token'] / 1e6:.1f} MB "
              f"| {one['read_bw_gb_s']:.1f} / {two['threads_read_bw_gb_s']:.1f} GB/s "
              f"| {one['roofline_tok_s']:.0f} / {two['threads_roofline_tok_s']:.0f} tok/s "
              f"| {ref['decode_tok_s']:.1f} | {one['decode_tok_s']:.1f} ({one['kernels']}) | {two['decode_tok_s']:.1f} "
              f"| {ratio:.2f}x | {one['percent_of_roofline']:.0f} % / {two['percent_of_threads_roofline']:.0f} % "
              f"| {one['prompt_tok_s']:.0f} / {two['prompt_tok_s']:.0f} tok/s ({one['prompt_tokens']} tokens) |",
              flush=True)
    formats_table(args.work, args.repeats, projects["stories110M"])
    print("\nCortex-M, stories260K, instructions counted under QEMU (-icount shift=0, SysTick):\n")
    print("| board | format | kernels | instructions per MAC (1024x1024) | vs q8 | instructions per token (200 tokens) "
          "| vs q8 | tok/s at board clock | instructions per prompt token (64 tokens, batch) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for board in ("mps2-an386", "mps3-an547"):
        outs = []
        for quant in ("q8", "q4"):
            outs.append(args.work / f"{board}-{quant}")
            compile_project(args.shared / "stories260K.bin", args.shared / "tok512.bin", board, outs[-1], quant=quant,
                            force=True)
        for reference in (True, False):
            for c in compare_counts(outs, reference):
                print(f"| {board} | {c['matvec_format']} | {c['kernels']} | {c['instructions_per_mac']:.3f} "
                      f"| {c['mac_vs_base']:.2f} | {c['instructions_per_token']:,} | {c['token_vs_base']:.2f} "
                      f"| {c['tok_s_at_clock']:.1f} at {c['clock_mhz']} MHz "
                      f"| {c['instructions_per_prompt_token']:,} ({c['batch']}) |", flush=True)
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
