"""The one in-memory model every importer produces: a config and named tensors."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from .errors import ToolchainError


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
        hidden = int(2 * (4 * dim) / 3)
        if ffn_dim_multiplier is not None:
            hidden = int(ffn_dim_multiplier * hidden)
        return multiple_of * ((hidden + multiple_of - 1) // multiple_of)

    def validate(self) -> None:
        sizes = {f.name: getattr(self, f.name) for f in fields(self) if f.type == "int"}
        for name, value in sizes.items():
            if value <= 0:
                raise ToolchainError(f"model config: {name} must be positive, not {value}")
        if self.dim % self.n_heads:
            raise ToolchainError(f"model config: dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ToolchainError(f"model config: n_heads {self.n_heads} is not a multiple of "
                                 f"n_kv_heads {self.n_kv_heads}")
        if self.head_dim % 2:
            raise ToolchainError(f"model config: head_dim {self.head_dim} is odd; RoPE rotates pairs")
        if self.rope_freq_factors and (len(self.rope_freq_factors) != self.head_dim // 2
                                       or not all(f > 0 for f in self.rope_freq_factors)):
            raise ToolchainError(f"model config: rope_freq_factors needs {self.head_dim // 2} positive "
                                 f"factors (one per RoPE frequency), not {len(self.rope_freq_factors)}")

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
