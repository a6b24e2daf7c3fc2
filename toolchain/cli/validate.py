"""`llmtool validate`: how far a compiled build is from the float32 reference, and
whether that is close enough."""
import json
import sys
from pathlib import Path

import click

from ..choices import DEFAULT_MAX_KL, DEFAULT_MIN_TOP1, DEFAULT_TEXT, VALIDATE_TARGETS


def _defaults(table: dict, scale: float = 1, unit: str = "") -> str:
    """"95 for f32 and q8 builds, 80 for q4": a threshold's defaults by weight format."""
    by_value: dict[float, list[str]] = {}
    for quant, value in table.items():
        by_value.setdefault(value * scale, []).append(quant)
    return ", ".join(f"{value:g}{unit} for {' and '.join(quants)}" for value, quants in by_value.items())


@click.command("validate", short_help="Compare OUTDIR's build with the f32 reference: PASS or FAIL.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--text", type=click.Path(path_type=Path), default=DEFAULT_TEXT,
              help="Text to teacher-force [default: children's stories shipped with llmtool].")
@click.option("--on", "on", type=click.Choice(VALIDATE_TARGETS), default="emulator", show_default=True,
              help="Run the host emulator, or the built image on its board's emulator.")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="The float checkpoint [default: the one OUTDIR was compiled from].")
@click.option("--min-top1", type=float, default=None, metavar="PERCENT",
              help=f"PASS needs top-1 agreement of at least this [default: {_defaults(DEFAULT_MIN_TOP1, 100, ' %')} "
                   f"builds].")
@click.option("--max-kl", type=float, default=None, metavar="NATS",
              help=f"PASS needs a mean KL divergence of at most this [default: {_defaults(DEFAULT_MAX_KL)}].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (with the verdict).")
def command(outdir, text, on, model, min_top1, max_kl, as_json):
    """Teacher-force TEXT through OUTDIR's build and compare every position's logits
    with the PyTorch float32 reference: top-1 agreement, max abs logit error, KL
    divergence and the perplexity of both. Ends with a verdict, PASS or FAIL against
    --min-top1 and --max-kl, and exits with status 1 on FAIL (for CI)."""
    from ..host.validate import validate

    result = validate(outdir, text, on, model, None if min_top1 is None else min_top1 / 100, max_kl)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
    if not result.passed:
        sys.exit(1)
