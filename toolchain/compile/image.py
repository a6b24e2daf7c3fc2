"""The weight image: one little-endian binary blob the C project links in (.incbin).

Layout: header, tokenizer tables, RoPE tables, then every tensor in the order a
forward pass reads them (each layer's W1 and W3, read together, before W2), so the
weights are one stream front to back; each matrix in the layout the board's kernel
reads, scales beside their groups (layout.py); each tensor aligned. The offsets are rendered into llm_weights.c, so the
runtime reads the image through typed pointers without parsing it.
"""
from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..choices import KV_MODES, QUANT_MODES
from ..config import ModelConfig, tensor_shapes
from ..importers.tokenizer import Tokenizer
from ..importers.unicode_classes import class_runs
from ..importers.unicode_nfc import nfc_tables
from ..progress import bar
from ..rope import rope_table
from .layout import matrix_bytes, pack_matrix
from .kquant import KQuantMatrix
from .quantize import PROGRESS_PARAMS, QuantizedMatrix, QuantizedModel

if TYPE_CHECKING:
    from .spec import CompileSpec

MAGIC = b"LLMTOOL\0"
VERSION = 2  # 2: the header records the architecture (arch)
HEADER = struct.Struct("<8s14I")  # runtime_c/model.h: ImageHeader
ALIGN = 64  # a cache line: every tensor starts on one


@dataclass
class ImageLayout:
    arrays: dict[str, np.ndarray]  # name -> little-endian array, in image order
    offsets: dict[str, int]
    size: int
    header: bytes


def vocab_tables(tok: Tokenizer) -> dict[str, np.ndarray]:
    """The tokenizer as the C runtime wants it: each piece NUL-terminated (llm_decode
    returns it as a string) with its length given by the next offset (a tiktoken piece
    may hold a NUL byte), the ids sorted by piece for bsearch, the token of each raw
    byte; the ids of the tokens recognised whole in text (and a bitmap of the bytes they
    start with) and, for tokenizer.json's merges,
    the left part's length of the merge making each token and the other merges (token,
    left part's length; score), if there are any; for tiktoken
    also the Unicode class table of its pre-tokenizer; for a tokenizer normalizing to
    NFC, the normalization's tables (unicode_nfc.py)."""
    offsets = np.cumsum([0] + [len(p) + 1 for p in tok.pieces])
    ids = {p: i for i, p in reversed(list(enumerate(tok.pieces)))}  # lowest id wins
    unk = 0
    if tok.kind == "tiktoken":
        byte_ids = [ids[bytes([b])] for b in range(256)]
    else:  # SentencePiece's byte fallback tokens
        byte_ids = [ids.get(f"<0x{b:02X}>".encode(), unk) for b in range(256)]
    order = sorted(range(tok.vocab_size), key=lambda i: (tok.pieces[i], i))
    tables = {
        "vocab.piece_offsets": np.array(offsets, dtype="<u4"),
        "vocab.scores": np.array(tok.scores, dtype="<f4"),
        "vocab.sorted_ids": np.array(order, dtype="<i4"),
        "vocab.byte_ids": np.array(byte_ids, dtype="<i4"),
        "vocab.piece_bytes": np.frombuffer(b"".join(p + b"\0" for p in tok.pieces), dtype=np.uint8),
    }
    if tok.n_special:
        tables["vocab.special_ids"] = np.array(tok.special_ids, dtype="<i4")
        starts = np.zeros(256, dtype=bool)  # a bitmap of the bytes a special token starts with
        starts[[tok.pieces[i][0] for i in tok.special_ids]] = True
        tables["vocab.special_starts"] = np.packbits(starts, bitorder="little")
    if tok.merge_splits is not None:
        tables["vocab.merge_splits"] = np.array(tok.merge_splits, dtype="<u2")
    if tok.extra_merges:
        tables["vocab.extra_merges"] = np.array([m[:2] for m in tok.extra_merges], dtype="<i4")
        tables["vocab.extra_scores"] = np.array([m[2] for m in tok.extra_merges], dtype="<f4")
    if tok.kind == "tiktoken":
        tables["vocab.char_classes"] = class_runs()
    if tok.nfc:
        tables |= {f"vocab.nfc_{name}": a for name, a in nfc_tables().items()}
    return tables


