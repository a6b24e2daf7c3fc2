"""The runtime's own encoder on the host, for `llmtool tokenizer encode`.

A tokenizer is compiled once into a minimal host project (a tiny random model with
the tokenizer's vocabulary, on board `host`) and driven through the host emulator,
so the ids are the ones the boards' C code produces. Projects are cached under
$LLMTOOL_CACHE (default ~/.cache/llmtool), keyed by the content of the tokenizer,
the C runtime, the templates and llmtool's version, so a change to any rebuilds.
"""
from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from dataclasses import astuple
from pathlib import Path

from .. import __version__
from ..compile.compiler import compile_project
from ..config import ModelConfig, random_model
from ..errors import ToolchainError
from ..importers.tokenizer import Tokenizer, load_tokenizer
from ..manifest import MANIFEST
from ..progress import phase
from ..resources import resource_dir
from .emulator import Emulator

CACHE_ENV = "LLMTOOL_CACHE"


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llmtool"


def _cache_key(tokenizer_bytes: bytes) -> str:
    digest = hashlib.sha256(__version__.encode())
    digest.update(hashlib.sha256(tokenizer_bytes).digest())
    for name in ("runtime_c", "templates"):
        root = resource_dir(name)
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


@contextmanager
def _locked(out: Path):
    """One process at a time makes `out` and its library (pytest's workers, parallel
    runs): a library another process is still linking is a truncated file to dlopen."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        lock = open(out.parent / f"{out.name}.lock", "w")
    except OSError as e:
        raise ToolchainError(f"cannot use the cache {out.parent}: {e.strerror}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def host_encoder(tokenizer: Path | Tokenizer) -> Emulator:
    """The host emulator of a project built around `tokenizer`, a file or one loaded
    (built on first use)."""
    if not isinstance(tokenizer, Tokenizer) and Path(tokenizer).is_dir():  # a model directory's tokenizer.json
        tokenizer = load_tokenizer(tokenizer)
    if isinstance(tokenizer, Tokenizer):
        content = repr(astuple(tokenizer)).encode()
    else:
        tokenizer = Path(tokenizer)
        if not tokenizer.is_file():
            raise ToolchainError(f"{tokenizer}: no such file")
        content = tokenizer.read_bytes()
        for name in ("tokenizer_config.json", "chat_template.jinja"):  # a tokenizer.json's BOS, EOS, chat
            beside = tokenizer.with_name(name)
            if beside.is_file():
                content += beside.read_bytes()
    out = cache_root() / "tokenizers" / _cache_key(content)
    with _locked(out):
        if not (out / MANIFEST).is_file():
            phase(f"making the C runtime's encoder for "
                  f"{'the tokenizer' if isinstance(tokenizer, Tokenizer) else tokenizer} (first use only)...")
            tok = tokenizer if isinstance(tokenizer, Tokenizer) else load_tokenizer(tokenizer)
            # the smallest model the runtime takes: only its vocabulary matters here
            config = ModelConfig(dim=16, n_layers=1, n_heads=2, n_kv_heads=2, vocab_size=tok.vocab_size,
                                 hidden_dim=32, max_seq_len=32)
            try:
                compile_project(random_model(config), tok, "host", out, quant="f32", model_name="tokenizer")
            except OSError as e:
                raise ToolchainError(f"cannot build the tokenizer's project in {out}: {e.strerror}") from None
        return Emulator(out)
