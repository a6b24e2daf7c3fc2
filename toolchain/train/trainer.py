"""Training the reference model (toolchain/model.py) on a text corpus.

One document per line, tokenized with a SentencePiece model, each document
starting with BOS (so generation stops at the end of a story, as llama2.c's
does). AdamW with weight decay on matrices only, cosine learning rate after a
linear warmup, gradient accumulation, autocast where the hardware has it,
periodic loss on a held-out split, and data-parallel training over processes
when launched by torchrun. Checkpoints are llama2.c train.py's `.pt` format,
which the importers read back for `llmtool compile`.
"""
from __future__ import annotations

import math
import os
import sys
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import distributed, nn

from ..config import ModelConfig
from ..errors import ToolchainError
from ..model import Transformer
from ..progress import bar
from .config import CHECKPOINT, MODEL_ARGS, STORIES, VOCAB_SIZE, TrainConfig

EVAL_STREAM = 2**31  # batch seeds [seed, EVAL_STREAM, k] never collide with training's [seed, iter, shard]


@dataclass
class Eval:
    iter_num: int
    train_loss: float
    val_loss: float


@dataclass
class TrainResult:
    checkpoint: Path
    iter_num: int
    evals: list[Eval] = field(default_factory=list)
    tokens_per_s: float = 0.0


@dataclass
class Dataset:
    train: np.ndarray   # token ids, documents back to back, each after a BOS
    val: np.ndarray
    vocab_size: int


def load_sentencepiece(path: Path | str):
    import sentencepiece

    path = Path(path)
    if not path.is_file():
        raise ToolchainError(f"{path}: no such file")
    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.Load(str(path))
    except (RuntimeError, OSError):
        raise ToolchainError(f"{path}: not a SentencePiece model (training tokenizes with "
                             f"the .model that `llmtool tokenizer train` writes)") from None
    return sp


def load_dataset(corpus: Path | str, tokenizer: Path | str, val_fraction: float,
                 window: int) -> Dataset:
    """Tokenizes the corpus; the last val_fraction of its documents are held out.
    Both splits must hold at least one window (max_seq_len + 1 tokens)."""
    corpus = Path(corpus)
    if not corpus.is_file():
        raise ToolchainError(f"{corpus}: no such file")
    sp = load_sentencepiece(tokenizer)
    try:
        docs = [line for line in corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ToolchainError(f"{corpus}: not UTF-8 text") from None
    if len(docs) < 2:
        raise ToolchainError(f"{corpus}: needs at least two documents (lines), one to hold out")
    n_val = max(1, round(len(docs) * val_fraction))
    dtype = np.uint16 if sp.get_piece_size() <= 65536 else np.int32

    def ids(lines):
        return np.fromiter((t for doc in sp.encode(lines) for t in (sp.bos_id(), *doc)), dtype=dtype)

    data = Dataset(ids(docs[:-n_val]), ids(docs[-n_val:]), sp.get_piece_size())
    for name, split in (("training", data.train), ("held-out", data.val)):
        if len(split) <= window:
            raise ToolchainError(f"{corpus}: the {name} split has {len(split)} tokens, not more than "
                                 f"a window of {window}: use a larger corpus or a shorter max_seq_len")
    return data


def batch(data: np.ndarray, batch_size: int, seq_len: int, key: list[int], device):
    """Random windows of data, inputs and next-token targets [batch, seq_len]; the same
    key always gives the same windows (so a resumed run sees what a straight one would)."""
    starts = np.random.default_rng(key).integers(0, len(data) - seq_len, size=batch_size)
    chunk = torch.from_numpy(data[starts[:, None] + np.arange(seq_len + 1)].astype(np.int64))
    return chunk[:, :-1].to(device), chunk[:, 1:].to(device)


def learning_rate(it: int, c: TrainConfig) -> float:
    """Linear warmup to learning_rate, then a cosine down to min_lr at max_iters."""
    if it < c.warmup_iters:
        return c.learning_rate * (it + 1) / c.warmup_iters
    progress = (it - c.warmup_iters) / max(1, c.max_iters - c.warmup_iters)
    return c.min_lr + 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * (c.learning_rate - c.min_lr)


class LanguageModelLoss(nn.Module):
    """The model and its next-token cross entropy as one module, for DDP to wrap."""

    def __init__(self, model: Transformer):
        super().__init__()
        self.model = model

    def forward(self, x, y):
        logits = self.model.train_logits(x)
        return F.cross_entropy(logits.float().flatten(0, 1), y.flatten())


def init_weights(model: Transformer) -> None:
    """llama2.c's initialisation: N(0, 0.02) for matrices and embeddings, with the
    projections back into the residual stream scaled down by the depth."""
    for name, p in model.named_parameters():
        if p.dim() == 2:
            std = 0.02 / math.sqrt(2 * model.config.n_layers) if name.endswith(("wo.weight", "w2.weight")) \
                else 0.02
            nn.init.normal_(p, 0.0, std)


def make_optimizer(model: Transformer, c: TrainConfig) -> torch.optim.AdamW:
    """AdamW, decaying matrices and embeddings but not norm weights."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": c.weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=c.learning_rate, betas=(c.beta1, c.beta2))


@dataclass
class Distributed:
    """This process's place in a torchrun launch (rank 0 of 1 when not launched so)."""
    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @property
    def master(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "Distributed":
        if "RANK" not in os.environ:
            return cls()
        if not distributed.is_initialized():
            distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
            if not torch.cuda.is_available():  # the CPU's cores are shared by the local processes
                torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ.get("LOCAL_WORLD_SIZE", 1))))
        return cls(distributed.get_rank(), int(os.environ.get("LOCAL_RANK", 0)), distributed.get_world_size())

    def on_master(self, make):
        """make() in rank 0 alone (files the processes share), its result handed to every process."""
        result = [make() if self.master else None]
        if self.world > 1:
            distributed.broadcast_object_list(result, src=0)
        return result[0]


