"""Calibration: what each weight matrix's input columns carry over a text (the
k-quant quantizer weighs its error by it), and what each matrix costs the model in
each format (the KL divergence of the next-token distribution when it alone is
quantized), which auto.py shares a byte budget by."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..config import Model
from ..errors import ToolchainError
from ..importers.tokenizer import Tokenizer
from ..host.validate import windows
from ..model import Transformer
from .kquant import FORMATS, quantize_kmatrix
from .quantize import quantize_matrix


def _linears(reference: Transformer) -> dict[str, torch.nn.Linear]:
    """Each nn.Linear by its weight's tensor name; a shared classifier counts as the
    embedding table (the same tensor)."""
    out = {f"{name}.weight": mod for name, mod in reference.named_modules() if isinstance(mod, torch.nn.Linear)}
    if reference.config.shared_classifier:
        out["tok_embeddings.weight"] = out.pop("output.weight")
    return out


def calibration_tokens(tokenizer: Tokenizer, text: Path) -> list[int]:
    """The calibration text, encoded by the runtime's own encoder."""
    from ..host.encode import host_encoder  # it compiles a project of its own

    if not Path(text).is_file():
        raise ToolchainError(f"--calibrate {text}: no such file")
    return host_encoder(tokenizer).encode(Path(text).read_text(encoding="utf-8", errors="replace"))


def calibration_importance(model: Model, tokens: list[int], bos: int = 1,
                           context: int | None = None) -> dict[str, np.ndarray]:
    """Per 2-D tensor the mean of x_i^2 of its input column i over the token windows
    (of at most max_seq_len) through the f32 reference. The embedding table is looked
    up, not multiplied: uniform importance, unless it is also the classifier (shared),
    when it is the classifier's input's."""
    reference = Transformer(model)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}

    def hook(name):
        def record(_module, inputs, _output):
            x = inputs[0].detach().double().reshape(-1, inputs[0].shape[-1])
            sums[name] = sums.get(name, 0) + (x * x).sum(0).numpy()
            counts[name] = counts.get(name, 0) + x.shape[0]
        return record

    handles = [mod.register_forward_hook(hook(name)) for name, mod in _linears(reference).items()]
    try:
        for window in windows(tokens, context or model.config.max_seq_len, bos):
            reference.score(torch.tensor(window))
    finally:
        for h in handles:
            h.remove()
    importance = {name: sums[name] / counts[name] for name in sums}
    for name, w in model.tensors.items():
        if w.ndim == 2 and name not in importance:
            importance[name] = np.ones(w.shape[1])
    return importance


def quantize_tensor(w: np.ndarray, fmt: str, group_size: int, importance: np.ndarray | None = None) -> np.ndarray:
    """The dequantized float32 weights of `w` in any weight format (k-quants, q8, old q4)."""
    if fmt in FORMATS:
        return quantize_kmatrix(w, fmt, group_size, importance).dequantize()
    return quantize_matrix(w, group_size, fmt).dequantize()


def _mean_kl(reference: Transformer, model: Model, tensors: dict[str, np.ndarray], windows_: list[list[int]],
             want: list[torch.Tensor]) -> float:
    """Mean KL(reference || model with `tensors` replaced) over all positions of the windows."""
    state = {k: torch.from_numpy(v) for k, v in tensors.items()}
    original = {k: reference.state_dict()[k].clone() for k in state}
    reference.load_state_dict(state, strict=False)
    try:
        total = positions = 0
        for window, p in zip(windows_, want):
            log_q = torch.log_softmax(reference.score(torch.tensor(window)).double(), 1)
            total += float((p.exp() * (p - log_q)).sum())
            positions += len(window)
    finally:
        reference.load_state_dict(original, strict=False)
    return total / positions


def tensor_sensitivity(model: Model, tokens: list[int], formats=("q4", "q5", "q6", "q8"), group_size: int = 256,
                       importance: dict[str, np.ndarray] | None = None, bos: int = 1) -> dict[str, dict[str, float]]:
    """Per 2-D tensor and format, the mean KL of the next-token distribution when only
    that tensor is quantized (f32 activations): what each tensor costs in each format."""
    reference = Transformer(model)
    wins = windows(tokens, model.config.max_seq_len, bos)
    want = [torch.log_softmax(reference.score(torch.tensor(w)).double(), 1) for w in wins]
    out: dict[str, dict[str, float]] = {}
    for name, w in model.tensors.items():
        if w.ndim != 2:
            continue
        imp = importance.get(name) if importance else None
        out[name] = {fmt: _mean_kl(reference, model, {name: quantize_tensor(w, fmt, group_size, imp)}, wins, want)
                     for fmt in formats}
    return out
