"""Writers of the checkpoint formats llmtool imports, laid out as each ecosystem's
own tools lay them out, from a Model in Meta's names and layout. They are written
independently of toolchain.importers (their own name tables and permutations), so a
test that imports what they write checks the importers against the formats."""
from __future__ import annotations

import json
from pathlib import Path

import gguf
import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import save_file as save_torch_file

from toolchain.config import Model, ModelConfig

Q8_0_BLOCK = 32  # ggml's Q8_0: 32 int8 values and one f16 scale per block of a row


def meta_args(c: ModelConfig, multiple_of: int, ffn_dim_multiplier: float | None) -> dict:
    """Meta's ModelArgs for `c` (its FFN width follows from multiple_of and the multiplier)."""
    assert ModelConfig.ffn_hidden_dim(c.dim, multiple_of, ffn_dim_multiplier) == c.hidden_dim
    return {"dim": c.dim, "n_layers": c.n_layers, "n_heads": c.n_heads, "n_kv_heads": c.n_kv_heads,
            "vocab_size": c.vocab_size, "multiple_of": multiple_of, "ffn_dim_multiplier": ffn_dim_multiplier,
            "norm_eps": c.norm_eps, "rope_theta": c.rope_theta}


def _torch_state(model: Model) -> dict[str, torch.Tensor]:
    state = {name: torch.from_numpy(t.copy()) for name, t in model.tensors.items()}
    if model.config.shared_classifier:  # llama2.c ties the two parameters: both names are saved
        state["output.weight"] = state["tok_embeddings.weight"]
    return state


def write_train_pt(model: Model, path: Path, multiple_of: int, ffn_dim_multiplier: float | None,
                   compiled: bool = False) -> None:
    """llama2.c train.py's checkpoint (torch.compile'd model: "_orig_mod." names)."""
    c = model.config
    prefix = "_orig_mod." if compiled else ""
    args = meta_args(c, multiple_of, ffn_dim_multiplier) | {"max_seq_len": c.max_seq_len, "dropout": 0.0}
    torch.save({"model": {prefix + k: v for k, v in _torch_state(model).items()}, "model_args": args,
                "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4}]}, "iter_num": 100,
                "best_val_loss": 1.5, "config": {"batch_size": 8, "dataset": "tinystories"}}, path)


# fairscale's split of each matrix across model-parallel ranks (norms are replicated)
COLUMN_SPLIT = ("wq.weight", "wk.weight", "wv.weight", "w1.weight", "w3.weight", "output.weight")
ROW_SPLIT = ("wo.weight", "w2.weight")


