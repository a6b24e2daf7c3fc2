"""SmolLM2, TinyLlama, Qwen2.5, Qwen3 and Gemma 3 as transformers' save_pretrained
writes them: imported, the PyTorch reference gives transformers' own logits; keys
asking for what the model does not do are refused in one line naming them."""
import fcntl
import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from checkpoint_writers import write_gguf_from_hf
from hf_families import FAMILIES, hf_logits, hf_model, save, small_model
from synthetic import synthetic_tokenizer
from toolchain.compile.compiler import compile_project
from toolchain.config import PUBLISHED_SHAPES, Model, tensor_shapes
from toolchain.errors import ToolchainError
from toolchain.host.emulator import Emulator, build_emulator
from toolchain.importers import load_checkpoint
from toolchain.model import Transformer
from toolchain.target.build import build_project
from toolchain.target.run import run_project

POSITIONS = 32


def tokens(vocab_size: int) -> list[int]:
    return [int(t) for t in np.random.default_rng(1).integers(0, vocab_size, POSITIONS)]


def reference_error(model: Model, want: torch.Tensor, ids: list[int]) -> float:
    return float((Transformer(model).score(torch.tensor(ids)) - want).abs().max())


@dataclass
class Saved:
    checkpoint: Path  # save_pretrained's directory
    ids: list[int]  # POSITIONS tokens
    logits: np.ndarray  # transformers' for them, [POSITIONS, vocab]
    host_q8: Path  # the model in q8 for the host at a context of POSITIONS, its emulator built


@pytest.fixture(scope="session")
def saved(tmp_path_factory, worker_id):
    """family -> its model at full width and vocabulary as save_pretrained writes it,
    transformers' logits and a q8 host project: made once per run and shared by the
    test workers (a file lock each), as a 262k vocabulary takes a while to draw, write
    and quantize."""
    root = tmp_path_factory.getbasetemp()
    root = (root if worker_id == "master" else root.parent) / "hf-families"

    def get(family):
        directory = root / family
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (directory / "logits.npy").is_file():
                source = hf_model(family)
                save(source, directory / "hf")
                ids = tokens(source.config.vocab_size)
                np.save(directory / "ids.npy", ids)
                model = load_checkpoint(directory / "hf")
                compile_project(model, synthetic_tokenizer(model.config.vocab_size), "host", directory / "host-q8",
                                quant="q8", context=POSITIONS)
                build_emulator(directory / "host-q8")
                np.save(directory / "logits.npy", hf_logits(source, ids).numpy())
        return Saved(directory / "hf", np.load(directory / "ids.npy").tolist(), np.load(directory / "logits.npy"),
                     directory / "host-q8")
    return get


@pytest.mark.parametrize("family", FAMILIES)
def test_reference_matches_transformers(saved, family):
    family_model = saved(family)
    model = load_checkpoint(family_model.checkpoint)
    want = torch.from_numpy(family_model.logits)
    assert float(want.abs().max()) > 1.0  # logits of a size for 1e-4 to mean something
    assert reference_error(model, want, family_model.ids) <= 1e-4


def test_what_each_option_does_shows(tmp_path):
    """The comparison has teeth: Gemma 3 and Qwen without one of their differences
    (the window, the local RoPE base, the embedding scale, the q/k norms, the biases)
    are far from transformers' logits."""
    for family, changes in {
        "Gemma-3-270M": [dict(sliding_window=0, sliding_layers=()), dict(rope_local_theta=0.0),
                         dict(scaled_embeddings=False), dict(post_norms=False)],
        "Qwen3-0.6B": [dict(qk_norm=False)],
        "Qwen2.5-0.5B": [dict(qkv_bias=False)],
    }.items():
        source = small_model(family)
        model = load_checkpoint(save(source, tmp_path / family))
        ids = tokens(model.config.vocab_size)
        want = hf_logits(source, ids)
        assert reference_error(model, want, ids) <= 1e-4
        for change in changes:
            config = replace(model.config, **change)
            tensors = {n: t for n, t in model.tensors.items() if n in tensor_shapes(config)}
            assert reference_error(Model(config, tensors), want, ids) > 0.01, (family, change)


