"""The reference Llama transformer in PyTorch: the numerical truth every test holds
the C runtime to. Llama 2 and Llama 3 shapes: grouped-query attention, any RoPE
theta, shared or separate classifier; and the options by which Qwen2, Qwen3 and
Gemma 3 differ from it (ModelConfig: q/k/v biases, per-head q/k norms, a head_dim of
their own, post-norms, GeGLU, scaled embeddings, sliding-window layers with their
own RoPE base, soft-capped logits). Gemma's (1 + w) norms arrive as plain ones: the
importers store 1 + w. Float32 throughout."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import Model, ModelConfig
from .rope import rope_table

# Positions the RoPE tables and the KV cache are first made for (fewer if max_seq_len
# is less); both grow when a call reaches past them. A checkpoint's max_seq_len is
# only a claim: 2^31 of it must not size anything.
ROPE_POSITIONS = 8192
CACHE_POSITIONS = 1024


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def apply_rope(x, cos, sin):
    """Rotates the (even, odd) pairs of x [B, T, heads, head_dim] by angles [T, head_dim/2]."""
    x0, x1 = x[..., 0::2], x[..., 1::2]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).flatten(-2)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig, dropout: float = 0.0, sliding: bool = False):
        super().__init__()
        self.dropout = dropout  # training only: F.dropout is the identity in eval mode
        self.n_heads, self.n_kv_heads, self.head_dim = c.n_heads, c.n_kv_heads, c.head_dim
        self.wq = nn.Linear(c.dim, c.q_dim, bias=c.qkv_bias)
        self.wk = nn.Linear(c.dim, c.kv_dim, bias=c.qkv_bias)
        self.wv = nn.Linear(c.dim, c.kv_dim, bias=c.qkv_bias)
        self.wo = nn.Linear(c.q_dim, c.dim, bias=False)
        self.qk_norm = c.qk_norm
        if c.qk_norm:
            self.q_norm = RMSNorm(c.head_dim, c.norm_eps)
            self.k_norm = RMSNorm(c.head_dim, c.norm_eps)
        self.score_divisor = c.score_divisor
        self.window = c.sliding_window if sliding else 0
        self.cache_k = self.cache_v = None  # [B, positions, kv_heads, head_dim] when decoding

    def forward(self, x, start_pos, cos, sin, use_cache):
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.n_heads, self.head_dim)
        k = self.wk(x).view(b, t, self.n_kv_heads, self.head_dim)
        v = self.wv(x).view(b, t, self.n_kv_heads, self.head_dim)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if use_cache:
            self.cache_k[:b, start_pos:start_pos + t] = k
            self.cache_v[:b, start_pos:start_pos + t] = v
            k, v = self.cache_k[:b, :start_pos + t], self.cache_v[:b, :start_pos + t]
        group = self.n_heads // self.n_kv_heads  # query heads sharing one KV head
        k = k.repeat_interleave(group, dim=2).transpose(1, 2)
        v = v.repeat_interleave(group, dim=2).transpose(1, 2)
        q = q.transpose(1, 2)
        scores = q @ k.transpose(2, 3) / self.score_divisor
        # causal: query i (at start_pos + i) sees keys 0 .. start_pos + i; in a sliding
        # layer only the last `window` of them
        keys = k.shape[2]
        mask = torch.ones(t, keys, dtype=torch.bool).tril(diagonal=keys - t)
        if self.window:
            mask &= ~torch.ones(t, keys, dtype=torch.bool).tril(diagonal=keys - t - self.window)
        scores = scores.masked_fill(~mask, float("-inf"))
        out = F.dropout(F.softmax(scores, dim=-1), self.dropout, self.training) @ v
        return F.dropout(self.wo(out.transpose(1, 2).reshape(b, t, -1)), self.dropout, self.training)


ACTIVATIONS = {"silu": F.silu, "gelu_tanh": lambda x: F.gelu(x, approximate="tanh")}


class FeedForward(nn.Module):
    def __init__(self, c: ModelConfig, dropout: float = 0.0):
        super().__init__()
        self.dropout = dropout
        self.activation = ACTIVATIONS[c.ffn_activation]
        self.w1 = nn.Linear(c.dim, c.hidden_dim, bias=False)
        self.w2 = nn.Linear(c.hidden_dim, c.dim, bias=False)
        self.w3 = nn.Linear(c.dim, c.hidden_dim, bias=False)

    def forward(self, x):
        return F.dropout(self.w2(self.activation(self.w1(x)) * self.w3(x)), self.dropout, self.training)


class Block(nn.Module):
    def __init__(self, c: ModelConfig, dropout: float = 0.0, sliding: bool = False):
        super().__init__()
        self.attention_norm = RMSNorm(c.dim, c.norm_eps)
        self.attention = Attention(c, dropout, sliding)
        self.ffn_norm = RMSNorm(c.dim, c.norm_eps)
        self.feed_forward = FeedForward(c, dropout)
        self.post_norms = c.post_norms
        if c.post_norms:
            self.post_attention_norm = RMSNorm(c.dim, c.norm_eps)
            self.post_ffn_norm = RMSNorm(c.dim, c.norm_eps)

    def forward(self, x, start_pos, cos, sin, use_cache):
        h = self.attention(self.attention_norm(x), start_pos, cos, sin, use_cache)
        x = x + (self.post_attention_norm(h) if self.post_norms else h)
        h = self.feed_forward(self.ffn_norm(x))
        return x + (self.post_ffn_norm(h) if self.post_norms else h)


class Transformer(nn.Module):
    """Parameter names match the Model's tensor names, so loading is a state dict.
    `dropout` only acts in train mode (toolchain.train.trainer); inference never sees it."""

    def __init__(self, model: Model | ModelConfig, dropout: float = 0.0):
        super().__init__()
        c = model.config if isinstance(model, Model) else model
        self.config = c
        self.dropout = dropout
        self.tok_embeddings = nn.Embedding(c.vocab_size, c.dim)
        self.layers = nn.ModuleList(Block(c, dropout, i in c.sliding_layers) for i in range(c.n_layers))
        self.norm = RMSNorm(c.dim, c.norm_eps)
        self.output = nn.Linear(c.dim, c.vocab_size, bias=False)
        if c.shared_classifier:
            self.output.weight = self.tok_embeddings.weight
        self._make_rope(min(c.max_seq_len, ROPE_POSITIONS))
        if isinstance(model, Model):
            state = {k: torch.from_numpy(v) for k, v in model.tensors.items()}
            if c.shared_classifier:
                state["output.weight"] = state["tok_embeddings.weight"]
            self.load_state_dict(state, strict=True)
        self.eval()

    def _make_rope(self, positions: int) -> None:
        """The RoPE tables, and the sliding layers' own when they have them."""
        device = self.tok_embeddings.weight.device
        for prefix, local in (("rope", False), ("rope_local", True)):
            if local and not self.config.rope_local_theta:
                continue
            cos, sin = rope_table(self.config, positions, local)
            self.register_buffer(prefix + "_cos", torch.from_numpy(cos).to(device), persistent=False)
            self.register_buffer(prefix + "_sin", torch.from_numpy(sin).to(device), persistent=False)

    def reset(self, batch: int = 1, positions: int | None = None) -> None:
        """Empties the KV cache (it grows past `positions` when a call needs it)."""
        c = self.config
        positions = positions or min(c.max_seq_len, CACHE_POSITIONS)
        for layer in self.layers:
            shape = (batch, positions, c.n_kv_heads, c.head_dim)
            layer.attention.cache_k = torch.zeros(shape)
            layer.attention.cache_v = torch.zeros(shape)

    def _grow_cache(self, positions: int) -> None:
        """Makes room for `positions` in the KV cache, keeping what it holds."""
        for layer in self.layers:
            a = layer.attention
            old = a.cache_k.shape[1]
            grown = [torch.cat([c, c.new_zeros(c.shape[0], max(positions, 2 * old) - old, *c.shape[2:])], dim=1)
                     for c in (a.cache_k, a.cache_v)]
            a.cache_k, a.cache_v = grown

    def _run(self, tokens, start_pos, use_cache):
        squeeze = tokens.dim() == 1
        tokens = tokens[None] if squeeze else tokens
        cache = self.layers[0].attention.cache_k
        if use_cache and (cache is None or cache.shape[0] < tokens.shape[0]):
            self.reset(tokens.shape[0])
        if use_cache and self.layers[0].attention.cache_k.shape[1] < start_pos + tokens.shape[1]:
            self._grow_cache(start_pos + tokens.shape[1])
        with torch.inference_mode():
            logits = self._layers(tokens, start_pos, use_cache).float()
        return logits[0] if squeeze else logits

    def _layers(self, tokens, start_pos, use_cache):
        t = tokens.shape[1]
        if self.rope_cos.shape[0] < start_pos + t:
            self._make_rope(max(start_pos + t, 2 * self.rope_cos.shape[0]))
        rope = (self.rope_cos[start_pos:start_pos + t], self.rope_sin[start_pos:start_pos + t])
        local = (self.rope_local_cos[start_pos:start_pos + t], self.rope_local_sin[start_pos:start_pos + t]) \
            if self.config.rope_local_theta else rope
        x = self.tok_embeddings(tokens)
        if self.config.scaled_embeddings:  # as transformers' Gemma: by sqrt(dim) in the activations' dtype
            x = x * torch.tensor(self.config.dim ** 0.5, dtype=x.dtype)
        x = F.dropout(x, self.dropout, self.training)
        for layer in self.layers:
            x = layer(x, start_pos, *(local if layer.attention.window else rope), use_cache)
        logits = self.output(self.norm(x))
        cap = self.config.final_softcap
        return torch.tanh(logits / cap) * cap if cap else logits

    def forward(self, tokens: torch.Tensor, start_pos: int = 0) -> torch.Tensor:
        """Logits [.., T, vocab] for tokens [T] or [B, T] at positions start_pos..;
        reads and fills the KV cache, so decoding one token at a time works."""
        return self._run(tokens, start_pos, use_cache=True)

    def score(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits for a whole sequence from position 0, leaving the cache alone."""
        return self._run(tokens, 0, use_cache=False)

    def train_logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [B, T, vocab] for sequences [B, T] from position 0 with autograd on
        (and dropout in train mode): the training forward pass, no KV cache."""
        return self._layers(tokens, 0, use_cache=False)

    def generate_greedy(self, prompt: list[int], steps: int, bos_id: int = 1) -> list[int]:
        """llama2.c's loop, greedy: `steps` positions counting the prompt; the next
        token is forced inside the prompt, argmax after it; stops when BOS comes."""
        self.reset()
        tokens = list(prompt[:1])
        for pos in range(steps):
            logits = self.forward(torch.tensor([tokens[-1]]), start_pos=pos)[-1]
            nxt = prompt[pos + 1] if pos < len(prompt) - 1 else int(logits.argmax())
            if nxt == bos_id:
                break
            tokens.append(nxt)
        return tokens
