"""PyTorch checkpoints (torch.save zip archives), told apart by what they hold.

llama2.c's train.py checkpoint, which `llmtool train` writes too, is the contract:
a dict with
- "model": the state dict, Meta's tensor names (tok_embeddings.weight,
  layers.N.attention.wq.weight, ..., norm.weight, output.weight); a "_orig_mod."
  prefix left by torch.compile is dropped; no output.weight, or one equal to the
  embedding, means a shared classifier;
- "model_args": dim, n_layers, n_heads, n_kv_heads, vocab_size, multiple_of,
  max_seq_len, dropout (ignored), and optionally hidden_dim (else Meta's rule from
  multiple_of and ffn_dim_multiplier), norm_eps (default 1e-5), rope_theta (10000).
Other keys (optimizer state, iter_num, config) are ignored.

A state dict alone is a Meta consolidated.NN.pth shard, read with the params.json
beside it (meta.py).
"""
from __future__ import annotations

from pathlib import Path

from ..config import Model
from ..errors import ToolchainError
from . import meta
from .common import (check_tensors, config_from_args, is_tensor, is_zip, load_torch, model_from_state, number,
                     shares_classifier)

COMPILED_PREFIX = "_orig_mod."


def is_torch_file(path: Path, head: bytes) -> bool:
    return path.is_file() and is_zip(head)


def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(map(is_tensor, obj.values()))


def read_torch_file(path: Path | str) -> Model:
    path = Path(path)
    obj = load_torch(path)
    if isinstance(obj, dict) and "model" in obj and "model_args" in obj:
        return read_train_checkpoint(obj, path)
    if _is_state_dict(obj):
        del obj  # read_meta loads every shard, this one included
        return meta.read_meta(path)
    raise ToolchainError(f"{path}: a PyTorch file that is neither a llama2.c train.py checkpoint "
                         f"(a dict with model and model_args) nor a Meta consolidated.*.pth state dict")


def read_train_checkpoint(checkpoint: dict, path: Path) -> Model:
    args, state = checkpoint["model_args"], checkpoint["model"]
    if not isinstance(args, dict) or not _is_state_dict(state):
        raise ToolchainError(f"{path}: model_args must be a dict and model a state dict of tensors")
    state = {k.removeprefix(COMPILED_PREFIX): v for k, v in state.items()}
    check_tensors(state, path)
    config = config_from_args(args, path, number(args, "vocab_size", path), number(args, "max_seq_len", path),
                              shares_classifier(state))
    return model_from_state(config, state, path)