# The keys of the Hub's config.json files (written by transformers 4.3x-4.5x) that
# transformers 5 writes otherwise: RoPE's base as rope_theta, Gemma 3's local one as
# rope_local_base_freq and its layers by sliding_window_pattern, Qwen's unused window
HUB_KEYS = {
    "Gemma-3-270M": {"rope_theta": 1000000.0, "rope_local_base_freq": 10000.0, "rope_scaling": None,
                     "sliding_window_pattern": 2, "_sliding_window_pattern": 2},
    "Qwen2.5-0.5B": {"rope_theta": 1000000.0, "sliding_window": 32768, "max_window_layers": 24,
                     "use_sliding_window": False, "use_mrope": False},
    "Qwen3-0.6B": {"rope_theta": 1000000, "rope_scaling": None, "sliding_window": None, "max_window_layers": 28},
    "SmolLM2-135M": {"rope_theta": 100000, "rope_scaling": None, "pretraining_tp": 1, "is_llama_config": True,
                     "rope_interleaved": False},
}


@pytest.mark.parametrize("family", HUB_KEYS)
def test_the_hubs_older_config_keys(tmp_path, family):
    source = small_model(family, **({"layer_types": None, "sliding_window_pattern": 2}
                                    if family.startswith("Gemma") else {}))
    directory = save(source, tmp_path / "hf")
    config = json.loads((directory / "config.json").read_text())
    for key in ("rope_parameters", "layer_types", "_sliding_window_pattern"):
        config.pop(key, None)
    (directory / "config.json").write_text(json.dumps(config | HUB_KEYS[family]))
    model = load_checkpoint(directory)
    if family.startswith("Gemma"):
        assert model.config.sliding_layers == (0,) and model.config.rope_local_theta == 10000.0
    else:
        assert model.config.sliding_window == 0
    ids = tokens(model.config.vocab_size)
    assert reference_error(model, hf_logits(source, ids), ids) <= 1e-4


@pytest.mark.parametrize("family, key, value, words", [
    ("SmolLM2-135M", "hidden_act", "gelu", "hidden_act 'gelu' is not supported"),
    ("Gemma-3-270M", "hidden_activation", "gelu", "hidden_activation 'gelu' is not supported"),
    ("Qwen3-0.6B", "num_experts", 8, "num_experts 8 is not supported"),
    ("SmolLM2-135M", "attention_bias", True, "attention_bias true is not supported"),
    ("SmolLM2-135M", "mlp_bias", True, "mlp_bias true is not supported"),
    ("Qwen2.5-0.5B", "use_sliding_window", True, "use_sliding_window true is not supported"),
    ("Qwen2.5-0.5B", "rope_scaling", {"rope_type": "yarn", "factor": 4.0}, "rope_scaling of type 'yarn'"),
    ("Gemma-3-270M", "layer_types", ["chunked_attention"] * 2, "layer_types should list"),
    ("Gemma-3-270M", "attn_logit_softcapping", 50.0, "attn_logit_softcapping 50.0 is not supported"),
    ("Gemma-3-270M", "use_bidirectional_attention", True, "use_bidirectional_attention true is not supported"),
    ("Qwen3-0.6B", "model_type", "qwen3_moe", "is not one of LlamaForCausalLM"),
])
def test_unsupported_keys_are_refused(tmp_path, family, key, value, words):
    directory = save(small_model(family), tmp_path / "hf")
    config = json.loads((directory / "config.json").read_text()) | {key: value}
    (directory / "config.json").write_text(json.dumps(config))
    with pytest.raises(ToolchainError) as e:
        load_checkpoint(directory)
    assert words in str(e.value) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("family", FAMILIES)
def test_gguf_as_llama_cpp_converts_them(tmp_path, family):
    """The llama, qwen2, qwen3 and gemma3 GGUF architectures, written from the same
    transformers model as llama.cpp's converter writes them."""
    source = small_model(family)
    write_gguf_from_hf(source, tmp_path / "m.gguf")
    model = load_checkpoint(tmp_path / "m.gguf")
    ids = tokens(model.config.vocab_size)
    assert reference_error(model, hf_logits(source, ids), ids) <= 1e-4


def emulator_logits(project: Path, ids: list[int]) -> np.ndarray:
    emu = Emulator(project)
    return np.stack([emu.forward(t, pos) for pos, t in enumerate(ids)])


# TinyLlama's C path is SmolLM2's (Llama's) with its 61M parameters in one layer: 35 s
@pytest.mark.parametrize("family", [pytest.param(f, marks=pytest.mark.slow) if f == "TinyLlama-1.1B" else f
                                    for f in FAMILIES])
