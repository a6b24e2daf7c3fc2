"""A generated project's C built with a test's own sources beside it (tests/c/),
with the flags of the project's own Makefile: as a shared library for ctypes, as
`make emulator` builds it, or as a program."""
from __future__ import annotations

import subprocess
from pathlib import Path

C_DIR = Path(__file__).parent / "c"


def make_var(out: Path, name: str) -> str:
    """The value of a variable of the project's Makefile."""
    return subprocess.run(["make", "-s", "-C", str(out), "--no-print-directory",
                           "--eval=print-%: ; @echo $($*)", f"print-{name}"],
                          capture_output=True, text=True, check=True).stdout.strip()


def build_with(out: Path, target: Path, extra: list[Path] = (), shared: bool = True,
               image: bool = True) -> Path:
    """Compiles the project's runtime and generated files (without llm_image.S
    when `image` is false: the test links its own) and `extra` into `target`.
    Returns target."""
    out = Path(out)
    generated = [s for s in make_var(out, "GENERATED").split() if image or s != "llm_image.S"]
    sources = make_var(out, "RUNTIME").split() + generated
    flags = " ".join(make_var(out, v) for v in ("WARN", "MATH", "INCLUDES")).split()
    command = ["cc", *flags, "-DLLM_SINGLE_THREAD", "-O2", "-I", str(C_DIR)] + \
        (["-fPIC", "-shared"] if shared else []) + \
        ["-o", str(Path(target).resolve()), *sources, *[str(Path(e).resolve()) for e in extra], "-lm"]
    result = subprocess.run(command, cwd=out, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return Path(target)
