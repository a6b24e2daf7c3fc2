"""Meta's own checkpoints (Llama 2 and Llama 3 downloads): a directory with
params.json and one consolidated.NN.pth per model-parallel rank.

params.json holds dim, n_layers, n_heads, n_kv_heads, vocab_size (-1 in Llama 2:
the embedding says it), multiple_of, ffn_dim_multiplier, norm_eps, rope_theta and
use_scaled_rope (Llama 3.1). Files are found by content: the JSON object with dim
and n_layers is the params, the torch.save archives are the shards, in name order.

Several shards are merged as fairscale split them: column-parallel matrices (wq, wk,
wv, w1, w3, output) along their rows, row-parallel ones (wo, w2) along their columns,
the embedding along its columns in Llama 2 (ParallelEmbedding) or its rows in Llama 3
(VocabParallelEmbedding), told apart by its shape; norms are replicated.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Model
from ..errors import ToolchainError
from ..rope import llama3_rope_factors
from .common import (check_tensors, config_from_args, files_where, find_json, flag, is_tensor, is_zip, load_torch,
                     model_from_state, number, read_json, shares_classifier)

if TYPE_CHECKING:
    import torch

COLUMN_PARALLEL = ("attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
                   "feed_forward.w1.weight", "feed_forward.w3.weight", "output.weight")
ROW_PARALLEL = ("attention.wo.weight", "feed_forward.w2.weight")
# Meta's reference code applies Llama 3.1's scaling with these constants when
# params.json says use_scaled_rope (factor, low and high frequency factors, original context)
META_ROPE_SCALING = (8.0, 1.0, 4.0, 8192)


def is_params(obj: dict) -> bool:
    return "dim" in obj and "n_layers" in obj


def is_meta(path: Path, head: bytes) -> bool:
    """A directory holding a params.json, or that params.json itself."""
    if path.is_dir():
        return find_json(path, is_params) is not None
    obj = read_json(path) if head.lstrip().startswith(b"{") else None
    return obj is not None and is_params(obj)


def _merge(name: str, parts: list[torch.Tensor], dim: int) -> torch.Tensor:
    import torch

    if len(parts) == 1 or parts[0].dim() == 1:
        return parts[0]
    if name.endswith(COLUMN_PARALLEL):
        return torch.cat(parts, dim=0)
    if name.endswith(ROW_PARALLEL):
        return torch.cat(parts, dim=1)
    if name == "tok_embeddings.weight":
        return torch.cat(parts, dim=1 if parts[0].shape[1] != dim else 0)
    return parts[0]  # anything else is replicated


def _max_seq_len(params: dict, path: Path) -> int:
    """params.json rarely says it: Llama 2 was trained on 4096 positions, Llama 3 on
    8192, Llama 3.1's scaled RoPE reaches 131072."""
    default = 131072 if flag(params, "use_scaled_rope", path) else 4096 if params.get("rope_theta", 10000) == 10000 \
        else 8192
    return number(params, "max_seq_len", path, default=default)


def read_meta(path: Path | str) -> Model:
    path = Path(path)
    directory = path if path.is_dir() else path.parent
    found = find_json(directory, is_params)
    if found is None:
        raise ToolchainError(f"{path}: a Meta checkpoint needs its params.json in {directory}")
    params_path, params = found
    shards = files_where(directory, lambda p, h: is_zip(h))
    if not shards:
        raise ToolchainError(f"{params_path}: no consolidated.*.pth weights beside it in {directory}")
    states = [load_torch(s) for s in shards]
    for shard, state in zip(shards, states):
        if not isinstance(state, dict) or not all(map(is_tensor, state.values())):
            raise ToolchainError(f"{shard}: not a Meta checkpoint shard (expected a state dict of tensors)")
        check_tensors(state, shard)
    names = set(states[0])
    for shard, state in zip(shards[1:], states[1:]):
        if set(state) != names:
            raise ToolchainError(f"{shard}: its tensors differ from {shards[0].name}'s: not shards of one model")
    dim = number(params, "dim", params_path)
    try:
        state = {n: _merge(n, [s[n] for s in states], dim) for n in states[0]}
    except RuntimeError:  # torch.cat of shapes that do not line up
        raise ToolchainError(f"{directory}: the {len(shards)} shards' tensors do not fit together") from None
    if "tok_embeddings.weight" not in state:
        raise ToolchainError(f"{shards[0]}: tensor tok_embeddings.weight is missing")
    vocab = number(params, "vocab_size", params_path, default=-1)
    if vocab == -1:
        vocab = int(state["tok_embeddings.weight"].shape[0])
    config = config_from_args(params, params_path, vocab, _max_seq_len(params, params_path),
                              shares_classifier(state))
    if flag(params, "use_scaled_rope", params_path):
        config = replace(config, rope_freq_factors=llama3_rope_factors(config.head_dim, config.rope_theta,
                                                                       *META_ROPE_SCALING))
    return model_from_state(config, state, shards[0] if len(shards) == 1 else directory)
