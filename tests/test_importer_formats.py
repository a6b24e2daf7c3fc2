"""Every checkpoint format, written from known weights of a Llama 3 shape, imports,
compiles for the host (f32) and gives the reference's logits; formats are found by
content; bad files are refused in one line."""
import json
import subprocess
import sys
from dataclasses import replace

import gguf
import numpy as np
import pytest
import torch

from checkpoint_writers import (hf_permute, write_gguf, write_hf, write_meta, write_train_pt)
from synthetic import synthetic_tokenizer
from toolchain.compile.compiler import compile_project
from toolchain.config import Model, ModelConfig, random_model
from toolchain.host.emulator import Emulator
from toolchain.errors import ToolchainError
from toolchain.importers import load_checkpoint
from toolchain.model import Transformer
from toolchain.importers.tokenizer import write_llama2c_tokenizer

MULTIPLE_OF, FFN_MULTIPLIER = 32, 1.3
LLAMA3 = ModelConfig(dim=64, n_layers=2, n_heads=8, n_kv_heads=2, vocab_size=300,
                     hidden_dim=ModelConfig.ffn_hidden_dim(64, MULTIPLE_OF, FFN_MULTIPLIER), max_seq_len=64,
                     norm_eps=1e-5, rope_theta=500000.0, shared_classifier=False)
POSITIONS = 24
# original context 64, high/low frequency bands at wavelengths 4 and 64: head_dim 8's four
# frequencies (wavelengths 6.3, 167, 4.4e3, 1.2e5) fall in the blended band and the slowed one
ROPE_LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 16.0,
               "original_max_position_embeddings": 64}


def source_model(seed: int, config: ModelConfig = LLAMA3) -> Model:
    """Random weights with sharp attention (wq, wk scaled up), so that a wrong q/k
    layout or RoPE frequency moves the logits far beyond the tolerance."""
    model = random_model(config, seed=seed)
    for name, t in model.tensors.items():
        if name.endswith(("wq.weight", "wk.weight")):
            t *= 12
    return model


def reference_logits(model: Model, tokens: list[int]) -> np.ndarray:
    return Transformer(model).score(torch.tensor(tokens)).numpy()


def tokens() -> list[int]:
    return [int(t) for t in np.random.default_rng(7).integers(0, LLAMA3.vocab_size, POSITIONS)]


def assert_emulator_matches(checkpoint, source: Model, tmp_path) -> None:
    """Compiles the checkpoint for host/f32; its logits at every position must be the
    reference's of `source` within 1e-4."""
    out = tmp_path / "out"
    compile_project(checkpoint, synthetic_tokenizer(LLAMA3.vocab_size), "host", out, quant="f32", context=32)
    emu = Emulator(out)
    ids = tokens()
    got = np.stack([emu.forward(t, pos) for pos, t in enumerate(ids)])
    err = float(np.abs(got - reference_logits(source, ids)).max())
    assert err <= 1e-4, err


def assert_same_model(got: Model, want: Model, config: ModelConfig | None = None) -> None:
    assert got.config == (config or want.config)
    assert set(got.tensors) == set(want.tensors)
    for name, t in want.tensors.items():
        np.testing.assert_array_equal(got.tensors[name], t, err_msg=name)


def test_the_tolerance_catches_layout_and_rope_mistakes():
    """The checks below have teeth: HF's q/k row order left in place, or RoPE scaling
    dropped, moves the logits by far more than 1e-4."""
    model = source_model(0)
    want = reference_logits(model, tokens())
    swapped = Model(model.config, {n: hf_permute(t, model.config.n_heads if "wq" in n else model.config.n_kv_heads)
                                   if n.endswith(("wq.weight", "wk.weight")) else t
                                   for n, t in model.tensors.items()})
    assert np.abs(reference_logits(swapped, tokens()) - want).max() > 0.05
    scaled = replace(model.config, rope_freq_factors=(1.5, 8.0, 8.0, 8.0))
    assert np.abs(reference_logits(Model(scaled, model.tensors), tokens()) - want).max() > 0.05


def test_llama2c_train_checkpoint(tmp_path):
    model = source_model(1)
    write_train_pt(model, tmp_path / "ckpt.pt", MULTIPLE_OF, FFN_MULTIPLIER, compiled=True)
    assert_same_model(load_checkpoint(tmp_path / "ckpt.pt"), model)
    assert_emulator_matches(tmp_path / "ckpt.pt", model, tmp_path)


def test_llama2c_train_checkpoint_tied_classifier(tmp_path):
    model = source_model(2, replace(LLAMA3, shared_classifier=True))
    write_train_pt(model, tmp_path / "tied.pt", MULTIPLE_OF, FFN_MULTIPLIER)
    assert_same_model(load_checkpoint(tmp_path / "tied.pt"), model)


