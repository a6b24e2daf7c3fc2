"""The k-quant study on stories260K: weight bytes against top-1 agreement and mean KL
with the f32 reference, uniform formats and `--quant auto` at byte budgets.

    python3 benchmarks/quant_table.py [--shared ../shared/models] [--text toolchain/data/stories.txt]

Simulated, not run on the C runtime: the PyTorch reference with dequantized weights,
and each matmul's input quantized to int8 per group of G columns (scale max|x|/127,
the runtime's prepare_input). Teacher-forced over the text in windows of the model's
context, as `llmtool validate` does. Calibration (importance, sensitivities) uses the
same text, so the calibrated rows are in-sample; --holdout calibrates on the text's
first half and scores its second half. Prints Markdown."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from toolchain.choices import DEFAULT_TEXT  # noqa: E402
from toolchain.compile.kquant import (FORMATS, calibration_importance, choose_formats, format_bytes,  # noqa: E402
                                      quantize_tensor, tensor_sensitivity)
from toolchain.config import Model  # noqa: E402
from toolchain.host.encode import host_encoder  # noqa: E402
from toolchain.host.validate import windows  # noqa: E402
from toolchain.importers import load_checkpoint  # noqa: E402
from toolchain.model import Transformer  # noqa: E402

BUDGETS = (0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.8, 0.9)
GOALS = ((0.62, 0.87), (0.80, 0.95))  # (bytes as a share of q8's, top-1 at least)


@dataclass
class Row:
    name: str
    bytes: int
    top1: float
    kl: float


def fake_quant(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """x rounded to int8 per group of the last axis, scale max|x|/127, and back."""
    out = torch.empty_like(x)
    for start in range(0, x.shape[-1], group_size):
        part = x[..., start:start + group_size]
        scale = part.abs().amax(-1, keepdim=True) / 127
        safe = torch.where(scale > 0, scale, torch.ones_like(scale))
        out[..., start:start + group_size] = torch.clamp(torch.round(part / safe), -127, 127) * scale
    return out


def simulated(model: Model, tensors: dict[str, np.ndarray], group_size: int) -> Transformer:
    """The reference with `tensors` replaced and int8 activations into every matmul."""
    sim = Transformer(Model(model.config, {**model.tensors, **tensors}))
    for mod in sim.modules():
        if isinstance(mod, torch.nn.Linear):
            mod.forward = lambda x, m=mod: F.linear(fake_quant(x, group_size), m.weight)
    return sim


def weight_bytes(model: Model, formats: dict[str, str], group_size: int) -> int:
    """All 2-D tensors in their formats plus the 1-D norms in f32."""
    return sum(format_bytes(formats[name], *w.shape, group_size) if w.ndim == 2 else 4 * w.size
               for name, w in model.tensors.items())


def score(model: Model, sim: Transformer, wins: list[list[int]], want: list[torch.Tensor]) -> tuple[float, float]:
    agree = positions = 0
    kl = 0.0
    for window, log_p in zip(wins, want):
        log_q = torch.log_softmax(sim.score(torch.tensor(window)).double(), 1)
        agree += int((log_q.argmax(1) == log_p.argmax(1)).sum())
        kl += float((log_p.exp() * (log_p - log_q)).sum())
        positions += len(window)
    return agree / positions, kl / positions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "models")
    parser.add_argument("--text", type=Path, default=DEFAULT_TEXT)
    parser.add_argument("--sensitivity-tokens", type=int, default=1024,
                        help="the text's first tokens the per-tensor sensitivities are measured on")
    parser.add_argument("--holdout", action="store_true", help="calibrate on the first half, score the second")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model = load_checkpoint(args.shared / "stories260K.bin")
    encoder = host_encoder(args.shared / "tok512.bin")
    tokens = encoder.encode(args.text.read_text(encoding="utf-8"))
    half = len(tokens) // 2 if args.holdout else 0
    calibration = tokens[:half] if args.holdout else tokens
    wins = windows(tokens[half:], model.config.max_seq_len, encoder.bos_id)
    reference = Transformer(model)
    want = [torch.log_softmax(reference.score(torch.tensor(w)).double(), 1) for w in wins]
    importance = calibration_importance(model, calibration, encoder.bos_id)
    matrices = {name: w for name, w in model.tensors.items() if w.ndim == 2}
    norms = sum(4 * w.size for w in model.tensors.values() if w.ndim == 1)

    def evaluate(name: str, formats: dict[str, str], group_size: int, imp: dict | None) -> Row:
        tensors = {t: quantize_tensor(w, formats[t], group_size, imp.get(t) if imp else None)
                   for t, w in matrices.items()}
        top1, kl = score(model, simulated(model, tensors, group_size), wins, want)
        return Row(name, weight_bytes(model, formats, group_size), top1, kl)

    def uniform(fmt: str) -> dict[str, str]:
        return dict.fromkeys(matrices, fmt)

    q8 = evaluate("q8 g64", uniform("q8"), 64, None)
    rows = [q8, evaluate("old q4 g32", uniform("old-q4"), 32, None)]
    for group in (256, 64):
        for fmt in FORMATS:
            rows.append(evaluate(f"k{fmt} g{group}", uniform(fmt), group, None))
            rows.append(evaluate(f"k{fmt} g{group} calibrated", uniform(fmt), group, importance))
    uniform_rows = list(rows)
    auto_rows = []
    for group in (256, 64):
        for label, imp in (("calibrated", importance), ("uncalibrated", None)):
            sens = tensor_sensitivity(model, calibration[:args.sensitivity_tokens], FORMATS + ("q8",), group, imp,
                                      encoder.bos_id)
            sizes = {t: {f: format_bytes(f, *w.shape, group) for f in FORMATS + ("q8",)} for t, w in matrices.items()}
            for share in BUDGETS:
                if sum(min(s.values()) for s in sizes.values()) + norms > share * q8.bytes:
                    continue  # below every tensor's smallest format
                choice = choose_formats(sens, sizes, int(share * q8.bytes) - norms)
                counts = " ".join(f"{f}:{list(choice.values()).count(f)}" for f in FORMATS + ("q8",))
                auto_rows.append(evaluate(f"auto {share:.2f}x g{group} {label} ({counts})", choice, group, imp))
    print("| weights | bytes | x q8 | top-1 | mean KL |")
    print("|---|---:|---:|---:|---:|")
    for r in rows + auto_rows:
        print(f"| {r.name} | {r.bytes:,} | {r.bytes / q8.bytes:.3f} | {100 * r.top1:.2f} % | {r.kl:.5f} |")
    print()
    for share, top1 in GOALS:
        best = max((r for r in rows + auto_rows if r.bytes <= share * q8.bytes), key=lambda r: r.top1, default=None)
        met = best is not None and best.top1 >= top1
        print(f"- at <= {share:.2f}x q8's bytes, top-1 >= {100 * top1:.0f} %: "
              f"{'met' if met else 'NOT met'} (best {best.name if best else '-'}: "
              f"{100 * best.top1 if best else 0:.2f} %)")
    for label, worse in (("top-1", lambda a, u: u.top1 > a.top1), ("mean KL", lambda a, u: u.kl < a.kl)):
        beaten = [f"{a.name} < {u.name}" for a in auto_rows for u in uniform_rows
                  if u.bytes <= a.bytes and worse(a, u) and "uncalibrated" not in a.name]
        print(f"- calibrated auto at least as good ({label}) as every uniform format of no more bytes: "
              f"{'met' if not beaten else 'NOT met: ' + '; '.join(beaten)}")


if __name__ == "__main__":
    main()
