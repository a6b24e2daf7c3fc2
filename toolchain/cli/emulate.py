"""`llmtool emulate`: run a project's C code on the host."""
from pathlib import Path

import click


def generation_options(f):
    """The flags of every command that generates text (llama2.c's run flags)."""
    options = [
        click.option("--prompt", "-i", default="", help="Text to start from (after BOS)."),
        click.option("--steps", "-n", type=int, default=None,
                     help="Positions to run, counting BOS and the prompt; 0 = the whole context "
                          "[default: 256, or the context if smaller]."),
        click.option("--temperature", "-t", type=float, default=1.0, show_default=True,
                     help="0 = greedy."),
        click.option("--top-p", "-p", "topp", type=float, default=0.9, show_default=True,
                     help="Nucleus sampling threshold; 1.0 turns it off."),
        click.option("--seed", "-s", type=int, default=None,
                     help="Random seed [default: from the clock]."),
        click.option("--mode", "-m", type=click.Choice(["generate", "chat"]), default="generate",
                     show_default=True,
                     help="chat: user turns from stdin (the first from --prompt, if given), answered "
                          "in the model's template (Llama 2 [INST] or Llama 3 headers); --steps is ignored."),
        click.option("--system", "-y", default="", help="Chat: the system prompt."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@click.command("emulate", short_help="Generate text with OUTDIR's C code built for this machine.")
@click.argument("outdir", type=click.Path(path_type=Path))
@generation_options
def command(outdir, prompt, steps, temperature, topp, seed, mode, system):
    """Generate text with OUTDIR's C code built for this machine.

    Prints exactly what llama2.c's `run` prints: the prompt, the generated text
    and a newline on stdout; the speed on stderr. With --mode chat, a conversation
    as the Linux image's `-m chat` holds it.
    """
    from ..host.emulator import chat, emulate

    if mode == "chat":
        chat(outdir, system, prompt, temperature, topp, seed)
    else:
        emulate(outdir, prompt, steps, temperature, topp, seed)
