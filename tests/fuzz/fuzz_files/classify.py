"""What a case comes to: the fingerprint of a loaded Model or Tokenizer, the category
of an accepted load against the seed's fingerprint, a finding's root cause.

  clean        ToolchainError with a one-line message
  accepted     identical        the loaded Model / Tokenizer equals the seed's
               values-only      same config and shapes (same vocabulary size and
                                kind), only weights or a tokenizer's pieces, scores
                                or BOS/EOS ids differ, in bytes no checksum of the
                                format covers
               config-only      hyperparameters that do not change any shape
                                (norm_eps, rope_theta, max_seq_len, RoPE factors)
                                differ, plausibly
               implausible      accepted with a value nothing can run with (norm_eps
                                <= 0, rope_theta <= 1, a size above INT_MAX, a
                                non-finite score, BOS/EOS outside the vocabulary)
               checksum-ignored the effect differs and the file's own checksum
                                (a torch zip member's CRC-32) no longer matches
               type-confusion   a JSON value replaced by one of another type ("no"
                                for a boolean...) was accepted with an effect
               structure-differs anything else accepted (shapes, tensor set, ids)
  traceback    any other exception (type, message, frame in toolchain/)
  hang         still running after the time limit (10 s; its Python stack is kept)
  blow-up      MemoryError, an allocation failure, the file-size limit, or peak RSS
               above 2 GB
  crash        the child died of a signal (SIGSEGV, SIGABRT...)
  bad-c        the generated C does not compile (-Wall -Wextra -Werror)
  bad-message  a ToolchainError over several lines or 1,000 characters
  escape       a file outside the checkpoint directory was opened (a marker file
               beside it, watched with inotify, reached through weight_map "../x"
               or an absolute path)

Allowed: clean and accepted identical / values-only / config-only; everything else
is a finding."""
from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass

import numpy as np
from toolchain.config import Model
from toolchain.importers.tokenizer import Tokenizer


OUTCOMES = ("clean", "accepted", "traceback", "hang", "blow-up", "crash", "bad-c", "bad-message", "escape")
CATEGORIES = ("identical", "values-only", "config-only", "implausible", "checksum-ignored", "type-confusion",
              "structure-differs")
ALLOWED_CATEGORIES = ("identical", "values-only", "config-only")


def model_fingerprint(model: Model) -> dict:
    return {"config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.config.to_dict().items()},
            "tensors": {n: [list(t.shape), hashlib.sha1(np.ascontiguousarray(t).tobytes()).hexdigest()]
                        for n, t in model.tensors.items()}}


def tokenizer_fingerprint(tok: Tokenizer) -> dict:
    pieces = hashlib.sha1(b"".join(struct.pack("<I", len(p)) + p for p in tok.pieces)).hexdigest()
    scores = hashlib.sha1(np.array(tok.scores, np.float64).tobytes()).hexdigest()
    finite = all(math.isfinite(s) for s in tok.scores)
    return {"vocab_size": tok.vocab_size, "bos_id": tok.bos_id, "eos_id": tok.eos_id, "kind": tok.kind,
            "n_special": tok.n_special, "pieces": pieces, "scores": scores, "finite_scores": finite}


@dataclass
class Case:
    index: int
    format: str
    file: str
    steps: list[str]
    kinds: list[str]
    outcome: str = ""
    category: str | None = None     # accepted: one of CATEGORIES
    detail: str = ""                # what differs, or why it is a blow-up
    reason: str = ""                # accepted: what differs, in a few words
    stage: str | None = None
    exc_type: str | None = None
    message: str | None = None
    frame: str | None = None        # innermost frame in toolchain/
    last_frame: str | None = None
    traceback: str | None = None
    seconds: float = 0.0
    max_rss: int = 0
    checksum_ok: bool | None = None
    size: int = 0
    sha1: str = ""
    kept: str | None = None

    @property
    def finding(self) -> bool:
        return self.outcome not in ("clean", "accepted") or (self.outcome == "accepted"
                                                             and self.category not in ALLOWED_CATEGORIES)

    def label(self) -> str:
        return self.category if self.outcome == "accepted" else self.outcome


SHAPE_FREE = ("norm_eps", "rope_theta", "max_seq_len", "rope_freq_factors")
FLT_MAX = 3.4028234663852886e38


