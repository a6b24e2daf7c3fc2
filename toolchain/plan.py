"""The memory plan: every RAM buffer the runtime uses, sized and placed at compile time.

A pure function of (model config, quantization, context, tokenizer): the generated
llm_plan.c declares one static arena and points each RunState field into it, so
the runtime never allocates. Buffers are laid out one after another for now.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from .config import ModelConfig
from .quantize import n_groups

ALIGN = 16
CTYPE_SIZES = {"float": 4, "int8_t": 1, "int": 4, "char": 1, "ProbIndex": 8}


@dataclass(frozen=True)
class Buffer:
    name: str      # the RunState field (runtime_c/model.h)
    ctype: str
    count: int
    offset: int    # bytes into the arena
    purpose: str

    @property
    def nbytes(self) -> int:
        return self.count * CTYPE_SIZES[self.ctype]


@dataclass(frozen=True)
class MemoryPlan:
    buffers: tuple[Buffer, ...]
    arena_bytes: int
    prompt_capacity: int  # token slots main.c has for encoding a prompt

    def report(self) -> dict:
        return {"arena_bytes": self.arena_bytes, "prompt_capacity": self.prompt_capacity,
                "buffers": [asdict(b) | {"nbytes": b.nbytes} for b in self.buffers]}


def plan_memory(config: ModelConfig, quant: str, group_size: int, context: int,
                max_token_length: int) -> MemoryPlan:
    c = config
    kv = c.n_layers * context * c.kv_dim
    widest = max(c.dim, c.hidden_dim)
    # The encoder needs one slot per byte of a prompt before merging (plus BOS and
    # the dummy-prefix space); four bytes per context position is generous for text.
    prompt_capacity = 4 * context + 3
    wanted = [
        ("x", "float", c.dim, "residual stream"),
        ("xb", "float", c.dim, "normed input, attention output"),
        ("xb2", "float", c.dim, "projection output"),
        ("hb", "float", c.hidden_dim, "FFN gate"),
        ("hb2", "float", c.hidden_dim, "FFN up"),
        ("q", "float", c.dim, "query"),
        ("att", "float", c.n_heads * context, "attention scores"),
        ("logits", "float", c.vocab_size, "logits"),
        ("key_cache", "float", kv, "KV cache: keys"),
        ("value_cache", "float", kv, "KV cache: values"),
    ]
    if quant == "q8":
        wanted += [("xq", "int8_t", widest, "quantized activations"),
                   ("xs", "float", n_groups(widest, group_size), "activation scales")]
    wanted += [
        ("probindex", "ProbIndex", c.vocab_size, "top-p sampler candidates"),
        # a pair of pieces and a NUL; at least one UTF-8 codepoint and a NUL
        ("str_buffer", "char", max(2 * max_token_length + 1, 5), "encoder scratch"),
        ("prompt_tokens", "int", prompt_capacity, "encoded prompt (main)"),
    ]
    buffers, offset = [], 0
    for name, ctype, count, purpose in wanted:
        buffers.append(Buffer(name, ctype, count, offset, purpose))
        offset += -(-count * CTYPE_SIZES[ctype] // ALIGN) * ALIGN
    return MemoryPlan(tuple(buffers), offset, prompt_capacity)
