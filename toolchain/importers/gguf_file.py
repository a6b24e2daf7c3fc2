"""GGUF files (llama.cpp) of the llama, qwen2, qwen3 and gemma3 architectures, read
with the gguf package.

Hyperparameters come from the ARCH.* metadata (embedding_length, block_count,
feed_forward_length, attention.head_count / head_count_kv / key_length,
layer_norm_rms_epsilon, rope.freq_base, context_length; gemma3's
attention.sliding_window, and where present sliding_window_pattern,
rope.freq_base_swa and the soft-capping keys), the vocabulary size from token_embd's
rows. Tensors token_embd, blk.N.attn_norm / attn_q / attn_k / attn_v / attn_output /
ffn_norm / ffn_gate / ffn_down / ffn_up (qwen2: attn_q/k/v.bias; qwen3 and gemma3:
attn_q_norm / attn_k_norm; gemma3: post_attention_norm / post_ffw_norm), output_norm
and output (absent: shared classifier) are dequantized to float32 by gguf's own
routines (F32, F16, Q8_0 and whatever else gguf can dequantize).

llama.cpp's converter applies its own permutation to the attn_q / attn_k rows of
a Hugging Face llama, which exactly reverses HF's: llama.cpp's llama RoPE rotates
adjacent pairs, as Meta's does. So llama rows are in Meta's layout already and are
taken as they are. qwen2, qwen3 and gemma3 are left in HF's order (llama.cpp rotates
them as NEOX, rotate_half's pairs) and are permuted here as hf.py permutes them;
gemma3's norms are stored as 1 + w already. Llama 3.1's RoPE scaling arrives as the
rope_freqs tensor, a divisor per frequency, which is what ModelConfig.rope_freq_factors
holds; rope.scaling.type "linear" divides every frequency by rope.scaling.factor.
llama.cpp keeps no query_pre_attn_scalar: gemma3's scores are scaled by head_dim's,
as in every Gemma 3 but the 27B.
"""
from __future__ import annotations

import reprlib
from dataclasses import replace
from pathlib import Path

import gguf
import numpy as np

from ..config import Model, ModelConfig
from ..errors import ToolchainError, brief
from .common import checked, interleave_rotary, model_from_state

ARCHS = ("llama", "qwen2", "qwen3", "gemma3")
NEOX_ARCHS = ("qwen2", "qwen3", "gemma3")  # their q/k rows in rotate_half's order
GEMMA3_SLIDING_PATTERN, GEMMA3_LOCAL_THETA = 6, 10000.0  # llama.cpp's, where the file does not say
LAYER_NAMES = {  # GGUF name (after "blk.N.") -> Meta name (after "layers.N.")
    "attn_norm.weight": "attention_norm.weight",
    "attn_q.weight": "attention.wq.weight",
    "attn_k.weight": "attention.wk.weight",
    "attn_v.weight": "attention.wv.weight",
    "attn_output.weight": "attention.wo.weight",
    "ffn_norm.weight": "ffn_norm.weight",
    "ffn_gate.weight": "feed_forward.w1.weight",
    "ffn_down.weight": "feed_forward.w2.weight",
    "ffn_up.weight": "feed_forward.w3.weight",
    "attn_q.bias": "attention.wq.bias",
    "attn_k.bias": "attention.wk.bias",
    "attn_v.bias": "attention.wv.bias",
    "attn_q_norm.weight": "attention.q_norm.weight",
    "attn_k_norm.weight": "attention.k_norm.weight",
    "post_attention_norm.weight": "post_attention_norm.weight",
    "post_ffw_norm.weight": "post_ffn_norm.weight",
}
TOP_NAMES = {"token_embd.weight": "tok_embeddings.weight", "output_norm.weight": "norm.weight",
             "output.weight": "output.weight"}
ROPE_FREQS = "rope_freqs.weight"


class _Reader(gguf.GGUFReader):
    """gguf's reader, but a read past the end of the file is an error: gguf slices its
    memory map there into empty arrays and goes on, so an array that claims 2^64
    elements beyond the end looped for ever on zero-byte reads."""

    def _get(self, offset, dtype, count=1, override_order=None):
        if offset + np.dtype(dtype).itemsize * int(count) > len(self.data):
            raise ValueError(f"a field at offset {offset:,} runs past the end of the file")
        return super()._get(offset, dtype, count, override_order)


def _open(path: Path) -> gguf.GGUFReader:
    try:
        reader = _Reader(path)
    except (ValueError, IndexError, KeyError, TypeError, OSError, OverflowError) as e:
        # gguf reads past the end of a truncated file into short arrays and fails on them
        raise ToolchainError(f"{path}: truncated or damaged GGUF file ({brief(e)})") from None
    _check_data(reader, path)
    return reader


