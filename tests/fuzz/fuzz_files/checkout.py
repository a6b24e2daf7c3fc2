"""This checkout: its root and toolchain/, first on sys.path, with tests/ for the seed
writers, so the fuzzer runs this checkout's toolchain whatever else is installed."""
from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]
ROOT = TESTS.parent
TOOLCHAIN = ROOT / "toolchain"
for _path in (TESTS, ROOT):  # tests' helpers, then this checkout's toolchain first
    while str(_path) in sys.path:
        sys.path.remove(str(_path))
    sys.path.insert(0, str(_path))
