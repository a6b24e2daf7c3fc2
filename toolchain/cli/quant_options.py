"""The weight format's options beyond --quant, which `compile` takes."""
import re
from pathlib import Path

import click

from ..choices import DEFAULT_TEXT

UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class ByteCount(click.ParamType):
    """A number of bytes: 300000, 300K, 1.5M (K, M, G: powers of 1024)."""
    name = "BYTES"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)i?B?\s*", str(value), re.IGNORECASE)
        if not m or float(m[1]) * UNITS[m[2].upper()] < 1:
            self.fail(f"{value!r} is not a number of bytes (e.g. 300000, 300K, 1.5M)", param, ctx)
        return int(float(m[1]) * UNITS[m[2].upper()])


def quant_options(command):
    """--calibrate and --flash."""
    command = click.option(
        "--flash", type=ByteCount(), default=None,
        help="With --quant auto: the bytes the weight image may take (e.g. 300K) [default: the board's room for "
             "it; on Linux no limit, which is q8 throughout].")(command)
    return click.option(
        "--calibrate", "calibration", type=click.Path(path_type=Path), default=DEFAULT_TEXT,
        show_default="the shipped stories text",
        help="Text whose activations weigh the q4, q5 and q6 rounding (each input column by what it carries) and "
             "measure each matrix's sensitivity for --quant auto.")(command)
