"""Zip archives (torch.save) and the pickle inside: the entries and integer fields of
every record, the members' CRC-32s, a member's bytes replaced, an archive written
afresh, the numbers in the pickle."""
from __future__ import annotations

import pickletools
import random
import struct
import zlib
from pathlib import Path


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
