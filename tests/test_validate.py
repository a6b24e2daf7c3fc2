"""`llmtool validate`: the emulator and the board agree, and the figures are sane."""
import json

import pytest
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.compiler import compile_project


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("validate")
    for board in ("rpi4", "mps2-an386"):
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board,
                        root / board, quant="q8")
    return root


def validate(*args):
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("board", ["rpi4", "mps2-an386"])
def test_board_agrees_with_emulator(projects, board):
    on_board = json.loads(validate(projects / board, "--on", "board", "--json"))
    on_emulator = json.loads(validate(projects / board, "--on", "emulator", "--json"))
    assert on_board.pop("on") == "board" and on_emulator.pop("on") == "emulator"
    assert on_board == on_emulator  # the same logits, bit for bit
    assert on_board["positions"] >= 1000
    assert on_board["top1_agreement"] >= 0.98 and 0 < on_board["mean_kl"] < 0.01
    assert abs(on_board["perplexity_build"] / on_board["perplexity_reference"] - 1) < 0.01


def test_text_report_and_custom_text(projects, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Once upon a time, there was a little dog. The dog liked to run and play.")
    out = validate(projects / "rpi4", "--text", text)
    assert "top-1 agreement" in out and "perplexity" in out and "KL" in out
