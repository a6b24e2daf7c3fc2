"""Hugging Face directories of LlamaForCausalLM (Llama, SmolLM2, TinyLlama),
Qwen2ForCausalLM (Qwen2.5), Qwen3ForCausalLM and Gemma3ForCausalLM: config.json and
the weights in safetensors, one file or several listed by model.safetensors.index.json.

Files are found by content: the JSON object with hidden_size and
num_hidden_layers is the config, the one with a weight_map the index (whose
file names are used as written), every other file with a safetensors header a
weight file. A safetensors or config file passed alone stands for its directory.

HF's conversion from Meta's checkpoints permutes the rows of wq and wk so that
RoPE rotates the two halves of each head (rotate_half) instead of Meta's adjacent
pairs, and Qwen and Gemma are trained so; this importer permutes them (and the q/k
biases and norms) to Meta's layout, so every format ends in it. Gemma's norms
(1 + w) are stored as 1 + w. rope_scaling "llama3" (Llama 3.1 / 3.2) and "linear"
become per-frequency factors (ModelConfig.rope_freq_factors); other kinds are
refused, as is every key asking for what the model does not do (an activation, MoE
experts, biases beyond Qwen2's): one line naming the key.
"""
from __future__ import annotations

import reprlib
from pathlib import Path

import numpy as np
from safetensors import SafetensorError, safe_open

from ..config import Model, ModelConfig
from ..errors import ToolchainError, brief
from .common import (as_float32, checked, files_where, find_json, flag, head, interleave_rotary, is_safetensors,
                     llama3_scaling, model_from_state, number, read_json, shift_norms)

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
    "self_attn.q_proj.bias": "attention.wq.bias",
    "self_attn.k_proj.bias": "attention.wk.bias",
    "self_attn.v_proj.bias": "attention.wv.bias",
    "self_attn.q_norm.weight": "attention.q_norm.weight",
    "self_attn.k_norm.weight": "attention.k_norm.weight",
}
# Gemma normalizes before and after each block: its post_attention_layernorm is the
# attention's output norm, pre_feedforward_layernorm Llama's ffn_norm
GEMMA_LAYER_NAMES = LAYER_NAMES | {
    "post_attention_layernorm.weight": "post_attention_norm.weight",
    "pre_feedforward_layernorm.weight": "ffn_norm.weight",
    "post_feedforward_layernorm.weight": "post_ffn_norm.weight",
}
TOP_NAMES = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.norm.weight": "norm.weight",
             "lm_head.weight": "output.weight"}
# architecture -> model_type
FAMILIES = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3",
            "Gemma3ForCausalLM": "gemma3_text"}
# Keys that ask for what no family here does: switches when true (attention_bias puts
# one on o_proj too), mixture-of-experts sizes unless null or 0
REFUSED_SWITCHES = ("attention_bias", "mlp_bias", "use_sliding_window", "use_bidirectional_attention")
REFUSED_SIZES = ("num_experts", "num_local_experts", "num_experts_per_tok", "moe_intermediate_size",
                 "n_routed_experts")


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


def _object(cfg: dict, key: str, path: Path) -> dict:
    """cfg[key] as an object; null or absent is an empty one (0 is not "none")."""
    value = cfg.get(key)
    if value is not None and not isinstance(value, dict):
        raise ToolchainError(f"{path}: {key} should be an object, not {reprlib.repr(value)}")
    return value or {}


def _rope(cfg: dict, path: Path) -> dict:
    """rope_scaling, or rope_parameters where newer transformers keep it (and rope_theta)."""
    return _object(cfg, "rope_scaling", path) or _object(cfg, "rope_parameters", path)


