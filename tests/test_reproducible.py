"""Reproducible output: the same model and options give byte-identical project
directories, and per board byte-identical built images, wherever they are built."""
import filecmp

import pytest

from toolchain.target.build import build_project
from toolchain.compile.compiler import compile_project

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

BOARDS = ["host", "rpi4", "rpi3-armhf", "visionfive2", "mps2-an386", "stm32f405"]


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
    assert filecmp.cmp(outs[0] / "build" / "llm", outs[1] / "build" / "llm", shallow=False)
