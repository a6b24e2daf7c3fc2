"""One meaning per short flag across the whole command line: `-t` is the temperature
wherever it appears (as in llama2.c's run and the image's own flags), the tokenizer
is `-z` (llama2.c run's flag for it), and so on for every letter."""
import click
from click.testing import CliRunner

from toolchain.cli import main

# The scheme, as documented: each short flag and the one long option it stands for.
SCHEME = {"-b": "--board", "-h": "--help", "-i": "--prompt", "-m": "--mode", "-n": "--steps", "-o": "--output",
          "-p": "--top-p", "-s": "--seed", "-t": "--temperature", "-T": "--threads", "-y": "--system",
          "-z": "--tokenizer"}


def commands(command=main, path=("llmtool",)):
    yield " ".join(path), command
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


def short_flags():
    """(command, short flag, long name) for every option of every command."""
    root = click.Context(main, **main.context_settings)
    for path, command in commands():
        for param in command.get_params(click.Context(command, parent=root)):
            if not isinstance(param, click.Option):
                continue
            names = param.opts + param.secondary_opts
            longs = [n for n in names if n.startswith("--")]
            for short in (n for n in names if not n.startswith("--")):
                yield path, short, longs[0]


def test_each_short_flag_means_one_thing_everywhere():
    meanings: dict[str, dict[str, list[str]]] = {}
    for path, short, long in short_flags():
        meanings.setdefault(short, {}).setdefault(long, []).append(path)
    clashes = {short: longs for short, longs in meanings.items() if len(longs) > 1}
    assert not clashes, clashes
    assert {short: next(iter(longs)) for short, longs in meanings.items()} == SCHEME


def test_each_long_option_has_at_most_one_short_flag():
    shorts: dict[str, set[str]] = {}
    for _, short, long in short_flags():
        shorts.setdefault(long, set()).add(short)
    assert all(len(s) == 1 for s in shorts.values()), shorts


def test_tokenizer_is_z_and_temperature_is_t(shared_models, tmp_path):
    result = CliRunner().invoke(main, ["compile", str(shared_models / "stories260K.bin"), "-z",
                                       str(shared_models / "tok512.bin"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["emulate", str(tmp_path / "out"), "-t", "0", "-n", "24", "-i", "Once"])
    assert result.exit_code == 0 and result.stdout.startswith("Once upon a time"), result.output
    # the old spelling is refused with click's usage message, not taken for something else
    result = CliRunner().invoke(main, ["compile", str(shared_models / "stories260K.bin"), "-t",
                                       str(shared_models / "tok512.bin"), "-o", str(tmp_path / "o2")])
    assert result.exit_code == 2 and "No such option '-t'" in result.output
    assert not (tmp_path / "o2").exists()
