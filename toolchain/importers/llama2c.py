"""llama2.c checkpoints (Karpathy's run.c / export.py formats).

- legacy: 7 x int32 header (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
  vocab_size, seq_len; a negative vocab_size means a separate classifier), then
  fp32 tensors in run.c's order, including two RoPE tables run.c no longer reads.
- versioned: uint32 magic "ak42", int32 version, the same 7 ints, a uint8
  shared-classifier flag (and for version 2 an int32 group size), padded to 256
  bytes. Version 1 is fp32; version 2 stores matrices as Q8_0 (int8 values, then
  one fp32 scale per group of the flattened tensor), which is dequantized here.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from ..compile.quantize import PROGRESS_PARAMS
from ..config import Model, ModelConfig, tensor_shapes
from ..errors import ToolchainError
from ..progress import bar

MAGIC = 0x616B3432
HEADER_BYTES = 256
PARAMS = struct.Struct("<7i")
MAX_DIM = 1 << 20  # anything bigger is not a header


def _layer_names(c: ModelConfig, suffix: str) -> list[str]:
    return [f"layers.{i}.{suffix}" for i in range(c.n_layers)]


def _legacy_order(c: ModelConfig) -> list[str]:
    """run.c's order; "rope" stands for the two skipped RoPE tables."""
    names = ["tok_embeddings.weight"]
    for suffix in ("attention_norm.weight", "attention.wq.weight", "attention.wk.weight",
                   "attention.wv.weight", "attention.wo.weight", "ffn_norm.weight",
                   "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"):
        names += _layer_names(c, suffix)
    names += ["norm.weight", "rope"]
    return names + ([] if c.shared_classifier else ["output.weight"])


def _norm_names(c: ModelConfig) -> list[str]:
    return _layer_names(c, "attention_norm.weight") + _layer_names(c, "ffn_norm.weight") + ["norm.weight"]


def _matrix_names(c: ModelConfig) -> list[str]:
    names = ["tok_embeddings.weight"]
    for suffix in ("attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
                   "attention.wo.weight", "feed_forward.w1.weight", "feed_forward.w2.weight",
                   "feed_forward.w3.weight"):
        names += _layer_names(c, suffix)
    return names + ([] if c.shared_classifier else ["output.weight"])


