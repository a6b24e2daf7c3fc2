"""Progress where a person waits: one line per slow phase on stderr (and tqdm bars),
shown on a terminal or with LLMTOOL_PROGRESS=1; never on stdout, whose text and
JSON are contracts, and never in a captured stderr by default, where a failed
command's `error:` line stays its only line."""
import io
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from toolchain import progress
from toolchain.cli import main
from toolchain.cli.demo import AFTER_TRAINING_SECONDS, DEMO_CONFIG, duration, training_seconds
from toolchain.train.config import TrainConfig


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_shown_on_a_terminal_or_when_asked(monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert not progress.enabled()
    monkeypatch.setattr("sys.stderr", Terminal())
    assert progress.enabled()
    progress.phase("building the host library of out (first run only)...")
    assert __import__("sys").stderr.getvalue() == "building the host library of out (first run only)...\n"
    monkeypatch.setenv(progress.PROGRESS_ENV, "0")
    assert not progress.enabled()
    monkeypatch.setattr("sys.stderr", io.StringIO())
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    assert progress.enabled()


@pytest.fixture
def compiled(shared_models, tmp_path, monkeypatch):
    """Compiles stories260K with progress shown; (stdout, stderr, project)."""
    monkeypatch.setenv(progress.PROGRESS_ENV, "1")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["compile", str(shared_models / "stories260K.bin"), "-z",
                                       str(shared_models / "tok512.bin"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr, out


def test_compile_says_each_phase_on_stderr(compiled, shared_models, tmp_path, monkeypatch):
    stdout, stderr, out = compiled
    assert stderr.splitlines() == [f"reading {shared_models / 'stories260K.bin'}...",
                                   "quantizing 260,032 parameters to q8 (groups of 64)...",
                                   f"writing the host project, context 512, to {out}..."]
    monkeypatch.delenv(progress.PROGRESS_ENV)
    quiet = CliRunner().invoke(main, ["compile", str(shared_models / "stories260K.bin"), "-z",
                                      str(shared_models / "tok512.bin"), "-o", str(out), "--force"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == stdout  # stdout as before


def test_first_emulate_says_it_builds_and_keeps_stdout_exact(compiled):
    _, _, out = compiled
    args = ["emulate", str(out), "-t", "0", "-n", "40", "-i", "Once upon a time"]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    lines = first.stderr.splitlines()
    assert lines[0] == f"building the host library of {out} (first run only)..." and "achieved tok/s" in lines[-1]
    second = CliRunner().invoke(main, args)
    assert "building" not in second.stderr and second.stdout == first.stdout
    assert first.stdout.startswith("Once upon a time") and first.stdout.endswith("\n")


def test_build_and_validate_say_what_they_do(compiled, shared_models):
    _, _, out = compiled
    build = CliRunner().invoke(main, ["build", str(out)])
    assert build.exit_code == 0 and build.stderr == f"building {out} for host with cc...\n", build.output
    result = CliRunner().invoke(main, ["validate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith(f"loading the f32 reference from {(shared_models / 'stories260K.bin').resolve()}...\n")
    assert result.stdout.startswith("{") and result.stdout.rstrip().endswith("}")  # the JSON alone


def test_the_demo_promises_three_minutes_and_says_so():
    """On a 2-core CPU, training the demo's model fits its promise with room for the rest."""
    assert training_seconds(DEMO_CONFIG) + AFTER_TRAINING_SECONDS <= 180
    assert duration(training_seconds(DEMO_CONFIG)) in ("about 1.5 minutes", "about 2 minutes")
    assert training_seconds(TrainConfig("", "", "")) > 2 * training_seconds(DEMO_CONFIG)  # the full example
    assert duration(20) == "under a minute" and duration(150) == "about 2.5 minutes"


def test_setup_says_what_it_installs(tmp_path):
    """scripts/setup.sh --dry-run: each step and each command, with a dpkg that knows
    no package (a fresh machine), and nothing run."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "dpkg").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "dpkg").chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(root / "scripts" / "setup.sh"), "--dry-run"], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "==> Debian packages" in out and "installing " in out and "gcc-aarch64-linux-gnu" in out
    assert "+ " in out and "apt-get update -q" in out and "apt-get install -y -q" in out
    assert "pip install --progress-bar on -e .[test]" in out and out.rstrip().endswith("nothing was installed")
