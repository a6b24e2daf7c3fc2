"""A short libFuzzer run of every harness in tests/fuzz/ (scripts/fuzz.sh), under
ASan and UBSan: the tokenizer encoder and decoder, BPE merging against the quadratic
merge it replaced and the chat template of a stories260K project and of a Llama 3
vocabulary, the encoder and the chat template of a Qwen2-style tokenizer.json (its
NFC normalizer), the Linux command lines (main.c and llm_test.c), the weight image
check on mutated copies of the real image, and the sampling parameters. Its seed
inputs include those that once found bugs, and text not in NFC."""
import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from toolchain.host.emulator import Emulator

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

ROOT = Path(__file__).resolve().parents[1]
FUZZ_SH = ROOT / "scripts" / "fuzz.sh"
SECONDS_PER_HARNESS = 3


@pytest.fixture(scope="module")
def fuzzed(shared_models, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """scripts/fuzz.sh's run of every harness, and its work directory (projects, corpora)."""
    work = tmp_path_factory.mktemp("fuzz")
    result = subprocess.run(["bash", str(FUZZ_SH), "--time", str(SECONDS_PER_HARNESS), "--workdir", str(work)],
                            capture_output=True, text=True, env=os.environ | {"LLMTOOL_MODELS": str(shared_models)})
    return result, work


def test_every_harness_runs_clean(fuzzed):
    result, _ = fuzzed
    assert result.returncode == 0, result.stdout + result.stderr
    runs = dict(re.findall(r"^(\S+) +(\d+) executions in +\d+ s, 0 findings$", result.stdout, re.M))
    assert set(runs) == {"encode", "decode", "chat", "merge", "cmdline", "cmdline-test", "image", "sample",
                         "encode-llama3", "decode-llama3", "chat-llama3", "merge-llama3", "encode-qwen",
                         "chat-qwen"}, result.stdout
    # each did real work: the seeds and then many generated inputs
    assert all(int(n) >= 200 for n in runs.values()), runs


def test_the_nfc_corpus_encodes_as_tokenizers(fuzzed):
    """The texts encode-qwen kept (those that reached code no input before had: NFC's
    corners among them; bytes that are not UTF-8 as U+FFFD), encoded by the qwen
    project's C as by the `tokenizers` library with the tokenizer.json it was compiled
    from: the harness has no NFC of its own to hold the C to, the library has."""
    _, work = fuzzed
    texts = {path.read_bytes()[1:].split(b"\0")[0].decode(errors="replace")  # the control byte, the text
             for path in (work / "corpus" / "encode-qwen").iterdir()}
    not_nfc = sum(not unicodedata.is_normalized("NFC", t) for t in texts)
    assert not_nfc >= 50, f"only {not_nfc} of {len(texts)} texts not in NFC"
    reference = Tokenizer.from_file(str(work / "qwen-tokenizer" / "tokenizer.json"))
    emulator = Emulator(work / "qwen")
    wrong = [t for t in sorted(texts) if emulator.encode(t, bos=False) != reference.encode(t).ids]
    assert not wrong, f"{len(wrong)} of {len(texts)} differ, first: {wrong[:3]!r}"


def test_missing_clang_is_one_line_naming_the_packages(tmp_path):
    result = subprocess.run([shutil.which("bash"), str(FUZZ_SH), "--time", "1"], capture_output=True, text=True,
                            env={"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr == ("error: clang not found: install the Debian packages clang and libclang-rt-dev "
                             "(apt-get install clang libclang-rt-dev, or run scripts/setup.sh)\n")
