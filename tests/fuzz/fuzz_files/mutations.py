"""Mutations: one file of a seed per case, byte-level (bit flips, random runs,
inserted and deleted runs, truncation, extension) or structure-aware by the file's
type (MUTATORS: boundary values in the integer fields each format has, JSON values,
GGUF metadata and tensor infos, the pickle inside a torch zip, SentencePiece's
protobuf, tiktoken's lines)."""
from __future__ import annotations

import base64
import copy
import json
import pickle
import random
import struct
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .gguf_fields import GGUF_SCALARS, gguf_fields
from .json_values import _short, mutate_json_value
from .protobuf_fields import _pb_leaves, pb_parse, pb_write
from .seeds import Seed
from .torch_zip import _pickle_sites, _replace_member, _zip_entries, _zip_members, write_zip, zip_fields


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