def write_meta(model: Model, directory: Path, multiple_of: int, ffn_dim_multiplier: float | None,
               shards: int = 1, vocab_in_params: bool = True, embedding_axis: int = 0) -> None:
    """Meta's download: params.json and consolidated.NN.pth per rank. Llama 2 splits the
    embedding along its columns (embedding_axis 1), Llama 3 along its rows (0)."""
    directory.mkdir(parents=True, exist_ok=True)
    params = meta_args(model.config, multiple_of, ffn_dim_multiplier)
    if not vocab_in_params:
        params["vocab_size"] = -1
    (directory / "params.json").write_text(json.dumps(params))
    state = _torch_state(model)
    parts = [{} for _ in range(shards)]
    for name, t in state.items():
        axis = 0 if name.endswith(COLUMN_SPLIT) else 1 if name.endswith(ROW_SPLIT) else \
            embedding_axis if name == "tok_embeddings.weight" else None
        pieces = torch.chunk(t, shards, dim=axis) if axis is not None else [t] * shards
        for part, piece in zip(parts, pieces):
            part[name] = piece.clone()
    for i, part in enumerate(parts):
        part["rope.freqs"] = torch.ones(model.config.head_dim // 2)  # Llama 2 ships this buffer
        torch.save(part, directory / f"consolidated.{i:02d}.pth")


def hf_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """convert_llama_weights_to_hf's permute: each head's rotary pairs (2i, 2i+1) become
    rows i and i + head_dim/2, for HF's rotate_half RoPE."""
    rows, cols = w.shape
    return w.reshape(n_heads, rows // n_heads // 2, 2, cols).transpose(0, 2, 1, 3).reshape(rows, cols)


def llamacpp_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
    """convert_hf_to_gguf's permute of HF's q/k rows, for llama.cpp's adjacent-pair RoPE."""
    rows, cols = w.shape
    return w.reshape(n_heads, 2, rows // n_heads // 2, cols).swapaxes(1, 2).reshape(rows, cols)


HF_LAYER = {"attention_norm.weight": "input_layernorm.weight", "attention.wq.weight": "self_attn.q_proj.weight",
            "attention.wk.weight": "self_attn.k_proj.weight", "attention.wv.weight": "self_attn.v_proj.weight",
            "attention.wo.weight": "self_attn.o_proj.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
            "feed_forward.w1.weight": "mlp.gate_proj.weight", "feed_forward.w2.weight": "mlp.down_proj.weight",
            "feed_forward.w3.weight": "mlp.up_proj.weight"}
HF_TOP = {"tok_embeddings.weight": "model.embed_tokens.weight", "norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}


def hf_tensors(model: Model) -> dict[str, np.ndarray]:
    """The model's tensors as LlamaForCausalLM names and lays them out."""
    c = model.config
    out = {}
    for name, t in model.tensors.items():
        if name.startswith("layers."):
            _, i, rest = name.split(".", 2)
            if rest == "attention.wq.weight":
                t = hf_permute(t, c.n_heads)
            elif rest == "attention.wk.weight":
                t = hf_permute(t, c.n_kv_heads)
            out[f"model.layers.{i}.{HF_LAYER[rest]}"] = np.ascontiguousarray(t)
        else:
            out[HF_TOP[name]] = t
    return out


def write_hf(model: Model, directory: Path, shards: int = 1, rope_scaling: dict | None = None,
             bfloat16: bool = False) -> Model:
    """A save_pretrained directory: config.json, model.safetensors or N shards and the index;
    returns the model as stored (rounded to bfloat16 if asked, as most HF checkpoints are)."""
    c = model.config
    directory.mkdir(parents=True, exist_ok=True)
    config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": c.dim,
              "intermediate_size": c.hidden_dim, "num_hidden_layers": c.n_layers,
              "num_attention_heads": c.n_heads, "num_key_value_heads": c.n_kv_heads, "vocab_size": c.vocab_size,
              "max_position_embeddings": c.max_seq_len, "rms_norm_eps": c.norm_eps, "rope_theta": c.rope_theta,
              "rope_scaling": rope_scaling, "tie_word_embeddings": c.shared_classifier, "hidden_act": "silu",
              "attention_bias": False, "mlp_bias": False, "torch_dtype": "bfloat16" if bfloat16 else "float32", "bos_token_id": 1}
    (directory / "config.json").write_text(json.dumps(config, indent=2))
    tensors = hf_tensors(model)
    if bfloat16:
        save_torch_file({n: torch.from_numpy(t).to(torch.bfloat16) for n, t in tensors.items()},
                        directory / "model.safetensors", metadata={"format": "pt"})
        return Model(c, {n: torch.from_numpy(t).to(torch.bfloat16).float().numpy()
                         for n, t in model.tensors.items()})
    if shards == 1:
        save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})
        return model
    names = list(tensors)
    weight_map = {}
    for i, group in enumerate(np.array_split(np.arange(len(names)), shards)):
        file = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        save_file({names[j]: tensors[names[j]] for j in group}, directory / file, metadata={"format": "pt"})
        weight_map |= {names[j]: file for j in group}
    total = sum(t.nbytes for t in tensors.values())
    (directory / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2))
    return model


GGUF_LAYER = {"attention_norm.weight": "attn_norm.weight", "attention.wq.weight": "attn_q.weight",
              "attention.wk.weight": "attn_k.weight", "attention.wv.weight": "attn_v.weight",
              "attention.wo.weight": "attn_output.weight", "ffn_norm.weight": "ffn_norm.weight",
              "feed_forward.w1.weight": "ffn_gate.weight", "feed_forward.w2.weight": "ffn_down.weight",
              "feed_forward.w3.weight": "ffn_up.weight"}
GGUF_TOP = {"tok_embeddings.weight": "token_embd.weight", "norm.weight": "output_norm.weight",
            "output.weight": "output.weight"}


def q8_0_round(w: np.ndarray) -> np.ndarray:
    """What Q8_0 keeps of a matrix: per block of 32 in a row, scale = max|x| / 127 held
    as f16, values rounded (half away from zero) to int8 multiples of it."""
    blocks = w.reshape(-1, Q8_0_BLOCK).astype(np.float64)
    d = np.abs(blocks).max(axis=1, keepdims=True) / 127
    q = np.trunc(blocks / np.where(d == 0, 1, d) + np.copysign(0.5, blocks))
    return (q * d.astype(np.float16).astype(np.float64)).astype(np.float32).reshape(w.shape)


