#!/usr/bin/env python3
"""A mutation fuzzer for the Python side's file parsers (docs/fuzzing.md).

It writes a small valid seed of every input format (FORMATS: llama2.c v0/v1/v2, a
train.py .pt, a Meta directory, a Hugging Face directory and a sharded one, a GGUF,
a tokenizer.bin, a SentencePiece .model, a tiktoken ranks file), then mutates one
file of a seed per case: byte flips, random runs, inserted and deleted runs,
truncation, extension, boundary values in the integer fields each format has, and
structure-aware changes (JSON values, GGUF metadata and tensor infos, the pickle
inside a torch zip, SentencePiece's protobuf, tiktoken's lines).

Each case runs in a child forked from this process (torch and toolchain already
imported, so a case costs milliseconds) under an address-space, CPU-time and
file-size limit. The child loads the mutated file as llmtool does
(toolchain.importers.load_checkpoint / toolchain.tokenizer.load_tokenizer); when the
load is accepted and its effect differs from the seed's, it also compiles a project
for board host (f32) with a partner of the seed's vocabulary and syntax-checks the
generated C, llm_config.h's values included. Outcomes:

  clean        ToolchainError with a one-line message
  accepted     identical        the loaded Model / Tokenizer equals the seed's
               values-only      same config and shapes (same vocabulary size and
                                kind), only weights or a tokenizer's pieces, scores
                                or BOS/EOS ids differ, in bytes no checksum of the
                                format covers
               config-only      hyperparameters that do not change any shape
                                (norm_eps, rope_theta, max_seq_len, RoPE factors)
                                differ, plausibly
               implausible      accepted with a value nothing can run with (norm_eps
                                <= 0, rope_theta <= 1, a size above INT_MAX, a
                                non-finite score, BOS/EOS outside the vocabulary)
               checksum-ignored the effect differs and the file's own checksum
                                (a torch zip member's CRC-32) no longer matches
               type-confusion   a JSON value replaced by one of another type ("no"
                                for a boolean...) was accepted with an effect
               structure-differs anything else accepted (shapes, tensor set, ids)
  traceback    any other exception (type, message, frame in toolchain/)
  hang         still running after the time limit (10 s; its Python stack is kept)
  blow-up      MemoryError, an allocation failure, the file-size limit, or peak RSS
               above 2 GB
  crash        the child died of a signal (SIGSEGV, SIGABRT...)
  bad-c        the generated C does not compile (-Wall -Wextra -Werror)
  bad-message  a ToolchainError over several lines or 1,000 characters
  escape       a file outside the checkpoint directory was opened (a marker file
               beside it, watched with inotify, reached through weight_map "../x"
               or an absolute path)

Allowed: clean and accepted identical / values-only / config-only; everything else
is a finding, kept with a reproducer under --keep.

  python3 tests/fuzz/fuzz_files.py --cases 2000 --seed 1 --keep fuzz-findings --json run.json
  python3 tests/fuzz/fuzz_files.py --replay fuzz-findings/<group>/<case>   # in this process
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # children are forked: no thread pools, one core each

import argparse
import base64
import copy
import ctypes
import faulthandler
import hashlib
import io
import json
import math
import pickle
import pickletools
import random
import re
import resource
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _path in (HERE.parent, ROOT):  # tests' helpers, then this checkout's toolchain first
    while str(_path) in sys.path:
        sys.path.remove(str(_path))
    sys.path.insert(0, str(_path))

import gguf  # noqa: E402
import numpy as np  # noqa: E402
import safetensors.numpy  # noqa: E402,F401
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402

from checkpoint_writers import write_gguf, write_hf, write_meta, write_train_pt  # noqa: E402
from synthetic import synthetic_tokenizer  # noqa: E402
from toolchain.compiler import compile_project  # noqa: E402
from toolchain.config import Model, ModelConfig, random_model  # noqa: E402
from toolchain.errors import ToolchainError  # noqa: E402
from toolchain.fit import DEFAULT_CONTEXT_CAP  # noqa: E402
from toolchain.importers import load_checkpoint  # noqa: E402
from toolchain.importers.llama2c import write_llama2c  # noqa: E402
from toolchain.manifest import MANIFEST  # noqa: E402
from toolchain.tokenizer import Tokenizer, load_tokenizer, write_llama2c_tokenizer  # noqa: E402

TOOLCHAIN = ROOT / "toolchain"
TIME_LIMIT = 10.0            # seconds of wall time: beyond, a hang
RSS_LIMIT = 2 << 30          # peak RSS beyond 2 GB: a blow-up
AS_HEADROOM = 3 << 30        # address space a child may add to the parent's before allocations fail
FILE_LIMIT = 1 << 30         # no file a child writes may grow beyond this
MESSAGE_LIMIT = 1000         # a one-line error longer than this is a bad message
OUTCOMES = ("clean", "accepted", "traceback", "hang", "blow-up", "crash", "bad-c", "bad-message", "escape")
CATEGORIES = ("identical", "values-only", "config-only", "implausible", "checksum-ignored", "type-confusion",
              "structure-differs")
ALLOWED_CATEGORIES = ("identical", "values-only", "config-only")

# ---------------------------------------------------------------------------------------------
# Seeds: one small valid file (or directory) per format

SEED_CONFIG = ModelConfig(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=300, hidden_dim=96,
                          max_seq_len=32, shared_classifier=False)
MULTIPLE_OF = 32  # Meta's rule gives SEED_CONFIG's hidden_dim 96 from dim 32
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 16}
MARKER_TENSOR = "FUZZ_ESCAPE_MARKER"  # the file outside every checkpoint directory holds only this


def seed_model() -> Model:
    return random_model(SEED_CONFIG, seed=7)


def _make_llama2c(version: int):
    def make(d: Path) -> dict[str, str]:
        write_llama2c(seed_model(), d / "model.bin", version=version, group_size=32)
        return {"model.bin": f"llama2c-v{version}"}
    return make


def _make_train_pt(d: Path) -> dict[str, str]:
    write_train_pt(seed_model(), d / "ckpt.pt", multiple_of=MULTIPLE_OF, ffn_dim_multiplier=None)
    _fix_serialization_id(d / "ckpt.pt")
    return {"ckpt.pt": "zip"}


def _make_meta(d: Path) -> dict[str, str]:
    write_meta(seed_model(), d, multiple_of=MULTIPLE_OF, ffn_dim_multiplier=None, shards=2)
    params = json.loads((d / "params.json").read_text())
    params["use_scaled_rope"] = False  # Llama 3.1's key, so mutations reach it
    (d / "params.json").write_text(json.dumps(params))
    files = {"params.json": "json"}
    for p in sorted(d.glob("*.pth")):
        _fix_serialization_id(p)
        files[p.name] = "zip"
    return files


def _make_hf(d: Path) -> dict[str, str]:
    write_hf(seed_model(), d)
    return {"config.json": "json", "model.safetensors": "safetensors"}


def _make_hf_sharded(d: Path) -> dict[str, str]:
    write_hf(seed_model(), d, shards=2, rope_scaling=LLAMA3_SCALING)
    files = {"config.json": "json", "model.safetensors.index.json": "json"}
    return files | {p.name: "safetensors" for p in sorted(d.glob("model-*.safetensors"))}


class _GGUFWriterWithVocab(gguf.GGUFWriter):
    """llama.cpp's GGUFs carry the tokenizer in their metadata (string, float and int
    arrays) and sometimes general.alignment: the seed does too, so gguf's reader of
    those parts is fuzzed with the rest."""

    def write_header_to_file(self, *args, **kwargs):
        tok = synthetic_tokenizer(SEED_CONFIG.vocab_size)
        self.add_custom_alignment(32)
        self.add_tokenizer_model("llama")
        self.add_token_list([p.decode("utf-8", "replace") for p in tok.pieces])
        self.add_token_scores(tok.scores)
        self.add_token_types([3 if i < 3 else 6 if i < 259 else 1 for i in range(tok.vocab_size)])
        self.add_bos_token_id(tok.bos_id)
        self.add_eos_token_id(tok.eos_id)
        return super().write_header_to_file(*args, **kwargs)


def _make_gguf(d: Path) -> dict[str, str]:
    writer, gguf.GGUFWriter = gguf.GGUFWriter, _GGUFWriterWithVocab
    try:
        write_gguf(seed_model(), d / "model.gguf")
    finally:
        gguf.GGUFWriter = writer
    return {"model.gguf": "gguf"}


def _make_tokenizer_bin(d: Path) -> dict[str, str]:
    write_llama2c_tokenizer(synthetic_tokenizer(SEED_CONFIG.vocab_size), d / "tokenizer.bin")
    return {"tokenizer.bin": "tokenizer.bin"}


def _make_sentencepiece(d: Path) -> dict[str, str]:
    """A BPE .model trained on toolchain/data/stories.txt as llmtool trains (byte fallback,
    identity normalisation), in memory and on one thread so the bytes are reproducible."""
    lines = (TOOLCHAIN / "data" / "stories.txt").read_text().splitlines()
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=out, model_type="bpe", vocab_size=340,
        byte_fallback=True, character_coverage=1.0, normalization_rule_name="identity",
        remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
        num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    (d / "tokenizer.model").write_bytes(out.getvalue())
    return {"tokenizer.model": "spm"}


def _bpe_merges(text: bytes, n: int) -> list[bytes]:
    """n byte-pair merges learnt greedily from `text` (ties broken by the pair's bytes)."""
    words = [[bytes([b]) for b in w] for w in re.findall(rb" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", text)]
    merges = []
    for _ in range(n):
        pairs = Counter((w[i], w[i + 1]) for w in words for i in range(len(w) - 1))
        if not pairs:
            break
        (a, b), _count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(a + b)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if w[i] == a and w[i + 1] == b:
                    w[i:i + 2] = [a + b]
                i += 1
    return merges


def _make_tiktoken(d: Path) -> dict[str, str]:
    tokens = [bytes([b]) for b in range(256)] + _bpe_merges((TOOLCHAIN / "data" / "stories.txt").read_bytes(), 44)
    lines = [base64.b64encode(t) + b" " + str(rank).encode() for rank, t in enumerate(tokens)]
    (d / "tokenizer.tiktoken").write_bytes(b"\n".join(lines) + b"\n")
    return {"tokenizer.tiktoken": "tiktoken"}


@dataclass(frozen=True)
class Format:
    slug: str
    title: str
    kind: str                                   # "checkpoint" or "tokenizer"
    make: Callable[[Path], dict[str, str]]      # writes the seed into a directory: {file name: file type}
    target: str = "."                           # what is loaded: a file of that directory, or "." for it


# The formats, one entry each. Adding one (tokenizer.json once llmtool reads it) is an
# entry here and, for structure-aware mutations, a file type in MUTATORS; e.g.
#   Format("tokenizer-json", "Hugging Face tokenizer.json", "tokenizer", _make_tokenizer_json,
#          "tokenizer.json"),   # with _make_tokenizer_json returning {"tokenizer.json": "json"}
FORMATS = [
    Format("llama2c-v0", "llama2.c v0 (legacy)", "checkpoint", _make_llama2c(0), "model.bin"),
    Format("llama2c-v1", "llama2.c v1", "checkpoint", _make_llama2c(1), "model.bin"),
    Format("llama2c-v2", "llama2.c v2 (Q8_0)", "checkpoint", _make_llama2c(2), "model.bin"),
    Format("train-pt", "train.py .pt", "checkpoint", _make_train_pt, "ckpt.pt"),
    Format("meta-dir", "Meta params.json + 2 .pth", "checkpoint", _make_meta),
    Format("hf-dir", "HF config.json + safetensors", "checkpoint", _make_hf),
    Format("hf-sharded", "HF 2 shards + index, llama3 RoPE", "checkpoint", _make_hf_sharded),
    Format("gguf", "GGUF (F32, vocab metadata)", "checkpoint", _make_gguf, "model.gguf"),
    Format("tokenizer-bin", "llama2.c tokenizer.bin", "tokenizer", _make_tokenizer_bin, "tokenizer.bin"),
    Format("sentencepiece", "SentencePiece .model", "tokenizer", _make_sentencepiece, "tokenizer.model"),
    Format("tiktoken", "tiktoken ranks file", "tokenizer", _make_tiktoken, "tokenizer.tiktoken"),
]
FORMATS_BY_SLUG = {f.slug: f for f in FORMATS}


@dataclass
class Seed:
    fmt: Format
    directory: Path
    files: dict[str, str]                     # name -> file type
    data: dict[str, bytes]                    # name -> bytes
    parsed: dict = field(default_factory=dict)  # cache of structures the mutators parse once
    baseline: dict | None = None              # the unmutated seed's fingerprint


def make_seeds(root: Path, formats: list[Format]) -> dict[str, Seed]:
    seeds = {}
    for fmt in formats:
        d = root / fmt.slug
        d.mkdir(parents=True)
        files = fmt.make(d)
        seeds[fmt.slug] = Seed(fmt, d, files, {n: (d / n).read_bytes() for n in files})
    return seeds


def make_marker(path: Path) -> None:
    """A valid safetensors file holding one tensor of a name no checkpoint has."""
    safetensors.numpy.save_file({MARKER_TENSOR: np.zeros(4, np.float32)}, str(path))


# ---------------------------------------------------------------------------------------------
# Zip archives (torch.save) and the pickle inside

def _zip_entries(data: bytes) -> list[dict]:
    """The central directory's entries (zip64 aware): name, offsets of the local header,
    the data and the two CRC fields, sizes, and the offsets of the header integers."""
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0:
        raise ValueError("no end of central directory")
    count, cd_size, cd_offset = struct.unpack_from("<HII", data, eocd + 10)
    z64 = data.rfind(b"PK\x06\x06", 0, eocd)
    if z64 >= 0 and (cd_offset == 0xFFFFFFFF or count == 0xFFFF):
        count, cd_size, cd_offset = struct.unpack_from("<QQQ", data, z64 + 32)
    entries, at = [], cd_offset
    for _ in range(count):
        if data[at:at + 4] != b"PK\x01\x02":
            raise ValueError("bad central directory")
        crc, csize, usize, nlen, elen, clen = struct.unpack_from("<IIIHHH", data, at + 16)
        local = struct.unpack_from("<I", data, at + 42)[0]
        name = data[at + 46:at + 46 + nlen].decode("utf-8", "replace")
        extra = data[at + 46 + nlen:at + 46 + nlen + elen]
        if 0xFFFFFFFF in (csize, usize, local):  # zip64 extended information, in that order
            pos, values = 4, []
            while pos + 8 <= len(extra):
                values.append(struct.unpack_from("<Q", extra, pos)[0])
                pos += 8
            if usize == 0xFFFFFFFF and values:
                usize = values.pop(0)
            if csize == 0xFFFFFFFF and values:
                csize = values.pop(0)
            if local == 0xFFFFFFFF and values:
                local = values.pop(0)
        flags = struct.unpack_from("<H", data, local + 6)[0]
        lnlen, lelen = struct.unpack_from("<HH", data, local + 26)
        start = local + 30 + lnlen + lelen
        # bit 3: the local header's CRC is 0 and a data descriptor after the data holds it
        # (torch.save writes them so); else the local header holds it
        descriptor = start + csize + (4 if data[start + csize:start + csize + 4] == b"PK\x07\x08" else 0)
        entries.append({"name": name, "central": at, "local": local, "data": start, "size": csize, "crc": crc,
                        "local_crc": descriptor if flags & 8 else local + 14})
        at += 46 + nlen + elen + clen
    return entries


def zip_fields(data: bytes) -> list[tuple[int, str, str]]:
    """(offset, struct format, label) of the integer fields of every zip record."""
    fields = []
    eocd = data.rfind(b"PK\x05\x06")
    for off, fmt, label in ((8, "<H", "disk entries"), (10, "<H", "entries"), (12, "<I", "cd size"),
                            (16, "<I", "cd offset"), (20, "<H", "comment length")):
        fields.append((eocd + off, fmt, f"eocd {label}"))
    z64 = data.rfind(b"PK\x06\x06", 0, eocd)
    if z64 >= 0:
        for off, label in ((24, "disk entries"), (32, "entries"), (40, "cd size"), (48, "cd offset")):
            fields.append((z64 + off, "<Q", f"zip64 eocd {label}"))
        loc = data.rfind(b"PK\x06\x07", 0, eocd)
        if loc >= 0:
            fields.append((loc + 8, "<Q", "zip64 locator offset"))
    for e in _zip_entries(data):
        n = e["name"].rsplit("/", 1)[-1] if "/data/" not in e["name"] else "data/" + e["name"].rsplit("/", 1)[-1]
        for off, fmt, label in ((10, "<H", "method"), (16, "<I", "crc"), (20, "<I", "compressed size"),
                                (24, "<I", "size"), (28, "<H", "name length"), (30, "<H", "extra length"),
                                (42, "<I", "local offset")):
            fields.append((e["central"] + off, fmt, f"central[{n}] {label}"))
        for off, fmt, label in ((8, "<H", "method"), (14, "<I", "crc"), (18, "<I", "compressed size"),
                                (22, "<I", "size"), (26, "<H", "name length"), (28, "<H", "extra length")):
            fields.append((e["local"] + off, fmt, f"local[{n}] {label}"))
    return fields


def zip_checksums_ok(data: bytes) -> bool | None:
    """Whether every member's CRC-32 matches its bytes (None: not readable as a zip)."""
    try:
        entries = _zip_entries(data)
    except (ValueError, struct.error, IndexError):
        return None
    for e in entries:
        blob = data[e["data"]:e["data"] + e["size"]]
        if len(blob) != e["size"]:
            return None
        if zlib.crc32(blob) != e["crc"]:
            return False
        if e["local_crc"] + 4 <= len(data) and struct.unpack_from("<I", data, e["local_crc"])[0] != e["crc"]:
            return False
    return True


def _patch_crc(data: bytearray, entry: dict) -> None:
    crc = zlib.crc32(bytes(data[entry["data"]:entry["data"] + entry["size"]]))
    struct.pack_into("<I", data, entry["local_crc"], crc)
    struct.pack_into("<I", data, entry["central"] + 16, crc)


def _replace_member(data: bytes, entry: dict, blob: bytes, rng: random.Random) -> tuple[bytes, str]:
    """The archive with `entry`'s bytes (the same size) replaced by `blob`, its CRC-32
    fixed half the time: what the mutation says of it."""
    out = bytearray(data)
    out[entry["data"]:entry["data"] + entry["size"]] = blob
    fix = rng.random() < 0.5
    if fix:
        _patch_crc(out, entry)
    return bytes(out), f"CRC {'fixed' if fix else 'stale'}"


def _fix_serialization_id(path: Path) -> None:
    """torch.save writes a random .data/serialization_id: zeros instead, CRC kept valid,
    so a seed's bytes are the same on every run."""
    data = bytearray(path.read_bytes())
    for e in _zip_entries(bytes(data)):
        if e["name"].endswith(".data/serialization_id"):
            data[e["data"]:e["data"] + e["size"]] = b"0" * e["size"]
            _patch_crc(data, e)
    path.write_bytes(bytes(data))


def write_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A stored zip as torch.save lays one out (each member's data 64-byte aligned)."""
    out, central = bytearray(), bytearray()
    for name, blob in members:
        nb = name.encode()
        local = len(out)
        pad = (-(local + 30 + len(nb) + 4)) % 64
        extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        crc = zlib.crc32(blob)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, len(blob), len(blob), len(nb),
                           len(extra)) + nb + extra + blob
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, len(blob), len(blob),
                               len(nb), 0, 0, 0, 0, 0, local) + nb
    at = len(out)
    out += central + struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), at, 0)
    return bytes(out)


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    return [(e["name"], data[e["data"]:e["data"] + e["size"]]) for e in _zip_entries(data)]


