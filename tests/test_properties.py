"""Property tests (hypothesis): the q8 quantizers, the weights' in Python and the
activations' in C, keep every element within half a step of its group's scale,
whatever the shape, group size and values (tails, all-zero groups, extremes); and
the memory planner, over random models, contexts, KV storage and boards, never
lets two buffers live in the same phase overlap and keeps every alignment."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from c_kernels import build_kernels
from toolchain.boards import all_boards
from toolchain.config import ModelConfig
from toolchain.errors import ToolchainError
from toolchain.compile.layout import MIN_SCALE
from toolchain.choices import KV_MODES, QUANT_MODES
from toolchain.compile.plan import ALIGN, PHASES, buffers_needed, plan_memory
from toolchain.compile.quantize import n_groups, quantize_matrix
from toolchain.compile.spec import CompileSpec
from toolchain.importers.tokenizer import Tokenizer

# The largest magnitude tested: at FLT_MAX itself 127 x (FLT_MAX / 127) rounds past
# the largest float, so dequantizing gives inf.
LARGEST = float(np.float32(3e38))
# Near MIN_SCALE a scale still has all its bits, but keep some room for w / scale.
SUBNORMAL_FLOOR = 64 * 2.0 ** -149

# float32 values: ordinary ones, zeros, subnormals, the largest
values = st.one_of(
    st.floats(-4.0, 4.0, width=32),
    st.just(0.0),
    st.floats(-2.0 ** -126, 2.0 ** -126, width=32),
    st.sampled_from([float(np.float32(v)) for v in (LARGEST, -LARGEST, 1e30, -1e-45, 1.4e-43, 2e-43)]),
)


@st.composite
def matrices(draw):
    """A matrix and a group size that may or may not divide its columns (shorter
    tail groups), with some groups forced to zero."""
    rows = draw(st.integers(1, 6))
    cols = draw(st.integers(1, 200))
    group = draw(st.sampled_from([1, 2, 3, 8, 32, 64, 100, 256]))
    w = draw(hnp.arrays(np.float32, (rows, cols), elements=values))
    for r, g in draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, n_groups(cols, group) - 1)),
                              max_size=3)):
        w[r, g * group:(g + 1) * group] = 0.0
    return w, group


def group_scales(scales: np.ndarray, cols: int, group: int) -> np.ndarray:
    """Each element's group scale, the shape of the matrix."""
    return np.repeat(scales, group, axis=-1)[..., :cols]


def assert_within_half_a_step(w: np.ndarray, q: np.ndarray, scales: np.ndarray, group: int) -> None:
    s = group_scales(scales, w.shape[-1], group).astype(np.float64)
    assert np.all(np.abs(q.astype(np.int32)) <= 127)
    err = np.abs(w.astype(np.float64) - q.astype(np.float64) * s)
    # half a step, plus float32 rounding of the scale and of w / scale; a group
    # whose scale would fall below MIN_SCALE is stored as zeros
    bad = err > s / 2 + 2e-7 * np.abs(w.astype(np.float64)) + SUBNORMAL_FLOOR
    bad &= ~((s == 0) & (np.abs(w) <= 127 * float(MIN_SCALE)))
    assert not bad.any(), (w[bad], q[bad], s[bad])


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(matrices())
def test_q8_weights_within_half_a_step_per_group(case):
    w, group = case
    qm = quantize_matrix(w, group, "q8")
    rows, cols = w.shape
    assert qm.q.shape == w.shape and qm.scales.shape == (rows, n_groups(cols, group))
    assert_within_half_a_step(w, qm.q, qm.scales, group)
    for g in range(n_groups(cols, group)):  # the scale is the group's own: max |w| / 127
        block = np.abs(w[:, g * group:(g + 1) * group]).max(axis=1)
        scale = (block / np.float32(127)).astype(np.float32)
        assert np.array_equal(qm.scales[:, g], np.where(scale < MIN_SCALE, np.float32(0), scale))
        zero = qm.scales[:, g] == 0
        assert not qm.q[zero, g * group:(g + 1) * group].any()  # all-zero group: scale 0, values 0
    assert np.all(np.isfinite(qm.dequantize()))


