"""llama2.c checkpoints: every format round-trips; bad files are refused in one line."""
import numpy as np
import pytest

from toolchain.config import ModelConfig, random_model
from toolchain.errors import ToolchainError
from toolchain.importers import load_checkpoint
from toolchain.importers.llama2c import write_llama2c

GQA = ModelConfig(dim=64, n_layers=2, n_heads=8, n_kv_heads=2, vocab_size=300, hidden_dim=172,
                  max_seq_len=32, shared_classifier=False)


def test_stories260k(shared_models):
    m = load_checkpoint(shared_models / "stories260K.bin")
    c = m.config
    assert (c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.vocab_size, c.max_seq_len) == \
        (64, 172, 5, 8, 4, 512, 512)
    assert c.shared_classifier and "output.weight" not in m.tensors
    assert m.tensors["layers.4.feed_forward.w2.weight"].shape == (64, 172)


@pytest.mark.parametrize("config", [GQA, ModelConfig(dim=32, n_layers=1, n_heads=4, n_kv_heads=4,
                                                     vocab_size=259, hidden_dim=64, max_seq_len=8)])
@pytest.mark.parametrize("version", [0, 1])
def test_float_formats_round_trip(tmp_path, config, version):
    model = random_model(config, seed=version)
    path = tmp_path / "m.bin"
    write_llama2c(model, path, version=version)
    back = load_checkpoint(path)
    assert back.config == config
    for name, t in model.tensors.items():
        np.testing.assert_array_equal(back.tensors[name], t)


def test_q8_0_format_dequantizes_within_half_a_step(tmp_path):
    config = ModelConfig(dim=64, n_layers=2, n_heads=8, n_kv_heads=4, vocab_size=320, hidden_dim=128,
                         max_seq_len=16)
    model = random_model(config, seed=5)
    path = tmp_path / "q.bin"
    write_llama2c(model, path, version=2, group_size=64)
    back = load_checkpoint(path)
    for name, t in model.tensors.items():
        groups = t.reshape(-1, 64) if t.ndim == 2 else t.reshape(1, -1)
        step = np.abs(groups).max(axis=1, keepdims=True) / 127 if t.ndim == 2 else 0
        err = np.abs(back.tensors[name].reshape(groups.shape) - groups)
        assert (err <= step / 2 + 1e-7).all(), name


@pytest.mark.parametrize("cut", [0, 5, 20, 27, 29, 256, 300, -4])
def test_truncated_files_are_refused(tmp_path, cut):
    for version in (0, 1, 2):
        path = tmp_path / f"v{version}.bin"
        write_llama2c(random_model(GQA if version < 2 else GQA, seed=1), path, version=version, group_size=4)
        data = path.read_bytes()
        path.write_bytes(data[:cut if cut >= 0 else len(data) + cut])
        with pytest.raises(ToolchainError) as e:
            load_checkpoint(path)
        assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_foreign_and_unsupported_files(tmp_path):
    cases = {"garbage.bin": bytes(range(256)) * 40,
             "v9.bin": (0x616B3432).to_bytes(4, "little") + (9).to_bytes(4, "little") + b"\0" * 300,
             "empty.bin": b""}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ToolchainError, match=name):
            load_checkpoint(tmp_path / name)
    with pytest.raises(ToolchainError, match="version 9"):
        load_checkpoint(tmp_path / "v9.bin")
    with pytest.raises(ToolchainError, match="no such file"):
        load_checkpoint(tmp_path / "missing.bin")


def test_nan_weights_are_refused_with_the_tensor_name(tmp_path):
    model = random_model(GQA, seed=2)
    model.tensors["layers.1.attention.wk.weight"][3, 5] = np.nan
    write_llama2c(model, tmp_path / "nan.bin", version=1)
    with pytest.raises(ToolchainError, match="layers.1.attention.wk.weight"):
        load_checkpoint(tmp_path / "nan.bin")
