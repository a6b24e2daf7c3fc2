"""Reproducible output: the same model and options give byte-identical project
directories, and per board byte-identical built images, wherever they are built."""
import filecmp

import pytest

from toolchain.boards import get_board
from toolchain.target.build import build_project
from toolchain.compile.compiler import compile_project

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

BOARDS = ["host", "rpi4", "rpi3-armhf", "visionfive2", "mps2-an386", "stm32f405", "rp2040"]
IMAGES = ("llm", "llm.bin", "llm.hex", "llm.uf2")  # what a board's `make` writes: the ELF, and on bare metal its flashing images


def tree(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "build" not in p.relative_to(root).parts}


@pytest.mark.parametrize("board", BOARDS)
def test_two_compiles_and_builds_are_byte_identical(shared_models, tmp_path, board):
    outs = [tmp_path / "first" / "out", tmp_path / "second" / "elsewhere"]
    for out in outs:
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, out,
                        quant="q8", kv="q8")
    first, second = (tree(out) for out in outs)
    assert first.keys() == second.keys() and len(first) > 10
    assert [name for name in first if first[name] != second[name]] == []
    for out in outs:
        build_project(out)
    images = [name for name in IMAGES if (outs[0] / "build" / name).exists()]
    assert images == (["llm"] if get_board(board).os == "linux" else
                      [name for name in IMAGES if name != "llm.uf2" or board == "rp2040"])
    for name in images:
        assert filecmp.cmp(outs[0] / "build" / name, outs[1] / "build" / name, shallow=False), name
