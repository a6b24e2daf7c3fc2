"""The one in-memory model every importer produces: a config and named tensors."""
from __future__ import annotations

import math
import reprlib
import zlib
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
# The gate's activation of the gated feed-forward: SwiGLU (Llama, Qwen) or GeGLU with
# GELU's tanh approximation (Gemma)
FFN_ACTIVATIONS = ("silu", "gelu_tanh")


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
    # What the other families do differently, each off (as Llama) by default:
    head_dim: int = 0  # 0: dim / n_heads (Llama, Qwen2); Qwen3 and Gemma 3 give their own
    qkv_bias: bool = False  # Qwen2: biases on the q, k and v projections
    qk_norm: bool = False  # Qwen3, Gemma 3: RMSNorm of each head's q and k, before RoPE
    post_norms: bool = False  # Gemma 3: RMSNorm of the attention's and the FFN's outputs before their adds
    ffn_activation: str = "silu"  # FFN_ACTIVATIONS
    scaled_embeddings: bool = False  # Gemma: embedding rows times sqrt(dim), rounded to float32
    query_pre_attn_scalar: float = 0.0  # Gemma: scores scaled by its -1/2 power, not head_dim's; 0: head_dim
    sliding_window: int = 0  # keys a sliding layer's query sees, its own included; 0: none
    sliding_layers: tuple[int, ...] = ()  # the layers whose attention slides (Gemma 3: five in six)
    rope_local_theta: float = 0.0  # RoPE base of the sliding layers, unscaled (Gemma 3); 0: as the others
    final_softcap: float = 0.0  # logits become cap * tanh(logits / cap); 0: none

    def __post_init__(self):
        # head_dim 0 stands for Llama's dim / n_heads; left 0 when that is no integer, for
        # validate() to name
        n_heads = self.n_heads
        if self.head_dim == 0 and isinstance(n_heads, int) and n_heads > 0 and isinstance(self.dim, int) \
                and self.dim % n_heads == 0:
            object.__setattr__(self, "head_dim", self.dim // n_heads)

    @property
    def q_dim(self) -> int:
        return self.n_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.n_kv_heads * self.head_dim

    @property
    def score_divisor(self) -> float:
        """What the q.k scores are divided by: sqrt(head_dim), or Gemma's own."""
        return (self.query_pre_attn_scalar or self.head_dim) ** 0.5

    @property
    def is_llama(self) -> bool:
        """Nothing but Llama's architecture: a build carries none of the other families' code."""
        return self.q_dim == self.dim and all(getattr(self, f.name) == f.default for f in fields(self)
                                              if f.name in FAMILY_OPTIONS and f.name != "head_dim")

    @property
    def arch_digest(self) -> int:
        """The family options as one number the image header carries (0 for a Llama),
        so that a build refuses a separate weight image of another architecture with
        the same sizes."""
        if self.is_llama:
            return 0
        digest = zlib.crc32(repr([(name, getattr(self, name)) for name in sorted(FAMILY_OPTIONS)]).encode())
        return digest & 0x7FFFFFFF or 1  # an int in C too

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
        if self.head_dim == 0:
            raise ToolchainError(f"model config: dim {self.dim} is not a multiple of n_heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads:
            raise ToolchainError(f"model config: n_heads {self.n_heads} is not a multiple of "
                                 f"n_kv_heads {self.n_kv_heads}")
        if isinstance(self.head_dim, bool) or not isinstance(self.head_dim, int) or \
                not 0 < self.head_dim <= SIZE_LIMITS["dim"]:
            raise ToolchainError(f"model config: head_dim must be an integer from 1 to {SIZE_LIMITS['dim']:,}, "
                                 f"not {reprlib.repr(self.head_dim)}")
        if self.head_dim % 2:
            raise ToolchainError(f"model config: head_dim {self.head_dim} is odd; RoPE rotates pairs")
        self._validate_family_options()
        factors = self.rope_freq_factors
        if factors and len(factors) != self.head_dim // 2:
            raise ToolchainError(f"model config: rope_freq_factors needs {self.head_dim // 2} factors "
                                 f"(one per RoPE frequency), not {len(factors)}")
        bad = next((i for i, f in enumerate(factors) if not (math.isfinite(f) and f > 0)), None)
        if bad is not None:
            raise ToolchainError(f"model config: RoPE frequency factor {bad} is {reprlib.repr(factors[bad])}; "
                                 f"each must be a positive number")

    def _validate_family_options(self) -> None:
        for name in ("qkv_bias", "qk_norm", "post_norms", "scaled_embeddings"):
            if not isinstance(getattr(self, name), bool):
                raise ToolchainError(f"model config: {name} must be true or false, "
                                     f"not {reprlib.repr(getattr(self, name))}")
        if self.ffn_activation not in FFN_ACTIVATIONS:
            raise ToolchainError(f"model config: ffn_activation must be one of {', '.join(FFN_ACTIVATIONS)}, "
                                 f"not {reprlib.repr(self.ffn_activation)}")
        for name in ("query_pre_attn_scalar", "final_softcap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not (math.isfinite(value) and 0 <= value <= 1e12):
                raise ToolchainError(f"model config: {name} must be a number from 0 (none) to 1e12, "
                                     f"not {reprlib.repr(value)}")
        window, layers = self.sliding_window, self.sliding_layers
        if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window < 1 << 31:
            raise ToolchainError(f"model config: sliding_window must be an integer from 0 (none), "
                                 f"not {reprlib.repr(window)}")
        if not isinstance(layers, tuple) or any(isinstance(i, bool) or not isinstance(i, int) for i in layers) or \
                list(layers) != sorted(set(layers)) or any(not 0 <= i < self.n_layers for i in layers):
            raise ToolchainError(f"model config: sliding_layers must be distinct layer numbers in order, "
                                 f"not {reprlib.repr(layers)}")
        if bool(window) != bool(layers):
            raise ToolchainError("model config: sliding_window and sliding_layers go together")
        low, high = ROPE_THETA_RANGE
        local = self.rope_local_theta
        if local != 0 and not (isinstance(local, (int, float)) and math.isfinite(local) and low < local <= high):
            raise ToolchainError(f"model config: rope_local_theta must be 0 (as rope_theta) or a number above "
                                 f"{low:g} and at most {high:g}, not {reprlib.repr(local)}")
        if local and not layers:
            raise ToolchainError("model config: rope_local_theta is the sliding layers' and there are none")

    def n_params(self) -> int:
        return sum(int(np.prod(s)) for s in tensor_shapes(self).values())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        # JSON gives lists back; the config stays frozen and hashable with tuples
        return cls(**{f.name: tuple(d[f.name]) if isinstance(d[f.name], list) else d[f.name]
                      for f in fields(cls) if f.name in d})


# The fields beyond Llama's (each one's default is Llama's)
FAMILY_OPTIONS = ("head_dim", "qkv_bias", "qk_norm", "post_norms", "ffn_activation", "scaled_embeddings",
                  "query_pre_attn_scalar", "sliding_window", "sliding_layers", "rope_local_theta", "final_softcap")


def layer_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    """One layer's tensors (names after "layers.N.") and shapes, in model order."""
    shapes: dict[str, tuple[int, ...]] = {"attention_norm.weight": (c.dim,),
                                          "attention.wq.weight": (c.q_dim, c.dim)}
    if c.qkv_bias:
        shapes["attention.wq.bias"] = (c.q_dim,)
    shapes["attention.wk.weight"] = (c.kv_dim, c.dim)
    if c.qkv_bias:
        shapes["attention.wk.bias"] = (c.kv_dim,)
    shapes["attention.wv.weight"] = (c.kv_dim, c.dim)
    if c.qkv_bias:
        shapes["attention.wv.bias"] = (c.kv_dim,)
    if c.qk_norm:
        shapes |= {"attention.q_norm.weight": (c.head_dim,), "attention.k_norm.weight": (c.head_dim,)}
    shapes["attention.wo.weight"] = (c.dim, c.q_dim)
    if c.post_norms:
        shapes["post_attention_norm.weight"] = (c.dim,)
    shapes |= {"ffn_norm.weight": (c.dim,), "feed_forward.w1.weight": (c.hidden_dim, c.dim),
               "feed_forward.w2.weight": (c.dim, c.hidden_dim), "feed_forward.w3.weight": (c.hidden_dim, c.dim)}
    if c.post_norms:
        shapes["post_ffn_norm.weight"] = (c.dim,)
    return shapes


def tensor_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor's name (Meta's naming) and shape ([out, in] for matrices), in model order."""
    shapes: dict[str, tuple[int, ...]] = {"tok_embeddings.weight": (c.vocab_size, c.dim)}
    layer = layer_shapes(c)
    for i in range(c.n_layers):
        shapes |= {f"layers.{i}.{name}": shape for name, shape in layer.items()}
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
    """Random weights of a real shape, for tests: normal matrices, norms near 1, biases near 0."""
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, shape in tensor_shapes(config).items():
        if name.endswith(".bias"):
            t = 0.1 * rng.standard_normal(shape)
        elif len(shape) == 1:
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

# The small published models, by name (their config.json on the Hugging Face hub),
# for analyze: their exact dims, vocabularies (Qwen's embedding padded to 151,936
# rows beyond its 151,665 tokens), tied classifiers, head dims and Gemma 3's sliding
# layers (five in six, window 512). tests/test_analyze.py checks each against the
# importer's reading of tests/hf_families.py's configuration at full size.
PUBLISHED_SHAPES = {
    "SmolLM2-135M": ModelConfig(dim=576, n_layers=30, n_heads=9, n_kv_heads=3, vocab_size=49152,
                                hidden_dim=1536, max_seq_len=8192, rope_theta=100000.0),
    "SmolLM2-360M": ModelConfig(dim=960, n_layers=32, n_heads=15, n_kv_heads=5, vocab_size=49152,
                                hidden_dim=2560, max_seq_len=8192, rope_theta=100000.0),
    "Qwen2.5-0.5B": ModelConfig(dim=896, n_layers=24, n_heads=14, n_kv_heads=2, vocab_size=151936,
                                hidden_dim=4864, max_seq_len=32768, norm_eps=1e-6, rope_theta=1000000.0,
                                qkv_bias=True),
    "Qwen3-0.6B": ModelConfig(dim=1024, n_layers=28, n_heads=16, n_kv_heads=8, vocab_size=151936,
                              hidden_dim=3072, max_seq_len=40960, norm_eps=1e-6, rope_theta=1000000.0,
                              head_dim=128, qk_norm=True),
    "TinyLlama-1.1B": ModelConfig(dim=2048, n_layers=22, n_heads=32, n_kv_heads=4, vocab_size=32000,
                                  hidden_dim=5632, max_seq_len=2048, shared_classifier=False),
    "Gemma-3-270M": ModelConfig(dim=640, n_layers=18, n_heads=4, n_kv_heads=1, vocab_size=262144,
                                hidden_dim=2048, max_seq_len=32768, norm_eps=1e-6, rope_theta=1000000.0,
                                head_dim=256, qk_norm=True, post_norms=True, ffn_activation="gelu_tanh",
                                scaled_embeddings=True, query_pre_attn_scalar=256.0, sliding_window=512,
                                sliding_layers=tuple(i for i in range(18) if i % 6 != 5),
                                rope_local_theta=10000.0),
}
# Every shape analyze knows by name
NAMED_SHAPES = LLAMA2C_SHAPES | PUBLISHED_SHAPES
