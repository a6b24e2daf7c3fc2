"""The one in-memory model every importer produces: a config and named tensors."""
from __future__ import annotations

import math
import reprlib
from dataclasses import asdict, dataclass, fields

import numpy as np

from .errors import ToolchainError

# Sizes a config may claim: far above any real model's (Llama 3.1 405B: dim 16,384,
# 126 layers, hidden 53,248, 128 heads; Gemma 3: 262,144 tokens), far below what would
# have a compile allocate without bound. max_seq_len is only a claim: a compile's
# context is capped by the board and --context (fit.py), never taken from it alone.
SIZE_LIMITS = {"dim": 1 << 16, "n_layers": 1024, "n_heads": 1024, "n_kv_heads": 1024,
               "vocab_size": 1 << 20, "hidden_dim": 1 << 18, "max_seq_len": (1 << 63) - 1}
NORM_EPS_MAX = 1.0
ROPE_THETA_RANGE = (1.0, 1e12)  # exclusive below: the frequencies are theta ** (-2i / head_dim)


@dataclass(frozen=True)
class ModelConfig:
    dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    hidden_dim: int
    max_seq_len: int
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    shared_classifier: bool = True  # output.weight is tok_embeddings.weight
    # RoPE scaling (Llama 3.1's rule, linear scaling) as llama.cpp keeps it: each of the
    # head_dim / 2 frequencies is divided by its factor; empty means no scaling.
    rope_freq_factors: tuple[float, ...] = ()

    @property
    def head_dim(self) -> int:
        return self.dim // self.n_heads

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    @staticmethod
    def ffn_hidden_dim(dim: int, multiple_of: int, ffn_dim_multiplier: float | None = None) -> int:
        """Meta's rule: 2/3 of 4*dim, scaled by the multiplier, rounded up to multiple_of."""
        if not 0 < multiple_of <= SIZE_LIMITS["hidden_dim"]:
            raise ToolchainError(f"model config: multiple_of must be from 1 to {SIZE_LIMITS['hidden_dim']:,}, "
                                 f"not {reprlib.repr(multiple_of)}")
        hidden = int(2 * (4 * dim) / 3)
        if ffn_dim_multiplier is not None:
            scaled = ffn_dim_multiplier * hidden
            if not (math.isfinite(scaled) and 0 < scaled <= SIZE_LIMITS["hidden_dim"]):
                raise ToolchainError(f"model config: ffn_dim_multiplier {reprlib.repr(ffn_dim_multiplier)} gives a "
                                     f"feed-forward width outside 1..{SIZE_LIMITS['hidden_dim']:,}")
            hidden = int(scaled)
        return multiple_of * ((hidden + multiple_of - 1) // multiple_of)

    def validate(self) -> None:
        for name, limit in SIZE_LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= limit:
                raise ToolchainError(f"model config: {name} must be an integer from 1 to {limit:,}, "
                                     f"not {reprlib.repr(value)}")
        if not isinstance(self.shared_classifier, bool):
            raise ToolchainError(f"model config: shared_classifier must be true or false, "
                                 f"not {reprlib.repr(self.shared_classifier)}")
        if not (math.isfinite(self.norm_eps) and 0 < self.norm_eps <= NORM_EPS_MAX and np.float32(self.norm_eps) > 0):
            raise ToolchainError(f"model config: norm_eps must be a number above 0 and at most {NORM_EPS_MAX:g} "
                                 f"(1e-5 or 1e-6 in Llama models), not {reprlib.repr(self.norm_eps)}")
        low, high = ROPE_THETA_RANGE
        if not (math.isfinite(self.rope_theta) and low < self.rope_theta <= high):
            raise ToolchainError(f"model config: rope_theta must be a number above {low:g} and at most {high:g} "
                                 f"(10000 in Llama 2, 500000 in Llama 3), not {reprlib.repr(self.rope_theta)}")
        if self.dim % self.n_heads:
            raise ToolchainError(f"model config: dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ToolchainError(f"model config: n_heads {self.n_heads} is not a multiple of "
                                 f"n_kv_heads {self.n_kv_heads}")
        if self.head_dim % 2:
            raise ToolchainError(f"model config: head_dim {self.head_dim} is odd; RoPE rotates pairs")
        factors = self.rope_freq_factors
        if factors and len(factors) != self.head_dim // 2:
            raise ToolchainError(f"model config: rope_freq_factors needs {self.head_dim // 2} factors "
                                 f"(one per RoPE frequency), not {len(factors)}")
        bad = next((i for i, f in enumerate(factors) if not (math.isfinite(f) and f > 0)), None)
        if bad is not None:
            raise ToolchainError(f"model config: RoPE frequency factor {bad} is {reprlib.repr(factors[bad])}; "
                                 f"each must be a positive number")

    def n_params(self) -> int:
        return sum(int(np.prod(s)) for s in tensor_shapes(self).values())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        # JSON gives lists back; the config stays frozen and hashable with tuples
        return cls(**{f.name: tuple(d[f.name]) if isinstance(d[f.name], list) else d[f.name]
                      for f in fields(cls) if f.name in d})


def tensor_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor's name (Meta's naming) and shape ([out, in] for matrices), in model order."""
    q_dim = c.n_heads * c.head_dim
    shapes: dict[str, tuple[int, ...]] = {"tok_embeddings.weight": (c.vocab_size, c.dim)}
    for i in range(c.n_layers):
        p = f"layers.{i}."
        shapes |= {
            p + "attention_norm.weight": (c.dim,),
            p + "attention.wq.weight": (q_dim, c.dim),
            p + "attention.wk.weight": (c.kv_dim, c.dim),
            p + "attention.wv.weight": (c.kv_dim, c.dim),
            p + "attention.wo.weight": (c.dim, q_dim),
            p + "ffn_norm.weight": (c.dim,),
            p + "feed_forward.w1.weight": (c.hidden_dim, c.dim),
            p + "feed_forward.w2.weight": (c.dim, c.hidden_dim),
            p + "feed_forward.w3.weight": (c.hidden_dim, c.dim),
        }
    shapes["norm.weight"] = (c.dim,)
    if not c.shared_classifier:
        shapes["output.weight"] = (c.vocab_size, c.dim)
    return shapes


@dataclass
class Model:
    config: ModelConfig
    tensors: dict[str, np.ndarray]  # float32, names and shapes as tensor_shapes(config)

    def check(self) -> None:
        """Refuses a model whose tensors do not match its config or hold NaN/Inf."""
        self.config.validate()
        want = tensor_shapes(self.config)
        if set(self.tensors) != set(want):
            missing = sorted(set(want) - set(self.tensors)) or sorted(set(self.tensors) - set(want))
            raise ToolchainError(f"model tensors do not match its config: {missing[0]} "
                                 f"{'missing' if missing[0] in want else 'unexpected'}")
        for name, shape in want.items():
            t = self.tensors[name]
            if t.shape != shape:
                raise ToolchainError(f"tensor {name} has shape {t.shape}, expected {shape}")
            if not np.isfinite(t).all():
                raise ToolchainError(f"tensor {name} contains NaN or Inf")


def random_model(config: ModelConfig, seed: int = 0, std: float = 0.02) -> Model:
    """Random weights of a real shape, for tests: normal matrices, norms near 1."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in tensor_shapes(config).items():
        if len(shape) == 1:
            t = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            t = std * rng.standard_normal(shape)
        tensors[name] = t.astype(np.float32)
    return Model(config, tensors)


# llama2.c's TinyStories models, by name: analyze and the benchmarks use their shapes.
LLAMA2C_SHAPES = {
    "stories15M": ModelConfig(dim=288, n_layers=6, n_heads=6, n_kv_heads=6, vocab_size=32000,
                              hidden_dim=768, max_seq_len=256),
    "stories42M": ModelConfig(dim=512, n_layers=8, n_heads=8, n_kv_heads=8, vocab_size=32000,
                              hidden_dim=1376, max_seq_len=1024),
    "stories110M": ModelConfig(dim=768, n_layers=12, n_heads=12, n_kv_heads=12, vocab_size=32000,
                               hidden_dim=2048, max_seq_len=1024),
}
