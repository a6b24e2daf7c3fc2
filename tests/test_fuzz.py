"""A short libFuzzer run of every harness in tests/fuzz/ (scripts/fuzz.sh), under
ASan and UBSan: the tokenizer encoder and decoder, BPE merging against the quadratic
merge it replaced and the chat template of a stories260K project and of a Llama 3
vocabulary, the Linux command lines (main.c and llm_test.c), the weight image check
on mutated copies of the real image, and the sampling parameters. Its seed inputs
include those that once found bugs."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

ROOT = Path(__file__).resolve().parents[1]
FUZZ_SH = ROOT / "scripts" / "fuzz.sh"
SECONDS_PER_HARNESS = 3


def test_every_harness_runs_clean(shared_models, tmp_path):
    result = subprocess.run(["bash", str(FUZZ_SH), "--time", str(SECONDS_PER_HARNESS), "--workdir", str(tmp_path)],
                            capture_output=True, text=True, env=os.environ | {"LLMTOOL_MODELS": str(shared_models)})
    assert result.returncode == 0, result.stdout + result.stderr
    runs = dict(re.findall(r"^(\S+) +(\d+) executions in +\d+ s, 0 findings$", result.stdout, re.M))
    assert set(runs) == {"encode", "decode", "chat", "merge", "cmdline", "cmdline-test", "image", "sample",
                         "encode-llama3", "decode-llama3", "chat-llama3", "merge-llama3"}, result.stdout
    # each did real work: the seeds and then many generated inputs
    assert all(int(n) >= 200 for n in runs.values()), runs


def test_missing_clang_is_one_line_naming_the_packages(tmp_path):
    result = subprocess.run([shutil.which("bash"), str(FUZZ_SH), "--time", "1"], capture_output=True, text=True,
                            env={"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr == ("error: clang not found: install the Debian packages clang and libclang-rt-dev "
                             "(apt-get install clang libclang-rt-dev, or run scripts/setup.sh)\n")
