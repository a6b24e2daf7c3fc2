"""The generation flags of emulate and run: floats that are not finite or out of range,
seeds and thread counts past their C types, and prompts too long for the context,
which are refused by their length in bytes before any encoding."""
import pytest
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.errors import ToolchainError
from toolchain.target.run import MAX_SEED, run_project


@pytest.fixture(scope="module")
def project(shared_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("flags") / "host"
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "host", out, context=64)
    return out


def refused(args, words):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert words in lines[0], lines[0]


@pytest.mark.parametrize("command", ["emulate", "run"])
@pytest.mark.parametrize("flags, words", [(["-t", "nan"], "--temperature must be a number from 0 to 1,000,000, not nan"),
                                          (["-t", "inf"], "--temperature must be a number"),
                                          (["-t", "1e7"], "--temperature must be a number"),
                                          (["-p", "nan"], "--top-p must be a number from 0 to 1, not nan"),
                                          (["-p", "inf"], "--top-p must be a number"),
                                          (["-p", "-0.5"], "--top-p must be a number"),
                                          (["-s", str(2 ** 64)], "--seed must be from 0"),
                                          (["-s", "-1"], "--seed must be from 0")])
def test_sampling_flags_out_of_range(project, command, flags, words):
    refused([command, project, *flags], words)


def test_a_thread_count_past_an_int(project):
    refused(["run", project, "-T", str(2 ** 31)], "--threads must be from 1 to 1024")


def test_a_long_prompt_is_refused_by_its_bytes_before_encoding(project, monkeypatch):
    emulator = Emulator(project)

    def never(*args, **kwargs):
        raise AssertionError("encoded a prompt that its length in bytes already refuses")

    monkeypatch.setattr(emulator, "encode", never)
    monkeypatch.setattr(emulator, "chat_tokens", never)
    prompt = "Once upon a time " * 2000  # 34 KB: encoding it took 43 s
    with pytest.raises(ToolchainError, match=r"the prompt \(34,000 bytes\) is longer than the context \(64 tokens\)"):
        emulator.generate(prompt, steps=10)
    with pytest.raises(ToolchainError, match="the conversation is longer than the context"):
        emulator.chat_turn("", prompt * 3, 0)  # 100 KB in chat mode ran for minutes


def test_prompts_at_the_limit_still_run(project):
    emulator = Emulator(project)
    gen = emulator.generate("Once upon a time", steps=20, temperature=0.0)
    assert gen.text.startswith(b"Once upon a time") and gen.positions == 20


@pytest.mark.slow
def test_the_largest_seed_reaches_the_board(project):
    """main.c parses integers up to LLONG_MAX exactly (it stopped 8 short of it)."""
    result = run_project(project, "Once", steps=4, temperature=1.0, seed=MAX_SEED, capture=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("Once"), result.stderr
