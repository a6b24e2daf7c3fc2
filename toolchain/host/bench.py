"""`llmtool bench`: decode and prompt speed of a built project against the roofline
set by this machine's single-core memory read bandwidth, measured in the same run."""
from __future__ import annotations

import atexit
import functools
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from statistics import median

from ..boards import get_board
from ..compile.image import image_entries
from ..compile.spec import CompileSpec
from ..errors import ToolchainError
from ..manifest import read_manifest
from ..resources import resource_dir
from ..target.build import BINARY, TEST_BINARY
from ..target.run import image_args, run_image
from ..target.toolcheck import require

PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."
PROMPT_TOKENS = 128  # the prompt timed: PROMPT repeated to about this many tokens (chat's system prompt and turn)
DECODE_STEPS = 128
COUNTED_PROMPT = 64  # --count's prompt, in tokens
COUNTED_BATCH = 4  # --count's product of several tokens at once (a GEMM: llm-test -M n -B 4)
SPEEDS = re.compile(r"prompt tok/s: ([\d.]+), decode tok/s: ([\d.]+)\nfirst token after ([\d.]+) ms")
PROBE = Path(__file__).with_name("read_bandwidth.c")


@functools.cache
def bandwidth_probe() -> Path:
    """read_bandwidth.c built with the host's cc, once per process (a benchmark
    script measures the bandwidth beside every run)."""
    cc = require("cc", "gcc")
    tmp = tempfile.mkdtemp(prefix="llmtool-bandwidth-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    probe = Path(tmp) / "read_bandwidth"
    for arch in (["-march=native"], []):  # the host's widest loads, where cc knows the host
        built = subprocess.run([cc, "-std=c11", "-O2", *arch, "-pthread", "-I", str(resource_dir("runtime_c") / "kernels"),
                                "-o", str(probe), str(PROBE)], capture_output=True, text=True)
        if built.returncode == 0:
            return probe
    raise ToolchainError(f"cannot build the bandwidth probe: {(built.stderr.strip().splitlines() or ['cc failed'])[-1]}")


def read_bandwidth_gb_s(megabytes: int = 512, repeats: int = 5, threads: int = 1) -> float:
    """Read bandwidth of one core (or of `threads` cores together): the best of a
    few passes of read_bandwidth.c over a buffer far larger than any cache
    (numpy's sums read 15-25 % slower than the kernels do)."""
    result = subprocess.run([str(bandwidth_probe()), str(megabytes), str(threads), str(repeats)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"the bandwidth probe failed: {result.stderr.strip()}")
    return float(result.stdout)


def weight_bytes_per_token(spec: CompileSpec) -> int:
    """Bytes of weights a decode step reads: every matrix and norm once; of the
    embedding table only one row, unless it is also the classifier."""
    cfg = spec.config
    entries = image_entries(spec)
    total = sum(n for name, n in entries if not name.startswith(("vocab.", "rope")))
    if not cfg.shared_classifier:
        table = sum(n for name, n in entries if name.startswith("tok_embeddings"))
        total -= table - table // cfg.vocab_size
    return total


def bench(out, threads: int = 1, reference: bool = False, steps: int = DECODE_STEPS,
          bandwidth: float | None = None, threads_bandwidth: float | None = None) -> dict:
    """Times OUTDIR's build; the roofline is the single-core read bandwidth over the
    weight bytes of a token, and for threads > 1 also that of `threads` cores
    reading together (what a run on that many threads can at best approach)."""
    manifest = read_manifest(out)
    spec = CompileSpec.of_project(manifest)
    board, cfg = spec.board, spec.config
    binary = f"{BINARY}-reference" if reference else str(BINARY)
    prompt, tokens = long_prompt(Path(out), binary)
    said = generation(out, binary, prompt, tokens + steps, threads)
    speeds, counted = SPEEDS.search(said), re.search(r"prompt tokens: (\d+)", said)
    if speeds is None:
        raise ToolchainError("the run was too short to time prompt and decode apart")
    bw = bandwidth if bandwidth is not None else read_bandwidth_gb_s()
    if threads == 1:
        bw_threads = bw
    else:
        bw_threads = threads_bandwidth if threads_bandwidth is not None else read_bandwidth_gb_s(threads=threads)
    per_token = weight_bytes_per_token(spec)
    roofline = bw * 1e9 / per_token
    decode = float(speeds.group(2))
    picked = re.search(r"^kernels: (\S+)", said, re.M)  # a portable build's, picked at run time
    return {
        "board": board.name, "emulated": board.emulation.get("kind") != "native",
        "kernels": "reference" if reference else picked.group(1) if picked else manifest["kernel"],
        "threads": threads, "params": cfg.n_params(), "quant": manifest["quant"],
        "prompt_tok_s": float(speeds.group(1)), "decode_tok_s": decode,
        "prompt_tokens": int(counted.group(1)), "first_token_ms": float(speeds.group(3)),
        "weight_bytes_per_token": per_token, "read_bw_gb_s": round(bw, 2),
        "roofline_tok_s": round(roofline, 1), "percent_of_roofline": round(100 * decode / roofline, 1),
        "threads_read_bw_gb_s": round(bw_threads, 2),
        "threads_roofline_tok_s": round(bw_threads * 1e9 / per_token, 1),
        "percent_of_threads_roofline": round(100 * decode * per_token / (bw_threads * 1e9), 1),
    }


def generation(out, binary: str, prompt: str, positions: int, threads: int = 1) -> str:
    """OUTDIR's `binary` on `prompt` for `positions` positions: what it says on stderr."""
    args = image_args(prompt, min(positions, read_manifest(out)["context"]), 0.0, 0.9, 1) + ["-T", str(threads)]
    result = run_image(out, args, capture=True, timeout=3600, binary=binary)
    if result.returncode != 0:
        raise ToolchainError(f"the benchmark run failed: {result.stderr.strip()}")
    return result.stderr


@functools.cache
def long_prompt(out: Path, binary: str, tokens: int = PROMPT_TOKENS) -> tuple[str, int]:
    """PROMPT repeated to at least `tokens` tokens of OUTDIR's tokenizer, as far as half
    the context and the prompt's bytes allow (a microcontroller's encoder has a byte a
    position), and its tokens (PROMPT's counted by a run of two positions)."""
    manifest = read_manifest(out)
    once = int(re.search(r"prompt tokens: (\d+)", generation(out, binary, PROMPT, 2)).group(1)) - 1  # BOS aside
    fits = min((manifest["context"] // 2 - 1) // once, (manifest["prompt_capacity"] - 2) // (len(PROMPT) + 1))
    times = max(1, min(-(-(tokens - 1) // once), fits))
    return " ".join([PROMPT] * times), 1 + times * once


def matvec_size(board) -> int:
    """The matrix llm-test -M times: 1024 x 1024, or the largest power of two whose int8
    weights and scales (a float per 16 weights, at most) fit the board's biggest region."""
    biggest = max(r.length for r in board.memory)
    n = 1024
    while n > 16 and n * n * 5 // 4 > biggest:
        n //= 2
    return n


def count_instructions(out, reference: bool = False, steps: int = 200) -> dict:
    """Bare metal under QEMU with -icount shift=0: every instruction advances virtual
    time by 1 ns, and the firmware's SysTick runs on that time at the machine's clock
    (a stand-in's own), so ticks * 1000 / that clock counts instructions, the same on
    every run. tok/s at the board's clock assumes one instruction per cycle."""
    manifest = read_manifest(out)
    board = get_board(manifest["board"])
    if board.os != "baremetal" or board.emulation.get("kind") != "qemu-system":
        raise ToolchainError("--count needs a bare-metal board that QEMU emulates")
    suffix = "-reference" if reference else ""
    per_tick = 1000.0 / board.emulated_clock_mhz
    matvec = matvec_size(board)

    def ticks(binary, args, label):
        result = run_image(out, args, capture=True, timeout=3600, binary=binary, icount=True)
        found = re.search(label + r" ticks: (\d+)", result.stderr)
        if result.returncode != 0 or found is None:
            raise ToolchainError(f"the counting run failed: {result.stderr.strip()}")
        return int(found.group(1)), result.stderr

    # the matrix product alone in the test program, a generation in the program
    matvec_ticks, said = ticks(f"{TEST_BINARY}{suffix}", ["-M", str(matvec)], "matvec")
    timed = re.search(r"matvec ticks: \d+ \((\w+)\)", said).group(1)  # the format -M took
    gemm_ticks, _ = ticks(f"{TEST_BINARY}{suffix}", ["-M", str(matvec), "-B", str(COUNTED_BATCH)], "matvec")
    gen_ticks, err = ticks(f"{BINARY}{suffix}", image_args("", min(steps, manifest["context"]), 0.0, 0.9, 1),
                           "generate")
    positions = int(re.search(r"positions: (\d+)", err).group(1))
    per_token = gen_ticks * per_tick / positions
    # a prompt of about COUNTED_PROMPT tokens alone (its positions, no token after them)
    prompt, tokens = long_prompt(Path(out), f"{BINARY}{suffix}", COUNTED_PROMPT)
    prompt_ticks, _ = ticks(f"{BINARY}{suffix}", image_args(prompt, tokens, 0.0, 0.9, 1), "generate")
    return {
        "board": board.name, "kernels": "reference" if reference else manifest["kernel"], "matvec_format": timed,
        "instructions_per_mac": round(matvec_ticks * per_tick / (matvec * matvec), 3), "matvec": matvec,
        "batch_instructions_per_mac": round(gemm_ticks * per_tick / (COUNTED_BATCH * matvec * matvec), 3),
        "counted_batch": COUNTED_BATCH,
        "instructions_per_token": round(per_token), "positions": positions,
        "tok_s_at_clock": round(board.clock_mhz * 1e6 / per_token, 1), "clock_mhz": board.clock_mhz,
        "prompt_tokens": tokens, "instructions_per_prompt_token": round(prompt_ticks * per_tick / tokens),
        "batch": manifest.get("batch", 1),
    }


TIMED = ("decode_tok_s", "prompt_tok_s", "read_bw_gb_s", "threads_read_bw_gb_s", "roofline_tok_s",
         "threads_roofline_tok_s", "percent_of_roofline", "percent_of_threads_roofline")


def median_run(runs: list[dict]) -> dict:
    """Each timed figure of `runs` as its median: on a shared machine the bandwidth
    changes from second to second with the neighbours' load."""
    return {**runs[0], **{key: median(r[key] for r in runs) for key in TIMED}}


def base_index(outs) -> int:
    """The project the others are compared with: the first q8 one, else the first."""
    return next((i for i, out in enumerate(outs) if read_manifest(out)["quant"] == "q8"), 0)


def compare(outs, threads: int = 1, reference: bool = False, steps: int = DECODE_STEPS, repeats: int = 3) -> list[dict]:
    """Several projects (the formats of one model, say) timed in turn, `repeats`
    rounds, so a neighbour's load falls on all of them alike: each figure the median
    of its rounds, and `decode_vs_base` the median of its decode over the base
    project's (base_index) in the same round."""
    rounds = []
    for _ in range(repeats):
        bw = read_bandwidth_gb_s()
        bw_threads = read_bandwidth_gb_s(threads=threads) if threads > 1 else bw
        rounds.append([bench(out, threads, reference, steps, bw, bw_threads) for out in outs])
    base = base_index(outs)
    return [{**median_run([r[i] for r in rounds]), "project": str(out),
             "decode_vs_base": round(median(r[i]["decode_tok_s"] / r[base]["decode_tok_s"] for r in rounds), 3)}
            for i, out in enumerate(outs)]


def compare_counts(outs, reference: bool = False) -> list[dict]:
    """count_instructions of several projects, with each one's instructions per MAC
    and per token over the base project's (base_index)."""
    counts = [{**count_instructions(out, reference), "project": str(out)} for out in outs]
    base = counts[base_index(outs)]
    for c in counts:
        c["mac_vs_base"] = round(c["instructions_per_mac"] / base["instructions_per_mac"], 3)
        c["batch_mac_vs_base"] = round(c["batch_instructions_per_mac"] / base["batch_instructions_per_mac"], 3)
        c["token_vs_base"] = round(c["instructions_per_token"] / base["instructions_per_token"], 3)
        c["prompt_token_vs_base"] = round(c["instructions_per_prompt_token"] / base["instructions_per_prompt_token"], 3)
    return counts
