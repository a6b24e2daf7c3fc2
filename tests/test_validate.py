"""`llmtool validate`: the emulator and the board agree, and the figures are sane."""
import json

import pytest
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.compile.compiler import compile_project


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("validate")
    for board in ("rpi4", "mps2-an386"):
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board,
                        root / board, quant="q8")
    return root


def validate(*args, status=0):
    """stdout of `llmtool validate ARGS`, which must exit with `status` (1: FAIL)."""
    result = CliRunner().invoke(main, ["validate", *map(str, args)])
    assert result.exit_code == status, result.output
    return result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("board", ["rpi4", "mps2-an386"])
def test_board_agrees_with_emulator(projects, board):
    on_board = json.loads(validate(projects / board, "--on", "board", "--json"))
    on_emulator = json.loads(validate(projects / board, "--on", "emulator", "--json"))
    assert on_board.pop("on") == "board" and on_emulator.pop("on") == "emulator"
    assert on_board == on_emulator  # the same logits, bit for bit
    assert on_board["positions"] >= 1000
    assert on_board["top1_agreement"] >= 0.98 and 0 < on_board["mean_kl"] < 0.01
    assert on_board["passed"] and on_board["verdict"].startswith("PASS: top-1 98.")
    assert on_board["min_top1"] == 0.95 and on_board["max_kl"] == 0.05  # q8's defaults
    assert abs(on_board["perplexity_build"] / on_board["perplexity_reference"] - 1) < 0.01


def test_text_report_and_custom_text(projects, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("Once upon a time, there was a little dog. The dog liked to run and play.")
    out = validate(projects / "rpi4", "--text", text)
    assert "top-1 agreement" in out and "perplexity" in out and "KL" in out
    assert out.splitlines()[-1].startswith("PASS: top-1 ")


def test_verdict_against_the_users_thresholds(projects):
    """For CI: PASS or FAIL on the last line (and in the JSON), exit status 1 on FAIL."""
    out = validate(projects / "rpi4", "--min-top1", "90", "--max-kl", "0.01")
    assert out.splitlines()[-1] == "PASS: top-1 98.10 % >= 90.00 %, mean KL 0.0013 <= 0.0100 nats"
    out = validate(projects / "rpi4", "--min-top1", "99.5", status=1)
    assert out.splitlines()[-1] == "FAIL: top-1 98.10 % < 99.50 %, mean KL 0.0013 <= 0.0500 nats"
    result = json.loads(validate(projects / "rpi4", "--max-kl", "0.001", "--json", status=1))
    assert result["passed"] is False and result["max_kl"] == 0.001 and result["top1_agreement"] > 0.98
    assert result["verdict"] == "FAIL: top-1 98.10 % >= 95.00 %, mean KL 0.0013 > 0.0010 nats"


@pytest.mark.parametrize("flag, value, words", [("--min-top1", "101", "--min-top1 must be a percentage"),
                                                ("--min-top1", "nan", "--min-top1 must be a percentage"),
                                                ("--max-kl", "-1", "--max-kl must be a number of nats")])
def test_bad_thresholds_are_refused_before_any_work(projects, flag, value, words):
    result = CliRunner().invoke(main, ["validate", str(projects / "rpi4"), flag, value])
    assert result.exit_code == 1 and result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert words in result.stderr
    assert result.stdout == ""
