"""SentencePiece's protobuf: a message as its fields (nested ones included) and back,
with the names of SentencePiece's fields for the mutations' descriptions."""
from __future__ import annotations

from collections import Counter


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
