"""`llmtool compile`: checkpoint -> C project."""
from pathlib import Path

import click

from ..choices import CONSOLES, DEFAULT_BATCH, DEFAULT_CONTEXT_CAP, KV_MODES, QUANT_MODES
from .library_options import library_options
from .quant_options import quant_options
from .weights_options import weights_options


@click.command("compile", short_help="Compile MODEL into a C project for one board.")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--tokenizer", "-z", "tokenizer", required=True, type=click.Path(path_type=Path),
              help="Tokenizer: llama2.c tokenizer.bin, SentencePiece .model, tiktoken ranks file, "
                   "or Hugging Face tokenizer.json (or its model directory).")
@click.option("--board", "-b", default="host", show_default=True,
              help="Target board (see `llmtool boards`).")
@click.option("--quant", type=click.Choice(QUANT_MODES), default="q8", show_default=True,
              help="Weight format: q8, int8 groups with a float scale; q4, q5, q6, groups of 32-column "
                   "sub-blocks with integer scales (4.5, 5.5, 6.3 bits a weight); auto, a format per matrix "
                   "within --flash; or plain float32.")
@quant_options
@click.option("--group-size", type=int, default=None,
              help="Columns per scale group, a last shorter group taking the rest "
                   "[default: 64 for q8, 256 for q4, q5, q6 and auto].")
@click.option("--kv", type=click.Choice(KV_MODES), default="f32", show_default=True,
              help="KV cache storage: float32, half, or int8 with a scale per head.")
@click.option("--context", type=int, default=None,
              help="Positions the KV cache holds [default: the largest that fits the board, "
                   f"at most the model's max_seq_len and {DEFAULT_CONTEXT_CAP}].")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Prompt tokens run through the layers at once, each weight read once for them all "
                   f"[default: the most, up to {DEFAULT_BATCH}, that fit the board beside the context].")
@click.option("--console", type=click.Choice(CONSOLES), default=None,
              help="Bare metal: how build/llm talks: semihosting (a debugger or QEMU; llmtool run) or the "
                   "board's UART (an interactive prompt loop, no debugger) or rtt (that loop on ring buffers in RAM, "
                   "through a probe: llmtool monitor --gdb) [default: the board file's].")
@weights_options
@library_options
@click.option("--force", is_flag=True, help="Replace OUTDIR if it exists.")
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Project directory to create.")
def command(model, tokenizer, board, quant, calibration, flash, group_size, kv, context, batch, console, weights,
            weights_in, name, share_arena, packages, force, out):
    """Compile MODEL into a C project for one board. MODEL is a llama2.c .bin or
    train.py .pt, a Meta (params.json + consolidated.*.pth) or Hugging Face
    (config.json + safetensors) directory, or a GGUF file, told apart by content.

    The project in OUTDIR builds with `make` alone: a config header, the weight
    image, the memory plan, the C runtime, a Makefile and a README.
    """
    from ..compile.compiler import compile_project
    from ..compile.spec import LibraryOptions

    done = compile_project(model, tokenizer, board, out, quant, group_size, context, force, kv=kv, console=console,
                           weights=weights, weights_in=weights_in,
                           library=LibraryOptions(name, share_arena, packages), calibration=calibration,
                           flash=flash, batch=batch)
    project = done.project
    console_note = f", {done.project.console} console" if done.project.console not in ("stdio", "semihosting") else ""
    click.echo(f"compiled {model} -> {project.path} ({board}, {quant}, KV cache {kv}{console_note})")
    if not done.context_chosen:
        click.echo(f"  context {project.context}")
    elif project.context == DEFAULT_CONTEXT_CAP < done.max_seq_len:
        click.echo(f"  context {project.context} (at most {DEFAULT_CONTEXT_CAP} unless asked: the model claims "
                   f"{done.max_seq_len:,}; set it with --context)")
    else:
        click.echo(f"  context {project.context} (the largest that fits; set it with --context)")
    w = project.weights  # where the image is stored ("" on Linux) and read
    where = f" (in {w['stored_in']})" if w["stored_in"] else ""
    if w["mode"] == "separate":
        where = f" (a separate image, at {w['address']:#010x} in {w['stored_in']})" if w["stored_in"] \
            else " (a separate image: llm -w FILE)"
    if w["read_from"] != w["stored_in"]:
        where += f", copied to {w['read_from']} at start-up"
    click.echo(f"  weight image {project.image_bytes:,} bytes{where}, static RAM {project.ram_bytes:,} bytes")
    if done.auto is not None:
        r = done.auto.report()
        within = f"within {r['budget_bytes']:,} bytes" if r["budget_bytes"] else "with no limit on its size"
        click.echo(f"  formats {within}: " + ", ".join(f"{n} in {f}" for f, n in r["matrices"].items()) +
                   f" matrices; predicted mean KL {r['predicted_kl']:.4f} nats (each matrix's in llmtool.json)")
    worst = done.quantized.worst()
    if worst is not None:
        click.echo(f"  quantization error: worst tensor {worst.name} "
                   f"(relative RMS {worst.rel_rms:.2e}, max abs {worst.max_abs:.2e}); "
                   f"all tensors in {project.path / 'llmtool.json'}")
