"""The weight image's size and tables (runtime_c/image_check.c, templates/llm_image.S.j2).
An llm_image.bin cut short or appended to must fail the build with one line, on
`llmtool build` and on the emulator's build alike, never crash; linked anyway
(bypassing the assembler's check), llm_init must refuse it without reading past its
end; and image_check must refuse a CRC-valid image whose tokenizer tables would send
the encoder out of bounds."""
import ctypes
import mmap
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from project_c import C_DIR, build_with
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.importers.tokenizer import load_tokenizer

ROOT = Path(__file__).resolve().parents[1]
HEADER = struct.Struct("<8s14I")  # runtime_c/model.h: ImageHeader
ERR_IMAGE, ERR_ARG, ERR_CORRUPT = -1, -5, -6
PAGE = 4096


def llmtool(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def one_error_line(result, words):
    assert result.returncode == 1, (result.returncode, result.stderr)  # an error, not a signal
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert words in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("image_check")
    for board in ("host", "mps2-an386"):
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, root / board,
                        context=16)
    return root


@pytest.fixture(scope="module")
def image(projects):
    return (projects / "host" / "llm_image.bin").read_bytes()


def cuts_and_appends(data):
    return {"cut in half": data[:len(data) // 2], "one byte short": data[:-1],
            "one byte more": data + b"\0", "4 KB more": data + bytes(PAGE)}


@pytest.mark.slow
@pytest.mark.parametrize("board", ["host", "mps2-an386"])
def test_a_cut_or_appended_image_fails_the_build(projects, board):
    out = projects / board
    path = out / "llm_image.bin"
    data = path.read_bytes()
    try:
        for name, bad in cuts_and_appends(data).items():
            path.write_bytes(bad)
            line = one_error_line(llmtool("build", out), f"llm_image.bin is not the {len(data):,} bytes")
            assert "compile the project again" in line, (name, line)
        path.write_bytes(data)
        assert llmtool("build", out).returncode == 0
    finally:
        path.write_bytes(data)


@pytest.mark.slow
def test_the_emulator_refuses_a_cut_or_appended_image(projects):
    out = projects / "host"
    path = out / "llm_image.bin"
    data = path.read_bytes()
    try:
        for name, bad in cuts_and_appends(data).items():
            path.write_bytes(bad)
            one_error_line(llmtool("emulate", out, "--steps", 4), f"llm_image.bin is not the {len(data):,} bytes")
        path.write_bytes(data)
        ok = llmtool("emulate", out, "--steps", 4, "--temperature", 0, "--prompt", "Once")
        assert ok.returncode == 0 and ok.stdout.startswith("Once"), ok.stderr
    finally:
        path.write_bytes(data)


def linked_llm_init(out: Path, image_bytes: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    """llm_init in a program that links `image_bytes` through its own .S (no size
    check), followed by an inaccessible page (tests/c/image_guard.c)."""
    (tmp_path / "image.bin").write_bytes(image_bytes)
    (tmp_path / "image.S").write_text(f"""
    .section .rodata.test_image, "a"
    .balign {PAGE}
    .global llm_image, llm_image_end, guard_page
llm_image:
    .incbin "{tmp_path / 'image.bin'}"
llm_image_end:
    .balign {PAGE}
guard_page:
    .skip {PAGE}
    .section .note.GNU-stack, "", %progbits
""")
    program = build_with(out, tmp_path / "image_guard", [C_DIR / "image_guard.c", tmp_path / "image.S"],
                         shared=False, image=False)
    return subprocess.run([str(program)], capture_output=True, text=True, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["whole", "cut at a page", "header only", "cut inside the header", "4 KB more"])
def test_llm_init_refuses_a_linked_image_of_the_wrong_size(projects, image, tmp_path, case):
    bad = {"whole": image, "cut at a page": image[:16 * PAGE], "header only": image[:HEADER.size],
           "cut inside the header": image[:16], "4 KB more": image + bytes(PAGE)}[case]
    result = linked_llm_init(projects / "host", bad, tmp_path)
    assert result.returncode == 0, f"llm_init died (status {result.returncode}): it read past the image"
    assert int(result.stdout) == (0 if case == "whole" else ERR_IMAGE)


class Image:
    """A copy of a project's image to change (the CRC-32 fixed up after) and check
    with its emulator's image_check."""

    def __init__(self, out: Path, data: bytes):
        self.lib = Emulator(out).lib
        self.lib.image_check.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        weights = (out / "llm_weights.c").read_text()
        self.at = {name: int(re.search(rf"\.{name} = AT\(\w+, (\d+)\)", weights).group(1))
                   for name in ("piece_offsets", "piece_bytes", "scores", "sorted_ids", "byte_ids")}
        self.data = bytearray(data)

    def array(self, name, dtype, count):
        return np.frombuffer(self.data, dtype, count, self.at[name])

    def put(self, name, index, dtype, value):
        start = self.at[name] + index * np.dtype(dtype).itemsize
        self.data[start:start + np.dtype(dtype).itemsize] = np.array([value], dtype).tobytes()

    def check(self, data=None, fix_crc=True) -> int:
        data = bytearray(self.data if data is None else data)
        if fix_crc and len(data) >= 4:
            data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
        buf = ctypes.create_string_buffer(bytes(data), len(data))  # malloc'd: 16-byte aligned
        return self.lib.image_check(buf, len(data))


@pytest.fixture
def img(projects, image):
    return Image(projects / "host", image)


def test_image_check_accepts_the_image_and_refuses_its_header_changed(img, image):
    assert img.check() == 0 and img.check(fix_crc=False) == 0
    flipped = bytearray(image)
    flipped[len(image) // 2] ^= 0x10
    assert img.check(flipped, fix_crc=False) == ERR_CORRUPT
    header = HEADER.unpack_from(image)
    for field in range(1, 15):  # version, size, every shape field, arch: the CRC fixed up, still refused
        changed = list(header)
        changed[field] += 1
        data = bytearray(image)
        HEADER.pack_into(data, 0, *changed)
        assert img.check(data) == ERR_IMAGE, field
    assert img.check(b"LLMTOOL!" + image[8:]) == ERR_IMAGE
    assert img.lib.image_check(None, len(image)) == ERR_ARG


def test_image_check_reads_nothing_past_the_end(img, image):
    """Each image ends where an inaccessible page begins: a read past it is a SIGSEGV."""
    libc = ctypes.CDLL(None)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    pages = -(-(len(image) + PAGE) // PAGE)
    region = mmap.mmap(-1, (pages + 1) * PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    assert libc.mprotect(base + pages * PAGE, PAGE, 0) == 0  # PROT_NONE
    try:
        crc_offset = len(image) - 4
        for cut in (0, 4, 16, HEADER.size - 4, HEADER.size, 4096, crc_offset, len(image) - 4, len(image) + 4):
            data = (image + bytes(8))[:cut]
            start = pages * PAGE - len(data)
            region[start:pages * PAGE] = data
            assert img.lib.image_check(base + start, len(data)) == (0 if cut == len(image) else ERR_IMAGE), cut
    finally:
        del base
        region.close()


def test_image_check_refuses_tokenizer_tables_that_lead_outside(img, projects, shared_models):
    vocab = 512
    offsets = img.array("piece_offsets", "<u4", vocab + 1).copy()
    cases = {}

    def case(name, change):
        saved = bytes(img.data)
        change()
        cases[name] = img.check()
        img.data[:] = saved

    case("offsets out of order", lambda: img.put("piece_offsets", 300, "<u4", offsets[302]))
    case("a piece past the piece bytes", lambda: img.put("piece_offsets", vocab, "<u4", offsets[vocab] + 8))
    case("a piece without its NUL", lambda: img.data.__setitem__(img.at["piece_bytes"] + int(offsets[301]) - 1,
                                                                   ord("x")))
    case("a sorted id past the vocabulary", lambda: img.put("sorted_ids", 7, "<i4", vocab))
    case("a negative sorted id", lambda: img.put("sorted_ids", 7, "<i4", -1))
    case("a byte token past the vocabulary", lambda: img.put("byte_ids", 200, "<i4", 70000))
    case("a NaN score", lambda: img.put("scores", 40, "<f4", np.nan))

    def longer_piece():  # consistent tables, but one piece longer than the pair buffer allows
        pieces = list(load_tokenizer(shared_models / "tok512.bin").pieces)
        longest = max(range(vocab), key=lambda i: len(pieces[i]))
        donor = max((i for i in range(vocab) if i != longest), key=lambda i: len(pieces[i]))
        pieces[longest] += pieces[donor][:2]
        pieces[donor] = pieces[donor][2:]
        blob = b"".join(p + b"\0" for p in pieces)
        ends = np.cumsum([0] + [len(p) + 1 for p in pieces]).astype("<u4")
        img.data[img.at["piece_bytes"]:img.at["piece_bytes"] + len(blob)] = blob
        img.data[img.at["piece_offsets"]:img.at["piece_offsets"] + ends.nbytes] = ends.tobytes()
    case("a piece longer than the longest", longer_piece)
    assert cases == dict.fromkeys(cases, ERR_IMAGE), cases
    assert img.check() == 0  # each change undone
