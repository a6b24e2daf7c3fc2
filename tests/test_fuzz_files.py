"""A short run of the file fuzzer (tests/fuzz/fuzz_files/, docs/fuzzing.md): the
seed of every input format mutated 30 times, each case loaded (and, when accepted
with an effect of its own, compiled for host and its C syntax-checked) in a child
forked under a time and memory limit. No case may end in a traceback, a hang, a
blow-up, a crash, C that does not compile, an error message of several lines, or a
read outside the checkpoint directory; what is accepted must be identical in
effect, or differ only in values no checksum of the format covers (weights, scores,
token bytes) or in hyperparameters that change no shape. The long run's figures are
in docs/fuzzing.md; a failure here prints the findings grouped by root cause, with
reproducers under pytest's temporary directory."""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import fuzz_files  # noqa: E402

from toolchain.errors import ToolchainError  # noqa: E402

PER_FORMAT = 30
SEED = 1


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return fuzz_files.fuzz(PER_FORMAT * len(fuzz_files.FORMATS), SEED, tmp_path_factory.mktemp("fuzz"),
                           keep=tmp_path_factory.mktemp("fuzz-findings"))


@pytest.mark.slow
def test_every_format_is_fuzzed(run):
    table = run.table()
    assert set(table) == {f.slug for f in fuzz_files.FORMATS}
    for slug, row in table.items():
        assert row["cases"] == PER_FORMAT, (slug, row)
        assert row["clean"] > 0, (slug, row)  # the mutations reach the parsers


def test_no_traceback_hang_blowup_or_crash(run):
    bad = [c for c in run.cases if c.outcome not in ("clean", "accepted")]
    if bad:
        pytest.fail(f"{len(bad)} of {len(run.cases)} cases are findings:\n{run.report()}", pytrace=False)


def test_accepted_mutations_are_identical_or_unchecksummed_values(run):
    bad = [c for c in run.cases if c.outcome == "accepted" and c.category not in fuzz_files.ALLOWED_CATEGORIES]
    if bad:
        pytest.fail(f"{len(bad)} accepted mutations outside {fuzz_files.ALLOWED_CATEGORIES}:\n{run.report()}",
                    pytrace=False)


def test_cases_are_reproducible(tmp_path):
    """The seeds are the same bytes on every run, and case N's mutation depends only on
    the run's seed and N, not on the cases before it."""
    first = fuzz_files.make_seeds(tmp_path / "a", fuzz_files.FORMATS)
    second = fuzz_files.make_seeds(tmp_path / "b", fuzz_files.FORMATS)
    for slug in first:
        assert first[slug].data == second[slug].data, slug

    def plan(seeds, indices):
        out = {}
        for i in indices:
            seed, m = fuzz_files.plan_case(seeds, i, SEED)
            out[i] = (seed.fmt.slug, m.file, m.steps, m.data)
        return out

    indices = range(3 * len(fuzz_files.FORMATS))
    assert plan(first, indices) == plan(second, reversed(indices))
    changed = [m != first[s].data[f] for s, f, _, m in plan(first, indices).values()]
    assert sum(changed) >= 0.9 * len(changed)  # a few mutations may give the bytes back


def test_the_harness_classifies(tmp_path):
    def outcome(fn, limit=5.0):
        return fuzz_files.run_in_child(fn, tmp_path, limit)

    def raises(e):
        def fn(state):
            raise e
        return fn

    assert outcome(lambda state: {"outcome": "accepted"}).result["outcome"] == "accepted"
    assert outcome(raises(ToolchainError("m.bin: truncated"))).result["outcome"] == "clean"
    assert outcome(raises(ToolchainError("two\nlines"))).result["outcome"] == "bad-message"
    r = outcome(raises(KeyError("dim"))).result
    assert (r["outcome"], r["exc_type"]) == ("traceback", "KeyError")
    # beyond the address-space cap an allocation fails at once: a blow-up, not a dead machine
    r = outcome(lambda state: {"n": len(bytearray(fuzz_files.AS_HEADROOM + (1 << 30)))}).result
    assert (r["outcome"], r["exc_type"]) == ("blow-up", "MemoryError")
    start = time.monotonic()
    r = outcome(lambda state: time.sleep(30), limit=0.5)
    assert r.timed_out and r.result is None and time.monotonic() - start < 5
    assert "test_fuzz_files.py" in (fuzz_files.stack_frame(r.log)[1] or "")  # where it hung
    r = outcome(lambda state: os.kill(os.getpid(), signal.SIGSEGV))
    assert r.signal == signal.SIGSEGV and r.result is None
    marker = tmp_path / "marker"
    marker.write_bytes(b"x")
    watch = fuzz_files.OpenWatch(marker)
    assert not watch.opened()
    marker.read_bytes()
    assert watch.opened() and not watch.opened()
    watch.close()
