"""Crafted checkpoints and flags from a hostile test pass: sizes a file claims but does
not hold, floats that would compile into garbage or into C that does not build, files
that are inconsistent with themselves. Each gives one `error:` line quickly (or, for
a claimed context, a capped compile that says so), never a traceback, a hang or a
memory blow-up."""
import json
import subprocess
import sys
import zipfile
from dataclasses import replace

import gguf
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from checkpoint_writers import meta_args, write_gguf, write_hf
from synthetic import synthetic_tokenizer
from toolchain.cli import main
from toolchain.config import Model, ModelConfig, random_model
from toolchain.importers.llama2c import write_llama2c
from toolchain.model import Transformer
from toolchain.importers.tokenizer import Tokenizer, write_llama2c_tokenizer

SMALL = ModelConfig(dim=32, n_layers=1, n_heads=4, n_kv_heads=2, vocab_size=300, hidden_dim=96, max_seq_len=32)
U32, U64, F32 = gguf.GGUFValueType.UINT32, gguf.GGUFValueType.UINT64, gguf.GGUFValueType.FLOAT32


def llmtool(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def refused(result, *words):
    """Exit 1 with exactly one `error:` line naming `words`, and no traceback."""
    assert isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.output
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def tok(tok300):
    return tok300


@pytest.fixture(scope="module")
def model():
    return random_model(SMALL, seed=5)


def hf_dir(model, tmp_path, **config):
    """A Hugging Face directory of `model` with config.json keys replaced."""
    directory = tmp_path / "hf"
    write_hf(model, directory)
    cfg = json.loads((directory / "config.json").read_text()) | config
    (directory / "config.json").write_text(json.dumps(cfg))
    return directory


def pt_file(tmp_path, args: dict, state: dict):
    """A train.py checkpoint with these model_args and this state dict."""
    path = tmp_path / "ckpt.pt"
    torch.save({"model": state, "model_args": args}, path)
    return path


def torch_state(model):
    return {n: torch.from_numpy(t.copy()) for n, t in model.tensors.items()}


# Sizes: a claimed context is capped, a claimed layer count or group size is refused at once.

@pytest.mark.parametrize("kind", ["hf", "gguf", "pt"])
def test_a_huge_claimed_context_is_capped_and_said(model, tok, tmp_path, kind):
    claim = 2 ** 31
    if kind == "hf":
        source = hf_dir(model, tmp_path, max_position_embeddings=claim)
    elif kind == "gguf":
        source = tmp_path / "m.gguf"
        write_gguf(model, source, metadata={"{arch}.context_length": (claim, U64)})
    else:
        args = meta_args(SMALL, 32, None) | {"hidden_dim": SMALL.hidden_dim, "max_seq_len": claim}
        source = pt_file(tmp_path, args, torch_state(model))
    result = llmtool("compile", source, "-z", tok, "--quant", "f32", "-o", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "context 4096 (at most 4096 unless asked: the model claims 2,147,483,648" in result.output
    assert json.loads((tmp_path / "out" / "llmtool.json").read_text())["context"] == 4096
    refused(llmtool("compile", source, "-z", tok, "--context", 2 ** 30, "-o", tmp_path / "o2"),
            "--context 1073741824 is outside 1..262144")


def test_a_layer_count_the_file_does_not_hold_is_refused_at_once(model, tok, tmp_path):
    source = hf_dir(model, tmp_path, num_hidden_layers=10 ** 7)
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"),
            "n_layers must be an integer from 1 to 1,024")


@pytest.mark.parametrize("count", [2 ** 63, 2 ** 32 + 1, 0])
def test_a_gguf_block_count_past_the_file_is_refused(model, tok, tmp_path, count):
    path = tmp_path / "m.gguf"
    write_gguf(model, path, metadata={"{arch}.block_count": (count, U64)})
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "n_layers")


def test_a_group_size_wider_than_any_row_is_refused(model, tok, tmp_path):
    path = tmp_path / "m.bin"
    write_llama2c(model, path)
    refused(llmtool("compile", path, "-z", tok, "--group-size", 2 ** 31, "-o", tmp_path / "out"),
            "--group-size 2147483648 is wider than the model's widest row (96 columns)")
    refused(llmtool("analyze", path, "-b", "host", "--group-size", 0), "--group-size must be at least 1")


# Floats: every one from a file or a flag is finite and in range; C gets valid literals.

@pytest.mark.parametrize("eps, ok", [(0.0, False), (-1e-5, False), (float("nan"), False), (float("inf"), False),
                                     (1e-50, False), (1.0, True)])
