"""Hugging Face LlamaForCausalLM directories: config.json and the weights in
safetensors, one file or several listed by model.safetensors.index.json.

Files are found by content: the JSON object with hidden_size and
num_hidden_layers is the config, the one with a weight_map the index (whose
file names are used as written), every other file with a safetensors header a
weight file. A safetensors or config file passed alone stands for its directory.

HF's conversion from Meta's checkpoints permutes the rows of wq and wk so that
RoPE rotates the two halves of each head (rotate_half) instead of Meta's adjacent
pairs; this importer permutes them back, so every format ends in Meta's layout.
rope_scaling "llama3" (Llama 3.1 / 3.2) and "linear" become per-frequency
factors (ModelConfig.rope_freq_factors); other kinds are refused.
"""
from __future__ import annotations

import reprlib
from dataclasses import replace
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from ..config import Model, ModelConfig
from ..errors import ToolchainError, brief
from .common import (as_float32, checked, files_where, find_json, flag, head, is_safetensors, llama3_scaling,
                     model_from_state, number, read_json)

# Hugging Face name (after "model.layers.N.") -> Meta name (after "layers.N.")
LAYER_NAMES = {
    "input_layernorm.weight": "attention_norm.weight",
    "self_attn.q_proj.weight": "attention.wq.weight",
    "self_attn.k_proj.weight": "attention.wk.weight",
    "self_attn.v_proj.weight": "attention.wv.weight",
    "self_attn.o_proj.weight": "attention.wo.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "feed_forward.w1.weight",
    "mlp.down_proj.weight": "feed_forward.w2.weight",
    "mlp.up_proj.weight": "feed_forward.w3.weight",
}
TOP_NAMES = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.norm.weight": "norm.weight",
             "lm_head.weight": "output.weight"}


def is_config(obj: dict) -> bool:
    return "hidden_size" in obj and "num_hidden_layers" in obj


def _directory(path: Path, head: bytes) -> Path | None:
    """The model directory `path` names, if it is one, its config, index or a weight file."""
    if path.is_dir():
        return path if find_json(path, is_config) else None
    if is_safetensors(path, head):
        return path.parent
    obj = read_json(path) if head.lstrip().startswith(b"{") else None
    return path.parent if obj is not None and (is_config(obj) or "weight_map" in obj) else None


def is_hf(path: Path, head: bytes) -> bool:
    return _directory(path, head) is not None