def implausible_model(cfg: dict) -> str | None:
    eps, theta = cfg["norm_eps"], cfg["rope_theta"]
    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and 0 < eps <= 1):
        return f"norm_eps {eps!r}"
    if not (isinstance(theta, (int, float)) and math.isfinite(theta) and 1 < theta <= FLT_MAX):
        return f"rope_theta {theta!r}"
    for k, v in cfg.items():  # max_seq_len is a claim: a compile caps its context (fit.py)
        if k != "max_seq_len" and isinstance(v, int) and not isinstance(v, bool) and v > 2**31 - 1:
            return f"{k} {v} does not fit an int"
    if any(not (isinstance(f, (int, float)) and math.isfinite(f) and 0 < f <= FLT_MAX)
           for f in cfg.get("rope_freq_factors") or ()):
        return "a RoPE factor that is not a finite positive float"
    return None


def classify_accepted(kind: str, base: dict, fp: dict, checksum_ok: bool | None,
                      retyped: bool = False) -> tuple[str, str, str]:
    """(category, what differs, its reason in a few words) of an accepted case against
    the seed's fingerprint; `retyped`: a JSON value of the seed was replaced by one of
    another type (a string for a boolean...)."""
    if fp == base:
        return "identical", "", ""
    if kind == "checkpoint":
        shapes = {n: s for n, (s, _) in fp["tensors"].items()}
        base_shapes = {n: s for n, (s, _) in base["tensors"].items()}
        changed = sorted(k for k in set(fp["config"]) | set(base["config"])
                         if fp["config"].get(k) != base["config"].get(k))
        values = sorted(n for n in fp["tensors"] if n in base["tensors"] and fp["tensors"][n] != base["tensors"][n])
        if shapes != base_shapes or set(changed) - set(SHAPE_FREE):
            diff = sorted(set(shapes) ^ set(base_shapes)) + [n for n in shapes if n in base_shapes
                                                              and shapes[n] != base_shapes[n]]
            detail = "config " + ", ".join(f"{k} {base['config'].get(k)!r} -> {fp['config'].get(k)!r}"
                                           for k in changed) if changed else ""
            detail += ("; " if detail else "") + (f"tensors {diff[:4]}" if diff else "")
            category = "structure-differs"
            reason = (f"config {', '.join(changed)} changed" if changed else "") + (" tensors differ" if diff else "")
        elif changed:
            detail = ", ".join(f"{k} {base['config'].get(k)!r} -> {fp['config'].get(k)!r}"[:120] for k in changed)
            category, reason = "config-only", ", ".join(changed)
        else:
            detail = f"{len(values)} tensors' values ({values[0]}...)" if values else "values"
            category, reason = "values-only", "tensor values"
        implausible = implausible_model(fp["config"])
    else:
        # the vocabulary's size and kind are its structure; which id a piece has (BOS and
        # EOS among them: a SentencePiece model whose pieces were moved) is its data
        shape = ("vocab_size", "kind", "n_special")
        changed = [k for k in shape if fp[k] != base[k]]
        if changed:
            category, reason = "structure-differs", ", ".join(changed) + " changed"
            detail = ", ".join(f"{k} {base[k]!r} -> {fp[k]!r}" for k in changed)
        else:
            category = "values-only"
            detail = reason = " and ".join(k for k in ("pieces", "scores", "bos_id", "eos_id") if fp[k] != base[k])
        implausible = None
        if not fp["finite_scores"]:
            implausible = "a score is NaN or infinite"
        elif not (0 <= fp["bos_id"] < fp["vocab_size"] and 0 <= fp["eos_id"] < fp["vocab_size"]):
            implausible = f"BOS {fp['bos_id']} / EOS {fp['eos_id']} outside 0..{fp['vocab_size'] - 1}"
    if checksum_ok is False:
        return "checksum-ignored", f"{detail} (the zip member CRC-32 no longer matches)", "zip CRC-32 not checked"
    if implausible:
        return "implausible", f"{implausible}; {detail}", re.sub(r" -?[0-9][^ ;]*| [-+]?(nan|inf)\b", "", implausible)
    if retyped:
        return "type-confusion", f"{detail} (a value of another JSON type was accepted)", reason
    return category, detail, reason


def group_key(case: Case) -> str:
    """A root cause's name: where it happens (or, for acceptances, what was accepted)."""
    if case.outcome == "accepted":
        return f"{case.category} {case.format}: {case.reason}"
    if case.outcome in ("traceback", "blow-up", "bad-message") and case.exc_type:
        return f"{case.outcome} {case.exc_type} {case.frame or case.last_frame}"
    if case.outcome in ("hang", "crash", "blow-up"):  # where it was stopped: the function, not its line
        where = re.sub(r":\d+ in ", " in ", case.frame or case.last_frame or "") or case.format
        return f"{case.outcome} {where}"
    if case.outcome == "bad-c":
        return f"bad-c {re.sub(r'[0-9]+', 'N', (case.message or '').split('error:')[-1])[:60]}"
    return f"{case.outcome} {case.format} {case.file}"
