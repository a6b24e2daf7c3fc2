"""The host emulator: a generated project's C code, built for this machine as a
shared library and driven through ctypes. It runs exactly the C the board runs."""
from __future__ import annotations

import atexit
import ctypes
import functools
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ToolchainError
from ..manifest import read_manifest
from ..progress import phase
from ..target.build import error_line
from ..target.run import check_sampling
from ..target.toolcheck import require

LIBRARY = Path("build/emulator/libllm.so")
# LLMTOOL_SANITIZE=1: the same library built with ASan and UBSan (make emulator SANITIZE=1),
# so a memory error or undefined behaviour in the C stops the run with a report.
SANITIZE_ENV = "LLMTOOL_SANITIZE"
SANITIZED_LIBRARY = Path("build/emulator-sanitized/libllm.so")
TOKEN_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)


@dataclass
class Generation:
    tokens: list[int]                      # the prompt (from BOS) and every token after it
    text: bytes = b""                      # what llmtool emulate prints, without the final newline
    positions: int = 0                     # forward passes run
    seconds: float = 0.0
    pieces: list[bytes] = field(default_factory=list)
    stopped: bool = False                  # the output stream closed early

    @property
    def tok_per_s(self) -> float:
        return (self.positions - 1) / self.seconds if self.positions > 1 and self.seconds > 0 else 0.0


def sanitized() -> bool:
    return os.environ.get(SANITIZE_ENV, "") not in ("", "0")


def require_sanitizer_runtime() -> None:
    """ASan aborts the process when a library built with it is loaded without its
    runtime preloaded: say so in one line instead."""
    if "libasan" not in Path("/proc/self/maps").read_text():
        raise ToolchainError(f"{SANITIZE_ENV}=1 needs the sanitizer runtimes preloaded: run with "
                             "LD_PRELOAD=\"$(cc -print-file-name=libasan.so) $(cc -print-file-name=libubsan.so)\" "
                             "ASAN_OPTIONS=detect_leaks=0")


def build_emulator(out: Path) -> Path:
    """Builds (or brings up to date) the project's host shared library; the
    sanitized one under LLMTOOL_SANITIZE=1."""
    require("make", "make")
    require("cc", "gcc")
    library = Path(out) / (SANITIZED_LIBRARY if sanitized() else LIBRARY)
    if not library.exists():
        phase(f"building the host library of {out} (first run only)...")
    result = subprocess.run(["make", "-C", str(out), "--no-print-directory", "emulator"]
                            + (["SANITIZE=1"] if sanitized() else []),
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"building the emulator in {out} failed: {error_line(result.stderr)}")
    return library


@functools.cache
def _links() -> tuple[Path, itertools.count]:
    """This process's directory of library links (removed at exit) and their numbering."""
    directory = Path(tempfile.mkdtemp(prefix="llmtool-emulator-"))
    atexit.register(shutil.rmtree, directory, True)
    return directory, itertools.count()


def load_library(library: Path) -> ctypes.CDLL:
    """dlopen's library, through a symlink of a name never loaded before: the loader
    knows an object by the name it was opened under, so a project rebuilt (or a new one
    written where an old one was) would otherwise get the library already in the
    process. Under a new name it matches a loaded one only if it is the same file. The
    link stays while the process runs: a sanitizer's report reads the symbols by it."""
    directory, numbers = _links()
    link = directory / f"{next(numbers)}-{library.name}"
    link.symlink_to(library.resolve())
    return ctypes.CDLL(str(link))


def utf8(text: str) -> bytes:
    """Text as the C encoder takes it. Invalid UTF-8 on the command line reaches
    Python as surrogate escapes: those bytes go through unchanged, as they reach
    the board's own main (the encoder's byte fallback takes them)."""
    return text.encode("utf-8", "surrogateescape")


