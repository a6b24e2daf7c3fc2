"""The host emulator's tests again, against the project's C built with AddressSanitizer
and UBSan (LLMTOOL_SANITIZE=1, `make emulator SANITIZE=1`): an out-of-bounds access,
use of freed memory or undefined behaviour in the runtime stops them with a report.
They run in a child pytest, since the sanitizer runtime has to be preloaded into the
Python process before the library is loaded."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # QEMU, cross builds or long runs: the full suite only

ROOT = Path(__file__).resolve().parents[1]
# the tests that drive the C through the emulator (those that run QEMU boards, the
# native binary, or only compile a 110M-shaped model add nothing here but minutes)
EMULATOR_TESTS = ["tests/test_pipeline.py", "tests/test_kv_cache.py", "tests/test_sliding_kv.py",
                  "tests/test_random_models.py",
                  "tests/test_tokenizer_import.py::test_c_encoder_matches_sentencepiece"]
DESELECTED = "not qemu and not 110m and not native_binary and not no_heap"


def sanitizer_env() -> dict[str, str]:
    libraries = [subprocess.run(["cc", f"-print-file-name={name}"], capture_output=True, text=True,
                                check=True).stdout.strip() for name in ("libasan.so", "libubsan.so")]
    assert all(Path(lib).is_file() for lib in libraries), libraries  # gcc's, from build-essential
    # detect_leaks=0: CPython keeps its objects to the end
    return os.environ | {"LLMTOOL_SANITIZE": "1", "LD_PRELOAD": " ".join(libraries),
                         "ASAN_OPTIONS": "detect_leaks=0", "UBSAN_OPTIONS": "print_stacktrace=1"}


def test_emulator_tests_pass_sanitized():
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *EMULATOR_TESTS,
                             "-k", DESELECTED], cwd=ROOT, capture_output=True, text=True, env=sanitizer_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "Sanitizer" not in output and "runtime error" not in output, output[-5000:]
    assert " passed" in result.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def project(shared_models, tmp_path_factory):
    out = tmp_path_factory.mktemp("sanitized") / "out"
    subprocess.run([sys.executable, "-m", "toolchain", "compile", str(shared_models / "stories260K.bin"),
                    "--tokenizer", str(shared_models / "tok512.bin"), "--board", "host", "--context", "32",
                    "-o", str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def test_sanitized_library_reports_an_overflow(project):
    """The setup can fail: a token buffer shorter than the encoder is told is a heap
    overflow (numpy's buffers come from malloc, so ASan guards them)."""
    script = ("import ctypes, sys\n"
              "import numpy as np\n"
              "from toolchain.host.emulator import Emulator\n"
              "emu = Emulator(sys.argv[1])\n"
              "tokens = np.zeros(4, np.int32)\n"
              "emu.lib.llm_encode(b'x y z w v u t s', 1, 0, tokens.ctypes.data_as(ctypes.POINTER(ctypes.c_int)), 100)\n")
    result = subprocess.run([sys.executable, "-c", script, str(project)], cwd=ROOT, capture_output=True,
                            text=True, env=sanitizer_env())
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in result.stderr
    assert "llm_encode" in result.stderr
    assert (project / "build/emulator-sanitized/libllm.so").is_file()


def test_sanitized_without_preload_is_one_line(project):
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"} | {"LLMTOOL_SANITIZE": "1"}
    result = subprocess.run([sys.executable, "-m", "toolchain", "emulate", str(project), "--steps", "4"],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: LLMTOOL_SANITIZE=1 needs the sanitizer runtimes preloaded")
    assert len(result.stderr.splitlines()) == 1
