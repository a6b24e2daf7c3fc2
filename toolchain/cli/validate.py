"""`llmtool validate`: how far a compiled build is from the float32 reference."""
import json
from pathlib import Path

import click

from ..choices import DEFAULT_TEXT, VALIDATE_TARGETS


@click.command("validate", short_help="Compare OUTDIR's build with the f32 reference.")
@click.argument("outdir", type=click.Path(path_type=Path))
@click.option("--text", type=click.Path(path_type=Path), default=DEFAULT_TEXT,
              help="Text to teacher-force [default: children's stories shipped with llmtool].")
@click.option("--on", "on", type=click.Choice(VALIDATE_TARGETS), default="emulator", show_default=True,
              help="Run the host emulator, or the built image on its board's emulator.")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="The float checkpoint [default: the one OUTDIR was compiled from].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def command(outdir, text, on, model, as_json):
    """Teacher-force TEXT through OUTDIR's build and compare every position's logits
    with the PyTorch float32 reference: top-1 agreement, max abs logit error, KL
    divergence and the perplexity of both."""
    from ..validate import validate

    result = validate(outdir, text, on, model)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        for line in result.lines():
            click.echo(line)
