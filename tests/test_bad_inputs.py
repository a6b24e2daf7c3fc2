"""The bad-input matrix (docs/reliability.md, "Bad input"): every file format truncated at every
header offset and inside its tensors, foreign and corrupt files, NaN weights, and the
runtime's own inputs (prompts, steps, token ids through the C API). Each must give
one `error:` line and a non-zero exit, never a traceback nor a partial project."""
import ctypes
import struct
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner

from checkpoint_writers import write_gguf, write_hf, write_train_pt
from synthetic import synthetic_tokenizer
from toolchain.cli import main
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig, random_model
from toolchain.host.emulator import TOKEN_CALLBACK, Emulator
from toolchain.importers.llama2c import write_llama2c
from toolchain.importers.tokenizer import write_llama2c_tokenizer

SMALL = ModelConfig(dim=32, n_layers=1, n_heads=4, n_kv_heads=2, vocab_size=300, hidden_dim=96, max_seq_len=32,
                    shared_classifier=False)


def refused(args, out=None, words=""):
    """Runs llmtool in this process: exit 1 or 2, one error line, no traceback, no output left."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught exception
    assert result.exit_code in (1, 2), (args, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") or result.exit_code == 2, result.stderr
    assert words in result.stderr, result.stderr
    if out is not None:
        assert not out.exists() and not any(p.name.startswith(f".{out.name}") for p in out.parent.iterdir())
    return lines[-1]


@pytest.fixture(scope="module")
def tokenizer(tok300):
    return tok300


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One small model in each single-file format: name -> (path, header bytes)."""
    root = tmp_path_factory.mktemp("ckpt")
    model = random_model(SMALL, seed=3)
    files = {}
    for version, header in ((0, 28), (1, 256), (2, 256)):
        write_llama2c(model, root / f"v{version}.bin", version=version, group_size=32)
        files[f"llama2.c v{version}"] = (root / f"v{version}.bin", header)
    write_train_pt(model, root / "ckpt.pt", multiple_of=32, ffn_dim_multiplier=None)
    files["train.py .pt"] = (root / "ckpt.pt", 64)
    write_gguf(model, root / "model.gguf")
    files["GGUF"] = (root / "model.gguf", 64)
    write_hf(model, root / "hf")
    files["safetensors"] = (root / "hf" / "model.safetensors", 64)
    return files


def test_the_untouched_checkpoints_compile(checkpoints, tokenizer, tmp_path):
    for name, (path, _) in checkpoints.items():
        source = path.parent if name == "safetensors" else path
        result = CliRunner().invoke(main, ["compile", str(source), "-z", str(tokenizer), "--quant", "f32",
                                           "-o", str(tmp_path / name.replace(" ", "_"))])
        assert result.exit_code == 0, (name, result.output)


@pytest.mark.parametrize("fmt", ["llama2.c v0", "llama2.c v1", "llama2.c v2", "train.py .pt", "GGUF",
                                 "safetensors"])
