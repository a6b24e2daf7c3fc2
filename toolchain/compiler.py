"""The compile step: checkpoint + tokenizer + board -> C project."""
from __future__ import annotations

from pathlib import Path

from .boards import get_board
from .config import Model
from .errors import ToolchainError
from .importers import load_checkpoint
from .quantize import QuantizedModel, quantize_model
from .render import Project, render_project
from .tokenizer import Tokenizer, load_tokenizer


def compile_project(model: Path | Model, tokenizer: Path | Tokenizer, board_name: str, out: Path,
                    quant: str = "q8", group_size: int = 64, context: int | None = None,
                    force: bool = False, model_name: str | None = None) -> tuple[Project, QuantizedModel]:
    """Compiles a checkpoint file (or an in-memory Model) into a project at `out`."""
    board = get_board(board_name)
    if Path(out).exists() and not force:  # before the slow steps
        raise ToolchainError(f"{out} already exists (use --force to replace it)")
    if not isinstance(model, Model):
        model_name = model_name or Path(model).stem
        model = load_checkpoint(model)
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else load_tokenizer(tokenizer)
    cfg = model.config
    if tok.vocab_size != cfg.vocab_size:
        raise ToolchainError(f"the tokenizer has {tok.vocab_size} tokens but the model's "
                             f"vocabulary is {cfg.vocab_size}: wrong tokenizer for this model")
    if context is None:
        context = cfg.max_seq_len
    if not 1 <= context <= cfg.max_seq_len:
        raise ToolchainError(f"--context {context} is outside 1..{cfg.max_seq_len} "
                             f"(the model's max_seq_len)")
    qm = quantize_model(model, quant, group_size)
    project = render_project(out, qm, tok, board, context, model_name or "model", force=force)
    return project, qm