def test_meta_consolidated_llama3(tmp_path):
    model = source_model(3)
    write_meta(model, tmp_path / "Llama3-tiny", MULTIPLE_OF, FFN_MULTIPLIER)
    meta_config = replace(LLAMA3, max_seq_len=8192)  # params.json does not say; Llama 3's context
    for given in ("", "params.json", "consolidated.00.pth"):
        assert_same_model(load_checkpoint(tmp_path / "Llama3-tiny" / given), model, meta_config)
    assert_emulator_matches(tmp_path / "Llama3-tiny", model, tmp_path)


def test_meta_two_shards_llama2_style(tmp_path):
    """Two model-parallel shards, the embedding split along its columns as Llama 2's
    ParallelEmbedding does, vocab_size -1 in params.json."""
    model = source_model(4)
    write_meta(model, tmp_path / "m", MULTIPLE_OF, FFN_MULTIPLIER, shards=2, vocab_in_params=False,
               embedding_axis=1)
    assert torch.load(tmp_path / "m" / "consolidated.01.pth")["tok_embeddings.weight"].shape == (300, 32)
    assert_emulator_matches(tmp_path / "m", model, tmp_path)


def test_meta_shards_split_by_vocabulary(tmp_path):
    model = source_model(5)
    write_meta(model, tmp_path / "m", MULTIPLE_OF, FFN_MULTIPLIER, shards=2, embedding_axis=0)
    assert_same_model(load_checkpoint(tmp_path / "m"), model, replace(LLAMA3, max_seq_len=8192))


@pytest.mark.parametrize("shards", [1, 3])
def test_hugging_face(tmp_path, shards):
    model = source_model(6 + shards)
    write_hf(model, tmp_path / "hf", shards=shards)
    assert_same_model(load_checkpoint(tmp_path / "hf"), model)
    assert_emulator_matches(tmp_path / "hf", model, tmp_path)


def test_hugging_face_tied_bfloat16(tmp_path):
    model = source_model(10, replace(LLAMA3, shared_classifier=True))
    stored = write_hf(model, tmp_path / "hf", bfloat16=True)
    assert any(not np.array_equal(stored.tensors[n], t) for n, t in model.tensors.items())
    assert_same_model(load_checkpoint(tmp_path / "hf" / "config.json"), stored)


def test_hugging_face_rope_scaling_llama3(tmp_path):
    model = source_model(11)
    write_hf(model, tmp_path / "hf", rope_scaling=ROPE_LLAMA3)
    got = load_checkpoint(tmp_path / "hf")
    factors = got.config.rope_freq_factors
    # wavelength 6.28 sits in the band: blended with weight (64 / 6.28 - 1) / 15; the others are slowed 8x
    blend = (64 / (2 * np.pi) - 1) / 15
    assert factors[0] == pytest.approx(1 / ((1 - blend) / 8 + blend))
    assert factors[1:] == pytest.approx((8.0, 8.0, 8.0))
    assert_emulator_matches(tmp_path / "hf", Model(got.config, model.tensors), tmp_path)


@pytest.mark.parametrize("qtype", ["F32", "F16", "Q8_0"])
def test_gguf(tmp_path, qtype):
    model = source_model(12)
    stored = write_gguf(model, tmp_path / "m.gguf", gguf.GGMLQuantizationType[qtype])
    if qtype != "F32":
        assert any(not np.array_equal(stored.tensors[n], t) for n, t in model.tensors.items())
    assert_same_model(load_checkpoint(tmp_path / "m.gguf"), stored)
    assert_emulator_matches(tmp_path / "m.gguf", stored, tmp_path)


def test_gguf_rope_freqs_tensor(tmp_path):
    """Llama 3.1 GGUFs carry their RoPE scaling as rope_freqs, one divisor per frequency."""
    model = source_model(13)
    write_gguf(model, tmp_path / "m.gguf", rope_freqs=np.array([1.0, 2.5, 8.0, 8.0]))
    assert load_checkpoint(tmp_path / "m.gguf").config.rope_freq_factors == (1.0, 2.5, 8.0, 8.0)


def test_formats_are_detected_by_content_not_name(tmp_path):
    model = source_model(14)
    write_train_pt(model, tmp_path / "model.gguf", MULTIPLE_OF, FFN_MULTIPLIER)
    assert_same_model(load_checkpoint(tmp_path / "model.gguf"), model)
    write_gguf(model, tmp_path / "weights.pt")
    assert_same_model(load_checkpoint(tmp_path / "weights.pt"), model)
    write_hf(model, tmp_path / "hf")
    (tmp_path / "hf" / "config.json").rename(tmp_path / "hf" / "settings.txt")
    (tmp_path / "hf" / "model.safetensors").rename(tmp_path / "hf" / "weights.pth")
    assert_same_model(load_checkpoint(tmp_path / "hf"), model)
    assert_same_model(load_checkpoint(tmp_path / "hf" / "weights.pth"), model)
    write_meta(model, tmp_path / "meta", MULTIPLE_OF, FFN_MULTIPLIER)
    (tmp_path / "meta" / "params.json").rename(tmp_path / "meta" / "params.bin")
    (tmp_path / "meta" / "consolidated.00.pth").rename(tmp_path / "meta" / "weights.safetensors")
    assert_same_model(load_checkpoint(tmp_path / "meta" / "params.bin"), model, replace(LLAMA3, max_seq_len=8192))