def test_truncated_at_every_header_offset_and_inside_tensors(checkpoints, tokenizer, tmp_path, fmt):
    path, header = checkpoints[fmt]
    data = path.read_bytes()
    size = len(data)
    cuts = list(range(0, min(header, size))) + [size // 3, size // 2, size - 4, size - 1]
    work = tmp_path / path.parent.name
    if fmt == "safetensors":  # the directory is the checkpoint; config.json stays whole
        work = tmp_path / "hf"
        work.mkdir()
        (work / "config.json").write_bytes((path.parent / "config.json").read_bytes())
    else:
        work.mkdir()
    target = work / path.name
    for cut in cuts:
        target.write_bytes(data[:cut])
        out = tmp_path / "out"
        refused(["compile", work if fmt == "safetensors" else target, "-z", tokenizer, "-o", out], out)


def test_wrong_magic_and_version(checkpoints, tokenizer, tmp_path):
    data = checkpoints["llama2.c v1"][0].read_bytes()
    cases = {"magic.bin": b"XXXX" + data[4:],
             "version.bin": data[:4] + struct.pack("<i", 7) + data[8:],
             "gguf_magic.bin": b"GGUF" + b"\xff" * 60}
    for name, payload in cases.items():
        (tmp_path / name).write_bytes(payload)
        message = refused(["compile", tmp_path / name, "-z", tokenizer, "-o", tmp_path / "out"], tmp_path / "out",
                          name)
        assert "\n" not in message


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_weights_are_named(tokenizer, tmp_path, bad):
    model = random_model(SMALL, seed=4)
    model.tensors["layers.0.feed_forward.w2.weight"][1, 2] = bad
    write_llama2c(model, tmp_path / "nan.bin", version=0)
    refused(["compile", tmp_path / "nan.bin", "-z", tokenizer, "-o", tmp_path / "out"], tmp_path / "out",
            "layers.0.feed_forward.w2.weight")


def test_tokenizer_problems(checkpoints, tokenizer, tmp_path):
    ckpt = checkpoints["llama2.c v0"][0]
    data = tokenizer.read_bytes()
    for cut in (0, 3, 4, 9, len(data) // 2, len(data) - 1):
        (tmp_path / "tok.bin").write_bytes(data[:cut])
        refused(["compile", ckpt, "-z", tmp_path / "tok.bin", "-o", tmp_path / "out"], tmp_path / "out")
    write_llama2c_tokenizer(synthetic_tokenizer(400), tmp_path / "tok400.bin")
    refused(["compile", ckpt, "-z", tmp_path / "tok400.bin", "-o", tmp_path / "out"], tmp_path / "out",
            "400 tokens but the model's vocabulary is 300")


def test_options_out_of_range(checkpoints, tokenizer, tmp_path):
    ckpt, out = checkpoints["llama2.c v0"][0], tmp_path / "out"
    for args, words in [(["--board", "esp32-nope"], "esp32-nope"), (["--group-size", "0"], "group-size"),
                        (["--quant", "q4", "--group-size", "33"], "sub-blocks"), (["--context", "0"], "context"),
                        (["--context", "33"], "max_seq_len")]:
        refused(["compile", ckpt, "-z", tokenizer, "-o", out, *args], out, words)


@pytest.fixture(scope="module")
def project(shared_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("proj") / "host"
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "host", out, context=64)
    return out


def test_prompts_and_steps(project):
    refused(["emulate", project, "--prompt", "Once upon a time " * 30], words="longer than the context")
    refused(["emulate", project, "--steps", "65"], words="outside 1..64")
    refused(["emulate", project, "--temperature", "-1"], words="--temperature must be a number from 0")
    refused(["emulate", project.parent], words="llmtool.json")
    # invalid UTF-8 is not an error: its bytes take the encoder's byte fallback, on the board as here
    result = CliRunner().invoke(main, ["emulate", str(project), "--prompt", b"ok \xff\xfe".decode("utf-8", "surrogateescape"),
                                       "--steps", "8", "-t", "0"])
    assert result.exit_code == 0, result.output
    binary = project / "build" / "llm"
    subprocess.run(["make", "-s", "-C", str(project), "all", "test"], check=True, capture_output=True)
    for args, words in [(["-n", "65"], "outside 1..64"), (["-i", "Once upon a time " * 30], "longer than the context"),
                        (["-t", "abc"], "Usage"), (["-q", "1"], "Usage")]:
        r = subprocess.run([str(binary), *args], capture_output=True, text=True)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
    # the program refuses the test program's modes in one line that names it
    for flag in ("-x", "-k"):
        r = subprocess.run([str(binary), flag, "1"], capture_output=True, text=True)
        assert (r.returncode, r.stdout, r.stderr) == \
            (2, "", f"error: {flag} is a mode of the test program: run build/llm-test (make test)\n"), flag
    # the test program (llm_test.c): one mode per run
    for args, words in [(["-x", "1 2 99999"], "token ids"), (["-i", "Once"], "Usage"), ([], "Usage"),
                        (["-x", "1", "-k", "7"], "Usage"), (["-k", "abc"], "Usage")]:
        r = subprocess.run([str(project / "build" / "llm-test"), *args], capture_output=True, text=True)
        assert r.returncode != 0 and words in r.stderr, (args, r.stderr)
    r = subprocess.run([str(binary), "-i", b"ok \xff\xfe", "-n", "8", "-t", "0"], capture_output=True)
    assert r.returncode == 0


def test_c_api_refuses_out_of_range_ids(project):
    emu = Emulator(project)
    lib = emu.lib
    for token, pos in [(-1, 0), (512, 0), (1, -1), (1, 64)]:
        assert not lib.llm_forward(token, pos)
    assert lib.llm_decode(1, 512) is None and lib.llm_decode(1, -5) is None
    ids, none = (ctypes.c_int * 3)(1, 700, 5), TOKEN_CALLBACK()  # a NULL callback
    assert lib.llm_generate(ids, 3, 10, 0.0, 0.9, 1, none, None) == -2  # LLM_ERR_TOKEN
    assert lib.llm_generate(ids, 0, 10, 0.0, 0.9, 1, none, None) == -5  # LLM_ERR_ARG
    assert lib.llm_generate(ids, 1, 65, 0.0, 0.9, 1, none, None) == -4  # LLM_ERR_TOO_LONG
    small = (ctypes.c_int * 2)()
    assert lib.llm_encode(b"Once upon a time", 1, 0, small, 2) == -4
    assert lib.llm_encode(None, 1, 0, small, 2) == -5
    assert lib.llm_chat_reply(ids, 1, 64, 0.0, 0.9, 1, none, None) == -5


def test_command_line_numbers_that_would_wrap_are_refused(project):
    """-T goes through an int and -k through a uint32_t: beyond them a value wrapped
    (-T 4294967298 ran two threads, -k 4294967296 seeded 0); and -x '' printed nothing
    and exited 0. Each is now one error line and exit status 1 (-x and -k: the test
    program's)."""
    subprocess.run(["make", "-s", "-C", str(project), "all", "test"], check=True, capture_output=True)
    binary, test_binary = project / "build" / "llm", project / "build" / "llm-test"
    for program, args, line in [(test_binary, ["-x", ""], "error: -x takes at least one token id"),
                                (test_binary, ["-x", "   "], "error: -x takes at least one token id"),
                                (binary, ["-T", "2147483648"], "error: -T 2147483648 is outside 1..2147483647"),
                                (binary, ["-T", "4294967298"], "error: -T 4294967298 is outside 1..2147483647"),
                                (binary, ["-T", "0"], "error: -T 0 is outside 1..2147483647"),
                                (test_binary, ["-x", "1", "-T", "0"], "error: -T 0 is outside 1..2147483647"),
                                (test_binary, ["-k", "4294967296"], "error: -k 4294967296 is outside 1..4294967295"),
                                (test_binary, ["-k", "0"], "error: -k 0 is outside 1..4294967295"),
                                (test_binary, ["-k", "-3"], "error: -k -3 is outside 1..4294967295")]:
        r = subprocess.run([str(program), *args], capture_output=True, text=True)
        assert (r.returncode, r.stderr, r.stdout) == (1, line + "\n", ""), args
    r = subprocess.run([str(binary), "-T", "2147483647", "-n", "4", "-t", "0"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip(), r.stderr  # more threads than the board's: its maximum
    r = subprocess.run([str(test_binary), "-k", "4294967295"], capture_output=True, text=True)
    assert r.returncode == 0 and "matches the reference" in r.stdout, r.stdout + r.stderr


def test_c_api_refuses_nan_and_infinite_sampling_parameters(project):
    lib = Emulator(project).lib
    ids, none = (ctypes.c_int * 2)(1, 403), TOKEN_CALLBACK()
    nan, inf = float("nan"), float("inf")
    for temperature, topp in [(nan, 0.9), (inf, 0.9), (-inf, 0.9), (-0.5, 0.9), (1.0, nan), (0.0, nan)]:
        assert lib.llm_generate(ids, 2, 8, temperature, topp, 1, none, None) == -5, (temperature, topp)  # LLM_ERR_ARG
        assert lib.llm_chat_reply(ids, 2, 0, temperature, topp, 1, none, None) == -5, (temperature, topp)
    # top-p at or below 0, at or above 1 or infinite means no nucleus; any finite temperature samples
    seen = []
    record = TOKEN_CALLBACK(lambda token, text, user: seen.append(token) or 0)
    for temperature, topp in [(1.0, 0.0), (1.0, -1.0), (1.0, 1.0), (1.0, inf), (1.0, -inf), (1e-30, 0.5),
                              (1e-45, 0.9), (3.4028234663852886e38, 0.5), (0.0, 2.0)]:
        seen.clear()
        assert lib.llm_generate(ids, 2, 12, temperature, topp, 7, record, None) >= 2, (temperature, topp)
        assert seen and all(0 <= t < 512 for t in seen), (temperature, topp, seen)