def _pickle_sites(pkl: bytes) -> list[tuple[str, object, int, str]]:
    """(opcode, value, position, the last string before it) of the numbers in a pickle."""
    sites, last = [], ""
    for op, arg, pos in pickletools.genops(pkl):
        if op.name in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"):
            last = arg
        elif op.name in ("BININT1", "BININT2", "BININT", "LONG1", "BINFLOAT"):
            sites.append((op.name, arg, pos, last))
    return sites


# ---------------------------------------------------------------------------------------------
# GGUF: the offsets of every header, metadata and tensor-info field

GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<B", 10: "<Q", 11: "<q",
                12: "<d"}


def gguf_fields(data: bytes) -> tuple[list[tuple[int, str, str, str]], list[tuple[int, int, str]], int]:
    """([(offset, struct format, label, group)], [(offset, length, label) of strings],
    the offset where the tensor infos end)."""
    fields, strings = [], []
    u32 = lambda at: struct.unpack_from("<I", data, at)[0]  # noqa: E731
    u64 = lambda at: struct.unpack_from("<Q", data, at)[0]  # noqa: E731

    def within(end):  # every step reads bytes of the file: the walk ends with it
        if end > len(data):
            raise ValueError("GGUF structure beyond the file")
    fields += [(4, "<I", "version", "header"), (8, "<Q", "tensor_count", "header"), (16, "<Q", "kv_count", "header")]
    n_tensors, n_kv = u64(8), u64(16)
    if n_tensors + n_kv > len(data):
        raise ValueError("GGUF counts beyond the file")
    at = 24

    def string(label, group):
        nonlocal at
        n = u64(at)
        within(at + 8 + n)
        fields.append((at, "<Q", f"{label} length", group))
        strings.append((at + 8, n, label))
        at += 8 + n
        return data[at - n:at].decode("utf-8", "replace")

    def value(vtype, label, group, element=False):
        nonlocal at
        if vtype in GGUF_SCALARS:
            fmt = GGUF_SCALARS[vtype]
            within(at + struct.calcsize(fmt))
            if not element or len(fields) < 4000:
                fields.append((at, fmt, label, group))
            at += struct.calcsize(fmt)
        elif vtype == 8:
            string(label, group)
        elif vtype == 9:
            etype, count = u32(at), u64(at + 4)
            if count > len(data):
                raise ValueError("GGUF array beyond the file")
            fields.extend([(at, "<I", f"{label} element type", "array"), (at + 4, "<Q", f"{label} count", "array")])
            at += 12
            for i in range(count):
                value(etype, f"{label}[{i}]", "element", element=True)
        else:
            raise ValueError(f"GGUF value type {vtype}")

    for _ in range(n_kv):
        key = string("key", "key")
        fields.append((at, "<I", f"{key} type", "kv type"))
        vtype = u32(at)
        at += 4
        value(vtype, key, "kv value")
    for _ in range(n_tensors):
        name = string("tensor name", "tensor")
        n_dims = u32(at)
        fields.append((at, "<I", f"{name} n_dims", "tensor"))
        at += 4
        within(at + 8 * n_dims + 12)
        for i in range(n_dims):
            fields.append((at, "<Q", f"{name} dims[{i}]", "tensor"))
            at += 8
        fields += [(at, "<I", f"{name} type", "tensor"), (at + 4, "<Q", f"{name} offset", "tensor")]
        at += 12
    return fields, strings, at


