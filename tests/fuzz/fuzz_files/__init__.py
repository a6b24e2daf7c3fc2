"""A mutation fuzzer for the Python side's file parsers (docs/fuzzing.md).

A run (run) writes a small valid seed of every input format (seeds), mutates one file
of a seed per case (mutations, with the codecs torch_zip, gguf_fields,
protobuf_fields and json_values) and runs each case in a child forked under limits
(child) that loads the file and, when the load is accepted with an effect of its own,
compiles it and checks the C (load_and_compile); a marker beside the checkpoint
directory tells whether a file outside it was opened (marker). What a case comes to
is classified (classify): clean and accepted identical / values-only / config-only
are allowed; everything else is a finding, kept with a reproducer under --keep.
This checkout's toolchain comes first on sys.path (checkout).

  python3 tests/fuzz/fuzz_files --cases 2000 --seed 1 --keep fuzz-findings --json run.json
  python3 tests/fuzz/fuzz_files --replay fuzz-findings/<group>/<case>   # in this process
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # children are forked: no thread pools, one core each

from . import checkout  # noqa: E402,F401 - this checkout's toolchain first on sys.path, before any module imports it
from .child import AS_HEADROOM, run_in_child, stack_frame  # noqa: E402
from .classify import ALLOWED_CATEGORIES  # noqa: E402
from .marker import OpenWatch  # noqa: E402
from .mutations import plan_case  # noqa: E402
from .run import fuzz  # noqa: E402
from .seeds import FORMATS, make_seeds  # noqa: E402

__all__ = ["ALLOWED_CATEGORIES", "AS_HEADROOM", "FORMATS", "OpenWatch", "fuzz", "make_seeds", "plan_case",
           "run_in_child", "stack_frame"]
