"""`llmtool compile`: checkpoint -> C project."""
from pathlib import Path

import click

from ..compiler import compile_project
from ..quantize import QUANT_MODES


@click.command("compile")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--tokenizer", "-t", "tokenizer", required=True, type=click.Path(path_type=Path),
              help="Tokenizer: llama2.c tokenizer.bin or SentencePiece .model.")
@click.option("--board", "-b", default="host", show_default=True,
              help="Target board (see `llmtool boards`).")
@click.option("--quant", type=click.Choice(QUANT_MODES), default="q8", show_default=True,
              help="Weight format: int8 groups with float scales, or plain float32.")
@click.option("--group-size", type=int, default=64, show_default=True,
              help="Columns per int8 scale group (a last shorter group takes the rest).")
@click.option("--context", type=int, default=None,
              help="Positions the KV cache holds [default: the model's max_seq_len].")
@click.option("--force", is_flag=True, help="Replace OUTDIR if it exists.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Project directory to create.")
def command(model, tokenizer, board, quant, group_size, context, force, out):
    """Compile MODEL (a llama2.c checkpoint) into a C project for one board.

    The project in OUTDIR builds with `make` alone: a config header, the weight
    image, the memory plan, the C runtime, a Makefile and a README.
    """
    project, qm = compile_project(model, tokenizer, board, out, quant, group_size, context, force)
    click.echo(f"compiled {model} -> {project.path} ({board}, {quant}, context {project.context})")
    click.echo(f"  weight image {project.image_bytes:,} bytes, static RAM {project.ram_bytes:,} bytes")
    worst = qm.worst()
    if worst is not None:
        click.echo(f"  quantization error: worst tensor {worst.name} "
                   f"(relative RMS {worst.rel_rms:.2e}, max abs {worst.max_abs:.2e}); "
                   f"all tensors in {project.path / 'llmtool.json'}")
