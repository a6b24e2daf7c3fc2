"""What `llmtool train` takes: the training settings and their defaults, in a module
that imports neither torch nor numpy, so that `llmtool train --help` and `llmtool
demo` say what they will do before anything heavy is loaded. train.py trains."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ToolchainError

if TYPE_CHECKING:
    from ..config import ModelConfig

CHECKPOINT = "ckpt.pt"
# The model_args of a checkpoint: exactly llama2.c train.py's keys (the .pt importer reads them).
MODEL_ARGS = ("dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "hidden_dim", "multiple_of",
              "max_seq_len", "norm_eps", "rope_theta", "dropout")
DTYPES = ("auto", "float32", "bf16", "fp16")
STORIES, VOCAB_SIZE = 20000, 512  # the tiny_stories example's corpus and tokenizer


@dataclass
class TrainConfig:
    corpus: str                     # text file, one document per line
    tokenizer: str                  # SentencePiece .model
    out_dir: str                    # where ckpt.pt goes
    # the model (vocab_size comes from the tokenizer)
    dim: int = 128
    n_layers: int = 5
    n_heads: int = 4
    n_kv_heads: int | None = None   # None: as many as n_heads (fewer: grouped-query attention)
    multiple_of: int = 32
    hidden_dim: int | None = None   # None: Meta's rule from dim and multiple_of
    max_seq_len: int = 256
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    dropout: float = 0.0
    # optimisation: one iteration = grad_accum micro-batches per process
    batch_size: int = 16
    grad_accum: int = 1
    max_iters: int = 500
    learning_rate: float = 3e-3
    min_lr: float = 3e-4
    warmup_iters: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0
    # held-out loss, measured (and a checkpoint written) every eval_interval iterations
    eval_interval: int = 100
    eval_iters: int = 10
    val_fraction: float = 0.05
    seed: int = 1337
    dtype: str = "auto"             # auto: bf16/fp16 autocast on CUDA, float32 on CPU
    device: str = "auto"
    threads: int | None = None      # CPU threads per process [the idle cores; under torchrun, shared out]

    def model_config(self, vocab_size: int) -> ModelConfig:
        from ..config import ModelConfig

        hidden = self.hidden_dim or ModelConfig.ffn_hidden_dim(self.dim, self.multiple_of)
        return ModelConfig(dim=self.dim, n_layers=self.n_layers, n_heads=self.n_heads,
                           n_kv_heads=self.n_kv_heads or self.n_heads, vocab_size=vocab_size, hidden_dim=hidden,
                           max_seq_len=self.max_seq_len, norm_eps=self.norm_eps,
                           rope_theta=self.rope_theta, shared_classifier=True)

    def check(self) -> None:
        positive = ("batch_size", "grad_accum", "max_iters", "eval_interval", "eval_iters")
        for name in positive:
            if getattr(self, name) < 1:
                raise ToolchainError(f"training: {name} must be at least 1, not {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ToolchainError(f"training: dropout must be in [0, 1), not {self.dropout}")
        if not 0 < self.val_fraction < 1:
            raise ToolchainError(f"training: val_fraction must be in (0, 1), not {self.val_fraction}")
        if self.dtype not in DTYPES:
            raise ToolchainError(f"training: dtype must be one of {', '.join(DTYPES)}, not {self.dtype}")
        self.model_config(vocab_size=1).validate()  # the shape, before any file is written
