"""Bad input: one `error:` line on stderr, exit status 1, no traceback, no output left behind."""
import struct
import subprocess
import sys

import pytest


def llmtool(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)],
                          capture_output=True, text=True)


def assert_refused(result, out, words):
    assert result.returncode in (1, 2), result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    assert words in lines[0], lines[0]
    assert not out.exists()
    assert not any(p.name.startswith(f".{out.name}") for p in out.parent.iterdir())


@pytest.fixture
def stories(shared_models):
    return (shared_models / "stories260K.bin").read_bytes(), shared_models / "tok512.bin"


def compile_bytes(tmp_path, data, tokenizer):
    ckpt = tmp_path / "model.bin"
    ckpt.write_bytes(data)
    out = tmp_path / "out"
    return llmtool("compile", ckpt, "--tokenizer", tokenizer, "-o", out), out


def test_missing_checkpoint(tmp_path, stories):
    out = tmp_path / "out"
    result = llmtool("compile", tmp_path / "nope.bin", "--tokenizer", stories[1], "-o", out)
    assert_refused(result, out, "nope.bin")


def test_wrong_magic(tmp_path, stories):
    result, out = compile_bytes(tmp_path, b"GGUF" + stories[0][4:], stories[1])
    assert_refused(result, out, "model.bin")


@pytest.mark.parametrize("cut", [0, 3, 12, 28, 1000, 600_000, -1])
def test_truncated_checkpoint(tmp_path, stories, cut):
    data = stories[0]
    result, out = compile_bytes(tmp_path, data[:cut if cut >= 0 else len(data) - 1], stories[1])
    assert_refused(result, out, "model.bin")


def test_versioned_magic_but_truncated(tmp_path, stories):
    header = struct.pack("<Ii7iB", 0x616B3432, 1, 64, 172, 5, 8, 4, 512, 512, 1)
    result, out = compile_bytes(tmp_path, header + b"\0" * (256 - len(header)) + b"\0" * 1000, stories[1])
    assert_refused(result, out, "truncated")


def test_tokenizer_vocab_mismatch(tmp_path, stories):
    """A tokenizer larger than the model's vocabulary is refused (a smaller one is
    padded: test_padded_vocabulary.py)."""
    from toolchain.importers.tokenizer import Tokenizer, load_tokenizer, write_llama2c_tokenizer
    full = load_tokenizer(stories[1])
    tok = tmp_path / "tok513.bin"
    write_llama2c_tokenizer(Tokenizer(full.pieces + [b"extra"], full.scores + [0.0]), tok)
    out = tmp_path / "out"
    result = llmtool("compile", stories[1].parent / "stories260K.bin", "--tokenizer", tok, "-o", out)
    assert_refused(result, out, "513 tokens but the model's vocabulary is 512")


def test_checkpoint_passed_as_tokenizer(tmp_path, stories):
    out = tmp_path / "out"
    ckpt = stories[1].parent / "stories260K.bin"
    result = llmtool("compile", ckpt, "--tokenizer", ckpt, "-o", out)
    assert_refused(result, out, "stories260K.bin")


def test_unknown_board(tmp_path, stories):
    out = tmp_path / "out"
    result = llmtool("compile", stories[1].parent / "stories260K.bin", "--tokenizer", stories[1],
                     "--board", "nosuchboard", "-o", out)
    assert_refused(result, out, "unknown board")


def test_emulate_refuses_overlong_prompt_and_steps(tmp_path, stories):
    out = tmp_path / "out"
    ckpt = stories[1].parent / "stories260K.bin"
    assert llmtool("compile", ckpt, "--tokenizer", stories[1], "--context", 32, "-o", out).returncode == 0
    result = llmtool("emulate", out, "--prompt", "Once upon a time " * 20, "--steps", 0)
    assert result.returncode == 1 and "longer than the context" in result.stderr
    assert "Traceback" not in result.stderr
    result = llmtool("emulate", out, "--steps", 33)
    assert result.returncode == 1 and "outside 1..32" in result.stderr


def test_emulate_on_a_directory_that_is_not_a_project(tmp_path):
    result = llmtool("emulate", tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("error:") and "compile" in result.stderr
