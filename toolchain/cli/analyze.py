"""`llmtool analyze`: will this model fit this board, and how fast would it run?"""
import json
import sys
from pathlib import Path

import click

from ..choices import DEFAULT_GROUP_SIZE, KV_MODES, QUANT_MODES
from .weights_options import weights_options


@click.command("analyze", short_help="Will MODEL fit BOARD? Flash, RAM, context and tok/s.")
@click.argument("model")
@click.option("--board", "-b", required=True, help="Target board (see `llmtool boards`).")
@click.option("--quant", type=click.Choice(QUANT_MODES), default="q8", show_default=True)
@click.option("--group-size", type=int, default=None, help="[default: 64 for q8, 256 for q4, q5, q6 and auto]")
@click.option("--kv", type=click.Choice(KV_MODES), default="f32", show_default=True,
              help="KV cache storage to show the layout for.")
@click.option("--context", type=int, default=None, help="[default: the largest that fits]")
@click.option("--tokenizer", "-z", type=click.Path(path_type=Path), default=None,
              help="Count the tokenizer exactly instead of estimating it.")
@weights_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of the table.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Also draw the flash and RAM maps into this PNG file.")
def command(model, board, quant, group_size, kv, context, tokenizer, weights, weights_in, as_json, plot):
    """Show how MODEL (a checkpoint, or a shape by name: llama2.c's stories15M,
    stories42M, stories110M; SmolLM2-135M, SmolLM2-360M, Qwen2.5-0.5B, Qwen3-0.6B,
    TinyLlama-1.1B, Gemma-3-270M) fits BOARD: flash and RAM by section against the board's limits,
    the largest context for each KV cache storage, and an estimate of decode tok/s
    from the board's clock, bandwidth and MACs per cycle.

    Exits with status 1 when the model does not fit (at --context, if given), after
    saying why in one line (with --json: "fits": false in the complete object)."""
    from ..compile.analyze import analyze, report_lines
    from ..boards import get_board
    from ..importers.tokenizer import load_tokenizer

    tok = load_tokenizer(tokenizer) if tokenizer else None
    group_size = DEFAULT_GROUP_SIZE[quant] if group_size is None else group_size
    a = analyze(model, get_board(board), quant, group_size, kv, context, tok, weights, weights_in)
    if as_json:
        click.echo(json.dumps(a.to_json(), indent=2))
    else:
        for line in report_lines(a):
            click.echo(line)
    if plot:
        from ..compile.plot import plot_memory

        plot_memory(a, plot)
        if not as_json:
            click.echo(f"memory map drawn in {plot}")
    if a.fit is None:
        sys.exit(1)
