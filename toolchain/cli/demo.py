"""`llmtool demo`: the whole path with nothing brought along. Trains a small
tiny_stories model (once; later runs reuse it), compiles it for a board, builds it
and runs it under the board's emulator; it says how long that takes before it starts."""
import hashlib
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import click

from .. import __version__
from ..manifest import MANIFEST
from ..train.config import CHECKPOINT, STORIES, VOCAB_SIZE, TrainConfig

DEFAULT_WORKDIR = Path("~/.cache/llmtool/demo")
# The tiny_stories example (`llmtool train`'s defaults: 1M parameters, 3 minutes of
# training on two idle cores, 7 to 10 when other work holds one) at three quarters of
# its width and four of its five layers, on half its batch: 0.5M parameters seeing
# 0.8M tokens reach a held-out loss of 0.33 nats per token in 400 steps and tell a
# whole story in the 256 positions the demo runs. The whole first run to rpi4 took
# 2 min 48 s on a 2-core machine shared with other jobs (load 4.5).
DEMO_CONFIG = TrainConfig("", "", "", dim=96, n_layers=4, batch_size=8, max_iters=400, warmup_iters=30,
                          eval_interval=200)
# A training step costs about this per parameter and token on a 2-core x86-64 machine
# where other work holds a core (torch then takes one thread): on a machine of its
# own, torch takes both and the run is about twice as fast as said. An evaluation
# batch, forward only, costs a third of a step.
SECONDS_PER_PARAM_TOKEN = 2.5e-10
AFTER_TRAINING_SECONDS = 30  # the corpus, the tokenizer, compiling, cross-building, the QEMU run


def training_seconds(config: TrainConfig, vocab_size: int = VOCAB_SIZE) -> float:
    """About how long training `config` takes on a 2-core CPU."""
    params = config.model_config(vocab_size).n_params()
    window = config.batch_size * config.max_seq_len
    evaluations = config.max_iters // config.eval_interval + 1
    tokens = config.max_iters * config.grad_accum * window + evaluations * 2 * config.eval_iters * window / 3
    return SECONDS_PER_PARAM_TOKEN * params * tokens


def duration(seconds: float) -> str:
    """"under a minute", "about 1.5 minutes", "about 3 minutes": to the half minute."""
    minutes = round(seconds / 30) / 2
    return "under a minute" if minutes < 1 else f"about {minutes:g} minute{'s' * (minutes > 1)}"


def settings_key(config: TrainConfig, stories: int, vocab_size: int) -> str:
    """Names a trained model by everything that shaped it, so other settings train anew."""
    settings = asdict(replace(config, corpus="", tokenizer="", out_dir="", threads=None))
    text = json.dumps([__version__, settings, stories, vocab_size], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def trained_model(workdir: Path, config: TrainConfig, stories: int = STORIES,
                  vocab_size: int = VOCAB_SIZE) -> Path:
    """WORKDIR/model-KEY/ckpt.pt trained to config.max_iters: reused when there,
    resumed when a run was interrupted, trained from scratch otherwise."""
    from ..train.trainer import prepare_inputs, read_checkpoint, train

    model_dir = workdir / f"model-{settings_key(config, stories, vocab_size)}"
    path = model_dir / CHECKPOINT
    if path.exists():
        saved = read_checkpoint(path)
        if saved["iter_num"] < config.max_iters:
            left = training_seconds(config, vocab_size) * (1 - saved["iter_num"] / config.max_iters)
            click.echo(f"demo: continuing the interrupted training in {model_dir} "
                       f"({duration(left)} on a 2-core CPU)", err=True)
            train(replace(config, **{k: saved["config"][k] for k in ("corpus", "tokenizer", "out_dir")}),
                  resume=True)
        return path
    seconds = training_seconds(config, vocab_size)
    params = config.model_config(vocab_size).n_params()
    click.echo(f"demo: this first run takes {duration(seconds + AFTER_TRAINING_SECONDS)} on a 2-core CPU: "
               f"training a {params / 1e6:.1f}M-parameter model on {stories:,} generated stories "
               f"({duration(seconds)}, once), then compiling, building and running it", err=True)
    click.echo(f"demo: training the tiny_stories model in {model_dir} (once; later runs reuse it)", err=True)
    corpus, tokenizer = prepare_inputs(model_dir, stories=stories, vocab_size=vocab_size)
    train(replace(config, corpus=str(corpus), tokenizer=str(tokenizer), out_dir=str(model_dir)))
    return path


def run_demo(workdir: Path, board: str, prompt: str, steps: int, temperature: float, topp: float,
             seed: int | None, config: TrainConfig | None = None, stories: int = STORIES,
             vocab_size: int = VOCAB_SIZE) -> int:
    """Trains (or reuses) the model, compiles it for `board` (once), runs it; the exit status."""
    from ..boards import get_board
    from ..compile.compiler import compile_project
    from ..target.run import check_sampling, run_project

    check_sampling(temperature, topp, seed)  # before the minutes of training
    workdir = Path(workdir).expanduser()
    config = config or DEMO_CONFIG
    checkpoint = trained_model(workdir, config, stories, vocab_size)
    out = checkpoint.parent / board
    if not (out / MANIFEST).exists():
        click.echo(f"demo: compiling for {board} into {out}", err=True)
        # a bare-metal board's firmware with a command line, which QEMU runs like a program
        console = "semihosting" if get_board(board).os == "baremetal" else None
        compile_project(checkpoint, checkpoint.parent / "tokenizer.bin", board, out, force=True,
                        model_name="tiny_stories", console=console)
    built = (out / "build" / "llm").exists()
    click.echo(f"demo: {'running' if built else 'building and running'} {out} on {board}", err=True)
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
    """Train a small tiny_stories model (0.5M parameters, about 2 minutes on a
    2-core CPU, once: later runs reuse it), compile it for BOARD, build it and run it
    under the board's emulator (natively for host): the whole path without a model
    of your own."""
    sys.exit(run_demo(workdir, board, prompt, steps, temperature, topp, seed))
