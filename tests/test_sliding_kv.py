"""A sliding layer's KV cache is a ring of its window and a batch less one (Gemma 3):
the C keeps transformers' logits past many turns of the ring, one token at a time and
in batches; the plan and analyze size it alike; a board prints the emulator's text."""
import re

import numpy as np
import pytest

from hf_families import hf_logits, save, small_model
from synthetic import synthetic_tokenizer
from toolchain.boards import get_board
from toolchain.compile.analyze import analyze, bytes_read_per_token
from toolchain.compile.compiler import compile_project
from toolchain.compile.plan import KV_ELEM_BYTES, plan_memory
from toolchain.compile.spec import CompileSpec
from toolchain.config import PUBLISHED_SHAPES
from toolchain.host.emulator import Emulator
from toolchain.importers import load_checkpoint
from toolchain.target.build import build_project
from toolchain.target.run import run_project

WINDOW, BATCH, POSITIONS = 8, 8, 40
RING = WINDOW + BATCH - 1  # 15 positions: 40 turn it more than twice


@pytest.fixture(scope="module")
def gemma(tmp_path_factory):
    """The small Gemma 3 (a sliding layer, then a global one) and transformers' logits
    for POSITIONS random tokens."""
    source = small_model("Gemma-3-270M", seed=2, sliding_window=WINDOW)  # greedy: no early end
    model = load_checkpoint(save(source, tmp_path_factory.mktemp("gemma") / "hf"))
    assert model.config.sliding_window == WINDOW and model.config.sliding_layers == (0,)
    ids = [int(t) for t in np.random.default_rng(2).integers(0, model.config.vocab_size, POSITIONS)]
    return model, ids, hf_logits(source, ids).numpy()


@pytest.mark.parametrize("kv, tolerance", [("f32", 1e-4), ("f16", 1e-3), ("q8", 0.02)])
def test_a_ring_keeps_transformers_logits(gemma, tmp_path, kv, tolerance):
    """Through the C on the host, a ring of 15 positions for the sliding layer: every
    position's logits near transformers', one token at a time; and bit for bit so with
    prompts of 5, 8 and 13 tokens (batches of 8 and what is left), each batch's window
    reaching back over the ring's turn."""
    model, ids, want = gemma
    out = tmp_path / kv
    compile_project(model, synthetic_tokenizer(model.config.vocab_size), "host", out, quant="f32", kv=kv,
                    context=64, batch=BATCH)
    config = (out / "llm_config.h").read_text()
    assert re.search(r"#define LLM_KV_RING (\d+)", config)[1] == str(RING)
    emu = Emulator(out)
    got = np.stack([emu.forward(t, pos) for pos, t in enumerate(ids)])
    assert float(np.abs(got - want).max()) <= tolerance
    emu.reset()
    pos = 0
    for n in (5, 8, 13, 5, 8):  # 39 positions; the 13 run as 8 and 5
        last = emu.forward_batch(ids[pos:pos + n], pos)
        pos += n
        assert np.array_equal(last, got[pos - 1]), pos
    assert np.array_equal(emu.forward(ids[pos], pos), got[pos])


def kv_bytes(plan) -> dict[int, int]:
    """Layer -> the bytes of its keys and values in the plan, their q8 scales included."""
    layers: dict[int, int] = {}
    for b in plan.buffers:
        if b.name.startswith(("key_", "value_")):  # key_cache[l], key_scales[l], ...
            layer = int(b.name[b.name.index("[") + 1:-1])
            layers[layer] = layers.get(layer, 0) + b.nbytes
    return layers


def position_bytes(kv: str, kv_dim: int, n_kv_heads: int) -> int:
    """A position's key and value in one layer: their elements, and a q8 cache's scales."""
    return 2 * kv_dim * KV_ELEM_BYTES[kv] + (2 * 4 * n_kv_heads if kv == "q8" else 0)


@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("kv", ["f32", "q8"])
def test_the_plan_gives_a_sliding_layer_its_ring(batch, kv):
    """Gemma-3-270M at context 2048: each of its 15 sliding layers' keys and values
    (and q8 scales) hold 512 + batch - 1 positions, its 3 global ones 2048."""
    cfg = PUBLISHED_SHAPES["Gemma-3-270M"]
    plan = plan_memory(CompileSpec(cfg, get_board("rpi4"), "q8", 64, kv, context=2048, batch=batch))
    row = position_bytes(kv, cfg.kv_dim, cfg.n_kv_heads)
    assert kv_bytes(plan) == {l: row * (511 + batch if l in cfg.sliding_layers else 2048) for l in range(18)}


@pytest.mark.parametrize("kv", ["f32", "q8"])
def test_analyze_counts_the_plans_kv_cache(kv):
    """analyze's KV cache is the plan's buffers, sliding layers' rings for the batch
    compile would take; a token at 1024 reads a sliding layer's 512 positions of its
    ring, a global one's 1024."""
    a = analyze("Gemma-3-270M", get_board("rpi4"), kv=kv, context=2048)
    plan, row = a.fit.plan, position_bytes(kv, a.config.kv_dim, a.config.n_kv_heads)
    assert plan.batch > 1  # the ring grows with the batch
    assert a.ram_sections["KV cache"] == sum(kv_bytes(plan).values()) == row * (3 * 2048 + 15 * (511 + plan.batch))
    reads = bytes_read_per_token(a.fit, a.board, a.config, a.reads)["ram"] - a.reads.per_token(1, prompt=False)
    assert reads == row * (3 * 1024 + 15 * 512)


@pytest.mark.slow  # a cross build and QEMU: about 15 s
@pytest.mark.parametrize("board", ["rpi4", "mps2-an386"])
def test_a_qemu_board_prints_the_emulators_text_past_the_ring(gemma, tmp_path, board):
    """q8 weights and KV, context 64, prompts in batches of 8, 48 greedy steps: the
    sliding layer's ring of 15 turns three times on the board (NEON, or a Cortex-M4)
    as on the host."""
    model = gemma[0]
    tokenizer = synthetic_tokenizer(model.config.vocab_size)
    compile_project(model, tokenizer, "host", tmp_path / "host", quant="q8", kv="q8", context=64, batch=BATCH)
    run = Emulator(tmp_path / "host").generate("Hello", steps=48, temperature=0.0)
    assert run.positions == 48  # no end of text before: the ring of 15 turned three times
    text = run.text.decode()
    compile_project(model, tokenizer, board, tmp_path / board, quant="q8", kv="q8", context=64, batch=BATCH)
    assert f"#define LLM_KV_RING {RING}" in (tmp_path / board / "llm_config.h").read_text()
    build_project(tmp_path / board)
    result = run_project(tmp_path / board, "Hello", steps=48, temperature=0.0, capture=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"
