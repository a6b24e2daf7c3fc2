"""Importers: every checkpoint format becomes one in-memory Model (Meta's tensor
names, float32), every tokenizer one Tokenizer (tokenizer.py). The format is
detected from content, never from a file's name; a directory is probed by what its
files hold."""
from __future__ import annotations

from pathlib import Path

from ..config import Model
from ..errors import ToolchainError
from . import hf, llama2c, meta, pytorch
from .common import head, is_gguf


def read_gguf(path: Path) -> Model:
    """gguf_file's reader, imported when a GGUF file comes: the gguf package takes a
    fifth of a second to import, which nothing else should pay."""
    from .gguf_file import read_gguf as read

    return read(path)


# (name, probe(path, head bytes; b"" for a directory) -> bool, loader(path) -> Model), tried in order.
# The probes and the modules here import nothing heavy: torch is imported by the
# PyTorch readers when they load a file, gguf by read_gguf.
FORMATS = [
    ("GGUF", is_gguf, read_gguf),
    ("PyTorch (llama2.c train.py .pt, Meta consolidated.*.pth)", pytorch.is_torch_file, pytorch.read_torch_file),
    ("Hugging Face (Llama, Qwen2, Qwen3, Gemma 3)", hf.is_hf, hf.read_hf),
    ("Meta params.json directory", meta.is_meta, meta.read_meta),
    ("llama2.c versioned", llama2c.is_versioned, llama2c.read_llama2c),
    ("llama2.c legacy", llama2c.is_legacy, llama2c.read_llama2c),
]
EXPECTED = ("a llama2.c .bin or train.py .pt, a Meta directory (params.json + consolidated.*.pth), "
            "a Hugging Face Llama, Qwen2, Qwen3 or Gemma 3 directory (config.json + safetensors) or a GGUF of "
            "one of them")


def load_checkpoint(path: Path | str) -> Model:
    path = Path(path)
    if not path.exists():
        raise ToolchainError(f"{path}: no such file")
    first = b"" if path.is_dir() else head(path)
    for _name, probe, loader in FORMATS:
        if probe(path, first):
            model = loader(path)
            try:
                model.check()
            except ToolchainError as e:
                raise ToolchainError(f"{path}: {e}") from None
            return model
    what = "holds no recognised checkpoint" if path.is_dir() else "not a recognised checkpoint"
    raise ToolchainError(f"{path}: {what} (expected {EXPECTED})")
