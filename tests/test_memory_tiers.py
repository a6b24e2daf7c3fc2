"""Memory tiers: buffers the internal RAM cannot hold go to the board's external RAM
(the KV cache first), analyze says what each tier holds and reads per token, and the
firmware runs with its KV cache in external RAM under QEMU."""
import subprocess
from dataclasses import replace

import pytest

from synthetic import synthetic_tokenizer
from toolchain.boards import get_board
from toolchain.compile.analyze import bytes_read_per_token, estimate_tok_s, tiers, weight_reads
from toolchain.compile.compiler import compile_project
from toolchain.compile.fit import assess, largest_context
from toolchain.compile.spec import CompileSpec
from toolchain.config import ModelConfig, random_model
from toolchain.host.emulator import Emulator
from toolchain.target.run import run_project

# a KV cache (f32, context 1024: 8 MB) twice the MPS2's 4 MB SSRAM, small weights (3.4 MB q8)
LONG_CONTEXT = ModelConfig(dim=256, n_layers=4, n_heads=4, n_kv_heads=4, vocab_size=512, hidden_dim=768,
                           max_seq_len=1024)
BOARD = "mps2-an500"  # 4 MB SSRAM, 16 MB PSRAM at 0x60000000


def spec():
    return CompileSpec(LONG_CONTEXT, get_board(BOARD), "q8", 64, "f32", 1024, synthetic_tokenizer(512))


def test_the_kv_cache_spills_to_external_ram():
    fit = assess(spec())
    assert fit.fits
    where = {b.name: b.region for b in fit.plan.buffers}
    assert {where["x"], where["xb"], where["logits"]} == {"ssram23"}  # the hot buffers stay inside
    spilled = [name for name, region in where.items() if region == "psram"]
    assert spilled and all(name.startswith(("key_cache", "value_cache")) for name in spilled)
    psram = next(a for a in fit.plan.arenas if a.region == "psram")
    assert psram.section == ".bss.llm_psram" and psram.nbytes <= 16 << 20


def test_what_no_tier_holds_does_not_fit():
    longer = replace(spec(), config=replace(LONG_CONTEXT, max_seq_len=4096))
    fit = assess(longer.at(4096))  # a 32 MB KV cache: more than the SSRAM and the PSRAM together
    assert not fit.fits
    psram = next(a for a in fit.plan.arenas if a.region == "psram")
    assert psram.nbytes <= 16 << 20  # filled, never overfilled: the main RAM holds the overflow
    assert 1024 < largest_context(longer) < 4096


def test_analyze_reads_each_tier_at_its_bandwidth():
    board = get_board(BOARD)
    fit, weights = assess(spec()), weight_reads(spec())
    used = {t["region"]: t for t in tiers(fit, board, LONG_CONTEXT, weights)}
    assert used["psram"]["kind"] == "external_ram" and used["psram"]["read_mb_s"] == 50
    assert used["ssram23"]["read_mb_s"] == board.read_mb_s  # no figure of its own: the board's
    reads = bytes_read_per_token(fit, board, LONG_CONTEXT, weights)
    assert reads["ssram1"] == weights.layers + weights.classifier and reads["psram"] > 0
    # with MACs to spare the estimate is the sum over tiers of bytes / bandwidth
    fast_core = replace(board, int8_macs_per_cycle=1e6)
    tok_s, bound = estimate_tok_s(LONG_CONTEXT, fit, fast_core, weights)
    memory_s = sum(n / (board.read_mb_s_of(r) * 1e6) for r, n in reads.items())
    assert bound == "memory" and tok_s == pytest.approx(1 / memory_s)
    # the same bytes all at the board's bandwidth: faster than with the PSRAM's 50 MB/s
    flat = replace(fast_core, memory=tuple(replace(r, read_mb_s=0) for r in board.memory))
    assert estimate_tok_s(LONG_CONTEXT, fit, flat, weights)[0] > 1.5 * tok_s


@pytest.mark.slow
def test_the_firmware_runs_with_its_kv_cache_in_external_ram(tmp_path):
    out = tmp_path / "out"
    compile_project(random_model(LONG_CONTEXT, seed=5), synthetic_tokenizer(512), BOARD, out, quant="q8",
                    context=1024)
    result = run_project(out, "", steps=40, temperature=0.0, capture=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout == Emulator(out).generate("", steps=40, temperature=0.0).text.decode() + "\n"
    listing = subprocess.run(["arm-none-eabi-nm", str(out / "build" / "llm")], capture_output=True, text=True,
                             check=True).stdout
    symbols = {f[2]: int(f[0], 16) for f in map(str.split, listing.splitlines()) if len(f) == 3}
    assert 0x60000000 <= symbols["arena_psram"] < 0x61000000  # the linker put the spilled caches there
