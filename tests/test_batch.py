"""Batched prefill (llm_forward_batch, compile --batch): the prompt's tokens run through
each layer together, and the logits and text are bit for bit those of one token at a
time: on the host for q8, q4 and f32, and on every board QEMU (or this machine) runs."""
import json

import numpy as np
import pytest

from test_pipeline import llmtool
from toolchain.boards import all_boards, get_board
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.host.validate import board_logits
from toolchain.target.build import build_project

# more than two batches of 32, the last one short
IDS = [1] + [(37 * i + 11) % 500 + 3 for i in range(69)]
# a prompt of several batches of --batch 8
PROMPT = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her dog."
EMULATED = [name for name, b in sorted(all_boards().items()) if b.emulation.get("kind") not in ("none", None)]


def compiled(shared_models, out, board="host", **options):
    return compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, out,
                           **options).project.path


def one_at_a_time(out) -> np.ndarray:
    """The host emulator's logits, llm_forward position by position."""
    emulator = Emulator(out)
    return np.stack([emulator.forward(t, pos) for pos, t in enumerate(IDS)])


@pytest.mark.parametrize("quant", ["q8", "q4", "f32"])
def test_batches_give_the_logits_and_text_of_one_token_at_a_time(shared_models, tmp_path, quant):
    batched = compiled(shared_models, tmp_path / "batched", quant=quant)
    alone = compiled(shared_models, tmp_path / "alone", quant=quant, batch=1)
    manifest = json.loads((batched / "llmtool.json").read_text())
    assert manifest["batch"] == 32 and json.loads((alone / "llmtool.json").read_text())["batch"] == 1
    build_project(batched)
    # llm-test -x runs the ids in batches (llm_forward_each), the emulator one by one
    got = board_logits(batched, IDS, 512)
    assert got.tobytes() == one_at_a_time(batched).tobytes()
    # a prompt of several batches, then generation: the same text as without batches
    texts = [Emulator(out).generate(PROMPT, steps=120, temperature=0.0).text for out in (batched, alone)]
    assert texts[0] == texts[1] and len(texts[0]) > len(PROMPT) + 40


def test_the_plan_holds_the_batch_and_it_costs_no_context(shared_models, tmp_path):
    """On stm32f405 (192 KB of RAM) the batch is what fits beside the context that
    fits without one; --batch asked for is planned, the context beside it."""
    alone = compiled(shared_models, tmp_path / "alone", "stm32f405", batch=1)
    auto = compiled(shared_models, tmp_path / "auto", "stm32f405")
    context = lambda out: json.loads((out / "llmtool.json").read_text())["context"]  # noqa: E731
    plan = json.loads((auto / "plan.json").read_text())
    assert context(auto) == context(alone) and 1 <= plan["batch"] <= 32
    buffers = {b["name"]: b for a in plan["arenas"] for b in a["buffers"]}
    assert buffers["x"]["count"] == plan["batch"] * 64 and buffers["hb"]["count"] == plan["batch"] * 172
    assert f"#define LLM_BATCH {plan['batch']}" in (auto / "llm_config.h").read_text()
    forced = compiled(shared_models, tmp_path / "forced", "stm32f405", batch=64)
    assert json.loads((forced / "plan.json").read_text())["batch"] == 64 and context(forced) <= context(alone)


@pytest.mark.parametrize("args, says", [
    (["--batch", "0"], "--batch"),
    (["--board", "stm32f405", "--context", "136", "--batch", "64"], "and --batch 64: the largest that fits is"),
    (["--board", "stm32f405", "--batch", "4096"], "--batch 4096 does not fit stm32f405 even with a context of 1"),
])
def test_what_batch_refuses(shared_models, tmp_path, args, says):
    result = llmtool("compile", shared_models / "stories260K.bin", "-z", shared_models / "tok512.bin", *args,
                     "-o", tmp_path / "out")
    assert result.returncode != 0 and says in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def quant_in_turn(board: str) -> str:
    """q8, and q4 and on Linux f32 on every other board in turn (a microcontroller's
    flash may not hold stories260K's 1 MB of floats)."""
    return ("q8", "q4" if get_board(board).os == "baremetal" else "f32")[EMULATED.index(board) % 2]


# boards whose q8 GEMM twin no other board runs, whose turn is not q8: also in q8
# (mps3-an547: Helium, gemm_q8_mve.c)
ALSO_Q8 = [name for name in ("mps3-an547",) if quant_in_turn(name) != "q8"]


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("board, quant", [(name, quant_in_turn(name)) for name in EMULATED] +
                         [(name, "q8") for name in ALSO_Q8])
def test_every_board_batches_as_the_emulator_runs_one_by_one(shared_models, tmp_path, board, quant):
    """The board's llm-test -x (batches of at least 4) against the host emulator's
    position-by-position logits of the same project, bit for bit, in the board's
    format (quant_in_turn, ALSO_Q8)."""
    b = get_board(board)
    console = "semihosting" if b.os == "baremetal" else None
    out = compiled(shared_models, tmp_path / board, board, quant=quant, console=console)
    if json.loads((out / "plan.json").read_text())["batch"] < 4:  # little RAM: a batch asked for, at a shorter context
        out = compiled(shared_models, tmp_path / f"{board}-4", board, quant=quant, console=console, batch=4)
    build_project(out)
    assert board_logits(out, IDS, 512).tobytes() == one_at_a_time(out).tobytes()


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("board", ["rpi5", "rpi3-armhf"])
def test_arm_gemm_twins_batch_as_the_emulator_runs_one_by_one(shared_models, tmp_path, board):
    """q8 on the Arm boards the test above runs in f32: their GEMM twins (the dot-product
    one, Armv7's tiles of two tokens) in batches give the emulator's logits of one token
    at a time, bit for bit."""
    out = compiled(shared_models, tmp_path / board, board, quant="q8")
    build_project(out)
    assert board_logits(out, IDS, 512).tobytes() == one_at_a_time(out).tobytes()
