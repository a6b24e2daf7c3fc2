"""JSON: a serialiser that keeps duplicate keys, huge integers, NaN and deep nesting,
and one structure-aware change to a JSON document (a value replaced by a special one,
a key deleted, added, renamed or duplicated, the whole file replaced)."""
from __future__ import annotations

import copy
import json
import math
import random


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
            last = rng.random() < 0.5
            mark = _retyped(d[key], value) if last else ""  # of duplicate keys, JSON readers take the last
            pairs = Pairs(list(d.items()) + [(key, value)] if last else [(key, value)] + list(d.items()))
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