def _check_data(reader: gguf.GGUFReader, path: Path) -> None:
    """The data section is the tensors' bytes, each on the file's alignment, one after
    another with only the padding between them: gguf itself checks only that each lies
    inside the file, so overlapping tensors, or a tensor entry lost from a damaged
    header (its bytes left over), would pass."""
    align = reader.alignment
    spans = sorted((t.data_offset, t.data_offset + t.n_bytes, t.name) for t in reader.tensors)
    end, last = reader.data_offset, None
    for start, stop, name in spans + [(len(reader.data), None, None)]:
        if name is not None and (start - reader.data_offset) % align:
            raise ToolchainError(f"{path}: tensor {name}'s data is not aligned to {align} bytes: damaged GGUF file")
        if start < end:
            where = f"tensor {last}'s" if last else "the header's"
            raise ToolchainError(f"{path}: tensor {name}'s data overlaps {where}: damaged GGUF file")
        if start - end >= align:
            raise ToolchainError(f"{path}: {start - end:,} bytes at offset {end:,} belong to no tensor: "
                                 f"damaged GGUF file")
        end, last = stop, name


def _value(reader: gguf.GGUFReader, key: str, path: Path, default=None, kind=None):
    """Metadata `key`: a single value (of type `kind` if given) or `default` when absent."""
    field = reader.get_field(key)
    if field is None:
        if default is None:
            raise ToolchainError(f"{path}: GGUF metadata {key} is missing")
        return default
    try:
        value = field.contents()
    except UnicodeDecodeError:
        raise ToolchainError(f"{path}: GGUF metadata {key} is not UTF-8 text: damaged GGUF file") from None
    allowed = (int, float) if kind is float else kind
    if kind is not None and (isinstance(value, (bool, list)) or not isinstance(value, allowed)):
        raise ToolchainError(f"{path}: GGUF metadata {key} is {reprlib.repr(value)}, not a single {kind.__name__}")
    if field.types == [gguf.GGUFValueType.FLOAT32]:
        return float(str(np.float32(value)))  # the shortest decimal of the float32: 1e-05, not 9.99e-06
    return value


FLOAT_TYPES = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.F64)


def _dequantize(t: gguf.ReaderTensor, path: Path) -> np.ndarray:
    if t.tensor_type in FLOAT_TYPES:  # gguf reads these as numpy arrays of their type already
        return np.array(t.data, dtype=np.float32).reshape(tuple(reversed(t.shape.tolist())))
    try:
        values = gguf.quants.dequantize(t.data, t.tensor_type)
    except NotImplementedError:
        raise ToolchainError(f"{path}: tensor {t.name} is {t.tensor_type.name}, "
                             f"which gguf cannot dequantize") from None
    return np.array(values, dtype=np.float32).reshape(tuple(reversed(t.shape.tolist())))