@settings(max_examples=150, deadline=None, database=None)
@given(matrices())
def test_q8_round_trip_is_stable(case):
    """Quantizing the dequantized matrix again gives the same values and scales."""
    w, group = case
    first = quantize_matrix(w, group, "q8")
    again = quantize_matrix(first.dequantize(), group, "q8")
    assert np.array_equal(again.q, first.q)
    np.testing.assert_allclose(again.scales, first.scales, rtol=2e-7, atol=0)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    return build_kernels(tmp_path_factory.mktemp("kernels"))


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(matrices())
def test_c_activation_quantizer_within_half_a_step(kernels, case):
    """The runtime's quantize_q8 (activations, every matrix-vector product) obeys the
    same bound as the weights' quantizer and agrees with it."""
    w, group = case
    x = np.ascontiguousarray(w[0])
    xq = np.zeros(x.size, np.int8)
    xs = np.zeros(n_groups(x.size, group), np.float32)
    kernels.quantize_q8(xq, xs, x, x.size, group)
    assert_within_half_a_step(x[None], xq[None], xs[None], group)
    python = quantize_matrix(x[None], group, "q8")
    assert np.array_equal(xs, python.scales[0])
    # rint and roundf differ only on exact halves (ties to even vs away from zero)
    ties = np.abs(x / group_scales(np.where(xs > 0, xs, 1), x.size, group)) % 1 == 0.5
    assert np.array_equal(xq[~ties], python.q[0][~ties])


@st.composite
def model_configs(draw):
    n_kv_heads = draw(st.sampled_from([1, 2, 4, 8]))
    n_heads = n_kv_heads * draw(st.sampled_from([1, 2, 4]))
    head_dim = draw(st.sampled_from([2, 4, 8, 16, 64]))
    dim = n_heads * head_dim
    hidden_dim = draw(st.integers(1, 4 * dim))
    return ModelConfig(dim=dim, n_layers=draw(st.integers(1, 6)), n_heads=n_heads, n_kv_heads=n_kv_heads,
                       vocab_size=draw(st.integers(3, 5000)), hidden_dim=hidden_dim,
                       max_seq_len=draw(st.integers(1, 1024)))


BOARDS = all_boards()


@settings(max_examples=200, deadline=None, database=None)
@given(config=model_configs(), quant=st.sampled_from([q for q in QUANT_MODES if q != "auto"]), group=st.sampled_from([2, 32, 64, 100]),
       context=st.integers(1, 600), kv=st.sampled_from(KV_MODES), board=st.sampled_from(sorted(BOARDS)),
       max_token_length=st.integers(1, 64))
def test_planner_never_overlaps_live_buffers(config, quant, group, context, kv, board, max_token_length):
    tok = Tokenizer([b"x" * max_token_length] * config.vocab_size, [0.0] * config.vocab_size)
    try:
        spec = CompileSpec(config, BOARDS[board], quant, group, kv, context, tok)
    except ToolchainError:  # a group size this model cannot take: the compiler refuses it
        assume(False)
    plan = plan_memory(spec)
    wanted, _, _ = buffers_needed(spec)
    # every buffer the runtime needs is placed once, at its size
    assert sorted((x.name, x.nbytes) for x in plan.buffers) == sorted((x.name, x.nbytes) for x in wanted)
    for arena in plan.arenas:
        assert arena.nbytes % ALIGN == 0
        for buf in arena.buffers:
            assert buf.region == arena.region
            assert buf.offset % ALIGN == 0  # and the arena itself is aligned to 64 in llm_plan.c
            assert 0 <= buf.offset and buf.offset + buf.nbytes <= arena.nbytes
        for phase in PHASES:
            live = sorted((x for x in arena.buffers if phase in x.phases), key=lambda x: x.offset)
            for a, c in zip(live, live[1:]):
                assert a.offset + a.nbytes <= c.offset, (phase, a.name, c.name)
        if arena.section is not None:  # a fast or external region never holds more than it has
            assert arena.nbytes <= spec.board.region(arena.region).length
    assert sum(a.nbytes for a in plan.arenas) <= plan.unshared_bytes
