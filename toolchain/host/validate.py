"""`llmtool validate`: a teacher-forced pass over a text through the compiled build
(the host emulator, or the built image on its board's emulator) against the
PyTorch float32 reference: the report to read before trusting a quantized build."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ..choices import DEFAULT_MAX_KL, DEFAULT_MIN_TOP1, DEFAULT_TEXT, VALIDATE_TARGETS
from ..errors import ToolchainError
from ..importers import load_checkpoint
from ..manifest import read_manifest
from ..model import Transformer
from ..progress import bar, phase
from ..target.build import TEST_BINARY
from ..target.run import run_image
from .emulator import Emulator


@dataclass
class Validation:
    on: str
    board: str
    positions: int
    top1_agreement: float     # share of positions where the build's argmax is the reference's
    max_abs_error: float      # largest |logit difference|
    mean_kl: float            # mean KL(reference || build) in nats
    perplexity_reference: float
    perplexity_build: float
    min_top1: float           # the verdict's thresholds: top-1 agreement at least this (a fraction)
    max_kl: float             # and mean KL at most this

    @property
    def passed(self) -> bool:
        return self.top1_agreement >= self.min_top1 and self.mean_kl <= self.max_kl

    @property
    def verdict(self) -> str:
        """PASS or FAIL, and each figure against its threshold, in one line."""
        top1 = self.top1_agreement >= self.min_top1
        kl = self.mean_kl <= self.max_kl
        return (f"{'PASS' if self.passed else 'FAIL'}: "
                f"top-1 {100 * self.top1_agreement:.2f} % {'>=' if top1 else '<'} {100 * self.min_top1:.2f} %, "
                f"mean KL {self.mean_kl:.4f} {'<=' if kl else '>'} {self.max_kl:.4f} nats")

    def to_json(self) -> dict:
        return {**asdict(self), "passed": self.passed, "verdict": self.verdict}

    def lines(self) -> list[str]:
        return [f"validated {self.positions} teacher-forced positions on the {self.on} ({self.board})",
                f"  top-1 agreement with f32 reference  {100 * self.top1_agreement:8.2f} %",
                f"  max abs logit error                 {self.max_abs_error:10.4f}",
                f"  mean KL divergence (nats)           {self.mean_kl:10.6f}",
                f"  perplexity: reference {self.perplexity_reference:.4f}, build {self.perplexity_build:.4f}",
                self.verdict]


def thresholds(quant: str, min_top1: float | None, max_kl: float | None) -> tuple[float, float]:
    """The verdict's thresholds: those given (top-1 as a fraction), else the weight format's defaults."""
    min_top1 = DEFAULT_MIN_TOP1.get(quant, DEFAULT_MIN_TOP1["q8"]) if min_top1 is None else min_top1
    max_kl = DEFAULT_MAX_KL.get(quant, DEFAULT_MAX_KL["q8"]) if max_kl is None else max_kl
    if not (math.isfinite(min_top1) and 0 <= min_top1 <= 1):
        raise ToolchainError(f"--min-top1 must be a percentage from 0 to 100, not {100 * min_top1:g}")
    if not (math.isfinite(max_kl) and max_kl >= 0):
        raise ToolchainError(f"--max-kl must be a number of nats from 0 up, not {max_kl:g}")
    return min_top1, max_kl


def windows(tokens: list[int], context: int, bos: int) -> list[list[int]]:
    """The text cut into context-sized windows, each starting at BOS."""
    body = tokens[1:] if tokens[:1] == [bos] else tokens
    step = context - 1
    return [[bos] + body[i:i + step] for i in range(0, max(len(body), 1), step)]


def board_logits(out: Path, window: list[int], vocab: int) -> np.ndarray:
    result = run_image(out, ["-x", " ".join(map(str, window))], capture=True, timeout=600, binary=TEST_BINARY)
    if result.returncode != 0:
        raise ToolchainError(f"the image failed during validation: {result.stderr.strip().splitlines()[-1:]}")
    rows = [np.array([int(h, 16) for h in line.split()], dtype=np.uint32).view(np.float32)
            for line in result.stdout.splitlines() if line.strip()]
    if len(rows) != len(window) or any(r.size != vocab for r in rows):
        raise ToolchainError("the image printed an unexpected validation output")
    return np.stack(rows)


def validate(out: Path, text: Path = DEFAULT_TEXT, on: str = "emulator",
             model: Path | None = None, min_top1: float | None = None, max_kl: float | None = None) -> Validation:
    """Teacher-forces `text` through the build and the reference; the verdict is
    against min_top1 (a fraction) and max_kl, by default the build's quantization's."""
    out = Path(out)
    manifest = read_manifest(out)
    limits = thresholds(manifest.get("quant", "q8"), min_top1, max_kl)
    source = model or manifest.get("source")
    if source is None:
        raise ToolchainError(f"{out} does not record its source checkpoint: pass --model")
    if on not in VALIDATE_TARGETS:
        raise ToolchainError(f"--on must be one of {', '.join(VALIDATE_TARGETS)}")
    phase(f"loading the f32 reference from {source}...")
    reference = Transformer(load_checkpoint(source))
    emulator = Emulator(out)  # its C encoder tokenizes the text, for either target
    if not Path(text).is_file():
        raise ToolchainError(f"{text}: no such file")
    tokens = emulator.encode(Path(text).read_text(encoding="utf-8", errors="replace"))
    vocab = emulator.vocab_size
    agree = positions = 0
    max_err = kl_sum = nll_ref = nll_build = 0.0
    predicted = 0
    for window in bar(windows(tokens, emulator.context, emulator.bos_id), desc=f"validate on the {on}",
                      unit="window", leave=False):
        want = reference.score(torch.tensor(window)).double()
        if on == "emulator":
            got = np.stack([emulator.forward(t, pos) for pos, t in enumerate(window)])
        else:
            got = board_logits(out, window, vocab)
        got = torch.from_numpy(got).double()
        agree += int((got.argmax(1) == want.argmax(1)).sum())
        positions += len(window)
        max_err = max(max_err, float((got - want).abs().max()))
        log_p, log_q = torch.log_softmax(want, 1), torch.log_softmax(got, 1)
        kl_sum += float((log_p.exp() * (log_p - log_q)).sum())
        nxt = torch.tensor(window[1:])
        nll_ref -= float(log_p[:-1].gather(1, nxt[:, None]).sum())
        nll_build -= float(log_q[:-1].gather(1, nxt[:, None]).sum())
        predicted += len(window) - 1
    predicted = max(predicted, 1)
    return Validation(on, manifest["board"], positions, agree / positions, max_err, kl_sum / positions,
                      float(np.exp(nll_ref / predicted)), float(np.exp(nll_build / predicted)), *limits)
