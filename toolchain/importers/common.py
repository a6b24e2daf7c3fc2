"""What the importers share: telling files apart by their first bytes, Meta-style
model arguments, and turning a state dict with Meta's tensor names into a Model.

torch is imported only by what reads a torch.save file, so that compiling a
llama2.c .bin, a safetensors or a GGUF model never pays for it."""
from __future__ import annotations

import json
import math
import pickle
import reprlib
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..config import Model, ModelConfig, tensor_shapes
from ..errors import ToolchainError, brief
from ..rope import llama3_rope_factors

HEAD_BYTES = 256
MAX_JSON_BYTES = 4 << 20  # configs are kilobytes; a bigger file is not worth parsing
# Non-weight tensors some checkpoints carry: Meta's Llama 2 stores its RoPE frequencies,
# old Hugging Face checkpoints their rotary inverse frequencies.
NOT_WEIGHTS = ("rope.freqs", "freqs_cos", "freqs_sin")


def head(path: Path, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as f:
        return f.read(n)


def is_zip(head_bytes: bytes) -> bool:
    """torch.save writes a zip archive (every .pt and Meta .pth since PyTorch 1.6)."""
    return head_bytes[:4] == b"PK\x03\x04"


def is_gguf(path: Path, head_bytes: bytes) -> bool:
    """llama.cpp's GGUF (read by gguf_file.py, which imports the heavy gguf package)."""
    return path.is_file() and head_bytes[:4] == b"GGUF"


def is_safetensors(path: Path, head_bytes: bytes) -> bool:
    """A little-endian u64 header length, then the JSON header itself."""
    if len(head_bytes) < 10 or head_bytes[8:9] != b"{":
        return False
    return int.from_bytes(head_bytes[:8], "little") <= path.stat().st_size - 8


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`, or None when the file is not a (small) JSON object
    (nested too deeply to parse counts as not one)."""
    if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES or not head(path).lstrip().startswith(b"{"):
        return None
    try:
        value = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def find_json(directory: Path, kind) -> tuple[Path, dict] | None:
    """The first file of `directory` (by name) holding a JSON object for which kind(obj) holds."""
    for p in sorted(directory.iterdir()):
        obj = read_json(p)
        if obj is not None and kind(obj):
            return p, obj
    return None


def files_where(directory: Path, probe) -> list[Path]:
    """The regular files of `directory`, by name, whose first bytes satisfy probe(path, head)."""
    return [p for p in sorted(directory.iterdir()) if p.is_file() and probe(p, head(p))]


def number(args: dict, key: str, path: Path, kind=int, default=None):
    """args[key] as an int (or float), with a one-line error naming the file when it is
    not one, or not one that fits 64 bits (JSON integers have no limit)."""
    value = args.get(key, default)
    if value is None:
        raise ToolchainError(f"{path}: {key} is missing")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        ok = False
    elif isinstance(value, int):
        ok = abs(value) < 1 << 63
    else:
        ok = math.isfinite(value) and (kind is float or (value == int(value) and abs(value) < 2.0 ** 63))
    if not ok:
        raise ToolchainError(f"{path}: {key} should be {'an integer' if kind is int else 'a finite number'}"
                             f" of at most 64 bits, not {reprlib.repr(value)}")
    return kind(value)


def flag(args: dict, key: str, path: Path, default: bool = False) -> bool:
    """args[key] as a JSON boolean: "no", 0 or "false" are not taken for one."""
    value = args.get(key, default)
    if not isinstance(value, bool):
        raise ToolchainError(f"{path}: {key} should be true or false, not {reprlib.repr(value)}")
    return value


def config_from_args(args: dict, path: Path, vocab_size: int, max_seq_len: int, shared: bool) -> ModelConfig:
    """Meta's ModelArgs (params.json, llama2.c's model_args): the FFN width is given as
    hidden_dim (llama2.c) or follows from multiple_of and ffn_dim_multiplier (Meta)."""
    dim = number(args, "dim", path)
    n_heads = number(args, "n_heads", path)
    hidden = args.get("hidden_dim")
    if hidden is None:
        multiplier = args.get("ffn_dim_multiplier")
        multiplier = None if multiplier is None else number(args, "ffn_dim_multiplier", path, float)
        try:
            hidden = ModelConfig.ffn_hidden_dim(dim, number(args, "multiple_of", path, default=256), multiplier)
        except ToolchainError as e:
            raise ToolchainError(f"{path}: {e}") from None
    else:
        hidden = number(args, "hidden_dim", path)
    return checked(ModelConfig(dim=dim, n_layers=number(args, "n_layers", path), n_heads=n_heads,
                               n_kv_heads=number(args, "n_kv_heads", path, default=n_heads),
                               vocab_size=vocab_size, hidden_dim=hidden, max_seq_len=max_seq_len,
                               norm_eps=number(args, "norm_eps", path, float, 1e-5),
                               rope_theta=number(args, "rope_theta", path, float, 10000.0),
                               shared_classifier=shared), path)


def checked(config: ModelConfig, path: Path) -> ModelConfig:
    """config.validate() with the file named in the error."""
    try:
        config.validate()
    except ToolchainError as e:
        raise ToolchainError(f"{path}: {e}") from None
    return config


def llama3_scaling(head_dim: int, rope_theta: float, scaling: dict, path: Path) -> tuple[float, ...]:
    """Frequency factors of a Hugging Face rope_scaling {"rope_type": "llama3", ...}."""
    factor = number(scaling, "factor", path, float)
    low = number(scaling, "low_freq_factor", path, float, 1.0)
    high = number(scaling, "high_freq_factor", path, float, 4.0)
    original = number(scaling, "original_max_position_embeddings", path, int, 8192)
    if factor <= 0 or high <= low or original <= 0:
        raise ToolchainError(f"{path}: llama3 rope_scaling needs factor > 0, high_freq_factor > "
                             f"low_freq_factor and original_max_position_embeddings > 0")
    return llama3_rope_factors(head_dim, rope_theta, factor, low, high, original)


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undoes HF's permutation of wq / wk rows (and of their biases and q/k norms): within
    each head HF keeps the even rotary components first, then the odd ones (rotate_half's
    RoPE); Meta interleaves them."""
    rows = w.shape[0]
    return w.reshape(n_heads, 2, rows // n_heads // 2, -1).transpose(0, 2, 1, 3).reshape(w.shape)


def interleave_rotary(state: dict[str, np.ndarray], n_heads: int, n_kv_heads: int) -> None:
    """`state`'s q and k rows (Meta's names) from rotate_half's order to Meta's adjacent pairs,
    in place: the matrices and biases per head, the per-head norms as one head. Tensors of a
    shape that does not split so are left for the shape check to name."""
    for name, t in state.items():
        if name.endswith(("attention.q_norm.weight", "attention.k_norm.weight")):
            heads = 1
        elif name.endswith(("attention.wq.weight", "attention.wq.bias")):
            heads = n_heads
        elif name.endswith(("attention.wk.weight", "attention.wk.bias")):
            heads = n_kv_heads
        else:
            continue
        if t.ndim in (1, 2) and heads > 0 and t.shape[0] % (2 * heads) == 0:
            state[name] = unpermute(t, heads)


def shift_norms(state: dict[str, np.ndarray]) -> None:
    """Gemma's RMSNorms scale by 1 + w: stored as 1 + w (in float32, as transformers adds
    them), they are plain RMSNorms, as llama.cpp's converter stores them too."""
    for name, t in state.items():
        if name.endswith("norm.weight"):
            state[name] = t + np.float32(1)


def check_zip(path: Path) -> None:
    """Reads every member of a torch.save archive against its CRC-32, which torch.load
    never checks: a flipped byte in the weights would otherwise load as a weight."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            # zipfile reads an archive that has bytes before it where they put it; torch
            # (miniz) reads the offsets as written, in those bytes: torch.save writes none
            if members and min(info.header_offset for info in members) != 0:
                raise ToolchainError(f"{path}: bytes before the archive's first member: not a file torch.save wrote")
            for info in members:
                with archive.open(info) as member:
                    while member.read(1 << 24):
                        pass
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
        raise ToolchainError(f"{path}: truncated or damaged PyTorch file ({brief(e)})") from None
    except OSError as e:
        raise ToolchainError(f"{path}: cannot read it ({e.strerror or e})") from None


def load_torch(path: Path):
    """A torch.save file's object, unpickled with weights_only=True (tensors and plain
    values only: a checkpoint cannot run code), after its CRC-32s are checked. Read
    through a file object: given a path, torch.load picks the format by the file's name."""
    import torch

    check_zip(path)
    try:
        with open(path, "rb") as f:
            return torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise ToolchainError(f"{path}: refused: this PyTorch file holds more than tensors and plain "
                             f"values, so it cannot be loaded safely (weights_only)") from None
    except (RuntimeError, EOFError, ValueError, OSError, TypeError, KeyError, AttributeError, IndexError,
            OverflowError, MemoryError) as e:  # a data.pkl that unpickles into nonsense fails in torch anywhere
        raise ToolchainError(f"{path}: truncated or damaged PyTorch file ({brief(e).split('. ')[0]})") from None


def check_tensors(state: dict, path: Path) -> None:
    """Refuses tensors the importers cannot read as dense float arrays: sparse or
    quantized ones, those on the meta device (no data), integer or complex ones."""
    import torch

    for name, t in state.items():
        if not isinstance(t, torch.Tensor):
            continue
        if t.layout != torch.strided:
            what = "sparse"
        elif t.device.type == "meta":
            what = "on the meta device (it holds no data)"
        elif t.is_quantized:
            what = "quantized"
        elif not t.dtype.is_floating_point:
            what = f"{str(t.dtype).removeprefix('torch.')}, not floating point"
        else:
            continue
        raise ToolchainError(f"{path}: tensor {name} is {what}")


def is_tensor(t) -> bool:
    """A torch tensor? Without importing torch: with torch not loaded there is none."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(t, torch.Tensor)


def as_float32(t) -> np.ndarray:
    """A float32 numpy copy of a torch tensor (any float dtype, bf16 included) or array."""
    if is_tensor(t):
        import torch

        return t.detach().to(torch.float32).numpy().copy()
    return np.array(t, dtype=np.float32)


def model_from_state(config: ModelConfig, state: dict, path: Path) -> Model:
    """A Model from tensors named as Meta names them (extra RoPE buffers ignored); a
    missing or foreign tensor is an error naming the file."""
    want = tensor_shapes(config)
    for name in state:
        if name not in want and name != "output.weight" and name not in NOT_WEIGHTS:
            raise ToolchainError(f"{path}: unexpected tensor {name} (not a Llama checkpoint?)")
    missing = [n for n in want if n not in state]
    if missing:
        raise ToolchainError(f"{path}: tensor {missing[0]} is missing")
    return Model(config, {name: as_float32(state[name]) for name in want})


def shares_classifier(state: dict) -> bool:
    """No output.weight, or one equal to the embedding: the classifier is the embedding."""
    out, emb = state.get("output.weight"), state.get("tok_embeddings.weight")
    if out is None:
        return True
    if emb is None or tuple(out.shape) != tuple(emb.shape):
        return False
    if is_tensor(out):
        import torch

        return torch.equal(out, emb)
    return bool(np.array_equal(out, emb))
