"""`llmtool boards`: the boards llmtool knows."""
import click


@click.command("boards")
def command():
    """List the board files (boards/*.toml)."""
    from ..boards import all_boards

    for board in all_boards().values():
        click.echo(f"{board.name:12} {board.os:10} {board.cpu:14} {board.description}")