def _rope_factors(meta, freqs: np.ndarray | None, head_dim: int, path: Path) -> tuple[float, ...]:
    keys = gguf.Keys.Rope
    kind = meta(keys.SCALING_TYPE, str, "none")
    if kind == "linear":
        return (meta(keys.SCALING_FACTOR, float),) * (head_dim // 2)
    if kind != "none":
        raise ToolchainError(f"{path}: RoPE scaling {reprlib.repr(kind)} is not supported (linear and Llama 3's are)")
    return () if freqs is None else tuple(float(f) for f in freqs.reshape(-1))


def _sliding_layers(reader: gguf.GGUFReader, arch: str, n_layers: int, path: Path) -> tuple[int, ...]:
    """gemma3's sliding layers: sliding_window_pattern as one bool per layer (newer
    llama.cpp), as a period (every period-th layer global), or llama.cpp's 6."""
    key = gguf.Keys.Attention.SLIDING_WINDOW_PATTERN.format(arch=arch)
    field = reader.get_field(key)
    pattern = GEMMA3_SLIDING_PATTERN if field is None else field.contents()
    if isinstance(pattern, list) and len(pattern) == n_layers and all(isinstance(b, bool) for b in pattern):
        return tuple(i for i, sliding in enumerate(pattern) if sliding)
    if isinstance(pattern, int) and not isinstance(pattern, bool) and pattern > 0:
        return tuple(i for i in range(n_layers) if (i + 1) % pattern)
    raise ToolchainError(f"{path}: GGUF metadata {key} is {reprlib.repr(pattern)}, neither a layer period "
                         f"nor a flag for each of the {n_layers} layers")


def _family_options(reader: gguf.GGUFReader, arch: str, meta, n_layers: int, path: Path) -> dict:
    """What qwen2, qwen3 and gemma3 do beyond llama (ModelConfig's options)."""
    if arch == "qwen2":
        return {"qkv_bias": True}
    if arch == "qwen3":
        return {"qk_norm": True}
    if arch != "gemma3":
        return {}
    llm, sliding = gguf.Keys.LLM, _sliding_layers(reader, arch, n_layers, path)
    if meta(llm.ATTN_LOGIT_SOFTCAPPING, float, 0.0):
        raise ToolchainError(f"{path}: GGUF metadata {llm.ATTN_LOGIT_SOFTCAPPING.format(arch=arch)}: soft-capped "
                             f"attention scores are not supported")
    return {"qk_norm": True, "post_norms": True, "ffn_activation": "gelu_tanh", "scaled_embeddings": True,
            "sliding_window": meta(gguf.Keys.Attention.SLIDING_WINDOW, int) if sliding else 0,
            "sliding_layers": sliding,
            "rope_local_theta": meta(gguf.Keys.Rope.FREQ_BASE_SWA, float, GEMMA3_LOCAL_THETA) if sliding else 0.0,
            "final_softcap": meta(llm.FINAL_LOGIT_SOFTCAPPING, float, 0.0)}


def _config(reader: gguf.GGUFReader, arch: str, tensors: dict, freqs: np.ndarray | None,
            path: Path) -> ModelConfig:
    def meta(key: str, kind, default=None):
        return kind(_value(reader, key.format(arch=arch), path, default, kind))

    llm, attention, rope = gguf.Keys.LLM, gguf.Keys.Attention, gguf.Keys.Rope
    if meta(llm.EXPERT_COUNT, int, 0):
        raise ToolchainError(f"{path}: GGUF metadata {llm.EXPERT_COUNT.format(arch=arch)} asks for a mixture of "
                             f"experts, which is not supported")
    dim, n_heads, n_layers = meta(llm.EMBEDDING_LENGTH, int), meta(attention.HEAD_COUNT, int), meta(llm.BLOCK_COUNT, int)
    head_dim = meta(attention.KEY_LENGTH, int, 0)  # 0: ModelConfig's dim / n_heads
    if meta(attention.VALUE_LENGTH, int, head_dim) != head_dim:
        raise ToolchainError(f"{path}: GGUF metadata {attention.VALUE_LENGTH.format(arch=arch)} differs from "
                             f"the key length {head_dim}; only equal ones are supported")
    if "tok_embeddings.weight" not in tensors:
        raise ToolchainError(f"{path}: tensor token_embd.weight is missing")
    config = checked(ModelConfig(
        dim=dim, n_layers=n_layers, n_heads=n_heads, n_kv_heads=meta(attention.HEAD_COUNT_KV, int, n_heads),
        vocab_size=int(tensors["tok_embeddings.weight"].shape[0]),
        hidden_dim=meta(llm.FEED_FORWARD_LENGTH, int), max_seq_len=meta(llm.CONTEXT_LENGTH, int),
        norm_eps=meta(attention.LAYERNORM_RMS_EPS, float, 1e-5),
        rope_theta=meta(rope.FREQ_BASE, float, 10000.0),
        shared_classifier="output.weight" not in tensors, head_dim=head_dim,
        **_family_options(reader, arch, meta, n_layers, path)), path)
    rotated = meta(rope.DIMENSION_COUNT, int, config.head_dim)
    if rotated != config.head_dim:
        raise ToolchainError(f"{path}: RoPE rotates {rotated} of each head's {config.head_dim} "
                             f"dimensions; only full rotation is supported")
    return checked(replace(config, rope_freq_factors=_rope_factors(meta, freqs, config.head_dim, path)), path)


def read_gguf(path: Path | str) -> Model:
    path = Path(path)
    reader = _open(path)
    arch = _value(reader, gguf.Keys.General.ARCHITECTURE, path, kind=str)
    if arch not in ARCHS:
        raise ToolchainError(f"{path}: GGUF architecture {reprlib.repr(arch)} is not one of {', '.join(ARCHS)}")
    tensors = {}
    for t in reader.tensors:
        if t.name in TOP_NAMES:
            name = TOP_NAMES[t.name]
        elif t.name == ROPE_FREQS:
            name = ROPE_FREQS
        else:
            parts = t.name.split(".", 2)  # blk, N, rest
            if len(parts) != 3 or parts[0] != "blk" or parts[2] not in LAYER_NAMES:
                raise ToolchainError(f"{path}: unexpected tensor {t.name} (not a {arch} GGUF?)")
            name = f"layers.{parts[1]}.{LAYER_NAMES[parts[2]]}"
        tensors[name] = _dequantize(t, path)
    freqs = tensors.pop(ROPE_FREQS, None)
    config = _config(reader, arch, tensors, freqs, path)
    if arch in NEOX_ARCHS:
        interleave_rotary(tensors, config.n_heads, config.n_kv_heads)
    return model_from_state(config, tensors, path)
