"""BPE merging (runtime_c/merge.c): a linked list and an indexed heap instead of
rescanning every pair after each merge. The tokens must be exactly those of the
old quadratic merge (tests/c/merge_reference.c) for both vocabularies; the nodes
live in a planned workspace, a caller may lend a bigger one, and long text now
encodes in well under a second where it took minutes."""
import ctypes
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from project_c import C_DIR, build_with
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig, random_model
from toolchain.importers.tokenizer import load_tokenizer
from toolchain.host.validate import DEFAULT_TEXT

ROOT = Path(__file__).resolve().parents[1]
INTP = ctypes.POINTER(ctypes.c_int)
TOO_LONG = -4  # -LLM_ERR_TOO_LONG
CONTEXT = 64   # the host plans 4 * 64 + 3 nodes: a prompt of this build


class Workspace(ctypes.Structure):
    """runtime_c/tokenizer.h: Workspace."""
    _fields_ = [("base", ctypes.c_void_p), ("bytes", ctypes.c_size_t)]


class Merger:
    """A project's runtime with the reference merge linked in, through ctypes."""

    def __init__(self, out: Path, tokenizer, library: Path):
        self.tok = tokenizer
        self.lib = ctypes.CDLL(str(build_with(out, library, [C_DIR / "merge_reference.c"])))
        assert self.lib.llm_init() == 0
        self.lib.merge_reference.argtypes = [INTP, ctypes.c_int, ctypes.c_int]
        self.lib.vocab_merge.argtypes = [INTP, ctypes.c_int, ctypes.c_int, Workspace]
        self.lib.encode_workspace.restype = Workspace
        self.lib.llm_encode.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, INTP, ctypes.c_int]
        self.lib.llm_encode_workspace.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.lib.llm_encode_workspace.restype = None
        self.lib.llm_encode_workspace_size.argtypes = [ctypes.c_size_t]
        self.lib.llm_encode_workspace_size.restype = ctypes.c_size_t
        self.ids = {p: i for i, p in reversed(list(enumerate(tokenizer.pieces)))}  # lowest id, as vocab_lookup

    def merge(self, name: str, tokens: list[int], first: int = 0) -> list[int]:
        buf = (ctypes.c_int * max(len(tokens), 1))(*tokens)
        workspace = (self.lib.encode_workspace(),) if name == "vocab_merge" else ()  # the encoder's whole
        n = getattr(self.lib, name)(buf, first, len(tokens), *workspace)
        return list(buf[:n]) if n >= 0 else n

    def both(self, tokens: list[int], first: int = 0) -> tuple[list[int], list[int]]:
        """The merge and the reference's, with a workspace lent for any length."""
        workspace = ctypes.create_string_buffer(self.lib.llm_encode_workspace_size(len(tokens)))
        self.lib.llm_encode_workspace(workspace, len(workspace))
        try:
            return self.merge("vocab_merge", tokens, first), self.merge("merge_reference", tokens, first)
        finally:
            self.lib.llm_encode_workspace(None, 0)

    def encode(self, text: bytes, capacity: int | None = None) -> list[int] | int:
        capacity = len(text) + 3 if capacity is None else capacity
        buf = (ctypes.c_int * capacity)()
        n = self.lib.llm_encode(text, 1, 0, buf, capacity)
        return list(buf[:n]) if n >= 0 else n


def sentencepiece_tokens(m: Merger, text: bytes) -> list[int]:
    """What llama2.c's encoder merges: BOS, the dummy-prefix space, a token per
    character or its bytes' fallback tokens."""
    byte_ids = [m.ids.get(f"<0x{b:02X}>".encode(), 0) for b in range(256)]
    out = [1, m.ids[b" "]]
    for ch in text.decode("utf-8", "surrogateescape"):
        piece = ch.encode("utf-8", "surrogateescape")
        out += [m.ids[piece]] if piece in m.ids else [byte_ids[b] for b in piece]
    return out


