"""`llmtool bench`: the JSON contract, and deterministic instruction counts on Cortex-M."""
import json

import pytest
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.compile.compiler import compile_project


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    for board in ("host", "mps2-an386"):
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, root / board)
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "host", root / "host-q4", quant="q4")
    return root


def bench(*args):
    result = CliRunner().invoke(main, ["bench", *map(str, args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_host_bench_reports_speeds_against_the_roofline(projects):
    r = bench(projects / "host", "--threads", "2", "--steps", "64", "--json")
    for key in ("decode_tok_s", "prompt_tok_s", "weight_bytes_per_token", "read_bw_gb_s", "roofline_tok_s", "threads"):
        assert key in r, key
    assert r["threads"] == 2 and r["decode_tok_s"] > 0 and r["prompt_tok_s"] > 0
    assert 250_000 < r["weight_bytes_per_token"] < 320_000  # stories260K's int8 weights and scales
    assert r["read_bw_gb_s"] > 0.5
    assert r["roofline_tok_s"] == pytest.approx(r["read_bw_gb_s"] * 1e9 / r["weight_bytes_per_token"], rel=0.01)
    # two cores reading together: measured apart from the single core, the same way
    assert r["threads_read_bw_gb_s"] > 0.5 and r["percent_of_threads_roofline"] > 0
    assert r["threads_roofline_tok_s"] == pytest.approx(
        r["threads_read_bw_gb_s"] * 1e9 / r["weight_bytes_per_token"], rel=0.01)


def test_formats_side_by_side_against_q8(projects):
    """Two projects of one model: both timed in each round, the q8 one the base even
    when it is not first, and q4's weights about 0.6 of q8's per token."""
    rows = bench(projects / "host-q4", projects / "host", "--repeats", "2", "--steps", "32", "--json")
    q4, q8 = rows
    assert (q4["quant"], q8["quant"]) == ("q4", "q8") and q8["decode_vs_base"] == 1.0
    assert q4["decode_vs_base"] > 0 and q4["decode_tok_s"] > 0 and q4["project"].endswith("host-q4")
    assert 0.5 < q4["weight_bytes_per_token"] / q8["weight_bytes_per_token"] < 0.7
    text = CliRunner().invoke(main, ["bench", str(projects / "host"), str(projects / "host-q4"), "--repeats", "1",
                                     "--steps", "32"]).output
    assert "vs q8" in text and text.count("host ") == 2, text


@pytest.mark.slow
def test_cortex_m_instruction_counts_are_exact_and_repeatable(projects):
    optimized = bench(projects / "mps2-an386", "--count", "--json")
    again = bench(projects / "mps2-an386", "--count", "--json")
    reference = bench(projects / "mps2-an386", "--count", "--reference", "--json")
    assert optimized == again  # counted, not timed
    assert optimized["kernels"] == "dsp" and reference["kernels"] == "reference"
    assert 1.0 < optimized["instructions_per_mac"] < 1.3 < reference["instructions_per_mac"] < 12
    # 4 tokens at once: gemm_q8_dsp loads and sign-extends each weight once for two (1.04 against 1.21)
    assert optimized["counted_batch"] == 4
    assert optimized["batch_instructions_per_mac"] < 0.9 * optimized["instructions_per_mac"]
    assert reference["batch_instructions_per_mac"] > 0.95 * reference["instructions_per_mac"]  # token after token
    assert optimized["instructions_per_token"] < 1_000_000  # issue 5's targets
    assert 260_000 < optimized["instructions_per_token"] < reference["instructions_per_token"]
    assert optimized["positions"] == 200


@pytest.mark.slow
def test_rp2350_counts_on_its_stand_in(shared_models, tmp_path):
    """The Pico 2 under QEMU's mps2-an505: its Cortex-M33 runs the DSP kernels the M4
    does, counted at the stand-in's 20 MHz SysTick, tok/s at the chip's 150 MHz."""
    out = tmp_path / "rp2350"
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "rp2350", out,
                    console="semihosting")
    optimized = bench(out, "--count", "--json")
    reference = bench(out, "--count", "--reference", "--json")
    assert optimized["kernels"] == "dsp" and reference["kernels"] == "reference" and optimized["clock_mhz"] == 150
    assert 1.0 < optimized["instructions_per_mac"] < 1.3 < reference["instructions_per_mac"] < 12
    assert 260_000 < optimized["instructions_per_token"] < reference["instructions_per_token"]
    assert optimized["tok_s_at_clock"] == pytest.approx(150e6 / optimized["instructions_per_token"], rel=0.01)