def _config(params: tuple, shared: bool | None, path: Path) -> ModelConfig:
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = params
    if shared is None:  # legacy: the sign of vocab_size says it
        shared, vocab = vocab > 0, abs(vocab)
    values = (dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len)
    if not all(0 < v <= MAX_DIM for v in values) or dim % n_heads or n_heads % n_kv_heads \
            or (dim // n_heads) % 2 or n_layers > 1024:
        raise ToolchainError(f"{path}: not a recognised checkpoint (implausible llama2.c header {values})")
    return ModelConfig(dim=dim, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv_heads,
                       vocab_size=vocab, hidden_dim=hidden, max_seq_len=seq_len, shared_classifier=shared)


def _header(path: Path, head: bytes) -> tuple[int, ModelConfig, int, int]:
    """(version, config, group size, bytes of header); version 0 is legacy."""
    if len(head) >= 8 and struct.unpack_from("<I", head)[0] == MAGIC:
        version = struct.unpack_from("<i", head, 4)[0]
        if version not in (1, 2):
            raise ToolchainError(f"{path}: unsupported llama2.c checkpoint version {version}")
        if len(head) < HEADER_BYTES:
            raise ToolchainError(f"{path}: truncated checkpoint: header is {len(head)} bytes, "
                                 f"expected {HEADER_BYTES}")
        cfg = _config(PARAMS.unpack_from(head, 8), bool(head[8 + PARAMS.size]), path)
        group = struct.unpack_from("<i", head, 8 + PARAMS.size + 1)[0] if version == 2 else 0
        if version == 2 and group <= 0:
            raise ToolchainError(f"{path}: invalid Q8_0 group size {group}")
        return version, cfg, group, HEADER_BYTES
    if len(head) < PARAMS.size:
        raise ToolchainError(f"{path}: truncated checkpoint: {len(head)} bytes is shorter than a header")
    return 0, _config(PARAMS.unpack(head[:PARAMS.size]), None, path), 0, PARAMS.size


def is_versioned(path: Path, head: bytes) -> bool:
    return len(head) >= 4 and struct.unpack_from("<I", head)[0] == MAGIC


def is_legacy(path: Path, head: bytes) -> bool:
    """A plausible header whose implied size is exactly the file's size."""
    try:
        _, cfg, _, offset = _header(path, head)
    except ToolchainError:
        return False
    return offset + 4 * _legacy_floats(cfg) == path.stat().st_size


def _legacy_floats(c: ModelConfig) -> int:
    shapes = tensor_shapes(c)
    return sum(int(np.prod(shapes[n])) for n in _legacy_order(c) if n != "rope") + c.max_seq_len * c.head_dim


def _expected_size(version: int, c: ModelConfig, group: int, offset: int) -> int:
    shapes = tensor_shapes(c)
    if version in (0, 1):
        return offset + 4 * (_legacy_floats(c) if version == 0 else c.n_params())
    norms = sum(int(np.prod(shapes[n])) for n in _norm_names(c))
    matrices = [int(np.prod(shapes[n])) for n in _matrix_names(c)]
    if any(m % group for m in matrices):
        raise ToolchainError(f"Q8_0 group size {group} does not divide every matrix of this shape")
    return offset + 4 * norms + sum(m + 4 * (m // group) for m in matrices)


def read_llama2c(path: Path | str) -> Model:
    path = Path(path)
    data = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    version, cfg, group, offset = _header(path, bytes(data[:HEADER_BYTES]))
    expected = _expected_size(version, cfg, group, offset)
    if data.size < expected:
        raise ToolchainError(f"{path}: truncated checkpoint: expected {expected} bytes, found {data.size}")
    if data.size > expected:
        raise ToolchainError(f"{path}: {data.size - expected} unexpected bytes after the last tensor "
                             f"(expected {expected} bytes): not a llama2.c checkpoint of this shape")
    shapes = tensor_shapes(cfg)
    tensors: dict[str, np.ndarray] = {}
    at = offset

    def take(count: int, dtype) -> np.ndarray:
        nonlocal at
        a = data[at:at + count * np.dtype(dtype).itemsize].view(dtype)
        at += a.nbytes
        return a

    # legacy: run.c's order; versioned: the norms first, then the matrices
    names = _legacy_order(cfg) if version == 0 else _norm_names(cfg) + _matrix_names(cfg)
    big = cfg.n_params() > PROGRESS_PARAMS
    for name in bar(names, desc="import", unit="tensor", disable=not big, leave=False):
        if name == "rope":
            take(cfg.max_seq_len * cfg.head_dim, "<f4")
            continue
        count = int(np.prod(shapes[name]))
        if version == 2 and len(shapes[name]) == 2:
            q = take(count, np.int8).astype(np.float32)
            scales = take(count // group, "<f4")
            tensors[name] = (q.reshape(-1, group) * scales[:, None]).reshape(shapes[name])
        else:
            tensors[name] = take(count, "<f4").reshape(shapes[name])
    tensors = {n: np.array(tensors[n], dtype=np.float32) for n in shapes}  # model order, own memory
    return Model(cfg, tensors)


def write_llama2c(model: Model, path: Path | str, version: int = 0, group_size: int = 64) -> None:
    """Writes `model` in a llama2.c format (tests and training use it)."""
    c = model.config
    t = model.tensors
    with open(path, "wb") as f:
        if version == 0:
            vocab = c.vocab_size if c.shared_classifier else -c.vocab_size
            f.write(PARAMS.pack(c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, vocab, c.max_seq_len))
            for name in _legacy_order(c):
                if name == "rope":  # run.c skips these; write llama2.c's tables for fidelity
                    f.write(np.zeros(c.max_seq_len * c.head_dim, "<f4").tobytes())
                else:
                    f.write(t[name].astype("<f4").tobytes())
            return
        if version not in (1, 2):
            raise ToolchainError(f"cannot write llama2.c version {version}")
        header = struct.pack("<Ii", MAGIC, version) + PARAMS.pack(
            c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.max_seq_len)
        header += struct.pack("<B", int(c.shared_classifier))
        if version == 2:
            header += struct.pack("<i", group_size)
        f.write(header + b"\0" * (HEADER_BYTES - len(header)))
        for name in _norm_names(c):
            f.write(t[name].astype("<f4").tobytes())
        for name in _matrix_names(c):
            w = t[name].astype(np.float32).reshape(-1)
            if version == 1:
                f.write(w.astype("<f4").tobytes())
                continue
            if w.size % group_size:
                raise ToolchainError(f"{name}: {w.size} values do not split into groups of {group_size}")
            groups = w.reshape(-1, group_size)
            scales = (np.abs(groups).max(axis=1) / 127.0).astype(np.float32)
            q = np.rint(groups / np.where(scales > 0, scales, 1.0)[:, None]).astype(np.int8)
            f.write(q.tobytes() + scales.astype("<f4").tobytes())
