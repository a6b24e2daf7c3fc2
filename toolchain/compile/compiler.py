"""The compile step: checkpoint + tokenizer + board -> C project."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..boards import console_for, get_board
from ..choices import DEFAULT_CONTEXT_CAP, DEFAULT_GROUP_SIZE, DEFAULT_TEXT
from ..config import Model
from ..errors import ToolchainError
from ..importers import load_checkpoint
from ..importers.tokenizer import Tokenizer, load_tokenizer, padded
from ..progress import phase
from .fit import assess, largest_batch, largest_context
from .outdir import check_output, clean_stale
from .auto import AutoChoice, choose, measured_sensitivity, with_formats
from .kquant import FORMATS as KQUANT_FORMATS
from .quantize import QuantizedModel, quantize_model
from .render import Project, render_project
from .spec import CompileSpec, LibraryOptions
from .image import image_size
from .weights import check_weights_options, no_room


@dataclass
class Compiled:
    project: Project
    quantized: QuantizedModel
    context_chosen: bool  # no --context was given: the largest that fits was taken
    max_seq_len: int      # what the checkpoint claims, which may be more than that
    auto: AutoChoice | None = None  # --quant auto: the formats chosen


def compile_project(model: Path | Model, tokenizer: Path | Tokenizer, board_name: str, out: Path,
                    quant: str = "q8", group_size: int | None = None, context: int | None = None,
                    force: bool = False, model_name: str | None = None, kv: str = "f32",
                    console: str | None = None, weights: str = "linked", weights_in: str = "",
                    library: LibraryOptions = LibraryOptions(), calibration: Path = DEFAULT_TEXT,
                    flash: int | None = None, sensitivity: dict[str, dict[str, float]] | None = None,
                    batch: int | None = None) -> Compiled:
    """Compiles a checkpoint file (or an in-memory Model) into a project at `out`; q4,
    q5 and q6 weigh their rounding by what each input column carries over the
    `calibration` text; auto chooses a format per matrix within `flash` bytes of image
    (None: the board's room), by the matrices' `sensitivity` if an earlier compile of
    the same model, calibration and group size measured it (its `auto.sensitivity`),
    else measured here. Prompts run `batch` tokens at once (None: the most, up to
    DEFAULT_BATCH, that fit beside the context, which a batch never shrinks)."""
    board = get_board(board_name)
    console_for(board, console)  # a console the board cannot have: refused before the slow steps
    check_weights_options(board, weights, weights_in)
    inputs = tuple(Path(p) for p in (model, tokenizer) if not isinstance(p, (Model, Tokenizer)))
    clean_stale(Path(out))
    check_output(Path(out), force, inputs)  # before the slow steps
    source = None
    if not isinstance(model, Model):
        source = Path(model)
        model_name = model_name or source.stem
        phase(f"reading {source}...")
        model = load_checkpoint(source)
    tok = tokenizer if isinstance(tokenizer, Tokenizer) else load_tokenizer(tokenizer)
    cfg = model.config
    tok = padded(tok, cfg.vocab_size)  # a larger tokenizer than the model is refused
    spec = CompileSpec(cfg, board, quant, DEFAULT_GROUP_SIZE[quant] if group_size is None else group_size,
                       kv, tokenizer=tok, console=console or "", weights=weights, weights_in=weights_in, library=library)
    chosen = context is None
    if not chosen:
        spec.check_context(context)
    tokens = importance = auto = None
    if quant in (*KQUANT_FORMATS, "auto"):
        from .calibrate import calibration_importance, calibration_tokens  # torch's: only for these

        phase(f"calibrating on {calibration}...")
        tokens = calibration_tokens(tok, calibration)
        importance = calibration_importance(model, tokens, tok.bos_id)
    if quant == "auto":
        # at the largest context it may get (the RoPE tables are in the image)
        at = spec.at(context or min(cfg.max_seq_len, DEFAULT_CONTEXT_CAP))
        measure = measured_sensitivity(at, model, tokens, importance) if sensitivity is None else lambda _: sensitivity
        auto = choose(at, flash, measure)
        spec = with_formats(spec, auto.formats)
    if batch is not None:  # asked for: the context is what fits beside it
        spec = spec.batched(batch)
    best = largest_context(spec, DEFAULT_CONTEXT_CAP if chosen else context)
    if best == 0 and batch is not None and largest_context(spec.batched(1), 1):
        raise ToolchainError(f"--batch {batch} does not fit {board.name} even with a context of 1: "
                             f"its activations take too much RAM")
    if best == 0:
        reason = no_room(board, image_size(spec.at(1)), weights == "separate", quant)
        raise ToolchainError(f"the model does not fit {board.name}: {reason}" if reason else
                             f"the model does not fit {board.name} even with a context of 1 "
                             f"(see `llmtool analyze`)")
    if chosen:
        context = best
    elif context > best:
        with_batch = f" and --batch {batch}" if batch is not None else ""
        raise ToolchainError(f"--context {context} does not fit {board.name} with --kv {kv}{with_batch}: "
                             f"the largest that fits is {largest_context(spec)}")
    spec = spec.at(context)
    if batch is None:
        spec = spec.batched(largest_batch(spec))
    fit = assess(spec)
    if quant != "f32":
        phase(f"quantizing {cfg.n_params():,} parameters to {quant} (groups of {spec.group_size})...")
    qm = quantize_model(model, quant, spec.group_size, importance, dict(spec.formats))
    phase(f"writing the {board.name} project, context {context}, to {out}...")
    project = render_project(out, qm, spec, fit.plan, model_name or "model", source, force=force, auto=auto)
    return Compiled(project, qm, chosen, cfg.max_seq_len, auto)