GGUF_ALIGNMENT = 32  # the seed's general.alignment


def gguf_retype(data: bytes, fields: list, end: int, rng: random.Random) -> tuple[bytes, str]:
    """A scalar metadata value rewritten as another type (u64 2^63 for a u32 count, a
    float, a string, an array...), the tensor data kept at an aligned offset."""
    kvs = [(f[0], f[2][:-len(" type")]) for f in fields
           if f[3] == "kv type" and struct.unpack_from("<I", data, f[0])[0] in GGUF_SCALARS]
    type_at, key = rng.choice(kvs)
    old_type = struct.unpack_from("<I", data, type_at)[0]
    old_end = type_at + 4 + struct.calcsize(GGUF_SCALARS[old_type])
    new_type = rng.choice([10, 10, 11, 4, 5, 6, 12, 7, 8, 9])
    if new_type == 8:
        text = rng.choice([b"32", b"", b"x" * 1000])
        value, what = struct.pack("<Q", len(text)) + text, f"string {text[:10]!r}"
    elif new_type == 9:
        value, what = struct.pack("<IQ", 4, 2) + struct.pack("<II", 32, 32), "array [32, 32] of u32"
    elif GGUF_SCALARS[new_type][-1] in "fd":
        v = rng.choice([2.5, 32.0, 1e30, float("nan"), float("inf"), -1.0])
        value, what = _pack(GGUF_SCALARS[new_type], v), f"{v!r}"
    else:
        v = rng.choice([2**63, 2**63 - 1, 2**64 - 1, 2**32, 2**31, -1, 0, 1, 32])
        value, what = _pack(GGUF_SCALARS[new_type], v), str(v)
    head = data[:type_at] + struct.pack("<I", new_type) + value + data[old_end:end]
    align = lambda n: -(-n // GGUF_ALIGNMENT) * GGUF_ALIGNMENT  # noqa: E731
    out = head + b"\0" * (align(len(head)) - len(head)) + data[align(end):]
    names = {4: "u32", 5: "i32", 6: "f32", 7: "bool", 8: "string", 9: "array", 10: "u64", 11: "i64", 12: "f64"}
    return out, f"{key} retyped {names.get(old_type, old_type)} -> {names[new_type]} {what} (data realigned)"


# ---------------------------------------------------------------------------------------------
# SentencePiece's protobuf

def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if at >= len(data) or shift > 63:
            raise ValueError("varint")
        b = data[at]
        value |= (b & 0x7F) << shift
        at += 1
        shift += 7
        if not b & 0x80:
            return value, at


def _put_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_parse(data: bytes, depth: int = 0) -> list | None:
    """A protobuf message as [field number, wire type, value] triples (value: int,
    bytes, or a nested list when the bytes re-serialise exactly as a message)."""
    fields, at = [], 0
    try:
        while at < len(data):
            tag, at = _varint(data, at)
            number, wire = tag >> 3, tag & 7
            if number == 0:
                return None
            if wire == 0:
                v, at = _varint(data, at)
            elif wire == 1:
                v, at = data[at:at + 8], at + 8
            elif wire == 2:
                n, at = _varint(data, at)
                v, at = data[at:at + n], at + n
                if depth < 3 and v:
                    sub = pb_parse(v, depth + 1)
                    if sub is not None and pb_write(sub) == v:
                        v = sub
            elif wire == 5:
                v, at = data[at:at + 4], at + 4
            else:
                return None
            if at > len(data):
                return None
            fields.append([number, wire, v])
    except ValueError:
        return None
    return fields


def pb_write(fields: list) -> bytes:
    out = bytearray()
    for number, wire, v in fields:
        out += _put_varint(number << 3 | wire)
        if wire == 0:
            out += _put_varint(v)
        elif wire == 2:
            blob = pb_write(v) if isinstance(v, list) else v
            out += _put_varint(len(blob)) + blob
        else:
            out += v
    return bytes(out)


PB_NAMES = {(): {1: "pieces", 2: "trainer_spec", 3: "normalizer_spec", 4: "self_test_data", 5: "denormalizer_spec"},
            (1,): {1: "piece", 2: "score", 3: "type"},
            (2,): {1: "input", 3: "model_type", 4: "vocab_size", 35: "byte_fallback", 40: "unk_id", 41: "bos_id",
                   42: "eos_id", 43: "pad_id", 36: "vocabulary_output_piece_score", 34: "split_digits"}}


def _pb_leaves(fields: list, path: tuple = (), numbers: tuple = ()) -> list[tuple[list, int, str]]:
    """(containing list, index, label) of every field, nested ones included."""
    out = []
    seen = Counter()
    for i, (number, wire, v) in enumerate(fields):
        name = PB_NAMES.get(numbers, {}).get(number, str(number))
        label = f"{'.'.join(path + (f'{name}[{seen[number]}]',))}"
        seen[number] += 1
        out.append((fields, i, label))
        if isinstance(v, list):
            out += _pb_leaves(v, path + (f"{name}[{seen[number] - 1}]",), numbers + (number,))
    return out


# ---------------------------------------------------------------------------------------------
# JSON: a serialiser that keeps duplicate keys, huge integers, NaN and deep nesting

class Pairs(list):
    """An object written with its pairs as they are (duplicate keys allowed)."""


DEEP = "\0deep\0"          # stands for an array nested 100,000 deep
DEEP_OBJECT = "\0deepobj\0"  # and an object nested as deep
DEPTH = 100_000


def json_text(v) -> str:
    if isinstance(v, str) and v == DEEP:
        return "[" * DEPTH + "]" * DEPTH
    if isinstance(v, str) and v == DEEP_OBJECT:
        return '{"a":' * DEPTH + "1" + "}" * DEPTH
    if isinstance(v, Pairs):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_text(x)}" for k, x in v) + "}"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {json_text(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(json_text(x) for x in v) + "]"
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else "Infinity" if v > 0 else "-Infinity"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)  # 10**400 stays an integer
    return json.dumps(v)


JSON_SPECIALS = [0, -1, 1, 2, 3, 2**31 - 1, 2**31, 2**32, 2**63, -2**63, 2**64, 10**400, -10**400, 1e308, -1e308,
                 5e-324, 0.5, -0.0, 1e-5, float("nan"), float("inf"), float("-inf"), "no", "", "0", "1e400", "llama",
                 None, True, False, [], [1], [1, 2], ["a"], {}, {"a": 1}, DEEP, DEEP_OBJECT, "x" * 10000]
WEIGHT_MAP_SPECIALS = ["../x", "ESCAPE_ABS", "/etc/passwd", "/dev/zero", "", ".", "..", "config.json",
                       "model.safetensors.index.json", "a\0b", "x" * 300, 1, None, ["a"], {"a": "b"}, True]
