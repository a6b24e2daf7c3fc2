"""`llmtool train`: train a small llama model on a text corpus (or generated stories)."""
from dataclasses import fields
from pathlib import Path

import click
from click.core import ParameterSource

from ..errors import ToolchainError
from ..train.config import CHECKPOINT, DTYPES, STORIES, VOCAB_SIZE, TrainConfig

DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.name not in ("corpus", "tokenizer", "out_dir")}

# (flag, TrainConfig field, type, help); defaults are TrainConfig's
SETTINGS = [
    ("--dim", "dim", int, "Model width."),
    ("--layers", "n_layers", int, "Transformer blocks."),
    ("--heads", "n_heads", int, "Query heads."),
    ("--kv-heads", "n_kv_heads", int,
     "Key/value heads; fewer than --heads: grouped-query attention [default: --heads]."),
    ("--hidden-dim", "hidden_dim", int, "Feed-forward width [default: Meta's rule from --dim]."),
    ("--seq-len", "max_seq_len", int, "Context length trained on (the model's max_seq_len)."),
    ("--dropout", "dropout", float, "Dropout probability while training."),
    ("--batch-size", "batch_size", int, "Sequences per micro-batch (per process)."),
    ("--grad-accum", "grad_accum", int, "Micro-batches per optimizer step."),
    ("--iters", "max_iters", int, "Optimizer steps in all (a resumed run continues up to this)."),
    ("--lr", "learning_rate", float, "Peak learning rate."),
    ("--min-lr", "min_lr", float, "Learning rate at the end of the cosine."),
    ("--warmup", "warmup_iters", int, "Steps of linear warmup."),
    ("--weight-decay", "weight_decay", float, "AdamW weight decay (matrices and embeddings only)."),
    ("--grad-clip", "grad_clip", float, "Clip the gradient norm to this; 0 = off."),
    ("--eval-interval", "eval_interval", int, "Steps between held-out evaluations and checkpoints."),
    ("--eval-iters", "eval_iters", int, "Batches per evaluation."),
    ("--seed", "seed", int, "Seed of the initial weights and the batches."),
    ("--device", "device", str, "auto, cpu, cuda, cuda:1, ..."),
    ("--threads", "threads", int, "CPU threads per process [default: the idle cores; under torchrun, "
                                  "the cores shared out]."),
    ("--dtype", "dtype", click.Choice(DTYPES), "auto: bf16 (or fp16 with loss scaling) autocast on CUDA, "
                                               "float32 on the CPU."),
]


def training_options(f):
    for flag, name, kind, text in reversed(SETTINGS):
        default = DEFAULTS[name]
        f = click.option(flag, name, type=kind, default=default, show_default=default is not None, help=text)(f)
    return f


@click.command("train", short_help="Train a small llama model on a corpus or generated stories.")
@click.argument("corpus", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="Directory for ckpt.pt (and the generated corpus and tokenizer).")
@click.option("--tokenizer", "-z", type=click.Path(path_type=Path), default=None,
              help="SentencePiece .model to tokenize with [default: train one on the corpus].")
@click.option("--vocab-size", type=int, default=VOCAB_SIZE, show_default=True,
              help="Vocabulary of the tokenizer trained when no --tokenizer is given.")
@click.option("--stories", type=int, default=STORIES, show_default=True,
              help="Without CORPUS: how many children's stories to generate into OUTDIR/corpus.txt.")
@click.option("--resume", is_flag=True,
              help="Continue OUTDIR/ckpt.pt with its settings (options given here override them).")
@training_options
@click.pass_context
def command(ctx, corpus, out, tokenizer, vocab_size, stories, resume, **settings):
    """Train a llama model (toolchain/model.py) on CORPUS, a text file with one
    document per line, or without CORPUS on generated children's stories. Writes
    OUTDIR/ckpt.pt (llama2.c train.py's format) at every evaluation.

    Under `torchrun --nproc_per_node N -m toolchain train ...` the processes train
    data-parallel (gloo on the CPU, NCCL on CUDA); only rank 0 writes and prints.

    \b
    The defaults train the tiny_stories example, about 1M parameters:
      llmtool train -o run/
      llmtool compile run/ckpt.pt --tokenizer run/tokenizer.bin --board host -o out/
    """
    from ..train.trainer import Distributed, prepare_inputs, read_checkpoint, train

    if resume:
        saved = read_checkpoint(out / CHECKPOINT).get("config", {})
        given = {k: v for k, v in settings.items() if ctx.get_parameter_source(k) == ParameterSource.COMMANDLINE}
        paths = {"corpus": corpus or saved.get("corpus"), "tokenizer": tokenizer or saved.get("tokenizer")}
        if None in paths.values():
            raise ToolchainError(f"{out / CHECKPOINT} does not name its corpus and tokenizer: "
                                 f"give CORPUS and --tokenizer")
        config = TrainConfig(**{**DEFAULTS, **{k: v for k, v in saved.items() if k in DEFAULTS},
                                **given, **{k: str(v) for k, v in paths.items()}, "out_dir": str(out)})
    else:
        TrainConfig("", "", "", **settings).check()  # before the corpus and tokenizer are made
        corpus, tokenizer = Distributed.from_env().on_master(
            lambda: prepare_inputs(out, corpus, tokenizer, stories, vocab_size=vocab_size))
        config = TrainConfig(str(corpus), str(tokenizer), str(out), **settings)
    result = train(config, resume=resume)
    if result.evals:
        last = result.evals[-1]
        click.echo(f"trained to iteration {result.iter_num}: val loss {last.val_loss:.4f}, "
                   f"{result.tokens_per_s:.0f} tokens/s; checkpoint {result.checkpoint}")
        click.echo(f"next: llmtool compile {result.checkpoint} --tokenizer {config.tokenizer} "
                   f"--board host -o {out / 'host'}")