@pytest.fixture(scope="module")
def stories(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("merge_stories")
    tok = load_tokenizer(shared_models / "tok512.bin")
    compile_project(shared_models / "stories260K.bin", tok, "host", root / "out", context=CONTEXT)
    return Merger(root / "out", tok, root / "libmerge.so")


@pytest.fixture(scope="module")
def llama3(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("merge_llama3")
    tok = load_tokenizer(shared_models / "llama3-tokenizer.model")
    config = ModelConfig(dim=16, n_layers=1, n_heads=2, n_kv_heads=2, vocab_size=tok.vocab_size,
                         hidden_dim=32, max_seq_len=8)
    compile_project(random_model(config), tok, "host", root / "out", quant="f32")
    return Merger(root / "out", tok, root / "libmerge.so")


def test_sentencepiece_merges_equal_the_quadratic_reference(stories):
    rng = random.Random(7)
    text = DEFAULT_TEXT.read_bytes()
    singles = [i for i, p in enumerate(stories.tok.pieces) if len(p) == 1]
    cases = []
    for _ in range(150):  # what the encoder merges: stretches of stories, odd bytes among them
        start = rng.randrange(len(text))
        chunk = bytearray(text[start:start + rng.randrange(1, 200)])
        for _ in range(rng.randrange(3)):
            chunk.insert(rng.randrange(len(chunk) + 1), rng.choice(b"\xff\x80\xe2\x0a\x09"))
        cases.append(sentencepiece_tokens(stories, bytes(chunk)))
    # ties: the same pair many times over, and three letters in any order
    cases += [sentencepiece_tokens(stories, s) for s in (b"a" * 40, b"ab" * 30, b"  " * 25, b"e e e e e")]
    abc = [stories.ids[c] for c in (b"a", b"b", b" ")]
    cases += [[rng.choice(abc) for _ in range(rng.randrange(2, 60))] for _ in range(100)]
    cases += [[rng.choice(singles) for _ in range(rng.randrange(2, 80))] for _ in range(100)]
    cases += [[rng.randrange(512) for _ in range(rng.randrange(0, 80))] for _ in range(100)]  # any ids
    merged = 0
    for tokens in cases:
        for first in (0, 1, len(tokens) // 2):
            got, want = stories.both(tokens, first)
            assert got == want, (tokens, first)
            merged += len(tokens) - len(got)
    assert merged > 5000  # the cases did merge, a lot


def test_tiktoken_merges_equal_the_quadratic_reference(llama3):
    rng = random.Random(8)
    byte_ids = [llama3.ids[bytes([b])] for b in range(256)]
    words = DEFAULT_TEXT.read_bytes().split(b" ") + ["naïve café straße Привет 日本語 🙂".encode(), b"1234567",
                                                     b"    ", b"!!!!!!", b"aaaaaaaaaaaa", b"\n\n\n"]
    cases = []
    for _ in range(300):  # a piece's bytes, as encode_piece merges them, after some earlier tokens
        piece = b"".join(rng.choice(words) for _ in range(rng.randrange(1, 4)))[:120]
        cases.append([rng.randrange(128000) for _ in range(rng.randrange(3))] + [byte_ids[b] for b in piece])
    cases += [[byte_ids[rng.randrange(256)] for _ in range(rng.randrange(2, 40))] for _ in range(100)]
    merged = 0
    for tokens in cases:
        first = next((i for i, t in enumerate(tokens) if t in byte_ids), 0)
        got, want = llama3.both(tokens, first)
        assert got == want, (tokens, first)
        merged += len(tokens) - len(got)
    assert merged > 1500


def test_the_workspace_is_planned_and_can_be_lent(stories):
    planned = 4 * CONTEXT + 3  # LLM_PROMPT_CAPACITY on a Linux board
    fits = b"x" * (planned - 2)  # BOS, the dummy prefix and a token per byte: exactly the planned nodes
    longer = b"y" * (planned - 1)
    want = stories.merge("merge_reference", sentencepiece_tokens(stories, longer))
    assert stories.encode(fits) == stories.merge("merge_reference", sentencepiece_tokens(stories, fits))
    assert stories.encode(longer) == TOO_LONG  # the token buffer has room; the workspace has not
    lib = stories.lib
    size = lib.llm_encode_workspace_size(len(longer))
    memory = ctypes.create_string_buffer(size + 1)
    lib.llm_encode_workspace(ctypes.addressof(memory) + 1, size)  # any alignment will do
    assert stories.encode(longer) == want
    lib.llm_encode_workspace(memory, size - 24 - 3)  # a node short, however it is aligned
    assert stories.encode(longer) == TOO_LONG
    lib.llm_encode_workspace(None, 0)  # back to the planned one
    assert stories.encode(longer) == TOO_LONG and stories.encode(fits) != TOO_LONG
    assert stories.encode(b"Once upon a time") == [1, 403, 407, 261, 378]


ENCODE_FILE = """
import json, sys, time
from toolchain.host.emulator import Emulator
emulator = Emulator(sys.argv[1])
data = open(sys.argv[2], "rb").read()
start = time.perf_counter()
ids = emulator.encode(data)
seconds = time.perf_counter() - start
text = b"".join(emulator.decode(a, b) for a, b in zip(ids, ids[1:]))
print(json.dumps({"seconds": seconds, "tokens": len(ids), "round_trip": text == data}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("project", ["stories", "llama3"])
def test_a_long_text_encodes_in_seconds(project, request, tmp_path):
    """200 KB through the emulator (as `llmtool validate --text` does): the old merge
    took about 20 minutes for stories260K (33 s at 32 KB, growing as the square)."""
    merger = request.getfixturevalue(project)
    out = Path(merger.lib._name).parent / "out"
    text = DEFAULT_TEXT.read_bytes()
    data = (text * (200_000 // len(text) + 1))[:200_000]
    (tmp_path / "long.txt").write_bytes(data)
    try:
        result = subprocess.run([sys.executable, "-c", ENCODE_FILE, str(out), str(tmp_path / "long.txt")],
                                capture_output=True, text=True, cwd=ROOT, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("200 KB did not encode within 120 s")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["round_trip"] and report["tokens"] > 40_000
    assert report["seconds"] < 10, report
