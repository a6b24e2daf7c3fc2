"""The memory planner: lifetimes, sharing, fast-RAM placement, fit, and agreement
with what the linker actually lays out."""
import json
import subprocess
import sys

import pytest

from toolchain.boards import get_board
from toolchain.target.build import build_project
from toolchain.compile.compiler import compile_project
from toolchain.importers import load_checkpoint
from toolchain.compile.plan import PHASES, plan_memory
from toolchain.compile.spec import CompileSpec


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.fixture(scope="module")
def config(stories):
    return load_checkpoint(stories[0]).config


@pytest.mark.parametrize("board,kv", [("host", "f32"), ("stm32f405", "q8"), ("mps3-an547", "f16")])
def test_buffers_share_storage_and_never_overlap_while_live(config, board, kv):
    plan = plan_memory(CompileSpec(config, get_board(board), "q8", 64, kv, 256))
    assert sum(a.nbytes for a in plan.arenas) < plan.unshared_bytes  # sharing saves RAM
    assert all(a.nbytes > 0 for a in plan.arenas)  # mps3-an547 f16: all in DTCM, no empty main arena
    for arena in plan.arenas:
        for phase in PHASES:  # at every step of the schedule, the live buffers are disjoint
            live = sorted((b for b in arena.buffers if phase in b.phases), key=lambda b: b.offset)
            for a, b in zip(live, live[1:]):
                assert a.offset + a.nbytes <= b.offset, (phase, a.name, b.name)
            assert all(b.offset + b.nbytes <= arena.nbytes for b in live)
    names = {b.name for b in plan.buffers}
    assert {"x", "xq", "att", "logits", "probindex"} <= names and "key_cache[4]" in names


def test_hottest_buffers_go_to_fast_ram(config):
    plan = plan_memory(CompileSpec(config, get_board("stm32f405"), "q8", 64, "q8", 256))
    ccm = next(a for a in plan.arenas if a.region == "ccm")
    assert ccm.nbytes <= 64 * 1024 and ccm.section == ".bss.llm_ccm"
    assert {"x", "xb", "xq", "q", "att"} <= {b.name for b in ccm.buffers}
    assert ccm.nbytes >= 0.9 * 64 * 1024  # then KV layers and whatever else fits fill it


@pytest.fixture(scope="module")
def built(stories, tmp_path_factory):
    root = tmp_path_factory.mktemp("planned")
    out = {}
    for board, kv in [("mps2-an386", "f32"), ("stm32f405", "q8"), ("rp2040", "f16"), ("rpi4", "f32"),
                      ("mps3-an547", "f16")]:  # the last all in its DTCM
        compile_project(stories[0], stories[1], board, root / board, quant="q8", kv=kv)
        out[board] = (root / board, build_project(root / board))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("board", ["mps2-an386", "stm32f405", "rp2040", "rpi4", "mps3-an547"])
def test_planner_agrees_with_the_linker(built, board):
    out, report = built[board]
    manifest = json.loads((out / "llmtool.json").read_text())
    planned_ram = manifest["ram_bytes"]
    linked_ram = sum(report.ram_used.values())
    code = report.groups["text"]  # "within 2 % plus code size": the C library's statics come with it
    if get_board(board).os == "baremetal":
        assert abs(linked_ram - planned_ram) <= 0.02 * linked_ram, (linked_ram, planned_ram)
        assert abs(report.flash_used - manifest["image_bytes"]) <= 0.02 * report.flash_used + code
    else:  # a static Linux binary: the buffers are .bss and the image .rodata
        assert abs(report.groups["bss"] - planned_ram) <= 0.02 * report.groups["bss"] + code
        assert 0 <= report.groups["rodata"] - manifest["image_bytes"] <= 0.02 * report.groups["rodata"] + code


def test_compile_takes_the_largest_context_that_fits_and_says_so(stories, tmp_path):
    out = tmp_path / "st"
    result = subprocess.run([sys.executable, "-m", "toolchain", "compile", str(stories[0]), "--tokenizer",
                             str(stories[1]), "--board", "stm32f405", "--kv", "q8", "-o", str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    context = json.loads((out / "llmtool.json").read_text())["context"]
    assert context >= 256 and f"context {context} (the largest that fits" in result.stdout
    too_big = subprocess.run([sys.executable, "-m", "toolchain", "compile", str(stories[0]), "--tokenizer",
                              str(stories[1]), "--board", "stm32f405", "--kv", "q8", "--context", "512",
                              "-o", str(tmp_path / "x")], capture_output=True, text=True)
    assert too_big.returncode == 1
    assert too_big.stderr.strip() == (f"error: --context 512 does not fit stm32f405 with --kv q8: "
                                      f"the largest that fits is {context}")
