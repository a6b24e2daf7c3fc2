"""KV cache storage: f16 and q8 against float32, through the C runtime."""
import numpy as np
import pytest
import torch

from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.importers import load_checkpoint
from toolchain.model import Transformer
from toolchain.target.run import run_project
from toolchain.host.validate import DEFAULT_TEXT, windows


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.fixture(scope="module")
def builds(stories, tmp_path_factory):
    root = tmp_path_factory.mktemp("kv")
    made = {}
    for quant, kv in [("f32", "f32"), ("f32", "f16"), ("f32", "q8"), ("q8", "f32"), ("q8", "q8")]:
        out = root / f"{quant}-{kv}"
        compile_project(stories[0], stories[1], "host", out, quant=quant, kv=kv, context=512)
        made[quant, kv] = out
    return made


def teacher_forced(out):
    emu = Emulator(out)
    tokens = emu.encode(DEFAULT_TEXT.read_text())
    rows = []
    for window in windows(tokens, emu.context, emu.bos_id):
        rows += [emu.forward(t, pos) for pos, t in enumerate(window)]
    return np.stack(rows)


@pytest.mark.slow
def test_q8_kv_top1_agrees_with_f32_kv_build(builds, capsys):
    """Builds that differ only in the KV cache's storage. With f32 weights the KV
    cache is the only difference; with q8 weights any perturbation also flips some
    roundings of the int8 activations, so there even an f16 KV cache agrees only
    about 98 % (reported, not asserted)."""
    f32_kv = teacher_forced(builds["f32", "f32"])
    q8_kv = teacher_forced(builds["f32", "q8"])
    agreement = float((f32_kv.argmax(1) == q8_kv.argmax(1)).mean())
    q8_weights = float((teacher_forced(builds["q8", "f32"]).argmax(1)
                        == teacher_forced(builds["q8", "q8"]).argmax(1)).mean())
    with capsys.disabled():
        print(f"\nq8 KV vs f32 KV: top-1 agreement {agreement:.2%} over {len(f32_kv)} positions "
              f"(f32 weights); {q8_weights:.2%} with q8 weights")
    assert len(f32_kv) >= 1000 and agreement >= 0.99


@pytest.mark.parametrize("kv,tolerance", [("f16", 0.1), ("q8", 2.0)])  # measured: 0.036, 1.27
def test_kv_storage_against_the_reference(builds, stories, kv, tolerance):
    """f32 weights, so the only error is the KV cache's storage."""
    emu = Emulator(builds["f32", kv])
    tokens = emu.encode(DEFAULT_TEXT.read_text())[:256]
    want = Transformer(load_checkpoint(stories[0])).score(torch.tensor(tokens)).numpy()
    got = np.stack([emu.forward(t, pos) for pos, t in enumerate(tokens)])
    err = np.abs(got - want).max()
    assert 0 < err <= tolerance, err
    assert (got.argmax(1) == want.argmax(1)).mean() >= 0.98


@pytest.mark.slow
def test_stm32f405_q8_kv_under_qemu_matches_emulator(stories, tmp_path):
    out = tmp_path / "stm32"
    compiled = compile_project(stories[0], stories[1], "stm32f405", out, quant="q8", kv="q8",
                               console="semihosting")
    assert compiled.context_chosen and compiled.project.context >= 256
    host = Emulator(out).generate("", steps=200, temperature=0.0).text.decode() + "\n"
    result = run_project(out, "", steps=200, temperature=0.0, capture=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == host and host.startswith("Once upon a time")
