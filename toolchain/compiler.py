"""The compile step: checkpoint + tokenizer + board -> C project."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .boards import get_board
from .config import Model
from .errors import ToolchainError
from .fit import assess, largest_context
from .importers import load_checkpoint
from .quantize import DEFAULT_GROUP_SIZE, QuantizedModel, check_group_size, quantize_model
from .render import Project, render_project
from .tokenizer import Tokenizer, load_tokenizer


@dataclass
class Compiled:
    project: Project
    quantized: QuantizedModel
    context_chosen: bool  # no --context was given: the largest that fits was taken


def compile_project(model: Path | Model, tokenizer: Path | Tokenizer, board_name: str, out: Path,
                    quant: str = "q8", group_size: int | None = None, context: int | None = None,
                    force: bool = False, model_name: str | None = None, kv: str = "f32") -> Compiled:
    """Compiles a checkpoint file (or an in-memory Model) into a project at `out`."""
    board = get_board(board_name)
    if Path(out).exists() and not force:  # before the slow steps
        raise ToolchainError(f"{out} already exists (use --force to replace it)")
    source = None
    if not isinstance(model, Model):
        source = Path(model)
        model_name = model_name or source.stem
        model = load_checkpoint(source)
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else load_tokenizer(tokenizer)
    cfg = model.config
    if tok.vocab_size != cfg.vocab_size:
        raise ToolchainError(f"the tokenizer has {tok.vocab_size} tokens but the model's "
                             f"vocabulary is {cfg.vocab_size}: wrong tokenizer for this model")
    group_size = DEFAULT_GROUP_SIZE[quant] if group_size is None else group_size
    check_group_size(quant, group_size)
    best = largest_context(cfg, quant, group_size, kv, board, tok)
    if best == 0:
        raise ToolchainError(f"the model does not fit {board.name} even with a context of 1 "
                             f"(see `llmtool analyze`)")
    chosen = context is None
    if chosen:
        context = best
    elif not 1 <= context <= cfg.max_seq_len:
        raise ToolchainError(f"--context {context} is outside 1..{cfg.max_seq_len} (the model's max_seq_len)")
    elif context > best:
        raise ToolchainError(f"--context {context} does not fit {board.name} with --kv {kv}: "
                             f"the largest that fits is {best}")
    fit = assess(cfg, quant, group_size, kv, context, board, tok)
    qm = quantize_model(model, quant, group_size)
    project = render_project(out, qm, tok, board, fit.plan, model_name or "model", source, force=force)
    return Compiled(project, qm, chosen)