def write_gguf(model: Model, path: Path, qtype=gguf.GGMLQuantizationType.F32, arch: str = "llama",
               rope_freqs: np.ndarray | None = None, metadata: dict | None = None) -> Model:
    """A GGUF as llama.cpp's convert_hf_to_gguf writes one from the HF form of `model`
    (matrices in `qtype`, norms in F32); returns the model as stored (after rounding).
    `metadata` replaces or adds keys ("{arch}" filled in): key -> (value, GGUFValueType[,
    the element type of an array])."""
    c = model.config
    writer = gguf.GGUFWriter(path, arch)
    u32, f32 = gguf.GGUFValueType.UINT32, gguf.GGUFValueType.FLOAT32
    keys = {"{arch}.context_length": (c.max_seq_len, u32), "{arch}.embedding_length": (c.dim, u32),
            "{arch}.block_count": (c.n_layers, u32), "{arch}.feed_forward_length": (c.hidden_dim, u32),
            "{arch}.attention.head_count": (c.n_heads, u32), "{arch}.attention.head_count_kv": (c.n_kv_heads, u32),
            "{arch}.attention.layer_norm_rms_epsilon": (c.norm_eps, f32), "{arch}.rope.freq_base": (c.rope_theta, f32),
            "{arch}.rope.dimension_count": (c.head_dim, u32)} | (metadata or {})
    for key, (value, vtype, *sub_type) in keys.items():
        writer.add_key_value(key.format(arch=arch), value, vtype, *sub_type)
    stored = {}  # in Meta's layout: rounding keeps rows whole, so it commutes with row permutations
    hf = hf_tensors(model)
    for name, meta in model.tensors.items():
        t = meta
        if name.startswith("layers."):
            _, i, rest = name.split(".", 2)
            gguf_name = f"blk.{i}.{GGUF_LAYER[rest]}"
            if rest in ("attention.wq.weight", "attention.wk.weight"):  # from HF's rows, as the converter
                heads = c.n_heads if rest == "attention.wq.weight" else c.n_kv_heads
                t = llamacpp_permute(hf[f"model.layers.{i}.{HF_LAYER[rest]}"], heads)
        else:
            gguf_name = GGUF_TOP[name]
        if t.ndim == 1 or qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F64):
            writer.add_tensor(gguf_name, t.astype(np.float64 if qtype == gguf.GGMLQuantizationType.F64 else np.float32))
            stored[name] = meta
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(gguf_name, t.astype(np.float16))
            stored[name] = meta.astype(np.float16).astype(np.float32)
        else:
            writer.add_tensor(gguf_name, gguf.quants.quantize(t, qtype), raw_dtype=qtype)
            stored[name] = q8_0_round(meta)
    if rope_freqs is not None:
        writer.add_tensor("rope_freqs.weight", rope_freqs.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return Model(c, stored)


GGUF_ARCH = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma3_text": "gemma3"}


def write_gguf_from_hf(model, path: Path) -> None:
    """A float32 GGUF as convert_hf_to_gguf writes one from a transformers model: names
    from gguf's own TensorNameMap, llama's q/k rows permuted for its adjacent-pair RoPE
    (the others' left in HF's order), Gemma's norms stored as 1 + w; gemma3's sliding
    layers as a flag per layer."""
    c = model.config
    arch = GGUF_ARCH[c.model_type]
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    writer = gguf.GGUFWriter(path, arch)
    u32, f32 = gguf.GGUFValueType.UINT32, gguf.GGUFValueType.FLOAT32
    rope = c.rope_parameters.get("full_attention", c.rope_parameters)
    keys = {"context_length": (c.max_position_embeddings, u32), "embedding_length": (c.hidden_size, u32),
            "block_count": (c.num_hidden_layers, u32), "feed_forward_length": (c.intermediate_size, u32),
            "attention.head_count": (c.num_attention_heads, u32),
            "attention.head_count_kv": (c.num_key_value_heads, u32), "attention.key_length": (head_dim, u32),
            "attention.value_length": (head_dim, u32), "attention.layer_norm_rms_epsilon": (c.rms_norm_eps, f32),
            "rope.freq_base": (rope["rope_theta"], f32), "rope.dimension_count": (head_dim, u32)}
    if arch == "gemma3":
        keys |= {"attention.sliding_window": (c.sliding_window, u32),
                 "rope.freq_base_swa": (c.rope_parameters["sliding_attention"]["rope_theta"], f32),
                 "attention.sliding_window_pattern": ([t == "sliding_attention" for t in c.layer_types],
                                                      gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.BOOL)}
    for key, (value, vtype, *sub_type) in keys.items():
        writer.add_key_value(f"{arch}.{key}", value, vtype, *sub_type)
    names = gguf.TensorNameMap(gguf.MODEL_ARCH[arch.upper()], c.num_hidden_layers)
    for name, t in model.state_dict().items():
        if name == "lm_head.weight" and c.tie_word_embeddings:
            continue
        t = t.float().numpy()
        if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            t = llamacpp_permute(t, c.num_attention_heads if "q_proj" in name else c.num_key_value_heads)
        if arch == "gemma3" and name.endswith("norm.weight"):
            t = t + np.float32(1)
        writer.add_tensor(names.get_name(name, try_suffixes=(".weight", ".bias")), np.ascontiguousarray(t))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