class Emulator:
    """One compiled project, loaded in this process. The C state is global, so
    use one Emulator per project at a time."""

    def __init__(self, out: Path | str):
        self.out = Path(out)
        self.manifest = read_manifest(self.out)
        self.vocab_size = self.manifest["config"]["vocab_size"]
        self.context = self.manifest["context"]
        self.bos_id = self.manifest["tokenizer"]["bos_id"]
        # main.c's limits on a prompt, checked on its bytes before anything is encoded
        self.prompt_capacity = self.manifest.get("prompt_capacity", 4 * self.context + 3)
        self.max_token_length = self.manifest["tokenizer"].get("max_token_length", 1)
        # how much longer than the text its NFC form can be (U+1D160: 4 bytes become 12)
        self.nfc_growth = 3 if self.manifest["tokenizer"].get("nfc") else 1
        library = build_emulator(self.out)
        if sanitized():
            require_sanitizer_runtime()
        lib = load_library(library)
        if not hasattr(lib, "llm_encode_workspace"):  # a runtime older than the API used here
            raise ToolchainError(f"{self.out} was compiled by an older llmtool: compile it again")
        lib.llm_init.restype = ctypes.c_int
        lib.llm_forward.restype = ctypes.POINTER(ctypes.c_float)
        lib.llm_forward.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.llm_forward_batch.restype = ctypes.POINTER(ctypes.c_float)
        lib.llm_forward_batch.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.c_int]
        lib.llm_encode.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                                   ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.llm_encode_workspace.restype = None
        lib.llm_encode_workspace.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        lib.llm_encode_workspace_size.restype = ctypes.c_size_t
        lib.llm_encode_workspace_size.argtypes = [ctypes.c_size_t]
        lib.llm_decode.restype = ctypes.c_char_p
        lib.llm_decode.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.llm_generate.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.c_int,
                                     ctypes.c_float, ctypes.c_float, ctypes.c_uint64,
                                     TOKEN_CALLBACK, ctypes.c_void_p]
        lib.llm_chat_encode.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                                        ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
        lib.llm_chat_reply.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_int, ctypes.c_int,
                                       ctypes.c_float, ctypes.c_float, ctypes.c_uint64,
                                       TOKEN_CALLBACK, ctypes.c_void_p]
        lib.llm_strerror.restype = ctypes.c_char_p
        lib.llm_chat_refusal.restype = ctypes.c_char_p
        self.lib = lib
        if self.manifest.get("weights", {}).get("mode") == "separate":
            # no image linked in (compile --weights separate): the project's, kept alive with the library
            self._image = (self.out / "llm_image.bin").read_bytes()
            lib.llm_init_image.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
            self._check(lib.llm_init_image(self._image, len(self._image)))
        else:
            self._check(lib.llm_init())

    def _check(self, rc: int) -> int:
        if rc < 0:
            raise ToolchainError(f"runtime: {self.lib.llm_strerror(rc).decode()}")
        return rc

    def reset(self) -> None:
        self.lib.llm_reset()

    def forward(self, token: int, pos: int) -> np.ndarray:
        """Logits after running `token` at `pos` (positions must be run in order)."""
        ptr = self.lib.llm_forward(token, pos)
        if not ptr:
            raise ToolchainError(f"token {token} at position {pos} is out of range "
                                 f"(vocab {self.vocab_size}, context {self.context})")
        return np.ctypeslib.as_array(ptr, shape=(self.vocab_size,)).copy()

    def forward_batch(self, tokens: list[int], pos: int) -> np.ndarray:
        """Logits of the last of `tokens` run at pos.. as one batch (llm_forward_batch: up
        to the compile's --batch tokens through the layers together)."""
        ptr = self.lib.llm_forward_batch((ctypes.c_int * len(tokens))(*tokens), len(tokens), pos)
        if not ptr:
            raise ToolchainError(f"a batch of {len(tokens)} tokens at position {pos} is out of range")
        return np.ctypeslib.as_array(ptr, shape=(self.vocab_size,)).copy()

    def encode(self, text: str | bytes, bos: bool = True, eos: bool = False) -> list[int]:
        """Token ids from the C encoder, for text of any length (a whole file for
        `llmtool validate`)."""
        data = utf8(text) if isinstance(text, str) else text
        capacity = self.nfc_growth * len(data) + 3
        buf = (ctypes.c_int * capacity)()
        with self._workspace_for(len(data)):
            n = self.lib.llm_encode(data, int(bos), int(eos), buf, capacity)
        return list(buf[:self._check(n)])

    @contextmanager
    def _workspace_for(self, n_bytes: int):
        """The planned merge workspace holds a node per slot of the board's prompt
        (llm.h: up to strlen + 2 are needed; with NFC, for a normalized text no longer);
        longer text gets one of its own size, lent for the encoding inside the `with` only."""
        if self.nfc_growth * n_bytes + 2 <= self.prompt_capacity:
            yield
            return
        workspace = ctypes.create_string_buffer(self.lib.llm_encode_workspace_size(n_bytes))
        self.lib.llm_encode_workspace(workspace, len(workspace))
        try:
            yield
        finally:
            self.lib.llm_encode_workspace(None, 0)

    def decode(self, prev_token: int, token: int) -> bytes:
        piece = self.lib.llm_decode(prev_token, token)
        if piece is None:
            raise ToolchainError(f"token {token} is out of range (vocab {self.vocab_size})")
        return piece

    def generate(self, prompt: str = "", steps: int | None = 256, temperature: float = 1.0,
                 topp: float = 0.9, seed: int | None = None, stream=None) -> Generation:
        """Runs llama2.c's generation loop in C. `steps` counts positions including
        BOS; 0 means the whole context, None 256 or the context if smaller. Text is
        written to `stream` (bytes) as it comes."""
        if steps is None:
            steps = min(256, self.context)
        if steps == 0:
            steps = self.context
        if not 1 <= steps <= self.context:
            raise ToolchainError(f"--steps {steps} is outside 1..{self.context} (the context of this build)")
        check_sampling(temperature, topp, seed)
        data = utf8(prompt)
        # main.c's rule (strlen + 3 slots), and BOS plus a token per max_token_length
        # bytes at the least: a long prompt is refused before it is encoded
        if len(data) + 3 > self.prompt_capacity or 1 + -(-len(data) // self.max_token_length) > self.context:
            raise ToolchainError(f"the prompt ({len(data):,} bytes) is longer than the context "
                                 f"({self.context} tokens)")
        tokens = self.encode(data, bos=True)
        if len(tokens) > self.context:
            raise ToolchainError(f"the prompt is {len(tokens)} tokens, longer than the context "
                                 f"({self.context})")
        gen = Generation(tokens=tokens[:1])  # the callback adds the rest of the prompt

        def on_token(token, text, _user):
            gen.tokens.append(token)
            gen.pieces.append(text)
            gen.text += text
            if stream is not None:
                try:
                    stream.write(text)
                    stream.flush()
                except BrokenPipeError:  # the reader went away (| head): stop quietly
                    gen.stopped = True
                    return 1
            return 0

        callback = TOKEN_CALLBACK(on_token)
        seed = seed or time.time_ns() // 1_000_000 or 1
        start = time.perf_counter()
        gen.positions = self._check(self.lib.llm_generate(
            (ctypes.c_int * len(tokens))(*tokens), len(tokens), steps, temperature, topp,
            seed, callback, None))
        gen.seconds = time.perf_counter() - start
        return gen


    def check_chat(self) -> None:
        """Chat refuses a chat_template the compile did not recognise (llm_chat_refusal)."""
        refusal = self.lib.llm_chat_refusal()
        if refusal is not None:
            raise ToolchainError(refusal.decode())

    def chat_tokens(self, system: str, user: str, first: bool) -> list[int]:
        """One user turn in the model's chat template (llm_chat_encode)."""
        self.check_chat()
        system_b, user_b = utf8(system), utf8(user)
        # bytes of text, and at most one token per byte
        capacity = len(system_b) + len(user_b) + self.manifest["tokenizer"].get("chat_template_bytes", 40) + 24
        scratch = ctypes.create_string_buffer(capacity)
        buf = (ctypes.c_int * capacity)()
        with self._workspace_for(capacity):
            n = self._check(self.lib.llm_chat_encode(system_b, user_b, int(first), scratch, len(scratch),
                                                     buf, capacity))
        return list(buf[:n])

    def chat_turn(self, system: str, user: str, pos: int, temperature: float = 1.0, topp: float = 0.9,
                  seed: int = 1, stream=None) -> tuple[bytes, int]:
        """Answers one user turn after the conversation in positions 0..pos-1: the
        reply's text and the next turn's position."""
        check_sampling(temperature, topp, seed)
        whitespace = b" \t\n\v\f\r"  # what llm_chat_encode may strip: a lower bound before encoding
        text_bytes = len(utf8(user).strip(whitespace)) + (len(utf8(system).strip(whitespace)) if pos == 0 else 0)
        if -(-text_bytes // self.max_token_length) >= self.context - pos:  # too long before it is encoded
            raise ToolchainError(f"the conversation is longer than the context of this build "
                                 f"({self.context} tokens)")
        tokens = self.chat_tokens(system, user, first=pos == 0)
        if len(tokens) >= self.context - pos:
            raise ToolchainError(f"the conversation is longer than the context of this build "
                                 f"({self.context} tokens)")
        reply = []

        def on_token(_token, text, _user):
            reply.append(text)
            if stream is not None:
                stream.write(text)
                stream.flush()
            return 0

        pos = self._check(self.lib.llm_chat_reply((ctypes.c_int * len(tokens))(*tokens), len(tokens), pos,
                                                  temperature, topp, seed, TOKEN_CALLBACK(on_token), None))
        return b"".join(reply), pos


def chat(out: Path, system: str, prompt: str, temperature: float, topp: float, seed: int | None,
         lines=None) -> None:
    """`llmtool emulate --mode chat`: what the Linux main's `-m chat` prints, turn by
    turn; user turns from `lines` (default stdin), the first from `prompt` if given."""
    check_sampling(temperature, topp, seed)
    emulator = Emulator(out)
    emulator.check_chat()
    lines = iter(lines if lines is not None else sys.stdin)
    seed = seed or time.time_ns() // 1_000_000 or 1
    out_stream = sys.stdout.buffer
    pos, turn = 0, 0
    while pos < emulator.context:
        user = prompt if turn == 0 and prompt else None
        if user is None:
            out_stream.write(b"User: ")
            out_stream.flush()
            user = next(lines, None)
            if user is None:
                break
            user = user.rstrip("\n")
        out_stream.write(b"Assistant: ")
        _, pos = emulator.chat_turn(system, user, pos, temperature, topp, seed + turn, stream=out_stream)
        out_stream.write(b"\n")
        out_stream.flush()
        turn += 1


def emulate(out: Path, prompt: str, steps: int | None, temperature: float, topp: float,
            seed: int | None) -> Generation:
    """`llmtool emulate`: text to stdout as llama2.c's run prints it, speed to stderr."""
    check_sampling(temperature, topp, seed)
    emulator = Emulator(out)
    gen = emulator.generate(prompt, steps, temperature, topp, seed, stream=sys.stdout.buffer)
    if gen.stopped:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit either
        return gen
    sys.stdout.buffer.write(b"\n")
    sys.stdout.flush()
    if gen.positions > 1:
        print(f"achieved tok/s: {gen.tok_per_s:f}", file=sys.stderr)
    return gen
