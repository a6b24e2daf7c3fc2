"""The weight image's options, which `compile` and `analyze` share."""
import click

from ..choices import WEIGHTS_MODES


def weights_options(command):
    """--weights and --weights-in, as compile takes them (analyze: for the fit)."""
    command = click.option(
        "--weights-in", default="", metavar="REGION",
        help="Bare metal: the memory region to keep the weights in (a flash or XIP region) or to copy "
             "them to at start-up (a RAM region) [default: the code region if they fit, else the fastest "
             "external flash that holds them, copied to external RAM that reads faster].")(command)
    return click.option(
        "--weights", type=click.Choice(WEIGHTS_MODES), default="linked", show_default=True,
        help="linked: the weight image is part of the firmware (the binary); separate: it is an image of "
             "its own, build/llm_weights.img, flashed at the address the board file names (Linux: read "
             "with llm -w FILE, memory-mapped), so a model update leaves the firmware as it is.")(command)
