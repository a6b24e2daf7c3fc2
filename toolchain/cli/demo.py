"""`llmtool demo`: the whole path with nothing brought along. Trains the
tiny_stories example model (once; later runs reuse it), compiles it for a board,
builds it and runs it under the board's emulator."""
import hashlib
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import click

from .. import __version__
from ..manifest import MANIFEST
from ..train_config import CHECKPOINT, STORIES, VOCAB_SIZE, TrainConfig

DEFAULT_WORKDIR = Path("~/.cache/llmtool/demo")


def settings_key(config: TrainConfig, stories: int, vocab_size: int) -> str:
    """Names a trained model by everything that shaped it, so other settings train anew."""
    settings = asdict(replace(config, corpus="", tokenizer="", out_dir="", threads=None))
    text = json.dumps([__version__, settings, stories, vocab_size], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def trained_model(workdir: Path, config: TrainConfig, stories: int = STORIES,
                  vocab_size: int = VOCAB_SIZE) -> Path:
    """WORKDIR/model-KEY/ckpt.pt trained to config.max_iters: reused when there,
    resumed when a run was interrupted, trained from scratch otherwise."""
    from ..train import prepare_inputs, read_checkpoint, train

    model_dir = workdir / f"model-{settings_key(config, stories, vocab_size)}"
    path = model_dir / CHECKPOINT
    if path.exists():
        saved = read_checkpoint(path)
        if saved["iter_num"] < config.max_iters:
            click.echo(f"demo: continuing the interrupted training in {model_dir}", err=True)
            train(replace(config, **{k: saved["config"][k] for k in ("corpus", "tokenizer", "out_dir")}),
                  resume=True)
        return path
    click.echo(f"demo: training the tiny_stories model in {model_dir} (once; later runs reuse it)", err=True)
    corpus, tokenizer = prepare_inputs(model_dir, stories=stories, vocab_size=vocab_size)
    train(replace(config, corpus=str(corpus), tokenizer=str(tokenizer), out_dir=str(model_dir)))
    return path


def run_demo(workdir: Path, board: str, prompt: str, steps: int, temperature: float, topp: float,
             seed: int | None, config: TrainConfig | None = None, stories: int = STORIES,
             vocab_size: int = VOCAB_SIZE) -> int:
    """Trains (or reuses) the model, compiles it for `board` (once), runs it; the exit status."""
    from ..compiler import compile_project
    from ..run import check_sampling, run_project

    check_sampling(temperature, topp, seed)  # before the minutes of training
    workdir = Path(workdir).expanduser()
    config = config or TrainConfig("", "", "")
    checkpoint = trained_model(workdir, config, stories, vocab_size)
    out = checkpoint.parent / board
    if not (out / MANIFEST).exists():
        click.echo(f"demo: compiling for {board} into {out}", err=True)
        compile_project(checkpoint, checkpoint.parent / "tokenizer.bin", board, out, force=True,
                        model_name="tiny_stories")
    click.echo(f"demo: running {out} on {board}", err=True)
    return run_project(out, prompt, steps, temperature, topp, seed).returncode


@click.command("demo", short_help="Train a tiny model, then compile, build and run it.")
@click.option("--workdir", type=click.Path(path_type=Path), default=DEFAULT_WORKDIR, show_default=True,
              help="Where the trained model and the compiled projects are kept.")
@click.option("--board", "-b", default="rpi4", show_default=True, help="Board to compile for and run on.")
@click.option("--prompt", "-i", default="Once upon a time", show_default=True, help="Text to start from.")
@click.option("--steps", "-n", type=int, default=256, show_default=True,
              help="Positions to run, counting BOS and the prompt.")
@click.option("--temperature", "-t", type=float, default=0.8, show_default=True, help="0 = greedy.")
@click.option("--top-p", "-p", "topp", type=float, default=0.9, show_default=True,
              help="Nucleus sampling threshold.")
@click.option("--seed", "-s", type=int, default=None, help="Random seed [default: from the clock].")
def command(workdir, board, prompt, steps, temperature, topp, seed):
    """Train the tiny_stories example model (about 1M parameters, a few minutes
    on a CPU, once), compile it for BOARD, build it and run it under the board's
    emulator (natively for host): the whole path without a model of your own."""
    sys.exit(run_demo(workdir, board, prompt, steps, temperature, topp, seed))
