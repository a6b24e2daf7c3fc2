"""Random-weight transformers models of the real small models' configurations, the
reference the importers and the C runtime are tested against: their own widths, heads,
vocabularies (Gemma 3's 262,144 and Qwen's 151,936 included), windows and RoPE bases,
with fewer layers (two, one sliding and one global for Gemma 3; one for TinyLlama,
whose 2048-wide layers are the largest)."""
from __future__ import annotations

from pathlib import Path

import torch
import transformers

# family -> (transformers config class, its arguments)
FAMILIES = {
    "SmolLM2-135M": (transformers.LlamaConfig, dict(
        hidden_size=576, intermediate_size=1536, num_attention_heads=9, num_key_value_heads=3, head_dim=64,
        vocab_size=49152, max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0,
        tie_word_embeddings=True, attention_bias=False, mlp_bias=False, hidden_act="silu")),
    "TinyLlama-1.1B": (transformers.LlamaConfig, dict(
        num_hidden_layers=1, hidden_size=2048, intermediate_size=5632, num_attention_heads=32, num_key_value_heads=4,
        vocab_size=32000, max_position_embeddings=2048, rms_norm_eps=1e-5, rope_theta=10000.0,
        tie_word_embeddings=False, attention_bias=False, mlp_bias=False, hidden_act="silu")),
    "Qwen2.5-0.5B": (transformers.Qwen2Config, dict(
        hidden_size=896, intermediate_size=4864, num_attention_heads=14, num_key_value_heads=2,
        vocab_size=151936, max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
        tie_word_embeddings=True, use_sliding_window=False, hidden_act="silu")),
    "Qwen3-0.6B": (transformers.Qwen3Config, dict(
        hidden_size=1024, intermediate_size=3072, num_attention_heads=16, num_key_value_heads=8, head_dim=128,
        vocab_size=151936, max_position_embeddings=40960, rms_norm_eps=1e-6, rope_theta=1000000.0,
        tie_word_embeddings=True, attention_bias=False, use_sliding_window=False, hidden_act="silu")),
    "Gemma-3-270M": (transformers.Gemma3TextConfig, dict(
        hidden_size=640, intermediate_size=2048, num_attention_heads=4, num_key_value_heads=1, head_dim=256,
        vocab_size=262144, max_position_embeddings=32768, rms_norm_eps=1e-6, rope_theta=1000000.0,
        rope_local_base_freq=10000.0, query_pre_attn_scalar=256, sliding_window=512,
        layer_types=["sliding_attention", "full_attention"], hidden_activation="gelu_pytorch_tanh",
        tie_word_embeddings=True, final_logit_softcapping=None, attn_logit_softcapping=None)),
}
N_LAYERS = 2
# a shape of each family's for the tests of one mechanism, which need no real size
SMALL = dict(hidden_size=64, intermediate_size=96, num_attention_heads=4, num_key_value_heads=2, vocab_size=128)


def hf_model(family: str, seed: int = 0, **overrides) -> transformers.PreTrainedModel:
    """The family's model in float32 with random weights: matrices as transformers
    draws them, but norms and biases random too (transformers starts them at 1 or 0,
    which would hide a misplaced one), and q/k sharpened where no norm follows them (to
    scores of a standard deviation near 2, as the norms give), so that a wrong RoPE
    layout moves the logits far."""
    config_class, kwargs = FAMILIES[family]
    config = config_class(**({"num_hidden_layers": N_LAYERS} | kwargs | overrides))
    config._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    gemma = isinstance(config, transformers.Gemma3TextConfig)
    qk_norm = gemma or isinstance(config, transformers.Qwen3Config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):  # Gemma's norms scale by 1 + w
                p.copy_((0.0 if gemma else 1.0) + 0.1 * torch.randn_like(p))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn_like(p))
            elif name.endswith(("q_proj.weight", "k_proj.weight")) and not qk_norm:
                p.mul_(1.5 / (config.initializer_range * config.hidden_size ** 0.5))
    return model


def save(model: transformers.PreTrainedModel, directory: Path) -> Path:
    model.save_pretrained(directory, safe_serialization=True)
    return directory


def hf_logits(model: transformers.PreTrainedModel, tokens: list[int]) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].float()


def small_model(family: str, seed: int = 0, **overrides) -> transformers.PreTrainedModel:
    """The family's model at SMALL's size, Gemma 3's window cut to 8 so that 32 positions slide past it."""
    window = {"sliding_window": 8} if family == "Gemma-3-270M" else {}
    return hf_model(family, seed, **(SMALL | window | overrides))
