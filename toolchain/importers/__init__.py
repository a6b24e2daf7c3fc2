"""Checkpoint importers: every format becomes one in-memory Model. The format is
detected from the file's content, never its name."""
from __future__ import annotations

from pathlib import Path

from ..config import Model
from ..errors import ToolchainError
from . import llama2c

# (name, probe(path, head bytes) -> bool, loader(path) -> Model), tried in order
FORMATS = [
    ("llama2.c versioned", llama2c.is_versioned, llama2c.read_llama2c),
    ("llama2.c legacy", llama2c.is_legacy, llama2c.read_llama2c),
]


def load_checkpoint(path: Path | str) -> Model:
    path = Path(path)
    if not path.is_file():
        raise ToolchainError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(256)
    for _name, probe, loader in FORMATS:
        if probe(path, head):
            model = loader(path)
            model.check()
            return model
    raise ToolchainError(f"{path}: not a recognised checkpoint (expected a llama2.c .bin, "
                         f"legacy or versioned)")
