"""`llmtool analyze`: sensible figures for every board and the llama2.c shapes."""
import json

import pytest
from click.testing import CliRunner

from toolchain.boards import all_boards
from toolchain.cli import main

BOARDS = sorted(all_boards())


def analyze(*args, status=0):
    """stdout of `llmtool analyze ARGS`, which must exit with `status` (1: does not fit)."""
    result = CliRunner().invoke(main, ["analyze", *map(str, args)])
    assert result.exit_code == status, result.output
    return result.stdout


@pytest.mark.parametrize("board", BOARDS)
def test_stories260k_on_every_board(shared_models, board):
    a = json.loads(analyze(shared_models / "stories260K.bin", "--board", board, "--kv", "q8", "--json"))
    assert a["fits"] and a["params"] == 260_032
    assert 64 <= a["context"] <= 512 and a["context"] == a["largest_context"]["q8"]
    largest = a["largest_context"]
    assert largest["f32"] <= largest["f16"] <= largest["q8"]  # smaller KV rows, longer context
    if a["flash"]["limit"]:
        assert a["flash"]["used"] <= a["flash"]["limit"]
    if a["ram"]["limit"]:
        assert a["ram"]["used"] <= a["ram"]["limit"]
    assert a["estimated_tok_s"] > 1
    text = analyze(shared_models / "stories260K.bin", "--board", board)
    assert "largest context that fits" in text and "estimated decode speed" in text


@pytest.mark.parametrize("shape", ["stories15M", "stories42M", "stories110M"])
def test_llama2c_shapes(shape):
    external = ("coral-micro", "stm32h747i-disco")  # their external flash holds each shape's image
    for board, info in all_boards().items():
        fits = info.os != "baremetal" or board in external
        out = analyze(shape, "--board", board, status=0 if fits else 1)
        if not fits:
            assert out.count("\n") == 1 and "does not fit" in out and "flash" in out, out
        elif board in external:
            assert "weights: linked in, stored in " in out and "estimated decode speed" in out
        else:
            assert "context 1024" in out or "context 256" in out
    for_110m = json.loads(analyze(shape, "--board", "rpi4", "--json"))
    assert for_110m["bound"] == "memory" and 0 < for_110m["estimated_tok_s"] < 1000


def test_plot_draws_a_png(shared_models, tmp_path):
    png = tmp_path / "memory.png"
    analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--kv", "q8", "--plot", png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_model_that_does_not_fit_exits_1(shared_models):
    """For CI: the one-line reason, or the complete JSON object, and exit status 1."""
    out = analyze("stories110M", "--board", "stm32f405", status=1)
    assert out.startswith("stories110M does not fit stm32f405: its weight image needs 111.6 MB and no flash region holds it") and out.count("\n") == 1
    a = json.loads(analyze("stories110M", "--board", "stm32f405", "--json", status=1))
    assert a["fits"] is False and a["context"] == 0 and a["flash"]["sections"]["weights"] > a["flash"]["limit"]
    assert set(a) == set(json.loads(analyze(shared_models / "stories260K.bin", "--board", "stm32f405",
                                            "--json")))  # the same keys as when it fits
    # a context the board cannot hold, though a smaller one fits
    out = analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--context", "512", status=1)
    assert "context 512 does not fit stm32f405" in out and "the largest that fits is" in out
    a = json.loads(analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--context", "512", "--json",
                           status=1))
    assert a["fits"] is False and a["largest_context"]["f32"] < 512


@pytest.mark.parametrize("board", ["coral-micro", "stm32h747i-disco"])
def test_a_prompt_token_reads_the_external_weights_once_a_batch(board):
    """The 15M shape's weights run from SDRAM: a decoded token reads all of them from it,
    a prompt token its share of one read by the batch."""
    a = json.loads(analyze("stories15M", "--board", board, "--json"))
    sdram = next(t for t in a["tiers"] if t["kind"] == "external_ram")
    kv = sdram["read_per_token"] - a["weights"]["bytes"]
    assert a["batch"] >= 8 and 0 <= kv < sdram["read_per_token"] / 4
    assert sdram["read_per_prompt_token"] == a["weights"]["bytes"] // a["batch"] + kv
    assert a["estimated_prompt_tok_s"] > 4 * a["estimated_tok_s"]