def _rope_factors(scaling: dict, head_dim: int, theta: float, path: Path) -> tuple[float, ...]:
    kind = scaling.get("rope_type", scaling.get("type", "default"))
    if kind == "default":
        return ()
    if kind == "llama3":
        return llama3_scaling(head_dim, theta, scaling, path)
    if kind == "linear":
        return (number(scaling, "factor", path, float),) * (head_dim // 2)
    raise ToolchainError(f"{path}: rope_scaling of type {reprlib.repr(kind)} is not supported (llama3 and linear are)")


def _family(cfg: dict, path: Path) -> str:
    kind = cfg.get("model_type")
    family = next((arch for arch, model_type in FAMILIES.items() if model_type == kind), None)
    if family is None or (cfg.get("architectures") or [family]) != [family]:
        raise ToolchainError(f"{path}: model_type {reprlib.repr(kind)} / architectures "
                             f"{reprlib.repr(cfg.get('architectures'))} is not one of {', '.join(FAMILIES)}")
    for key in REFUSED_SWITCHES:
        if flag(cfg, key, path):
            raise ToolchainError(f"{path}: {key} true is not supported")
    for key in REFUSED_SIZES:
        if cfg.get(key) not in (None, 0):
            raise ToolchainError(f"{path}: {key} {reprlib.repr(cfg[key])} is not supported (no mixture of experts)")
    return family


def _activation(cfg: dict, family: str, path: Path) -> str:
    """The FFN gate's activation: SiLU, or Gemma's GELU with the tanh approximation."""
    keys, want, ours = (("hidden_activation", "hidden_act"), "gelu_pytorch_tanh", "gelu_tanh") \
        if family == "Gemma3ForCausalLM" else (("hidden_act",), "silu", "silu")
    for name in keys:
        value = cfg.get(name, want)
        if value != want:
            raise ToolchainError(f"{path}: {name} {reprlib.repr(value)} is not supported ({want} is)")
    return ours


def _sliding(cfg: dict, family: str, n_layers: int, path: Path) -> tuple[int, tuple[int, ...]]:
    """The sliding window and its layers: layer_types, or Gemma 3's older
    sliding_window_pattern (every pattern-th layer global)."""
    types = cfg.get("layer_types")
    if types is None and family == "Gemma3ForCausalLM":
        pattern = number(cfg, "sliding_window_pattern", path, default=cfg.get("_sliding_window_pattern", 6))
        types = ["full_attention" if pattern > 0 and (i + 1) % pattern == 0 else "sliding_attention"
                 for i in range(n_layers)]
    types = types or []
    kinds = ("sliding_attention", "full_attention")
    if not isinstance(types, list) or (types and len(types) != n_layers) or any(t not in kinds for t in types):
        raise ToolchainError(f"{path}: layer_types should list sliding_attention or full_attention for each of "
                             f"the {n_layers} layers, not {reprlib.repr(types)}")
    layers = tuple(i for i, t in enumerate(types) if t == "sliding_attention")
    return (number(cfg, "sliding_window", path) if layers else 0), layers


def _gemma_rope(cfg: dict, head_dim: int, path: Path) -> dict:
    """Gemma 3's two RoPEs: transformers 5 keeps them as rope_parameters per layer type,
    older configs as rope_theta and rope_scaling (the global layers') and
    rope_local_base_freq (the sliding ones', never scaled)."""
    params = _object(cfg, "rope_parameters", path)
    if "full_attention" in params or "sliding_attention" in params:
        full = _object(params, "full_attention", path)
        local = _object(params, "sliding_attention", path)
        theta = number(full, "rope_theta", path, float, 1e6)
        local_theta = number(local, "rope_theta", path, float, 1e4)
    else:
        full, local = _rope(cfg, path), {}
        theta = number(cfg, "rope_theta", path, float, full.get("rope_theta", 1e6))
        local_theta = number(cfg, "rope_local_base_freq", path, float, 1e4)
    if local.get("rope_type", "default") != "default":
        raise ToolchainError(f"{path}: the sliding layers' RoPE of type {reprlib.repr(local['rope_type'])} is not "
                             f"supported (only unscaled)")
    return {"rope_theta": theta, "rope_local_theta": local_theta,
            "rope_freq_factors": _rope_factors(full, head_dim, theta, path)}


def _gemma(cfg: dict, head_dim: int, path: Path) -> dict:
    if cfg.get("attn_logit_softcapping") is not None:  # Gemma 2's; Gemma 3 has q/k norms instead
        raise ToolchainError(f"{path}: attn_logit_softcapping {reprlib.repr(cfg['attn_logit_softcapping'])} is "
                             f"not supported (transformers' Gemma 3 does not apply it either)")
    final_cap = cfg.get("final_logit_softcapping")
    return {"qk_norm": True, "post_norms": True, "scaled_embeddings": True,
            "query_pre_attn_scalar": number(cfg, "query_pre_attn_scalar", path, float, head_dim),
            "final_softcap": 0.0 if final_cap is None else number(cfg, "final_logit_softcapping", path, float),
            **_gemma_rope(cfg, head_dim, path)}


def _config(cfg: dict, family: str, path: Path) -> ModelConfig:
    gemma = family == "Gemma3ForCausalLM"
    dim = number(cfg, "hidden_size", path)
    n_heads = number(cfg, "num_attention_heads", path)
    n_layers = number(cfg, "num_hidden_layers", path)
    # absent: Llama's dim / n_heads (0 where that is no integer, for ModelConfig to name)
    head_dim = number(cfg, "head_dim", path, default=0) or (dim // n_heads if n_heads > 0 and dim % n_heads == 0
                                                            else 0)
    window, sliding = _sliding(cfg, family, n_layers, path)
    options = {"head_dim": head_dim, "ffn_activation": _activation(cfg, family, path), "sliding_window": window,
               "sliding_layers": sliding, "qkv_bias": family == "Qwen2ForCausalLM",
               "qk_norm": family == "Qwen3ForCausalLM"}
    if gemma:  # the local RoPE base is the sliding layers', if it has any
        options |= _gemma(cfg, head_dim, path)
        options["rope_local_theta"] *= bool(sliding)
    else:
        scaling = _rope(cfg, path)
        theta = number(cfg, "rope_theta", path, float, scaling.get("rope_theta", 10000.0))
        options |= {"rope_theta": theta, "rope_freq_factors": _rope_factors(scaling, head_dim, theta, path)}
    return checked(ModelConfig(
        dim=dim, n_layers=n_layers, n_heads=n_heads,
        n_kv_heads=number(cfg, "num_key_value_heads", path, default=n_heads),
        vocab_size=number(cfg, "vocab_size", path), hidden_dim=number(cfg, "intermediate_size", path),
        max_seq_len=number(cfg, "max_position_embeddings", path),
        norm_eps=number(cfg, "rms_norm_eps", path, float, 1e-6),
        shared_classifier=flag(cfg, "tie_word_embeddings", path, default=gemma), **options), path)


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
    family = _family(cfg, config_path)
    config = _config(cfg, family, config_path)
    gemma = family == "Gemma3ForCausalLM"
    layer_names = GEMMA_LAYER_NAMES if gemma else LAYER_NAMES
    state = {}
    for name, t in _read_tensors(_weight_files(directory)).items():
        if name.endswith("rotary_emb.inv_freq"):  # old checkpoints store RoPE's frequencies
            continue
        if name in TOP_NAMES:
            state[TOP_NAMES[name]] = t
            continue
        parts = name.split(".", 3)  # model, layers, N, rest
        if len(parts) != 4 or parts[:2] != ["model", "layers"] or parts[3] not in layer_names:
            raise ToolchainError(f"{directory}: unexpected tensor {name} (not a {family} checkpoint?)")
        state[f"layers.{parts[2]}.{layer_names[parts[3]]}"] = t
    interleave_rotary(state, config.n_heads, config.n_kv_heads)
    if gemma:
        shift_norms(state)
    if config.shared_classifier:  # some tied checkpoints store the copy anyway: a copy it must be
        copy = state.pop("output.weight", None)
        if copy is not None and not np.array_equal(copy, state.get("tok_embeddings.weight")):
            raise ToolchainError(f"{config_path}: tie_word_embeddings is true, but lm_head.weight differs "
                                 f"from the embeddings")
    return model_from_state(config, state, directory)