def llmtool(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], capture_output=True, text=True)


def truncated_safetensors(tmp_path):
    write_hf(source_model(15), tmp_path / "hf")
    weights = tmp_path / "hf" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:weights.stat().st_size // 2])
    return tmp_path / "hf", "model.safetensors: truncated or damaged safetensors file"


def foreign_gguf(tmp_path):
    write_gguf(source_model(16), tmp_path / "phi.gguf", arch="phi3")
    return tmp_path / "phi.gguf", "GGUF architecture 'phi3' is not one of llama, qwen2"


def params_without_weights(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "params.json").write_text(json.dumps({"dim": 64, "n_layers": 2, "n_heads": 8}))
    return tmp_path / "meta", "params.json: no consolidated.*.pth weights"


@pytest.mark.parametrize("bad_input", [truncated_safetensors, foreign_gguf, params_without_weights])
def test_bad_inputs_through_the_cli(tmp_path, bad_input):
    checkpoint, words = bad_input(tmp_path)
    write_llama2c_tokenizer(synthetic_tokenizer(LLAMA3.vocab_size), tmp_path / "tok.bin")
    out = tmp_path / "out"
    result = llmtool("compile", checkpoint, "--tokenizer", tmp_path / "tok.bin", "--board", "host", "-o", out)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert words in lines[0], lines[0]
    assert not out.exists()


def damaged(tmp_path, case):
    """Files that are refused by load_checkpoint with the message part returned."""
    model = source_model(17)
    if case == "truncated gguf":
        write_gguf(model, tmp_path / "m.gguf")
        data = (tmp_path / "m.gguf").read_bytes()
        (tmp_path / "m.gguf").write_bytes(data[:len(data) - 1000])
        return tmp_path / "m.gguf", "truncated or damaged GGUF"
    if case == "truncated pt":
        write_train_pt(model, tmp_path / "m.pt", MULTIPLE_OF, FFN_MULTIPLIER)
        data = (tmp_path / "m.pt").read_bytes()
        (tmp_path / "m.pt").write_bytes(data[:len(data) // 2])
        return tmp_path / "m.pt", "truncated or damaged PyTorch file"
    if case == "yarn":
        write_hf(model, tmp_path / "hf", rope_scaling={"rope_type": "yarn", "factor": 4.0})
        return tmp_path / "hf", "rope_scaling of type 'yarn' is not supported"
    if case == "mistral":
        write_hf(model, tmp_path / "hf")
        config = json.loads((tmp_path / "hf" / "config.json").read_text())
        config |= {"model_type": "mistral", "architectures": ["MistralForCausalLM"]}
        (tmp_path / "hf" / "config.json").write_text(json.dumps(config))
        return tmp_path / "hf", "is not one of LlamaForCausalLM, Qwen2ForCausalLM"
    if case == "safetensors alone":
        write_hf(model, tmp_path / "hf")
        (tmp_path / "hf" / "model.safetensors").rename(tmp_path / "w.safetensors")
        return tmp_path / "w.safetensors", "need their Hugging Face config.json"
    if case == "shard beside nothing":
        write_meta(model, tmp_path / "meta", MULTIPLE_OF, FFN_MULTIPLIER)
        (tmp_path / "meta" / "consolidated.00.pth").rename(tmp_path / "consolidated.00.pth")
        return tmp_path / "consolidated.00.pth", "needs its params.json"
    if case == "wrong ffn multiplier":
        write_meta(model, tmp_path / "meta", MULTIPLE_OF, FFN_MULTIPLIER)
        params = json.loads((tmp_path / "meta" / "params.json").read_text()) | {"ffn_dim_multiplier": 1.0}
        (tmp_path / "meta" / "params.json").write_text(json.dumps(params))
        return tmp_path / "meta", "feed_forward.w1.weight has shape (224, 64), expected (192, 64)"
    (tmp_path / "empty").mkdir()
    return tmp_path / "empty", "holds no recognised checkpoint"


@pytest.mark.parametrize("case", ["truncated gguf", "truncated pt", "yarn", "mistral", "safetensors alone",
                                  "shard beside nothing", "wrong ffn multiplier", "empty directory"])
def test_damaged_and_foreign_files(tmp_path, case):
    path, words = damaged(tmp_path, case)
    with pytest.raises(ToolchainError) as e:
        load_checkpoint(path)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert str(path) in str(e.value)