def test_norm_eps_is_checked_and_renders_as_a_c_literal(model, tok, tmp_path, eps, ok):
    path = tmp_path / "m.gguf"
    write_gguf(model, path, metadata={"{arch}.attention.layer_norm_rms_epsilon": (eps, F32)})
    out = tmp_path / "out"
    result = llmtool("compile", path, "-z", tok, "--quant", "f32", "-o", out)
    if not ok:
        refused(result, "norm_eps must be a number above 0 and at most 1")
        return
    assert result.exit_code == 0, result.output
    assert "#define LLM_NORM_EPS 1.0f" in (out / "llm_config.h").read_text()
    assert llmtool("build", out).exit_code == 0  # "1f" was not C


@pytest.mark.parametrize("theta", [0.0, -10000.0, float("nan"), 1.0])
def test_rope_theta_is_checked(model, tok, tmp_path, theta):
    path = tmp_path / "m.gguf"
    write_gguf(model, path, metadata={"{arch}.rope.freq_base": (theta, F32)})
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "rope_theta must be a number above 1")


@pytest.mark.parametrize("key, value", [("tie_word_embeddings", "no"), ("tie_word_embeddings", 0),
                                        ("attention_bias", "false")])
def test_json_booleans_are_booleans(model, tok, tmp_path, key, value):
    source = hf_dir(model, tmp_path, **{key: value})
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"), f"{key} should be true or false")


@pytest.mark.parametrize("value", [-0.0, 0, "", False, []])
def test_rope_scaling_is_an_object_or_null(model, tok, tmp_path, value):
    """0 or "" is not "no scaling": only null (or no key) is; the long fuzz run found -0.0 taken for it."""
    source = hf_dir(model, tmp_path, rope_scaling=value)
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"), "rope_scaling should be an object")


def test_rope_factor_messages_say_what_is_wrong(model, tok, tmp_path):
    path = tmp_path / "m.gguf"
    write_gguf(model, path, rope_freqs=np.array([1.0, 2.0, -1.0, 4.0]))
    message = refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "RoPE frequency factor 2 is -1.0")
    assert "not 4" not in message


# Files inconsistent with themselves.

def gguf_tensor_offsets(path):
    """The file offsets of each tensor info's data-offset field, by tensor name."""
    reader = gguf.GGUFReader(path)
    return {t.name: (t.field.offset + sum(p.nbytes for p in t.field.parts[:-1]), int(t.field.parts[-1][0]))
            for t in reader.tensors}


@pytest.mark.parametrize("change, words", [("overlap", "overlaps"), ("misalign", "not aligned")])
def test_gguf_tensors_overlapping_or_misaligned_are_refused(model, tok, tmp_path, change, words):
    path = tmp_path / "m.gguf"
    write_gguf(model, path)
    offsets = gguf_tensor_offsets(path)
    data = bytearray(path.read_bytes())
    (first, _), (second, second_value) = sorted(offsets.values(), key=lambda v: v[1])[:2]
    value = 0 if change == "overlap" else second_value + 4  # onto the first tensor / off the 32-byte grid
    data[second:second + 8] = value.to_bytes(8, "little")
    path.write_bytes(bytes(data))
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), words)


def test_a_gguf_array_longer_than_the_file_is_refused_at_once(model, tok, tmp_path):
    """gguf reads past the end as empty arrays: an array claiming 2^63 elements looped
    for ever on zero-byte reads."""
    path = tmp_path / "m.gguf"
    array = ([1, 2, 3], gguf.GGUFValueType.ARRAY, gguf.GGUFValueType.UINT8)
    write_gguf(model, path, metadata={"{arch}.hostile": array})
    field = gguf.GGUFReader(path).get_field("llama.hostile")
    length_at = field.offset + sum(part.nbytes for part in field.parts[:4])  # key length, key, type, item type
    data = bytearray(path.read_bytes())
    data[length_at:length_at + 8] = (2 ** 63).to_bytes(8, "little")
    path.write_bytes(bytes(data))
    result = subprocess.run([sys.executable, "-m", "toolchain", "compile", str(path), "-z", str(tok), "-o",
                             str(tmp_path / "out")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr.startswith("error:") and "runs past the end" in result.stderr


def test_a_pt_whose_zip_crc_is_wrong_is_refused(model, tok, tmp_path):
    args = meta_args(SMALL, 32, None) | {"hidden_dim": SMALL.hidden_dim, "max_seq_len": 32}
    path = pt_file(tmp_path, args, torch_state(model))
    with zipfile.ZipFile(path) as z:
        info = max(z.infolist(), key=lambda i: i.file_size)  # the largest tensor's storage
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(data))
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "damaged PyTorch file", "CRC")


def test_a_pt_with_its_own_copy_appended_is_refused(model, tok, tmp_path):
    """zipfile reads the appended copy, CRC-32s intact, where torch reads the offsets as
    written, in the first copy: a byte changed there loaded unchecked (the long fuzz run)."""
    args = meta_args(SMALL, 32, None) | {"hidden_dim": SMALL.hidden_dim, "max_seq_len": 32}
    path = pt_file(tmp_path, args, torch_state(model))
    with zipfile.ZipFile(path) as z:
        info = max(z.infolist(), key=lambda i: i.file_size)
    data = bytearray(path.read_bytes() * 2)
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size // 2] ^= 0x40
    path.write_bytes(bytes(data))
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "bytes before the archive")