def unpermute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """Undoes HF's permutation of wq / wk rows: within each head HF keeps the even
    rotary components first, then the odd ones; Meta interleaves them."""
    rows, cols = w.shape
    return w.reshape(n_heads, 2, rows // n_heads // 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def _rope(cfg: dict, path: Path) -> dict:
    """rope_scaling, or rope_parameters where newer transformers keep it (and rope_theta);
    null or absent is no scaling, anything but an object an error (0 is not "none")."""
    for key in ("rope_scaling", "rope_parameters"):
        rope = cfg.get(key)
        if rope is not None and not isinstance(rope, dict):
            raise ToolchainError(f"{path}: {key} should be an object, not {reprlib.repr(rope)}")
        if rope:
            return rope
    return {}


def _rope_factors(cfg: dict, head_dim: int, theta: float, path: Path) -> tuple[float, ...]:
    scaling = _rope(cfg, path)
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return ()
    if kind == "llama3":
        return llama3_scaling(head_dim, theta, scaling, path)
    if kind == "linear":
        return (number(scaling, "factor", path, float),) * (head_dim // 2)
    raise ToolchainError(f"{path}: rope_scaling of type {reprlib.repr(kind)} is not supported (llama3 and linear are)")


def _config(cfg: dict, path: Path) -> ModelConfig:
    kind = cfg.get("model_type")
    if kind != "llama" or cfg.get("architectures", ["LlamaForCausalLM"]) != ["LlamaForCausalLM"]:
        raise ToolchainError(f"{path}: model_type {reprlib.repr(kind)} / architectures "
                             f"{reprlib.repr(cfg.get('architectures'))} is not a Hugging Face LlamaForCausalLM")
    if cfg.get("hidden_act", "silu") != "silu" or flag(cfg, "attention_bias", path) or flag(cfg, "mlp_bias", path):
        raise ToolchainError(f"{path}: only Llama's SiLU FFN without biases is supported")
    dim = number(cfg, "hidden_size", path)
    n_heads = number(cfg, "num_attention_heads", path)
    if n_heads > 0 and cfg.get("head_dim") not in (None, dim // n_heads):
        raise ToolchainError(f"{path}: head_dim {cfg['head_dim']} is not hidden_size / num_attention_heads")
    theta = number(cfg, "rope_theta", path, float, _rope(cfg, path).get("rope_theta", 10000.0))
    config = checked(ModelConfig(
        dim=dim, n_layers=number(cfg, "num_hidden_layers", path), n_heads=n_heads,
        n_kv_heads=number(cfg, "num_key_value_heads", path, default=n_heads),
        vocab_size=number(cfg, "vocab_size", path), hidden_dim=number(cfg, "intermediate_size", path),
        max_seq_len=number(cfg, "max_position_embeddings", path),
        norm_eps=number(cfg, "rms_norm_eps", path, float, 1e-6), rope_theta=theta,
        shared_classifier=flag(cfg, "tie_word_embeddings", path)), path)
    return replace(config, rope_freq_factors=_rope_factors(cfg, config.head_dim, theta, path))


def _weight_files(directory: Path) -> list[Path]:
    index = find_json(directory, lambda o: isinstance(o.get("weight_map"), dict))
    if index is not None:
        index_path, obj = index
        names = list(obj["weight_map"].values())
        bad = [n for n in names if not isinstance(n, str) or n in ("", ".", "..") or "\0" in n or Path(n).name != n]
        if bad:  # only plain names of files beside the index: never "../x" or "/etc/passwd"
            raise ToolchainError(f"{index_path}: the weight_map names {reprlib.repr(bad[0])}, which is not "
                                 f"the name of a file in {directory}")
        files = [directory / name for name in sorted(set(names))]
        for f in files:
            try:
                found = f.is_file()
            except OSError:  # a name too long for the file system, say
                found = False
            if not found:
                raise ToolchainError(f"{index_path}: names {reprlib.repr(f.name)}, which is not in {directory}")
        return files
    files = files_where(directory, is_safetensors)
    if not files:
        raise ToolchainError(f"{directory}: a Hugging Face config but no safetensors weights")
    return files


def _read_tensors(files: list[Path]) -> dict[str, np.ndarray]:
    tensors = {}
    for f in files:
        try:
            with safe_open(f, framework="pt") as st:
                for name in st.keys():
                    tensors[name] = as_float32(st.get_tensor(name))
        except (SafetensorError, OSError, ValueError) as e:
            raise ToolchainError(f"{f}: truncated or damaged safetensors file ({brief(e)})") from None
    return tensors


def read_hf(path: Path | str) -> Model:
    path = Path(path)
    directory = _directory(path, b"" if path.is_dir() else head(path))
    found = find_json(directory, is_config)
    if found is None:
        raise ToolchainError(f"{path}: safetensors weights need their Hugging Face config.json in {directory}")
    config_path, cfg = found
    config = _config(cfg, config_path)
    state = {}
    for name, t in _read_tensors(_weight_files(directory)).items():
        if name.endswith("rotary_emb.inv_freq"):  # old checkpoints store RoPE's frequencies
            continue
        if name in TOP_NAMES:
            state[TOP_NAMES[name]] = t
            continue
        parts = name.split(".", 3)  # model, layers, N, rest
        if len(parts) != 4 or parts[:2] != ["model", "layers"] or parts[3] not in LAYER_NAMES:
            raise ToolchainError(f"{directory}: unexpected tensor {name} (not a LlamaForCausalLM checkpoint?)")
        meta_name = f"layers.{parts[2]}.{LAYER_NAMES[parts[3]]}"
        if meta_name.endswith(("wq.weight", "wk.weight")) and t.ndim == 2:
            heads = config.n_heads if meta_name.endswith("wq.weight") else config.n_kv_heads
            if t.shape[0] % (2 * heads) == 0:
                t = unpermute(t, heads)
        state[meta_name] = t
    if config.shared_classifier:  # some tied checkpoints store the copy anyway: a copy it must be
        copy = state.pop("output.weight", None)
        if copy is not None and not np.array_equal(copy, state.get("tok_embeddings.weight")):
            raise ToolchainError(f"{config_path}: tie_word_embeddings is true, but lm_head.weight differs "
                                 f"from the embeddings")
    return model_from_state(config, state, directory)