def _aligned_offsets(entries: list[tuple[str, int]]) -> tuple[dict[str, int], int]:
    offsets, at = {}, HEADER.size
    for name, nbytes in entries:
        at = -(-at // ALIGN) * ALIGN
        offsets[name] = at
        at += nbytes
    return offsets, at


def read_order(names: list[str]) -> list[str]:
    """Tensors in the order the forward pass reads them: model order, but each
    layer's feed-forward W3 (computed together with W1) before its W2."""
    order = list(names)
    for i, name in enumerate(order):
        if name.endswith(".feed_forward.w2.weight"):
            j = order.index(name.replace(".w2.", ".w3."))
            if j > i:
                order[i], order[j] = order[j], order[i]
    return order


def rope_names(cfg: ModelConfig) -> list[str]:
    """The RoPE tables of the image: the sliding layers' own after the others' where they have them."""
    return ["rope_cos", "rope_sin"] + (["rope_local_cos", "rope_local_sin"] if cfg.rope_local_theta else [])


def image_entries(spec: CompileSpec) -> list[tuple[str, int]]:
    """Every array of the image with its size in bytes, in image order, from the spec
    alone (the planner sizes flash with it); matrices in the kernel's layout. Without a
    tokenizer its piece bytes are estimated at 8 per token."""
    cfg, tok = spec.config, spec.tokenizer
    v = cfg.vocab_size
    piece_bytes = sum(len(p) + 1 for p in tok.pieces) if tok is not None else 8 * v
    entries = [("vocab.piece_offsets", 4 * (v + 1)), ("vocab.scores", 4 * v), ("vocab.sorted_ids", 4 * v),
               ("vocab.byte_ids", 4 * 256), ("vocab.piece_bytes", piece_bytes)]
    if tok is not None:  # as vocab_tables has them
        entries += [("vocab.special_ids", 4 * tok.n_special), ("vocab.special_starts", 32)] if tok.n_special else []
        entries += [("vocab.merge_splits", 2 * v)] if tok.merge_splits is not None else []
        n_extra = len(tok.extra_merges)
        entries += [("vocab.extra_merges", 8 * n_extra), ("vocab.extra_scores", 4 * n_extra)] if n_extra else []
        entries += [("vocab.char_classes", class_runs().nbytes)] if tok.kind == "tiktoken" else []
        entries += [(f"vocab.nfc_{name}", a.nbytes) for name, a in nfc_tables().items()] if tok.nfc else []
    entries += [(name, 2 * spec.context * cfg.head_dim) for name in rope_names(cfg)]
    shapes = tensor_shapes(cfg)
    for name in read_order(list(shapes)):
        shape = shapes[name]
        size = matrix_bytes(*shape, spec.group_size, spec.matrix_format(name), spec.layout) if len(shape) == 2 \
            else 4 * int(np.prod(shape))
        entries.append((name, size))
    return entries + [("crc32", 4)]  # of every byte before it: the runtime refuses a corrupt image


def image_size(spec: CompileSpec) -> int:
    return _aligned_offsets(image_entries(spec))[1]


def layout_image(qm: QuantizedModel, spec: CompileSpec) -> ImageLayout:
    """The image of quantized weights `qm` for `spec` (its tokenizer required)."""
    cfg, tok, context = spec.config, spec.tokenizer, spec.context
    arrays: dict[str, np.ndarray] = vocab_tables(tok)
    arrays["rope_cos"], arrays["rope_sin"] = rope_table(cfg, context)
    if cfg.rope_local_theta:
        arrays["rope_local_cos"], arrays["rope_local_sin"] = rope_table(cfg, context, local=True)
    for name in read_order(list(qm.tensors)):
        t = qm.tensors[name]
        if isinstance(t, KQuantMatrix):
            arrays[name] = t.pack()
        elif isinstance(t, QuantizedMatrix):
            arrays[name] = pack_matrix(t.q, t.scales, qm.group_size, "q8", spec.layout)
        elif t.ndim == 2:
            arrays[name] = pack_matrix(t, None, qm.group_size, "f32", spec.layout)
        else:
            arrays[name] = t
    arrays = {k: np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("<")) for k, v in arrays.items()}
    entries = [(k, a.nbytes) for k, a in arrays.items()] + [("crc32", 4)]
    assert entries == image_entries(spec), "image layout drifted"
    offsets, size = _aligned_offsets(entries)
    header = HEADER.pack(MAGIC, VERSION, size, cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads,
                         cfg.n_kv_heads, cfg.vocab_size, context, QUANT_MODES.index(qm.mode), qm.group_size,
                         KV_MODES.index(spec.kv), tok.kind_index, cfg.arch_digest)
    return ImageLayout(arrays, offsets, size, header)


def write_image(layout: ImageLayout, path: Path, n_params: int) -> None:
    """The header, each array after its padding, then the CRC-32 of all those bytes,
    computed as they are written."""
    crc = zlib.crc32(layout.header)
    with open(path, "wb") as f:
        f.write(layout.header)
        for name, a in bar(layout.arrays.items(), desc="write image", unit="tensor",
                           disable=n_params <= PROGRESS_PARAMS, leave=False):
            for chunk in (b"\0" * (layout.offsets[name] - f.tell()), a.tobytes()):
                crc = zlib.crc32(chunk, crc)
                f.write(chunk)
        padding = b"\0" * (layout.offsets["crc32"] - f.tell())
        f.write(padding)
        f.write(np.array([zlib.crc32(padding, crc)], dtype="<u4").tobytes())