@pytest.mark.parametrize("name", ["../model.safetensors", "/etc/passwd", 17, "", "sub/model.safetensors"])
def test_a_weight_map_names_only_files_beside_it(model, tok, tmp_path, name):
    source = hf_dir(model, tmp_path)
    (source / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {"lm_head.weight": name}}))
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"), "the weight_map names", "which is not")


# What raised a traceback before.

@pytest.mark.parametrize("args, words", [({"multiple_of": 0}, "multiple_of must be from 1"),
                                         ({"ffn_dim_multiplier": 1e308}, "ffn_dim_multiplier 1e+308"),
                                         ({"ffn_dim_multiplier": -1.0}, "ffn_dim_multiplier -1.0"),
                                         ({"vocab_size": 10 ** 400}, "vocab_size should be an integer")])
def test_model_args_that_raised(model, tok, tmp_path, args, words):
    base = meta_args(SMALL, 32, None) | {"max_seq_len": 32}
    refused(llmtool("compile", pt_file(tmp_path, base | args, torch_state(model)), "-z", tok,
                    "-o", tmp_path / "out"), words)


def test_rope_scaling_with_a_400_digit_integer(model, tok, tmp_path):
    scaling = {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 10 ** 400}
    source = hf_dir(model, tmp_path, rope_scaling=scaling)
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"),
            "original_max_position_embeddings should be an integer")


def test_deeply_nested_json_is_not_a_config(model, tok, tmp_path):
    source = hf_dir(model, tmp_path)
    (source / "config.json").write_text('{"hidden_size": ' + "[" * 100_000 + "]" * 100_000 + "}")
    refused(llmtool("compile", source, "-z", tok, "-o", tmp_path / "out"), "config.json")


@pytest.mark.parametrize("make, words", [(lambda t: t.to_sparse(), "is sparse"),
                                         (lambda t: torch.empty(t.shape, device="meta"), "meta device"),
                                         (lambda t: t.to(torch.int32), "int32, not floating point")])
def test_tensors_that_are_not_dense_floats(model, tok, tmp_path, make, words):
    state = torch_state(model)
    state["norm.weight"] = make(state["norm.weight"])
    args = meta_args(SMALL, 32, None) | {"hidden_dim": SMALL.hidden_dim, "max_seq_len": 32}
    refused(llmtool("compile", pt_file(tmp_path, args, state), "-z", tok, "-o", tmp_path / "out"),
            "tensor norm.weight", words)


def test_a_numpy_warning_never_precedes_the_error_line(model, tok, tmp_path):
    wide = replace(model, tensors={n: t.astype(np.float64) for n, t in model.tensors.items()})
    wide.tensors["layers.0.attention.wq.weight"][0, 0] = 1e300  # overflows float32: numpy warns as it casts
    path = tmp_path / "m.gguf"
    write_gguf(wide, path, qtype=gguf.GGMLQuantizationType.F64)
    refused(llmtool("compile", path, "-z", tok, "-o", tmp_path / "out"), "NaN or Inf")


def test_a_tokenizer_score_that_is_not_finite(tmp_path):
    tok = synthetic_tokenizer(300)
    for bad in (float("nan"), float("inf")):
        path = tmp_path / "tok.bin"
        write_llama2c_tokenizer(Tokenizer(tok.pieces, tok.scores[:300 - 1] + [bad]), path)
        refused(llmtool("tokenizer", "encode", path, "hi"), "token 299's score", "not a finite number")


def test_config_limits_name_the_field():
    with pytest.raises(Exception, match="dim must be an integer from 1 to 65,536"):
        replace(SMALL, dim=1 << 17).validate()


def test_the_reference_sizes_nothing_by_the_claimed_context(model):
    """validate runs the PyTorch reference of the source checkpoint: its RoPE tables and
    KV cache grow with the positions run, whatever max_seq_len claims."""
    tokens = torch.tensor(np.random.default_rng(1).integers(0, SMALL.vocab_size, 40))
    want = Transformer(model).score(tokens)
    claimed = Transformer(Model(replace(SMALL, max_seq_len=2 ** 31), model.tensors))
    assert torch.equal(claimed.score(tokens), want)
    step = torch.cat([claimed.forward(tokens[i:i + 1], start_pos=i) for i in range(40)])
    assert torch.allclose(step, want, atol=1e-5)
    assert claimed.rope_cos.shape[0] <= 8192 and claimed.layers[0].attention.cache_k.shape[1] <= 1024
