"""GGUF: the offsets of every header, metadata and tensor-info field."""
from __future__ import annotations

import struct


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