def idle_cores() -> int:
    """The cores not already busy (by the 1-minute load average). Torch's threads meet
    at every operation, so one thread sharing a core with another program holds up the
    rest: on a 2-core machine with one core busy, two threads trained 2.5-7 times slower than one."""
    return max(1, len(os.sched_getaffinity(0)) - round(os.getloadavg()[0]))


def pick_device(c: TrainConfig, d: Distributed) -> torch.device:
    if c.device != "auto":
        return torch.device(c.device)
    return torch.device(f"cuda:{d.local_rank}" if torch.cuda.is_available() else "cpu")


def pick_precision(c: TrainConfig, device: torch.device) -> torch.dtype:
    """float32 on the CPU unless bf16 is asked for; on CUDA bf16 where supported, else fp16."""
    name = c.dtype
    if name == "auto":
        cuda = device.type == "cuda"
        name = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "float32"
    if name == "fp16" and device.type != "cuda":
        raise ToolchainError("fp16 training needs CUDA; on the CPU use --dtype bf16 or float32")
    return {"float32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def model_args(config: ModelConfig, c: TrainConfig) -> dict:
    """A checkpoint's model_args: the shape, and the two training settings llama2.c keeps with it."""
    kept = {"multiple_of": c.multiple_of, "dropout": c.dropout}
    return {k: kept[k] if k in kept else getattr(config, k) for k in MODEL_ARGS}


def read_checkpoint(path: Path | str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ToolchainError(f"{path}: no such file")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a foreign or truncated file
        raise ToolchainError(f"{path}: not a readable PyTorch checkpoint ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or not {"model", "model_args"} <= set(ckpt) \
            or not set(MODEL_ARGS) <= set(ckpt["model_args"]):
        raise ToolchainError(f"{path}: not a training checkpoint (no model, or model_args "
                             f"without {', '.join(MODEL_ARGS)})")
    return ckpt


def _save(path: Path, ckpt: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(ckpt, tmp)
    tmp.replace(path)  # a reader (or a resume after a crash) never sees half a checkpoint


@torch.no_grad()
def estimate_loss(model: Transformer, data: Dataset, c: TrainConfig, device, autocast) -> tuple[float, float]:
    """Mean loss over eval_iters fixed batches of each split (the same batches every time,
    so successive evaluations compare)."""
    model.eval()
    loss = LanguageModelLoss(model)
    means = []
    for split in (data.train, data.val):
        total = 0.0
        for k in range(c.eval_iters):
            x, y = batch(split, c.batch_size, c.max_seq_len, [c.seed, EVAL_STREAM, k], device)
            with autocast:
                total += loss(x, y).item()
        means.append(total / c.eval_iters)
    model.train()
    return means[0], means[1]


def optimizer_step(step: nn.Module, optimizer, scaler, autocast, data: np.ndarray, c: TrainConfig, it: int,
                   dist: Distributed, device) -> float:
    """One iteration: grad_accum micro-batches (this process's shards of the iteration's
    batches), clipping, an AdamW step at the scheduled rate; returns the last loss."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate(it, c)
    for micro in range(c.grad_accum):
        x, y = batch(data, c.batch_size, c.max_seq_len, [c.seed, it, dist.rank * c.grad_accum + micro], device)
        # DDP averages gradients only on the last micro-batch of an iteration
        sync = step.no_sync() if dist.world > 1 and micro < c.grad_accum - 1 else nullcontext()
        with sync:
            with autocast:
                loss = step(x, y)
            scaler.scale(loss / c.grad_accum).backward()
    if c.grad_clip > 0:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(step.parameters(), c.grad_clip)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()


def refuse_existing(out_dir: Path | str) -> None:
    path = Path(out_dir) / CHECKPOINT
    if path.exists():
        raise ToolchainError(f"{path} exists (resume it, or train into another directory)")


def prepare_inputs(out_dir: Path | str, corpus: Path | str | None = None,
                   tokenizer: Path | str | None = None, stories: int = STORIES, corpus_seed: int = 0,
                   vocab_size: int = VOCAB_SIZE) -> tuple[Path, Path]:
    """The corpus and SentencePiece model to train a new model in out_dir with: the
    ones given, or made there (out_dir/corpus.txt: generated stories; out_dir/tokenizer.model
    and .bin: a tokenizer trained on the corpus)."""
    from .corpus import write_corpus
    from .tokenizer import train_sentencepiece

    out = Path(out_dir)
    refuse_existing(out)
    if corpus is not None and not Path(corpus).is_file():
        raise ToolchainError(f"{corpus}: no such file")
    if corpus is None and stories < 2:
        raise ToolchainError(f"--stories must be at least 2 (one is held out), not {stories}")
    corpus = Path(corpus) if corpus is not None else write_corpus(out / "corpus.txt", stories, corpus_seed)
    if tokenizer is None:
        prefix = out / "tokenizer"
        train_sentencepiece(corpus, vocab_size, prefix)
        tokenizer = prefix.with_name(prefix.name + ".model")
    return corpus, Path(tokenizer)


def train(c: TrainConfig, resume: bool = False, progress: bool = True) -> TrainResult:
    """Trains (or, with resume, continues) the model of `c` and writes out_dir/ckpt.pt
    at every evaluation and at the end; returns every evaluation's losses."""
    c.check()
    out = Path(c.out_dir)
    path = out / CHECKPOINT
    ckpt = None
    if resume:
        ckpt = read_checkpoint(path)
        if not {"optimizer", "iter_num", "best_val_loss"} <= set(ckpt):
            raise ToolchainError(f"{path} cannot be resumed: it has no optimizer state and iteration")
        c = replace(c, **{k: v for k, v in ckpt["model_args"].items() if k in MODEL_ARGS and k != "vocab_size"})
        if ckpt["iter_num"] >= c.max_iters:
            raise ToolchainError(f"{path} is already at iteration {ckpt['iter_num']}: nothing to do "
                                 f"up to {c.max_iters} (raise the iterations)")
    else:
        refuse_existing(out)
    data = load_dataset(c.corpus, c.tokenizer, c.val_fraction, c.max_seq_len + 1)
    config = c.model_config(data.vocab_size)
    config.validate()
    if ckpt is not None and ckpt["model_args"]["vocab_size"] != data.vocab_size:
        raise ToolchainError(f"{path} has a vocabulary of {ckpt['model_args']['vocab_size']}, "
                             f"the tokenizer {data.vocab_size}")

    dist = Distributed.from_env()
    if c.threads or dist.world == 1:
        torch.set_num_threads(c.threads or idle_cores())
    device = pick_device(c, dist)
    precision = pick_precision(c, device)
    autocast = torch.autocast(device.type, dtype=precision, enabled=precision != torch.float32)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == torch.float16)
    torch.manual_seed(c.seed)  # the same initial weights in every process

    model = Transformer(config, dropout=c.dropout).to(device)
    optimizer = make_optimizer(model, c)
    if ckpt is None:
        init_weights(model)
        start, best = 0, float("inf")
    else:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        start, best = ckpt["iter_num"], ckpt["best_val_loss"]
    model.train()
    step = LanguageModelLoss(model)
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        step = DistributedDataParallel(step, device_ids=[dist.local_rank] if device.type == "cuda" else None)
    if dist.master:
        out.mkdir(parents=True, exist_ok=True)

    result = TrainResult(path, start)
    args = model_args(config, c)

    def evaluate_and_save(it: int) -> None:
        nonlocal best
        if not dist.master:
            return
        train_loss, val_loss = estimate_loss(model, data, c, device, autocast)
        best = min(best, val_loss)
        result.evals.append(Eval(it, train_loss, val_loss))
        steps.write(f"iter {it}: train loss {train_loss:.4f}, val loss {val_loss:.4f}", file=sys.stderr)
        _save(path, {"model": model.state_dict(), "model_args": args,
                     "optimizer": optimizer.state_dict(), "iter_num": it, "best_val_loss": best,
                     "config": asdict(c)})

    tokens_per_iter = c.batch_size * c.max_seq_len * c.grad_accum * dist.world
    steps = bar(range(start, c.max_iters), initial=start, total=c.max_iters, unit="it",
                disable=not (progress and dist.master))
    if start == 0:
        evaluate_and_save(0)
    stepping = 0.0  # seconds in optimizer steps, evaluations left out
    for it in steps:
        tick = time.perf_counter()
        loss = optimizer_step(step, optimizer, scaler, autocast, data.train, c, it, dist, device)
        seconds = time.perf_counter() - tick
        stepping += seconds
        steps.set_postfix(loss=f"{loss:.4f}", tok_s=f"{tokens_per_iter / seconds:.0f}")
        result.iter_num = it + 1
        if result.iter_num % c.eval_interval == 0 or result.iter_num == c.max_iters:
            evaluate_and_save(result.iter_num)
    steps.close()
    result.tokens_per_s = tokens_per_iter * (c.max_iters - start) / stepping if stepping > 0 else 0.0
    if dist.world > 1:
        distributed.barrier()  # rank 0 has written the last checkpoint; gloo aborts on a peer that left
        distributed.destroy_process_group()
    return result
