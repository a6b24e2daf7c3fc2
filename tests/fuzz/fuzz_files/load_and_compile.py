"""What a case does in the child: it loads the mutated file as llmtool does
(toolchain.importers.load_checkpoint / toolchain.importers.tokenizer.load_tokenizer); when the
load is accepted and its effect differs from the seed's, it also compiles a project
for board host (f32) with a partner of the seed's vocabulary and syntax-checks the
generated C, llm_config.h's values included."""
from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from toolchain.choices import DEFAULT_CONTEXT_CAP
from toolchain.compile.compiler import compile_project
from toolchain.config import Model
from toolchain.importers import load_checkpoint
from toolchain.manifest import MANIFEST
from toolchain.importers.tokenizer import Tokenizer, load_tokenizer

from .classify import model_fingerprint, tokenizer_fingerprint
from .seeds import Format


CHECK_C = "fuzz_config_check.c"


def check_c(project: Path) -> str | None:
    """Compiles the project's own C (main.c, llm_test.c, llm_plan.c, llm_weights.c) with the
    Makefile's warnings and kernel flags, -fsyntax-only, plus a file asserting every
    llm_config.h integer fits an int, every float is a finite float literal and every
    string a string literal."""
    config = (project / "llm_config.h").read_text()
    lines = ["#include <limits.h>", '#include "llm_config.h"']
    for name, value in re.findall(r"^#define (LLM_\w+) (.*?)\s*(?:/\*.*)?$", config, re.M):
        if name == "LLM_CONFIG_H":
            continue
        if value.strip().startswith('"'):  # a chat template's text: a string literal
            lines.append(f"const char fuzz_{name}[] = {name};")
        elif re.fullmatch(r"[-+]?[0-9.]+(e[-+]?[0-9]+)?f|[-+]?(nan|inf)f?", value.strip(), re.I):
            lines.append(f"const float fuzz_{name} = {name};")
        else:
            bound = "UINT_MAX" if value.strip().endswith("u") else "INT_MAX"
            lines.append(f'_Static_assert(({name}) >= 0 && ({name}) <= {bound}, "{name} = {value.strip()[:40]}");')
    (project / CHECK_C).write_text("\n".join(lines) + "\n")
    makefile = (project / "Makefile").read_text() if (project / "Makefile").is_file() else ""
    kernels = re.search(r"^KERNELS = (.*)$", makefile, re.M)
    cmd = ["cc", "-fsyntax-only", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I.", "-Iruntime",
           *(kernels.group(1).split() if kernels else []), "main.c", "llm_test.c", "llm_plan.c", "llm_weights.c",
           CHECK_C]
    r = subprocess.run(cmd, cwd=project, capture_output=True, text=True)
    if r.returncode:
        errors = [ln for ln in r.stderr.splitlines() if "error" in ln] or r.stderr.splitlines() or ["(no output)"]
        return errors[0][:300]
    return None


@dataclass
class Partners:
    """What a loaded file is compiled with: checkpoints with a tokenizer of the seed's
    vocabulary, tokenizers with a small model of theirs (so a changed vocabulary size is
    refused as llmtool refuses a mismatched pair)."""
    tokenizer: Tokenizer
    models: dict[str, Model]


def _stage(state: dict, stage: str) -> None:
    """Where the child is, also in a file: a child killed for a hang tells no more."""
    state["stage"] = stage
    if state.get("stage_file"):
        Path(state["stage_file"]).write_text(stage)


def child_case(fmt: Format, target: Path, out: Path, baseline: dict | None, partners: Partners,
               state: dict) -> dict:
    _stage(state, "load")
    if fmt.kind == "checkpoint":
        obj = load_checkpoint(target)
        fp = model_fingerprint(obj)
    else:
        obj = load_tokenizer(target)
        fp = tokenizer_fingerprint(obj)
    result = {"outcome": "accepted", "fingerprint": fp}
    if baseline is not None and fp == baseline:
        return result  # the seed's compile stands for it
    _stage(state, "compile")
    if fmt.kind == "checkpoint":
        compile_project(obj, partners.tokenizer, "host", out, quant="f32")
    else:
        compile_project(partners.models[fmt.slug], obj, "host", out, quant="f32")
    context = json.loads((out / MANIFEST).read_text())["context"]
    if context > DEFAULT_CONTEXT_CAP:  # a claimed max_seq_len must never size a compile
        return result | {"outcome": "blow-up", "message": f"context {context} above {DEFAULT_CONTEXT_CAP}"}
    _stage(state, "c-check")
    problem = check_c(out)
    if problem:
        result |= {"outcome": "bad-c", "message": problem}
    return result
