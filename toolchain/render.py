"""Rendering: writes the self-contained C project for one board.

The project is written into a temporary directory beside the output and renamed
into place at the end, so a failure never leaves a half-written project.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2

from . import __version__
from .boards import Board
from .errors import ToolchainError
from .fit import image_copied
from .image import VERSION as IMAGE_VERSION, layout_image, write_image
from .manifest import write_manifest
from .plan import KV_MODES, MemoryPlan
from .quantize import QUANT_MODES, QuantizedModel
from .resources import resource_dir
from .run import emulator_command, image_args
from .tokenizer import Tokenizer

# template -> the file it renders
TEMPLATES = {
    "llm_config.h.j2": "llm_config.h",
    "llm_weights.c.j2": "llm_weights.c",
    "llm_plan.c.j2": "llm_plan.c",
    "llm_image.S.j2": "llm_image.S",
    "main.c.j2": "main.c",
    "Makefile.j2": "Makefile",
    "README.md.j2": "README.md",
}
CI_WORKFLOW = ".github/workflows/llm.yml"


@dataclass
class Project:
    path: Path
    image_bytes: int
    ram_bytes: int
    context: int


def ci_values(board: Board) -> dict:
    """What the generated CI workflow needs: Debian packages and the smoke-test command."""
    packages = board.toolchain_package.split() + board.emulation.get("package", "").split()
    smoke = None
    if board.emulation.get("kind", "none") != "none":
        command = emulator_command(board, Path("build/llm"), image_args("Once upon a time", 32, 0.0, 0.9, 1),
                                   check=False)
        smoke = shlex.join(command)
    return {"packages": packages, "smoke_command": smoke}


def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(resource_dir("templates")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


def _replace_dir(tmp: Path, out: Path) -> None:
    """Moves tmp to out; an existing out is only removed once tmp is complete."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
        os.rename(out, old / out.name)
        os.rename(tmp, out)
        shutil.rmtree(old)
    else:
        os.rename(tmp, out)


def render_project(out: Path, qm: QuantizedModel, tok: Tokenizer, board: Board, plan: MemoryPlan,
                   model_name: str, source: Path | None = None, force: bool = False) -> Project:
    out = Path(out)
    if out.exists() and not force:
        raise ToolchainError(f"{out} already exists (use --force to replace it)")
    cfg = qm.model.config
    context = plan.context
    kernel = board.kernel(qm.mode, qm.group_size)
    image = layout_image(qm, tok, context, plan.kv, kernel)
    emulation_ld = "llm_qemu.ld" if board.emulation.get("memory") else None
    values = dict(version=__version__, board=board, cfg=cfg, context=context, quant=qm.mode,
                  image_copy=image_copied(board, image.size),
                  kv_modes=KV_MODES, quant_modes=QUANT_MODES, emulation_ld=emulation_ld,
                  group_size=qm.group_size, tokenizer=tok, plan=plan, image=image,
                  image_version=IMAGE_VERSION, model_name=model_name, n_params=cfg.n_params(),
                  kernel=kernel, layout=kernel.layout(qm.mode),
                  **ci_values(board))
    manifest = {
        "llmtool_version": __version__, "model_name": model_name, "board": board.name,
        "config": cfg.to_dict(), "quant": qm.mode, "group_size": qm.group_size,
        "context": context, "kv": plan.kv, "image_bytes": image.size, "ram_bytes": plan.ram_bytes,
        "kernel": kernel.label, "layout": kernel.layout(qm.mode).to_dict(),
        "source": str(Path(source).resolve()) if source is not None else None,
        "tokenizer": {"vocab_size": tok.vocab_size, "bos_id": tok.bos_id, "eos_id": tok.eos_id},
        "quantization_error": [asdict(e) for e in qm.errors],
    }

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        env = _environment()
        for template, name in TEMPLATES.items():
            (tmp / name).write_text(env.get_template(template).render(values))
        if board.os == "baremetal":  # the chip's memory map, and QEMU's where it differs
            ld = env.get_template("llm.ld.j2")
            (tmp / "llm.ld").write_text(ld.render(values, ld_name="llm.ld", origins={}, emulated=False))
            if emulation_ld:
                (tmp / emulation_ld).write_text(ld.render(values, ld_name=emulation_ld, emulated=True,
                                                          origins=board.emulation["memory"]))
        (tmp / CI_WORKFLOW).parent.mkdir(parents=True)
        (tmp / CI_WORKFLOW).write_text(env.get_template("ci.yml.j2").render(values))
        write_image(image, tmp / "llm_image.bin", cfg.n_params())
        shutil.copytree(resource_dir("runtime_c"), tmp / "runtime",
                        ignore=shutil.ignore_patterns("__pycache__", "*.o", "*.so"))
        (tmp / "plan.json").write_text(json.dumps(plan.report(), indent=2) + "\n")
        write_manifest(tmp, manifest)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Project(out, image.size, plan.ram_bytes, context)