def test_emulator_matches_transformers(saved, tmp_path, family):
    """The C forward pass on the host, f32: transformers' logits within 1e-4 at every
    one of 32 positions. q8 is reported: its top-1 agreement with f32 (random weights
    give near ties, so it is far below a trained model's) and its largest error, held
    to a tenth of the largest logit."""
    family_model = saved(family)
    model, ids, want = load_checkpoint(family_model.checkpoint), family_model.ids, family_model.logits
    compile_project(model, synthetic_tokenizer(model.config.vocab_size), "host", tmp_path / "f32", quant="f32",
                    context=POSITIONS)
    f32 = emulator_logits(tmp_path / "f32", ids)
    err, scale = float(np.abs(f32 - want).max()), float(np.abs(want).max())
    q8 = emulator_logits(family_model.host_q8, ids)
    agree, q8_err = float((q8.argmax(1) == f32.argmax(1)).mean()), float(np.abs(q8 - want).max())
    print(f"{family}: f32 max |diff| {err:.2e} (largest logit {scale:.2f}); q8 top-1 agreement with f32 "
          f"{agree:.0%}, max |diff| {q8_err:.3f}")
    assert err <= 1e-4
    assert q8_err <= 0.1 * scale and agree >= 0.75


def test_softcapping_batches_and_kv_storage_in_c(tmp_path):
    """Soft-capped logits on a small Gemma 3 (a cap low enough to bite), its query
    sixteen times as wide as dim: f32 through the C within 1e-4 of transformers one
    token at a time and in prompt batches across the sliding window; f16 and q8 KV
    caches near it."""
    source = small_model("Gemma-3-270M", final_logit_softcapping=0.2)
    model = load_checkpoint(save(source, tmp_path / "hf"))
    assert model.config.final_softcap == 0.2
    ids = tokens(model.config.vocab_size)
    want = hf_logits(source, ids).numpy()
    uncapped = replace(model.config, final_softcap=0.0)
    assert reference_error(Model(uncapped, model.tensors), torch.from_numpy(want), ids) > 0.05
    for kv, tolerance in (("f32", 1e-4), ("f16", 1e-3), ("q8", 0.02)):  # logits within 0.2; measured 2e-4, 8e-3
        out = tmp_path / kv
        compile_project(model, synthetic_tokenizer(model.config.vocab_size), "host", out, quant="f32", kv=kv,
                        context=POSITIONS, batch=8)
        emu = Emulator(out)
        got = np.stack([emu.forward(t, pos) for pos, t in enumerate(ids)])
        assert float(np.abs(got - want).max()) <= tolerance, kv
        if kv == "f32":  # 20 tokens in batches of 8, then one at a time
            emu.reset()
            got = [emu.forward_batch(ids[:20], 0)] + [emu.forward(t, pos) for pos, t in enumerate(ids) if pos >= 20]
            assert float(np.abs(np.stack(got) - want[19:]).max()) <= 1e-4


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("family", FAMILIES)
def test_greedy_text_on_rpi4_and_rpi5_is_the_emulators(saved, tmp_path, family):
    """Each family's shape in q8 on a Raspberry Pi 4 (NEON) and 5 (dot product) under
    QEMU prints the host emulator's greedy text, token for token, to the context's end."""
    family_model = saved(family)
    model = load_checkpoint(family_model.checkpoint)
    tokenizer = synthetic_tokenizer(model.config.vocab_size)
    text = Emulator(family_model.host_q8).generate("Once upon a time", steps=POSITIONS, temperature=0.0).text.decode()
    assert len(text) > 24
    for board in ("rpi4", "rpi5"):
        compile_project(model, tokenizer, board, tmp_path / board, quant="q8", context=POSITIONS)
        build_project(tmp_path / board)
        result = run_project(tmp_path / board, "Once upon a time", steps=POSITIONS, temperature=0.0, capture=True,
                             timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout == text + "\n", board


@pytest.mark.parametrize("family", FAMILIES)
def test_the_published_shapes_are_the_families_at_full_size(family):
    """analyze's shapes by name (config.PUBLISHED_SHAPES) are what the importer reads
    from each family's configuration here at its real depth, vocabulary and window."""
    from toolchain.importers.hf import _config, _family

    shape = PUBLISHED_SHAPES[family]
    config_class, kwargs = FAMILIES[family]
    full = {"num_hidden_layers": shape.n_layers, "vocab_size": shape.vocab_size}
    if shape.sliding_layers:
        full |= {"sliding_window": shape.sliding_window,
                 "layer_types": ["sliding_attention" if i in shape.sliding_layers else "full_attention"
                                 for i in range(shape.n_layers)]}
    cfg = config_class(**(kwargs | full)).to_dict()
    assert _config(cfg, _family(cfg, Path(family)), Path(family)) == shape