DTYPES = ["F32", "F16", "BF16", "F64", "I8", "U8", "I16", "I32", "I64", "BOOL", "F8_E4M3", "F8_E5M2", "F4", "Q8", ""]
SHAPES = [[], [0], [1], [2**31, 2**31], [2**63], [2**64], [-1], [300, 32, 1], [1e308], ["a"], [32, 300], [9600]]
OFFSETS = [[0, 0], [0, 2**63], [2**64, 0], [10, 5], [-1, 1], [0], [0, 1, 2], [0, 2**64 - 1], [1, 38401]]
EXTRA_KEYS = {  # keys the importers read that the seeds may lack, with the values to try
    "head_dim": [0, 8, 16, -1, 2**31], "hidden_dim": [0, 96, -1, 2**63, 1e308], "max_seq_len": [0, 2**31, 2**63],
    "ffn_dim_multiplier": [0, 1e308, -1, 1e-320, float("nan"), "1.3"], "multiple_of": [0, -1, 2**63, 0.5],
    "n_kv_heads": [0, 3, 2**63], "use_scaled_rope": [True, "no", 1], "rope_theta": [0, -1, 1e308, "1e4"],
    "rope_parameters": [{"rope_type": "llama3", "factor": 0}, {"rope_type": "linear", "factor": 1e308}, [1]],
    "rope_scaling": [{"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 1},
                     {"type": "linear", "factor": 0}, {"rope_type": "yarn"}, {"rope_type": "linear"}, "linear"],
    "tie_word_embeddings": [True, "no", 1], "architectures": [["LlamaForCausalLM", "x"], "LlamaForCausalLM"],
    "hidden_act": ["gelu", None], "attention_bias": [True, "no"], "vocab_size": [-1, 0, 2**31],
    "__metadata__": [{"format": 1}, {"format": "pt", "x": DEEP}], "weight_map": [{"a": "../x"}, []],
}


def _json_paths(v, path=()):
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _json_paths(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _json_paths(x, path + (i,))


def _path_text(path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    obj[path[-1]] = value


def _special_for(path, rng: random.Random):
    key = path[-1] if path else None
    parent = path[-2] if len(path) >= 2 else None
    if parent == "weight_map":
        return rng.choice(WEIGHT_MAP_SPECIALS)
    if key == "dtype" and rng.random() < 0.7:
        return rng.choice(DTYPES)
    if key == "shape" and rng.random() < 0.7:
        return copy.deepcopy(rng.choice(SHAPES))
    if key == "data_offsets" and rng.random() < 0.7:
        return copy.deepcopy(rng.choice(OFFSETS))
    if isinstance(key, str) and key in EXTRA_KEYS and rng.random() < 0.3:
        return copy.deepcopy(rng.choice(EXTRA_KEYS[key]))
    return copy.deepcopy(rng.choice(JSON_SPECIALS))


RETYPED = " [type changed]"  # a description's mark: a value replaced by one of another JSON type


def _json_type(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "deep" if v in (DEEP, DEEP_OBJECT) else "string"
    return "null" if v is None else "array" if isinstance(v, list) else "object"


def _retyped(old, new) -> str:
    """RETYPED when a value the seed has (not null) becomes one of another JSON type; null
    is not one: in these configs it says "not given" (Hugging Face writes an optional
    field that is None so: `"rope_scaling": null`), which the importers take alike."""
    return RETYPED if old is not None and new is not None and _json_type(old) != _json_type(new) else ""


def mutate_json_value(obj, rng: random.Random) -> tuple[str, str]:
    """One structure-aware change to a JSON object: (new text, description)."""
    obj = copy.deepcopy(obj)
    paths = [p for p, _ in _json_paths(obj) if p]
    dicts = [(p, v) for p, v in _json_paths(obj) if isinstance(v, dict)]
    op = rng.choice(["replace"] * 6 + ["delete", "add", "rename", "duplicate", "whole"])
    if op == "replace" and paths:
        path = rng.choice(paths)
        value = _special_for(path, rng)
        old = dict(_json_paths(obj))[path]
        _set(obj, path, value)
        return json_text(obj), f"{_path_text(path)} = {_short(value)}{_retyped(old, value)}"
    if op == "delete" and paths:
        path = rng.choice([p for p in paths if isinstance(p[-1], str)] or paths)
        parent = obj
        for p in path[:-1]:
            parent = parent[p]
        del parent[path[-1]]
        return json_text(obj), f"delete {_path_text(path)}"
    if op == "add" and dicts:
        path, d = rng.choice(dicts)
        key = rng.choice(sorted(EXTRA_KEYS))
        value = copy.deepcopy(rng.choice(EXTRA_KEYS[key] + JSON_SPECIALS[:12]))
        d[key] = value
        return json_text(obj), f"{_path_text(path + (key,))} = {_short(value)} (added)"
    if op == "rename" and dicts:
        path, d = rng.choice(dicts)
        if d:
            key = rng.choice(list(d))
            new = rng.choice([key + "x", key.upper(), "", key[:-1]])
            items = [(new if k == key else k, v) for k, v in d.items()]
            d.clear()
            d.update(items)
            return json_text(obj), f"rename {_path_text(path + (key,))} to {new!r}"
    if op == "duplicate" and dicts:
        path, d = rng.choice(dicts)
        if d:
            key = rng.choice(list(d))
            value = _special_for(path + (key,), rng)
            mark = _retyped(d[key], value)
            pairs = Pairs(list(d.items()) + [(key, value)] if rng.random() < 0.5 else [(key, value)] + list(d.items()))
            if path:
                _set(obj, path, pairs)
            else:
                obj = pairs
            return json_text(obj), f"duplicate key {_path_text(path + (key,))} = {_short(value)}{mark}"
    whole = rng.choice(["deep-array", "deep-object", "empty", "array", "bom", "utf16", "trailing", "null"])
    text = {"deep-array": '{"a": ' + json_text(DEEP) + "}", "deep-object": json_text(DEEP_OBJECT),
            "empty": "{}", "array": "[" + json_text(obj) + "]", "bom": "\ufeff" + json_text(obj),
            "utf16": json_text(obj), "trailing": json_text(obj) + "}", "null": "null"}[whole]
    return (text if whole != "utf16" else text.encode("utf-16").decode("latin-1")), f"whole file: {whole}"


def _short(v) -> str:
    if isinstance(v, str) and v == DEEP:
        return "[[[...]]] (100,000 deep)"
    if isinstance(v, str) and v == DEEP_OBJECT:
        return '{"a":{"a":...}} (100,000 deep)'
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**20:
        return f"{'-' if v < 0 else ''}10**{len(str(abs(v))) - 1}"
    text = json_text(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:30] + f"... ({len(text)} chars)"


# ---------------------------------------------------------------------------------------------
# Mutations

def _parsed(seed: Seed, name: str, data: bytes, key: str, parse: Callable[[bytes], object]):
    """parse(data), cached for the seed's own bytes; a file an earlier step of the case
    changed is parsed afresh (an exception makes that step a byte-level one)."""
    if data != seed.data[name]:
        return parse(data)
    if (key, name) not in seed.parsed:
        seed.parsed[(key, name)] = parse(data)
    return seed.parsed[(key, name)]


INT_SPECIALS = [0, 1, 2, 3, 7, -1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -2**31, 2**32 - 1, 2**32, 2**63 - 1,
                2**63, -2**63, 2**64 - 1]
FLOAT_SPECIALS = [0.0, -0.0, 1.0, -1.0, float("nan"), float("inf"), float("-inf"), 3.4e38, -3.4e38, 1e-45, 1e-40,
                  1e308, 65504.0, 1e-5]


def _int_value(old: int, rng: random.Random) -> int:
    return rng.choice(INT_SPECIALS + [old + 1, old - 1, old * 2, old // 2])


def _pack(fmt: str, v) -> bytes:
    if fmt[-1] in "fd":
        with np.errstate(over="ignore"):
            return np.array([v], dtype=np.float32 if fmt[-1] == "f" else np.float64).astype("<" + fmt[-1]).tobytes()
    size = struct.calcsize(fmt)
    return (v % (1 << 8 * size)).to_bytes(size, "little")


def set_field(data: bytes, offset: int, fmt: str, label: str, rng: random.Random) -> tuple[bytes, str]:
    size = struct.calcsize(fmt)
    if offset + size > len(data):
        return data, f"{label}: beyond the end"
    old = struct.unpack_from(fmt, data, offset)[0]
    if fmt[-1] in "fd":
        new = rng.choice(FLOAT_SPECIALS)
        text = repr(new)
    else:
        new = _int_value(old, rng)
        stored = new % (1 << 8 * size)
        text = f"{new}" + (f" (stored {stored:#x})" if stored != new else "")
    return data[:offset] + _pack(fmt, new) + data[offset + size:], f"{label} @{offset:#x} {old!r} -> {text}"


def generic_mutation(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    n = len(data)
    op = rng.choice(["flip", "flip", "byte", "run", "insert", "delete", "duplicate", "truncate", "truncate",
                     "extend"])
    # offsets: half of them in the first 256 bytes, where headers are
    at = (rng.randrange(min(n, 256)) if rng.random() < 0.5 else rng.randrange(n)) if n else 0
    if op == "flip" and n:
        k = rng.choice([1, 1, 2, 4, 8])
        out = bytearray(data)
        spots = []
        for _ in range(k):
            i = rng.randrange(n) if k > 1 else at
            bit = 1 << rng.randrange(8)
            out[i] ^= bit
            spots.append(f"{i:#x}^{bit:#04x}")
        return bytes(out), f"bit flip {' '.join(spots)}"
    if op == "byte" and n:
        v = rng.choice([0, 0xFF, 0x7F, 0x80, 0x01, rng.randrange(256)])
        return data[:at] + bytes([v]) + data[at + 1:], f"byte @{at:#x} = {v:#04x}"
    if op == "run" and n:
        k = rng.choice([2, 4, 8, 16, 64, 512])
        fill = rng.choice(["random", "zeros", "ones"])
        run = rng.randbytes(k) if fill == "random" else (b"\0" if fill == "zeros" else b"\xff") * k
        return data[:at] + run + data[at + k:], f"{fill} run of {k} @{at:#x}"
    if op == "insert":
        k = rng.choice([1, 3, 4, 8, 16, 64, 4096])
        run = rng.randbytes(k)
        return data[:at] + run + data[at:], f"insert {k} random bytes @{at:#x}"
    if op == "delete" and n:
        k = rng.choice([1, 2, 4, 8, 16, 64, 4096])
        return data[:at] + data[at + k:], f"delete {k} bytes @{at:#x}"
    if op == "duplicate" and n:
        k = rng.choice([4, 16, 64, 1024])
        src = rng.randrange(n)
        return data[:at] + data[src:src + k] + data[at:], f"insert a copy of {k} bytes from @{src:#x} @{at:#x}"
    if op == "truncate" and n:
        cut = rng.randrange(n)
        return data[:cut], f"truncate to {cut} of {n} bytes"
    kind = rng.choice(["zeros", "random", "copy"])
    k = rng.choice([1, 4, 64, 4096])
    tail = b"\0" * k if kind == "zeros" else rng.randbytes(k) if kind == "random" else data
    return data + tail, f"extend by {len(tail)} bytes ({kind})"


def _fields_mutation(fields, data, rng):
    offset, fmt, label = rng.choice(fields)[:3]
    return set_field(data, offset, fmt, label, rng)


LLAMA2C_PARAMS = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"]


def mutate_llama2c(version: int):
    def mutate(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
        if version == 0:
            fields = [(4 * i, "<i", p) for i, p in enumerate(LLAMA2C_PARAMS)]
        else:
            fields = [(0, "<I", "magic"), (4, "<i", "version")] + \
                     [(8 + 4 * i, "<i", p) for i, p in enumerate(LLAMA2C_PARAMS)] + [(36, "<B", "shared_classifier")]
            if version == 2:
                fields.append((37, "<i", "group_size"))
        return _fields_mutation(fields, data, rng)
    return mutate


def tokenizer_bin_fields(data: bytes) -> list[tuple[int, str, str]]:
    fields, at, i = [(0, "<i", "max_token_length")], 4, 0
    while at + 8 <= len(data):
        fields += [(at, "<f", f"token {i} score"), (at + 4, "<i", f"token {i} length")]
        n = struct.unpack_from("<i", data, at + 4)[0]
        if n <= 0:
            break
        at += 8 + n
        i += 1
    return fields


def mutate_tokenizer_bin(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    fields = _parsed(seed, name, data, "tokbin", tokenizer_bin_fields)
    if rng.random() < 0.25:
        return _fields_mutation(fields[:1], data, rng)
    return _fields_mutation(fields, data, rng)


def mutate_zip(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    def parse(data):
        entries = _zip_entries(data)
        pkl = next(e for e in entries if e["name"].endswith("data.pkl"))
        return zip_fields(data), entries, pkl, _pickle_sites(data[pkl["data"]:pkl["data"] + pkl["size"]])
    fields, entries, pkl, sites = _parsed(seed, name, data, "zip", parse)
    op = rng.choice(["header", "member", "pickle", "pickle", "pickle", "members"])
    if op == "header":
        return _fields_mutation(fields, data, rng)
    if op == "member":  # bytes inside one member's data, its CRC kept or fixed
        e = rng.choice(entries)
        if not e["size"]:
            return _fields_mutation(fields, data, rng)
        inner, what = generic_mutation(data[e["data"]:e["data"] + e["size"]], rng)
        inner = (inner + b"\0" * e["size"])[:e["size"]]  # same size: the archive stays readable
        out, crc = _replace_member(data, e, inner, rng)
        return out, f"member {e['name']}: {what} (kept to its size), {crc}"
    if op == "pickle":
        opname, old, pos, last = rng.choice(sites)
        width = {"BININT1": 1, "BININT2": 2, "BININT": 4, "BINFLOAT": 8}.get(opname)
        pkl_bytes = data[pkl["data"]:pkl["data"] + pkl["size"]]
        where = f"pickle {opname} {old!r} (after {last!r}) at data.pkl+{pos}"
        if opname == "BINFLOAT":
            new = rng.choice(FLOAT_SPECIALS)
            blob = pkl_bytes[:pos + 1] + struct.pack(">d", new) + pkl_bytes[pos + 9:]
            text = repr(new)
        elif width and rng.random() < 0.5:  # the same opcode: the archive's layout stays
            new = _int_value(old, rng) % (1 << 8 * width)
            if opname == "BININT" and new >= 2**31:
                new -= 2**32
            fmt = {1: "<B", 2: "<H", 4: "<i"}[width]
            blob = pkl_bytes[:pos + 1] + struct.pack(fmt, new) + pkl_bytes[pos + 1 + width:]
            text = str(new)
        else:  # any integer, as LONG1/LONG4: the member grows, the archive is rewritten
            new = rng.choice(INT_SPECIALS + [10**400, -10**400, old + 1 if isinstance(old, int) else 1])
            enc = pickle.encode_long(new)
            op_bytes = (b"\x8a" + bytes([len(enc)]) if len(enc) < 256 else b"\x8b" + struct.pack("<i", len(enc))) + enc
            skip = {"BININT1": 2, "BININT2": 3, "BININT": 5}.get(opname) or 2 + pkl_bytes[pos + 1]
            blob = pkl_bytes[:pos] + op_bytes + pkl_bytes[pos + skip:]
            members = [(n, blob if n == pkl["name"] else b) for n, b in _zip_members(data)]
            return write_zip(members), f"{where} -> {_short(new)} (archive rewritten, CRCs valid)"
        out, crc = _replace_member(data, pkl, blob, rng)
        return out, f"{where} -> {text}, {crc}"
    members = _zip_members(data)  # the archive rewritten (valid CRCs) with a member changed
    i = rng.randrange(len(members))
    mname, blob = members[i]
    change = rng.choice(["drop", "duplicate", "rename", "empty", "replace"])
    if change == "drop":
        del members[i]
    elif change == "duplicate":
        members.insert(i, (mname, blob))
    elif change == "rename":
        members[i] = (mname + "x", blob)
    elif change == "empty":
        members[i] = (mname, b"")
    else:
        members[i] = (mname, rng.choice([b"big", b"99", b"0", b"\x80\x02}q\x00.", b"x" * 100, blob[:len(blob) // 2]]))
    return write_zip(members), f"member {mname}: {change} (archive rewritten, CRCs valid)"


def mutate_gguf(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    def parse(data):
        fields, strings, end = gguf_fields(data)
        groups: dict[str, list] = {}
        for f in fields:
            groups.setdefault(f[3], []).append(f)
        return groups, strings, fields, end
    groups, strings, fields, end = _parsed(seed, name, data, "gguf", parse)
    if rng.random() < 0.15:
        return gguf_retype(data, fields, end, rng)
    if rng.random() < 0.15:  # a string's text, in place
        at, n, label = rng.choice(strings)
        if n:
            i = at + rng.randrange(n)
            new = rng.choice([b"\0", b"\xff", b".", b"X", bytes([data[i] ^ 1])])
            return data[:i] + new + data[i + 1:], f"{label} {data[at:at + n][:40]!r} byte {i - at} -> {new!r}"
    group = rng.choice(sorted(groups))
    return _fields_mutation(groups[group], data, rng)


def mutate_safetensors(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    n = struct.unpack_from("<Q", data)[0]
    if rng.random() < 0.2:
        return set_field(data, 0, "<Q", "header length", rng)
    header = _parsed(seed, name, data, "st", lambda d: json.loads(d[8:8 + n]))
    text, what = mutate_json_value(header, rng)
    header = text.encode("utf-8", "surrogatepass") if not what.endswith("utf16") else text.encode("latin-1")
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + data[8 + n:], f"header JSON: {what}"


def mutate_json(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    text, what = mutate_json_value(_parsed(seed, name, data, "json", json.loads), rng)
    blob = text.encode("latin-1") if what.endswith("utf16") else text.encode("utf-8", "surrogatepass")
    return blob, what


def mutate_spm(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    def parse(data):
        tree = pb_parse(data)
        if tree is None:
            raise ValueError("not a protobuf message")
        return tree
    tree = copy.deepcopy(_parsed(seed, name, data, "pb", parse))
    leaves = _pb_leaves(tree)
    # the pieces are most of the file: half the mutations go to the other fields
    if rng.random() < 0.5:
        leaves = [x for x in leaves if not x[2].startswith("pieces")] or leaves
    container, i, label = rng.choice(leaves)
    number, wire, v = container[i]
    op = rng.choice(["value", "value", "value", "delete", "duplicate", "move"])
    if op == "delete":
        del container[i]
        return pb_write(tree), f"protobuf: delete {label}"
    if op == "duplicate":
        container.insert(i, copy.deepcopy(container[i]))
        return pb_write(tree), f"protobuf: duplicate {label}"
    if op == "move":
        item = container.pop(i)
        container.insert(rng.randrange(len(container) + 1), item)
        return pb_write(tree), f"protobuf: move {label}"
    if wire == 0:
        new = _int_value(v, rng)
        container[i][2] = new % (1 << 64)
        return pb_write(tree), f"protobuf: {label} varint {v} -> {new}"
    if wire == 5:
        new = rng.choice(FLOAT_SPECIALS)
        container[i][2] = _pack("<f", new)
        return pb_write(tree), f"protobuf: {label} float -> {new!r}"
    if wire == 1:
        container[i][2] = rng.randbytes(8)
        return pb_write(tree), f"protobuf: {label} fixed64 randomised"
    new = rng.choice([b"", b"\0", b"\xff\xfe", "\u2581".encode() * 3, b"<s>", b"x" * 65536, b"<0x0A>", b"\n"])
    container[i][2] = new
    return pb_write(tree), f"protobuf: {label} bytes -> {_short(new.decode('latin-1'))}"


def mutate_tiktoken(data: bytes, rng: random.Random, seed: Seed, name: str) -> tuple[bytes, str]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    i = rng.randrange(len(lines))
    op = rng.choice(["rank", "rank", "token", "delete", "duplicate", "swap", "blank", "crlf", "spaces", "fields"])
    if op == "rank":
        new = rng.choice([b"0", b"-1", b"1", b"2147483648", b"9223372036854775808", b"1" * 5000, b"", b" 7",
                          b"1e3", b"0x10", b"+1", "\u0663".encode(), str(len(lines)).encode(), b"00"])
        token = lines[i].partition(b" ")[0]
        lines[i] = token + b" " + new
        what = f"line {i + 1} rank -> {_short(new.decode('latin-1'))}"
    elif op == "token":
        other = lines[rng.randrange(len(lines))].partition(b" ")[0]
        new = rng.choice([b"", b"!!", b"=", b"AA", b"AAA=", other, base64.b64encode(b"x" * 100000),
                          base64.b64encode(b"\0" * 4), b"YQ==YQ=="])
        lines[i] = new + b" " + lines[i].partition(b" ")[2]
        what = f"line {i + 1} token -> {_short(new[:60].decode('latin-1'))}"
    elif op == "delete":
        del lines[i]
        what = f"delete line {i + 1}"
    elif op == "duplicate":
        lines.insert(i, lines[i])
        what = f"duplicate line {i + 1}"
    elif op == "swap":
        j = rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
        what = f"swap lines {i + 1} and {j + 1}"
    elif op == "blank":
        lines.insert(i, rng.choice([b"", b" ", b"\r"]))
        what = f"blank line before line {i + 1}"
    elif op == "crlf":
        return b"\r\n".join(lines) + b"\r\n", "CRLF line ends"
    elif op == "spaces":
        lines[i] = rng.choice([lines[i] + b" ", b" " + lines[i], lines[i].replace(b" ", b"  "),
                               lines[i].replace(b" ", b"\t")])
        what = f"whitespace changed on line {i + 1}"
    else:
        lines[i] = lines[i] + rng.choice([b" 5", b" x", b" "])
        what = f"extra field on line {i + 1}"
    return b"\n".join(lines) + b"\n", what


# file type -> structure-aware mutator(data, rng, seed, file name) -> (bytes, description)
MUTATORS: dict[str, Callable] = {
    "llama2c-v0": mutate_llama2c(0), "llama2c-v1": mutate_llama2c(1), "llama2c-v2": mutate_llama2c(2),
    "tokenizer.bin": mutate_tokenizer_bin, "zip": mutate_zip, "gguf": mutate_gguf,
    "safetensors": mutate_safetensors, "json": mutate_json, "spm": mutate_spm, "tiktoken": mutate_tiktoken,
}


@dataclass
class Mutation:
    file: str
    data: bytes
    steps: list[str]
    kinds: list[str]


def mutate(seed: Seed, rng: random.Random) -> Mutation:
    """One to four mutations (mostly one) of one file of the seed."""
    name = rng.choice(sorted(seed.files))
    data = seed.data[name]
    steps, kinds = [], []
    count = 1 if rng.random() < 0.8 else rng.randint(2, 4)
    for _ in range(count):
        kind = "structure" if rng.random() < 0.6 else "bytes"
        try:
            if kind == "structure":
                data, what = MUTATORS[seed.files[name]](data, rng, seed, name)
            else:
                data, what = generic_mutation(data, rng)
        except Exception as e:  # a structure the previous step broke: bytes instead
            kind = "bytes"
            data, what = generic_mutation(data, rng)
            what += f" (structure mutation not applicable: {type(e).__name__})"
        steps.append(what)
        kinds.append(kind)
    return Mutation(name, data, steps, kinds)


def plan_case(seeds: dict[str, Seed], index: int, seed_value: int) -> tuple[Seed, Mutation]:
    """Case `index` of a run with seed `seed_value`: the formats in turn, mutations from a
    generator of the case's own, so a case is the same whatever ran before it."""
    seed = list(seeds.values())[index % len(seeds)]
    return seed, mutate(seed, random.Random(f"{seed_value}:{index}"))


# ---------------------------------------------------------------------------------------------
# The child: load, compare, compile, check the C

def model_fingerprint(model: Model) -> dict:
    return {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.config.to_dict().items()},
            "tensors": {n: [list(t.shape), hashlib.sha1(np.ascontiguousarray(t).tobytes()).hexdigest()]
                        for n, t in model.tensors.items()}}


def tokenizer_fingerprint(tok: Tokenizer) -> dict:
    pieces = hashlib.sha1(b"".join(struct.pack("<I", len(p)) + p for p in tok.pieces)).hexdigest()
    scores = hashlib.sha1(np.array(tok.scores, np.float64).tobytes()).hexdigest()
    finite = all(math.isfinite(s) for s in tok.scores)
    return {"vocab_size": tok.vocab_size, "bos_id": tok.bos_id, "eos_id": tok.eos_id, "kind": tok.kind,
            "n_special": tok.n_special, "pieces": pieces, "scores": scores, "finite_scores": finite}


CHECK_C = "fuzz_config_check.c"


def check_c(project: Path) -> str | None:
    """Compiles the project's own C (main.c, llm_plan.c, llm_weights.c) with the
    Makefile's warnings and kernel flags, -fsyntax-only, plus a file asserting every
    llm_config.h integer fits an int and every float is a finite float literal."""
    config = (project / "llm_config.h").read_text()
    lines = ["#include <limits.h>", '#include "llm_config.h"']
    for name, value in re.findall(r"^#define (LLM_\w+) (.*?)\s*(?:/\*.*)?$", config, re.M):
        if name == "LLM_CONFIG_H":
            continue
        if re.fullmatch(r"[-+]?[0-9.]+(e[-+]?[0-9]+)?f|[-+]?(nan|inf)f?", value.strip(), re.I):
            lines.append(f"const float fuzz_{name} = {name};")
        else:
            bound = "UINT_MAX" if value.strip().endswith("u") else "INT_MAX"
            lines.append(f'_Static_assert(({name}) >= 0 && ({name}) <= {bound}, "{name} = {value.strip()[:40]}");')
    (project / CHECK_C).write_text("\n".join(lines) + "\n")
    makefile = (project / "Makefile").read_text() if (project / "Makefile").is_file() else ""
    kernels = re.search(r"^KERNELS = (.*)$", makefile, re.M)
    cmd = ["cc", "-fsyntax-only", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I.", "-Iruntime",
           *(kernels.group(1).split() if kernels else []), "main.c", "llm_plan.c", "llm_weights.c", CHECK_C]
    r = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    if r.returncode:
        errors = [ln for ln in r.stderr.splitlines() if "error" in ln] or r.stderr.splitlines() or ["(no output)"]
        return errors[0][:300]
    return None


@dataclass
class Partners:
    """What a loaded file is compiled with: checkpoints with a tokenizer of the seed's
    vocabulary, tokenizers with a small model of theirs (so a changed vocabulary size is
    refused as llmtool refuses a mismatched pair)."""
    tokenizer: Tokenizer
    models: dict[str, Model]


def _stage(state: dict, stage: str) -> None:
    """Where the child is, also in a file: a child killed for a hang tells no more."""
    state["stage"] = stage
    if state.get("stage_file"):
        Path(state["stage_file"]).write_text(stage)


def child_case(fmt: Format, target: Path, out: Path, baseline: dict | None, partners: Partners,
               state: dict) -> dict:
    _stage(state, "load")
    if fmt.kind == "checkpoint":
        obj = load_checkpoint(target)
        fp = model_fingerprint(obj)
    else:
        obj = load_tokenizer(target)
        fp = tokenizer_fingerprint(obj)
    result = {"outcome": "accepted", "fingerprint": fp}
    if baseline is not None and fp == baseline:
        return result  # the seed's compile stands for it
    _stage(state, "compile")
    if fmt.kind == "checkpoint":
        compile_project(obj, partners.tokenizer, "host", out, quant="f32")
    else:
        compile_project(partners.models[fmt.slug], obj, "host", out, quant="f32")
    context = json.loads((out / MANIFEST).read_text())["context"]
    if context > DEFAULT_CONTEXT_CAP:  # a claimed max_seq_len must never size a compile
        return result | {"outcome": "blow-up", "message": f"context {context} above {DEFAULT_CONTEXT_CAP}"}
    _stage(state, "c-check")
    problem = check_c(out)
    if problem:
        result |= {"outcome": "bad-c", "message": problem}
    return result


MEMORY_WORDS = re.compile(r"(can't|cannot|unable to|failed to|not enough memory|out of memory).{0,40}allocat|"
                          r"bad_alloc|DefaultCPUAllocator|memory allocation of \d+ bytes failed|Cannot allocate memory",
                          re.I | re.S)


def _frame(f) -> str:
    path = Path(f.filename)
    try:
        path = path.resolve().relative_to(ROOT)
    except ValueError:
        pass
    return f"{path}:{f.lineno} in {f.name}"


def _in_toolchain(filename: str) -> bool:
    try:
        Path(filename).resolve().relative_to(TOOLCHAIN)
        return True
    except ValueError:
        return False


def describe_exception(e: BaseException) -> dict:
    frames = traceback.extract_tb(e.__traceback__)
    ours = [f for f in frames if _in_toolchain(f.filename)]
    message = str(e)
    if isinstance(e, ToolchainError):
        one_line = "\n" not in message.strip() and len(message) <= MESSAGE_LIMIT
        outcome = "clean" if one_line else "bad-message"
    elif isinstance(e, MemoryError) or MEMORY_WORDS.search(message):
        outcome = "blow-up"
    else:
        outcome = "traceback"
    try:
        text = "".join(traceback.format_exception(e))
    except BaseException:  # noqa: BLE001 - a traceback that cannot be formatted (recursion)
        text = f"{type(e).__name__} (traceback not formattable)"
    return {"outcome": outcome, "exc_type": f"{type(e).__module__}.{type(e).__qualname__}".removeprefix("builtins."),
            "message": message[:2000], "message_chars": len(message), "message_lines": len(message.splitlines()),
            "frame": _frame(ours[-1]) if ours else None, "last_frame": _frame(frames[-1]) if frames else None,
            "traceback": text[-6000:]}


@dataclass
class ChildRun:
    result: dict | None
    stage: str | None
    seconds: float
    max_rss: int
    timed_out: bool
    signal: int | None
    exit_code: int | None
    log: str


def _vm_size() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def run_in_child(fn: Callable[[dict], dict], workdir: Path, time_limit: float = TIME_LIMIT) -> ChildRun:
    """fn(state) in a forked child under limits; its result (or its exception, described)
    comes back through a file. The child's stdout and stderr go to workdir/child.log,
    and so does its Python stack on a crash or when the time limit is reached."""
    result_path, log_path, stage_path = workdir / "result.json", workdir / "child.log", workdir / "stage"
    for p in (result_path, log_path, stage_path):
        p.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    address_space = _vm_size() + AS_HEADROOM
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 0
        try:
            os.setpgid(0, 0)
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
            cpu = int(time_limit) + 5
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
            resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ):
                signal.signal(sig, signal.SIG_DFL)
            faulthandler.enable(file=2, all_threads=True)
            faulthandler.register(signal.SIGUSR1, file=2, all_threads=True)
            state = {"stage": "start", "stage_file": str(stage_path)}
            try:
                result = fn(state)
            except BaseException as e:  # noqa: BLE001 - every exception is classified
                result = describe_exception(e)
            result["stage"] = state["stage"]
            try:
                text = json.dumps(result)
            except (ValueError, TypeError, RecursionError):
                text = json.dumps({k: str(v) for k, v in result.items()})
            result_path.write_text(text)
        except BaseException:  # noqa: BLE001
            code = 70
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    try:
        os.setpgid(pid, pid)
    except OSError:
        pass
    timed_out, waited = False, None
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None
    try:
        deadline = start + time_limit
        while True:
            wpid, status, usage = os.wait4(pid, os.WNOHANG)
            if wpid:
                waited = status, usage
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if pidfd is not None:
                select.select([pidfd], [], [], remaining)
            else:
                time.sleep(min(remaining, 0.005))
        if timed_out:
            try:
                os.kill(pid, signal.SIGUSR1)  # the child's Python stack into its log
                time.sleep(0.3)
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    except BaseException:
        if waited is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.wait4(pid, 0)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
    status, usage = waited if waited is not None else os.wait4(pid, 0)[1:]
    seconds = time.monotonic() - start
    result = None
    if result_path.is_file():
        try:
            result = json.loads(result_path.read_text())
        except ValueError:
            result = None
    log = ""
    if log_path.is_file():  # its tail: a child may have written up to FILE_LIMIT
        with open(log_path, "rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 20000))
            log = f.read().decode("utf-8", "replace")
    stage = (result or {}).get("stage") or (stage_path.read_text() if stage_path.is_file() else None)
    return ChildRun(result, stage, seconds, usage.ru_maxrss * 1024, timed_out,
                    os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                    os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, log[-20000:])


STACK_LINE = re.compile(r'File "([^"]+)", line (\d+) in (\S+)')


def stack_frame(log: str) -> tuple[str | None, str | None]:
    """(innermost toolchain frame, innermost frame) of the first Python stack in a
    faulthandler dump (most recent call first)."""
    frames = []
    for line in log.splitlines():
        m = STACK_LINE.search(line)
        if m:
            frames.append(m.groups())
        elif frames and not line.strip():
            break
    if not frames:
        return None, None
    fmt = lambda f: _frame(traceback.FrameSummary(f[0], int(f[1]), f[2]))  # noqa: E731
    ours = [f for f in frames if _in_toolchain(f[0])]
    return (fmt(ours[0]) if ours else None), fmt(frames[0])


# ---------------------------------------------------------------------------------------------
# Watching the marker (inotify): was a file outside the checkpoint directory opened?

class OpenWatch:
    IN_OPEN, IN_ACCESS, IN_NONBLOCK, IN_CLOEXEC = 0x20, 0x01, 0o4000, 0o2000000

    def __init__(self, path: Path):
        self.fd = None
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(self.IN_NONBLOCK | self.IN_CLOEXEC)
            if fd >= 0 and libc.inotify_add_watch(fd, str(path).encode(), self.IN_OPEN | self.IN_ACCESS) >= 0:
                self.fd = fd
        except (OSError, AttributeError):
            self.fd = None

    def opened(self) -> bool:
        """Whether the file was opened since the last call."""
        if self.fd is None:
            return False
        seen = False
        while True:
            try:
                seen |= bool(os.read(self.fd, 4096))
            except BlockingIOError:
                return seen

    def close(self):
        if self.fd is not None:
            os.close(self.fd)


# ---------------------------------------------------------------------------------------------
# Cases

@dataclass
class Case:
    index: int
    format: str
    file: str
    steps: list[str]
    kinds: list[str]
    outcome: str = ""
    category: str | None = None     # accepted: one of CATEGORIES
    detail: str = ""                # what differs, or why it is a blow-up
    reason: str = ""                # accepted: what differs, in a few words
    stage: str | None = None
    exc_type: str | None = None
    message: str | None = None
    frame: str | None = None        # innermost frame in toolchain/
    last_frame: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    max_rss: int = 0
    checksum_ok: bool | None = None
    size: int = 0
    sha1: str = ""
    kept: str | None = None

    @property
    def finding(self) -> bool:
        return self.outcome not in ("clean", "accepted") or (self.outcome == "accepted"
                                                             and self.category not in ALLOWED_CATEGORIES)

    def label(self) -> str:
        return self.category if self.outcome == "accepted" else self.outcome


SHAPE_FREE = ("norm_eps", "rope_theta", "max_seq_len", "rope_freq_factors")
FLT_MAX = 3.4028234663852886e38


def implausible_model(cfg: dict) -> str | None:
    eps, theta = cfg["norm_eps"], cfg["rope_theta"]
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and 0 < eps <= 1):
        return f"norm_eps {eps!r}"
    if not (isinstance(theta, (int, float)) and math.isfinite(theta) and 1 < theta <= FLT_MAX):
        return f"rope_theta {theta!r}"
    for k, v in cfg.items():  # max_seq_len is a claim: a compile caps its context (fit.py)
        if k != "max_seq_len" and isinstance(v, int) and not isinstance(v, bool) and v > 2**31 - 1:
            return f"{k} {v} does not fit an int"
    if any(not (isinstance(f, (int, float)) and math.isfinite(f) and 0 < f <= FLT_MAX)
           for f in cfg.get("rope_freq_factors") or ()):
        return "a RoPE factor that is not a finite positive float"
    return None


def classify_accepted(kind: str, base: dict, fp: dict, checksum_ok: bool | None,
                      retyped: bool = False) -> tuple[str, str, str]:
    """(category, what differs, its reason in a few words) of an accepted case against
    the seed's fingerprint; `retyped`: a JSON value of the seed was replaced by one of
    another type (a string for a boolean...)."""
    if fp == base:
        return "identical", "", ""
    if kind == "checkpoint":
        shapes = {n: s for n, (s, _) in fp["tensors"].items()}
        base_shapes = {n: s for n, (s, _) in base["tensors"].items()}
        changed = sorted(k for k in set(fp["config"]) | set(base["config"])
                         if fp["config"].get(k) != base["config"].get(k))
        values = sorted(n for n in fp["tensors"] if n in base["tensors"] and fp["tensors"][n] != base["tensors"][n])
        if shapes != base_shapes or set(changed) - set(SHAPE_FREE):
            diff = sorted(set(shapes) ^ set(base_shapes)) + [n for n in shapes if n in base_shapes
                                                              and shapes[n] != base_shapes[n]]
            detail = "config " + ", ".join(f"{k} {base['config'].get(k)!r} -> {fp['config'].get(k)!r}"
                                           for k in changed) if changed else ""
            detail += ("; " if detail else "") + (f"tensors {diff[:4]}" if diff else "")
            category = "structure-differs"
            reason = (f"config {', '.join(changed)} changed" if changed else "") + (" tensors differ" if diff else "")
        elif changed:
            detail = ", ".join(f"{k} {base['config'].get(k)!r} -> {fp['config'].get(k)!r}"[:120] for k in changed)
            category, reason = "config-only", ", ".join(changed)
        else:
            detail = f"{len(values)} tensors' values ({values[0]}...)" if values else "values"
            category, reason = "values-only", "tensor values"
        implausible = implausible_model(fp["config"])
    else:
        # the vocabulary's size and kind are its structure; which id a piece has (BOS and
        # EOS among them: a SentencePiece model whose pieces were moved) is its data
        shape = ("vocab_size", "kind", "n_special")
        changed = [k for k in shape if fp[k] != base[k]]
        if changed:
            category, reason = "structure-differs", ", ".join(changed) + " changed"
            detail = ", ".join(f"{k} {base[k]!r} -> {fp[k]!r}" for k in changed)
        else:
            category = "values-only"
            detail = reason = " and ".join(k for k in ("pieces", "scores", "bos_id", "eos_id") if fp[k] != base[k])
        implausible = None
        if not fp["finite_scores"]:
            implausible = "a score is NaN or infinite"
        elif not (0 <= fp["bos_id"] < fp["vocab_size"] and 0 <= fp["eos_id"] < fp["vocab_size"]):
            implausible = f"BOS {fp['bos_id']} / EOS {fp['eos_id']} outside 0..{fp['vocab_size'] - 1}"
    if checksum_ok is False:
        return "checksum-ignored", f"{detail} (the zip member CRC-32 no longer matches)", "zip CRC-32 not checked"
    if implausible:
        return "implausible", f"{implausible}; {detail}", re.sub(r" -?[0-9][^ ;]*| [-+]?(nan|inf)\b", "", implausible)
    if retyped:
        return "type-confusion", f"{detail} (a value of another JSON type was accepted)", reason
    return category, detail, reason


class Fuzzer:
    def __init__(self, workdir: Path, formats: list[Format] | None = None, time_limit: float = TIME_LIMIT,
                 keep: Path | None = None, keep_per_group: int = 3, log=None):
        torch.set_num_threads(1)
        self.workdir = Path(workdir)
        self.formats = formats or FORMATS
        self.time_limit = time_limit
        self.keep = Path(keep) if keep else None
        self.keep_per_group = keep_per_group
        self.kept = Counter()
        self.log = log or (lambda *a: None)
        self.seeds = make_seeds(self.workdir / "seeds", self.formats)
        self.marker = self.workdir / "marker" / "x"
        self.marker.parent.mkdir(parents=True)
        make_marker(self.marker)
        self.watch = OpenWatch(self.marker)
        vocab = {s.fmt.slug: load_tokenizer(s.directory / s.fmt.target).vocab_size
                 for s in self.seeds.values() if s.fmt.kind == "tokenizer"}
        self.partners = Partners(synthetic_tokenizer(SEED_CONFIG.vocab_size),
                                 {slug: random_model(replace(SEED_CONFIG, vocab_size=v, n_layers=1), seed=1)
                                  for slug, v in vocab.items()})
        for seed in self.seeds.values():
            self._baseline(seed)

    def _case_dir(self, index: int) -> Path:
        return self.workdir / f"case-{index}"

    def _layout(self, seed: Seed, index: int, mutation: Mutation | None) -> tuple[Path, Path]:
        """case-N/ckpt/ holds the seed's files (one mutated), case-N/x the marker."""
        case = self._case_dir(index)
        shutil.rmtree(case, ignore_errors=True)
        ckpt = case / "ckpt"
        ckpt.mkdir(parents=True)
        for name in seed.files:
            if mutation is not None and name == mutation.file:  # ESCAPE_ABS: the marker's absolute path
                (ckpt / name).write_bytes(mutation.data.replace(b"ESCAPE_ABS", str(self.marker).encode()))
            else:
                os.link(seed.directory / name, ckpt / name)
        os.link(self.marker, case / "x")
        return case, ckpt / seed.fmt.target if seed.fmt.target != "." else ckpt

    def _baseline(self, seed: Seed) -> None:
        case, target = self._layout(seed, -1, None)
        run = run_in_child(lambda state: child_case(seed.fmt, target, case / "out", None, self.partners, state),
                           case, max(self.time_limit, 60.0))
        shutil.rmtree(case, ignore_errors=True)
        self.watch.opened()
        r = run.result or {}
        if r.get("outcome") != "accepted":
            raise RuntimeError(f"the {seed.fmt.slug} seed is not accepted: {r.get('exc_type')} {r.get('message')} "
                               f"{r.get('traceback', '')} {run.log[-2000:]}")
        seed.baseline = r["fingerprint"]

    def run_case(self, index: int, seed_value: int) -> Case:
        seed, m = plan_case(self.seeds, index, seed_value)
        return self.run_mutation(index, seed, m)

    def run_mutation(self, index: int, seed: Seed, m: Mutation) -> Case:
        """Runs one mutated file of `seed` (a planned case, or one made by hand)."""
        case = Case(index, seed.fmt.slug, m.file, m.steps, m.kinds, size=len(m.data),
                    sha1=hashlib.sha1(m.data).hexdigest())
        directory, target = self._layout(seed, index, m)
        self.watch.opened()
        run = run_in_child(lambda state: child_case(seed.fmt, target, directory / "out", seed.baseline,
                                                    self.partners, state), directory, self.time_limit)
        escaped = self.watch.opened()
        case.seconds, case.max_rss, case.stage = run.seconds, run.max_rss, run.stage
        r = run.result or {}
        for k in ("exc_type", "message", "frame", "last_frame", "traceback"):
            setattr(case, k, r.get(k))
        if run.timed_out:
            case.outcome = "hang"
            case.frame, case.last_frame = stack_frame(run.log)
            case.detail = f"killed after {self.time_limit:g} s"
            case.traceback = run.log[-6000:]
        elif run.result is None:
            sig = run.signal
            name = signal.Signals(sig).name if sig else f"exit {run.exit_code}"
            case.frame, case.last_frame = stack_frame(run.log)
            case.traceback = run.log[-6000:]
            if sig == signal.SIGXFSZ or MEMORY_WORDS.search(run.log) or sig == signal.SIGKILL:
                case.outcome, case.detail = "blow-up", f"{name} ({'file size limit' if sig == signal.SIGXFSZ else 'memory'})"
            elif sig == signal.SIGXCPU:
                case.outcome, case.detail = "hang", "CPU time limit"
            else:
                case.outcome, case.detail = "crash", name
        else:
            case.outcome = r["outcome"]
        if case.max_rss > RSS_LIMIT and case.outcome != "hang":
            case.detail = f"peak RSS {case.max_rss / 2**30:.2f} GB (was: {case.outcome}) " + case.detail
            case.outcome = "blow-up"
        if escaped:
            case.detail = f"opened the marker outside the checkpoint directory (was: {case.outcome}) " + case.detail
            case.outcome = "escape"
        if case.outcome in ("accepted", "bad-c"):
            if seed.files[m.file] == "zip":
                case.checksum_ok = zip_checksums_ok(m.data)
            if case.outcome == "accepted":
                case.category, case.detail, case.reason = classify_accepted(
                    seed.fmt.kind, seed.baseline, r["fingerprint"], case.checksum_ok,
                    any(RETYPED in step for step in m.steps))
        if case.finding and self.keep is not None:
            self._keep(case, directory, seed)
        shutil.rmtree(directory, ignore_errors=True)
        return case

    def _keep(self, case: Case, directory: Path, seed: Seed) -> None:
        group = group_key(case)
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", group)[:90].strip("_")
        if self.kept[slug] >= self.keep_per_group:
            return
        self.kept[slug] += 1
        dest = self.keep / slug / f"{case.format}-{case.index}"
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        shutil.copytree(directory / "ckpt", dest / "ckpt")
        shutil.copy(directory / "x", dest / "x")
        self.watch.opened()  # the copy opened the marker
        target = "ckpt" + ("" if seed.fmt.target == "." else "/" + seed.fmt.target)
        loader = ("from toolchain.importers import load_checkpoint as load" if seed.fmt.kind == "checkpoint"
                  else "from toolchain.tokenizer import load_tokenizer as load")
        info = {k: v for k, v in case.__dict__.items() if k != "kept"} | {
            "group": group, "target": target, "seed_title": seed.fmt.title, "kind": seed.fmt.kind,
            "load": f"cd {ROOT} && python3 -c '{loader}; load(\"{dest / target}\")'",
            "replay": f"cd {ROOT} && python3 tests/fuzz/fuzz_files.py --replay {dest}"}
        (dest / "info.json").write_text(json.dumps(info, indent=2, default=str) + "\n")
        case.kept = str(dest)

    def close(self):
        self.watch.close()


def group_key(case: Case) -> str:
    """A root cause's name: where it happens (or, for acceptances, what was accepted)."""
    if case.outcome == "accepted":
        return f"{case.category} {case.format}: {case.reason}"
    if case.outcome in ("traceback", "blow-up", "bad-message") and case.exc_type:
        return f"{case.outcome} {case.exc_type} {case.frame or case.last_frame}"
    if case.outcome in ("hang", "crash", "blow-up"):  # where it was stopped: the function, not its line
        where = re.sub(r":\d+ in ", " in ", case.frame or case.last_frame or "") or case.format
        return f"{case.outcome} {where}"
    if case.outcome == "bad-c":
        return f"bad-c {re.sub(r'[0-9]+', 'N', (case.message or '').split('error:')[-1])[:60]}"
    return f"{case.outcome} {case.format} {case.file}"


# ---------------------------------------------------------------------------------------------
# A run and its report

@dataclass
class Run:
    seed: int
    cases: list[Case]
    seconds: float
    formats: list[Format]

    def table(self) -> dict[str, dict]:
        rows = {}
        for fmt in self.formats:
            cs = [c for c in self.cases if c.format == fmt.slug]
            counts = Counter(c.label() for c in cs)
            rows[fmt.slug] = {"cases": len(cs), **{k: counts.get(k, 0) for k in ("clean",) + CATEGORIES + OUTCOMES[2:]},
                              "max_seconds": round(max((c.seconds for c in cs), default=0), 2),
                              "max_rss_mb": round(max((c.max_rss for c in cs), default=0) / 2**20)}
        return rows

    def findings(self) -> list[dict]:
        groups: dict[str, list[Case]] = {}
        for c in self.cases:
            if c.finding:
                groups.setdefault(group_key(c), []).append(c)
        out = []
        for key, cs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            example = min(cs, key=lambda c: (len(c.steps), c.kinds.count("bytes"), c.index))
            out.append({"group": key, "count": len(cs), "formats": sorted({c.format for c in cs}),
                        "outcome": example.label(), "format": example.format, "file": example.file,
                        "mutation": example.steps, "stage": example.stage, "exc_type": example.exc_type, "message": example.message,
                        "frame": example.frame, "last_frame": example.last_frame, "detail": example.detail,
                        "case": example.index, "reproducer": example.kept or next((c.kept for c in cs if c.kept), None)})
        return out

    def summary(self) -> dict:
        return {"seed": self.seed, "cases": len(self.cases), "seconds": round(self.seconds, 1),
                "cases_per_second": round(len(self.cases) / self.seconds, 1) if self.seconds else None,
                "table": self.table(), "findings": self.findings()}

    def report(self) -> str:
        cols = [("cases", "cases"), ("clean", "clean"), ("identical", "ident"), ("values-only", "values"),
                ("config-only", "config"), ("implausible", "implaus"), ("checksum-ignored", "crc-ign"),
                ("type-confusion", "retyped"), ("structure-differs", "struct"), ("traceback", "trace"), ("hang", "hang"), ("blow-up", "blowup"),
                ("crash", "crash"), ("bad-c", "bad-c"), ("bad-message", "bad-msg"), ("escape", "escape"),
                ("max_seconds", "max s"), ("max_rss_mb", "max MB")]
        rows = self.table()
        total = {k: sum(r[k] for r in rows.values()) for k, _ in cols[:-2]} | {
            "max_seconds": max((r["max_seconds"] for r in rows.values()), default=0),
            "max_rss_mb": max((r["max_rss_mb"] for r in rows.values()), default=0)}
        lines = ["| format | " + " | ".join(h for _, h in cols) + " |", "|---" * (len(cols) + 1) + "|"]
        for name, r in list(rows.items()) + [("all", total)]:
            lines.append(f"| {name} | " + " | ".join(str(r[k]) for k, _ in cols) + " |")
        s = self.summary()
        lines.append(f"\n{s['cases']} cases in {s['seconds']} s ({s['cases_per_second']} cases/s), seed {self.seed}")
        findings = s["findings"]
        lines.append(f"{len(findings)} finding groups" + (":" if findings else ""))
        for f in findings:
            lines.append(f"\n[{f['count']}x] {f['group']}  ({', '.join(f['formats'])})")
            lines.append(f"    e.g. case {f['case']} {f['format']} {f['file']}: {' | '.join(f['mutation'])}"
                         f"  [stage {f['stage']}]")
            if f["exc_type"] or f["message"]:
                lines.append(f"    {f['exc_type'] or ''}: {(f['message'] or '')[:300]}")
            if f["detail"]:
                lines.append(f"    {f['detail'][:300]}")
            if f["frame"] or f["last_frame"]:
                lines.append(f"    at {f['frame']} (innermost: {f['last_frame']})")
            if f["reproducer"]:
                lines.append(f"    reproducer: {f['reproducer']}")
        return "\n".join(lines)


def fuzz(cases: int, seed: int = 1, workdir: Path | None = None, formats: list[str] | None = None,
         keep: Path | None = None, time_limit: float = TIME_LIMIT, progress: bool = False) -> Run:
    """Runs `cases` cases (formats in turn) and returns them; `workdir` (a temporary
    directory if None, removed at the end) holds the seeds and the case being run."""
    chosen = [FORMATS_BY_SLUG[s] for s in formats] if formats else FORMATS
    own = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-files-")) if own else Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fuzzer = None
    try:
        fuzzer = Fuzzer(workdir, chosen, time_limit, keep)
        results = []
        start = time.monotonic()
        for i in range(cases):
            results.append(fuzzer.run_case(i, seed))
            if progress and (i + 1) % 100 == 0:
                bad = sum(c.finding for c in results)
                print(f"{i + 1}/{cases} cases, {bad} findings, {(i + 1) / (time.monotonic() - start):.1f}/s",
                      file=sys.stderr, flush=True)
        return Run(seed, results, time.monotonic() - start, chosen)
    finally:
        if fuzzer is not None:
            fuzzer.close()
        if own:
            shutil.rmtree(workdir, ignore_errors=True)


def replay(directory: Path) -> int:
    """Runs a kept case in this process (no fork, no limits): its traceback, if any,
    is Python's own."""
    info = json.loads((directory / "info.json").read_text())
    fmt = FORMATS_BY_SLUG[info["format"]]
    print(f"{info['format']} {info['file']}: {' | '.join(info['steps'])}")
    with tempfile.TemporaryDirectory(prefix="fuzz-replay-") as tmp:
        tmp = Path(tmp)
        if fmt.kind == "checkpoint":
            partners = Partners(synthetic_tokenizer(SEED_CONFIG.vocab_size), {})
        else:
            seed = make_seeds(tmp / "seeds", [fmt])[fmt.slug]
            vocab = load_tokenizer(seed.directory / fmt.target).vocab_size
            partners = Partners(None, {fmt.slug: random_model(replace(SEED_CONFIG, vocab_size=vocab, n_layers=1),
                                                              seed=1)})
        state = {}
        result = child_case(fmt, directory / info["target"], tmp / "out", None, partners, state)
    print(f"stage {state['stage']}: {result['outcome']} {result.get('message', '')}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", type=int, default=1000, help="cases to run, the formats in turn (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="the run's seed: the same seed, the same cases")
    p.add_argument("--formats", nargs="+", choices=list(FORMATS_BY_SLUG), help="only these formats")
    p.add_argument("--json", type=Path, help="write the summary and every case here")
    p.add_argument("--keep", type=Path, help="keep a reproducer of each finding here (3 per root cause)")
    p.add_argument("--workdir", type=Path, help="seeds and cases here instead of a temporary directory")
    p.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds before a case is a hang")
    p.add_argument("--replay", type=Path, help="run a kept reproducer's case in this process")
    args = p.parse_args(argv)

    def stop(signum, frame):  # SIGTERM (and SIGINT in a background job) stops the run and its child
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, stop)
    # the parent itself stays small: a mutator's bug fails here, not in the kernel's OOM killer
    cap = _vm_size() + AS_HEADROOM + (2 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, resource.getrlimit(resource.RLIMIT_AS)[1]))
    if args.replay:
        return replay(args.replay)
    run = fuzz(args.cases, args.seed, args.workdir, args.formats, args.keep, args.time_limit, progress=True)
    print(run.report())
    if args.json:
        args.json.write_text(json.dumps(run.summary() | {"case_list": [
            {k: v for k, v in c.__dict__.items() if k != "traceback"} for c in run.cases]}, indent=1, default=str))
    return 1 if any(c.finding for c in run.cases) else 0


if __name__ == "__main__":
    sys.exit(main())
