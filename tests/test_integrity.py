"""Weight integrity: the image carries a CRC-32 of all its bytes, and every board
refuses to run an image with one flipped byte, with a clear message."""
import subprocess
import sys
import zlib

import numpy as np
import pytest

from toolchain.target.build import build_project
from toolchain.compile.compiler import compile_project
from toolchain.manifest import read_manifest
from toolchain.target.run import run_project

BOARDS = ["host", "rpi4", "mps2-an386"]
MESSAGE = "the weight image is corrupt (CRC-32 mismatch)"


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("integrity")
    for board in BOARDS:
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, root / board)
    return root


def flip_byte(image_path, offset):
    data = bytearray(image_path.read_bytes())
    data[offset] ^= 0x10
    image_path.write_bytes(bytes(data))


def test_image_ends_with_the_crc32_of_everything_before_it(projects):
    data = (projects / "host" / "llm_image.bin").read_bytes()
    stored = int(np.frombuffer(data[-4:], "<u4")[0])
    assert stored == zlib.crc32(data[:-4])


@pytest.mark.slow
@pytest.mark.parametrize("board", BOARDS)
def test_a_flipped_byte_is_refused_at_init(projects, board):
    out = projects / board
    build_project(out)
    ok = run_project(out, "Once", steps=8, temperature=0.0, capture=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("Once"), ok.stderr
    size = (out / "llm_image.bin").stat().st_size
    flip_byte(out / "llm_image.bin", size // 2)  # somewhere in the weights
    build_project(out)  # relinks the image
    bad = run_project(out, "Once", steps=8, temperature=0.0, capture=True, timeout=120)
    assert bad.returncode != 0 and bad.stdout == ""
    assert MESSAGE in bad.stderr


def test_the_emulator_refuses_a_corrupt_image(projects, tmp_path):
    out = projects / "host"  # corrupted by the test above or here
    image = out / "llm_image.bin"
    data = image.read_bytes()
    if zlib.crc32(data[:-4]) == int(np.frombuffer(data[-4:], "<u4")[0]):
        flip_byte(image, len(data) // 3)
    assert read_manifest(out)["board"] == "host"
    r = subprocess.run([sys.executable, "-m", "toolchain", "emulate", str(out), "--steps", "4"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: ") and MESSAGE in r.stderr
