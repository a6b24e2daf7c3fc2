"""Rendering: writes the self-contained C project for one board.

The project is written into a hidden directory beside the output and renamed into
place at the end (outdir.py), so a failure never leaves a half-written project and
nothing but an llmtool project is ever replaced.
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path

import jinja2
import numpy as np

from .. import __version__
from ..boards import Board
from ..chips import chip_defines
from ..choices import KV_MODES, QUANT_MODES
from ..errors import ToolchainError
from ..importers.unicode_nfc import UNICODE_VERSION
from ..manifest import write_manifest
from ..resources import resource_dir
from ..target.build import BINARY
from ..target.run import QEMU_GDB_PORT, emulated_binary, emulator_command, image_args, rtt_command, serial_command
from .auto import AutoChoice
from .fit import image_copied
from .linker import memory_map
from .image import VERSION as IMAGE_VERSION, layout_image, write_image
from .outdir import check_output, clean_stale, publish, temp_dir, unwind
from .packages import LIBRARY_CFLAGS, render_packages
from .plan import SYSTEM_PROMPT_BYTES, MemoryPlan, chat_text_bytes, kv_ring, tile_bytes, xq_stride, xs_stride
from .quantize import QuantizedModel
from .sources import ISA_FILES, TEST_RUNTIME, api_functions, console_sources, copy_runtime, runtime_files
from .spec import CompileSpec

# template -> the file it renders
TEMPLATES = {
    "llm_config.h.j2": "llm_config.h",
    "llm_weights.c.j2": "llm_weights.c",
    "llm_plan.c.j2": "llm_plan.c",
    "llm_image.S.j2": "llm_image.S",
    "main.c.j2": "main.c",
    "llm_test.c.j2": "llm_test.c",
    "Makefile.j2": "Makefile",
    "README.md.j2": "README.md",
    "CMakeLists.txt.j2": "CMakeLists.txt",
}
CI_WORKFLOW = ".github/workflows/llm.yml"
SMOKE_PROMPT, SMOKE_STEPS = "Once upon a time", 32  # the README's and the CI's generation


@dataclass
class Project:
    path: Path
    image_bytes: int
    ram_bytes: int
    context: int
    console: str  # semihosting, uart or rtt on bare metal, stdio on Linux
    weights: dict  # llmtool.json's "weights": where the image is stored and read


def ci_values(board: Board, console: str, weights: dict | None) -> dict:
    """What the README and the CI workflow need: Debian packages, the binary the board's
    emulator runs and the short generation they run it with, the command `llmtool run`
    would run (so the project's instructions and llmtool cannot differ), with a separate
    weight image (`weights`: its report) where it has one; no smoke run
    for a serial console's firmware, which has no command line and never exits."""
    packages = board.toolchain_package.split() + board.emulation.get("package", "").split()
    if console != "semihosting" and board.os == "baremetal":
        qemu = board.emulation.get("kind") == "qemu-system"
        serial = shlex.join(serial_command(board, BINARY, weights=weights)) if console == "uart" and qemu else None
        rtt = shlex.join(rtt_command(board, BINARY, weights=weights)) if console == "rtt" and qemu else None
        return {"packages": packages, "smoke_command": None, "serial_command": serial, "rtt_command": rtt,
                "qemu_gdb_port": QEMU_GDB_PORT}
    smoke = None
    if board.emulation.get("kind", "none") != "none":
        command = emulator_command(board, emulated_binary(board, BINARY),
                                   image_args(SMOKE_PROMPT, SMOKE_STEPS, 0.0, 0.9, 1), check=False,
                                   weights=weights)
        smoke = shlex.join(command)
    return {"packages": packages, "smoke_command": smoke, "serial_command": None, "smoke_prompt": SMOKE_PROMPT,
            "smoke_steps": SMOKE_STEPS}


def library_sources(runtime: list[str], separate: bool) -> list[str]:
    """What the library (CMakeLists.txt, `make lib`) compiles: the runtime's C files
    (not the platform glue, the host tools or the test program's), the plan and the
    weights' table, and the image unless it is a separate one."""
    own = [f"runtime/{f}" for f in runtime if f.endswith(".c") and not f.startswith(("platform/", "tools/"))
           and f not in TEST_RUNTIME]
    return own + ["llm_weights.c", "llm_plan.c"] + ([] if separate else ["llm_image.S"])


def c_float(x: float) -> str:
    """`x` rounded to float32, as a C float literal of exactly that value: the shortest
    decimal that reads back as it, always with a point or an exponent ("1.0f", not "1f")."""
    value = np.float32(x)
    if not np.isfinite(value):
        raise ValueError(f"{x!r} has no C float literal")  # the config's checks refuse it first
    text = str(value)
    return (text if any(c in text for c in ".e") else text + ".0") + "f"


def comment_text(text: str) -> str:
    """`text` safe inside a one-line comment of C, make or YAML: no line break, no
    control character, no backslash (a make comment's line continuation), no `*/`."""
    return re.sub(r"[\x00-\x1f\x7f\\]", "?", text).replace("*/", "*?")


def c_string(text: str) -> str:
    """`text` as a C string literal: printable ASCII as it is (but quotes, backslashes
    and "?", which could start a trigraph), every other byte as an octal escape."""
    safe = (chr(b) if 0x20 <= b < 0x7f and chr(b) not in '"\\?' else f"\\{b:03o}" for b in text.encode())
    return '"' + "".join(safe) + '"'


# The nRF52840 UARTE's BAUDRATE register, per baud rate (its Product Specification's
# table, which is no one formula: the legacy UART's table differs, 0x01D7E000 for 115200)
NRF_UARTE_BAUDRATE = {
    1200: 0x0004F000, 2400: 0x0009D000, 4800: 0x0013B000, 9600: 0x00275000, 14400: 0x003AF000,
    19200: 0x004EA000, 28800: 0x0075C000, 31250: 0x00800000, 38400: 0x009D0000, 56000: 0x00E50000,
    57600: 0x00EB0000, 76800: 0x013A9000, 115200: 0x01D60000, 230400: 0x03B00000, 250000: 0x04000000,
    460800: 0x07400000, 921600: 0x0F000000, 1000000: 0x10000000,
}


def uart_divisor(uart: dict, clock_mhz: float) -> int:
    """The baud rate register's value: clock / baud (CMSDK BAUDDIV, STM32 BRR), for a
    PL011 the divisor clock / (16 x baud) in 64ths (IBRD << 6 | FBRD: the PL011 TRM
    rounds the fraction x 64 to nearest), the nRF UARTE's BAUDRATE from its table,
    for an i.MX RT LPUART its BAUD register at 16x oversampling: OSR = 15 (bits 28:24)
    and SBR = clock / (16 x baud) to nearest (bits 12:0)."""
    clock_hz = uart.get("clock_mhz", clock_mhz) * 1_000_000
    if uart["kind"] == "rp2-pl011":
        return round(clock_hz * 4 / uart["baud"])
    if uart["kind"] == "nrf-uarte":
        if uart["baud"] not in NRF_UARTE_BAUDRATE:
            raise ToolchainError(f"uart: the nRF UARTE has no baud rate {uart['baud']} "
                                 f"(it has {', '.join(map(str, NRF_UARTE_BAUDRATE))})")
        return NRF_UARTE_BAUDRATE[uart["baud"]]
    if uart["kind"] == "imxrt-lpuart":
        sbr = round(clock_hz / (16 * uart["baud"]))
        if not 1 <= sbr <= 0x1FFF:
            raise ToolchainError(f"uart: the i.MX RT LPUART cannot make {uart['baud']} baud from "
                                 f"{clock_hz / 1e6:g} MHz at 16x oversampling (SBR {sbr}, not 1 to 8191)")
        return (15 << 24) | sbr
    return round(clock_hz / uart["baud"])


def uart_pin(name: str, function: int) -> tuple[int, int, int]:
    """A pin as (port, number, function): "PA9" (STM32: port 0 = A, the alternate
    function), "GP0" (RP2: bank 0, the GPIO function), "P0.06" (nRF: port 0, pin 6)."""
    if m := re.fullmatch(r"P([A-K])(\d+)", name):
        return ord(m[1]) - ord("A"), int(m[2]), function
    if m := re.fullmatch(r"GP(\d+)", name):
        return 0, int(m[1]), function
    if m := re.fullmatch(r"P(\d)\.(\d+)", name):
        return int(m[1]), int(m[2]), function
    raise ToolchainError(f"uart pin {name!r} is none of PA9, GP0, P0.06")


def uart_values(uart: dict, clock_mhz: float) -> dict:
    """A serial console's registers for llm_config.h (the board file's [uart], or its
    QEMU stand-in's): the divisor, and for a chip with pins, each one's port, number
    and function (uart_pin)."""
    values = dict(uart, divisor=uart_divisor(uart, clock_mhz))
    pins = values.pop("pins", {})
    function = pins.get("af", pins.get("function", 0))
    values["pins"] = [uart_pin(pins[p], function) for p in ("tx", "rx") if p in pins]
    # what the README tells a user to plug in: the board file's words, else an adapter on the pins
    wired = f" (TX {pins['tx']}, RX {pins['rx']})" if "tx" in pins else ""
    values.setdefault("connect", f"a USB-serial adapter to the UART{wired}")
    values.setdefault("port", "/dev/ttyUSB0")
    values["macro"] = uart["kind"].upper().replace("-", "_")
    return values


def regenerate_command(spec: CompileSpec, auto: AutoChoice | None = None) -> str:
    """The compile command that writes this project again (MODEL and TOKENIZER: the
    files it was compiled from; llmtool.json records the model's path)."""
    group = f" --group-size {spec.group_size}" if spec.quant != "f32" else ""
    if auto and auto.budget:
        group += f" --flash {auto.budget}"
    console = f" --console {spec.console}" if spec.board.os == "baremetal" and spec.console != spec.board.console else ""
    weights = (" --weights separate" if spec.weights == "separate" else "") + \
        (f" --weights-in {spec.weights_in}" if spec.weights_in else "")
    lib = spec.library
    library = (f" --name {lib.name}" if lib.prefixed else "") + (" --share-arena" if lib.share_arena else "") + \
        "".join(f" --package {p}" for p in lib.packages)
    return (f"llmtool compile MODEL --tokenizer TOKENIZER --board {spec.board.name} --quant {spec.quant}{group} "
            f"--kv {spec.kv} --context {spec.context} --batch {spec.batch}{console}{weights}{library} --force -o OUTDIR")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(resource_dir("templates")),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["c_float"] = c_float
    env.filters["comment"] = comment_text
    env.filters["c_string"] = c_string
    return env


def render_project(out: Path, qm: QuantizedModel, spec: CompileSpec, plan: MemoryPlan,
                   model_name: str, source: Path | None = None, force: bool = False,
                   auto: AutoChoice | None = None) -> Project:
    """Writes the project for weights `qm` compiled to `spec` with `plan` at `out`
    (`auto`: the formats --quant auto chose, and why)."""
    out = Path(out)
    clean_stale(out)
    check_output(out, force)
    cfg, board, tok, context, kernel = spec.config, spec.board, spec.tokenizer, spec.context, spec.kernel
    image = layout_image(qm, spec)
    emulation_ld = "llm_qemu.ld" if board.qemu_link else None
    runtime = runtime_files(board, kernel, spec.console)
    origin = f"llmtool {__version__} from {comment_text(model_name)} for {board.name}"
    values = dict(version=__version__, board=board, library=spec.library, cfg=cfg, context=context, quant=qm.mode,
                  generated=f"generated by {origin}; do not edit", written=f"written by {origin}",
                  regenerate=regenerate_command(spec, auto),
                  test_runtime=TEST_RUNTIME,
                  test_modes=["-x", "-k"] + (["-M"] if board.os == "baremetal" else []),  # llm_test.c's
                  isa_files=[Path(f).name for f in runtime if f.startswith("kernels/") and Path(f).name in ISA_FILES],
                  image_copy=image_copied(board, image.size),
                  kv_modes=KV_MODES, quant_modes=QUANT_MODES, emulation_ld=emulation_ld,
                  group_size=qm.group_size, tokenizer=tok, plan=plan, image=image,
                  kv_ring=kv_ring(cfg, context, plan.batch),
                  image_version=IMAGE_VERSION, model_name=model_name, n_params=cfg.n_params(),
                  kernel=kernel, layout=spec.layout, weights=plan.weights, formats=qm.formats,
                  lib_sources=library_sources(runtime, spec.weights == "separate"),
                  library_cflags=list(LIBRARY_CFLAGS),
                  lib_memory=memory_map(board, plan, emulated=False) if board.os == "baremetal" else [],
                  cpu_flags=[f for f in board.cflags if not f.startswith("-O")],
                  # build/llm_weights.img: an image flashed (Linux: read) on its own
                  weights_file=plan.weights.separate or plan.weights.store not in ("", board.code_region),
                  console=spec.console, uart=uart_values(board.uart, board.clock_mhz) if spec.console == "uart" else {},
                  emulated_uart=uart_values(board.emulation.get("uart", board.uart), board.emulated_clock_mhz)
                  if spec.console == "uart" and "uart" in board.emulation else {},
                  chip=chip_defines(board.chip) if board.chip else [],
                  system_prompt_bytes=SYSTEM_PROMPT_BYTES,
                  chat_text_bytes=chat_text_bytes(plan.cmdline_bytes, spec.chat_template_bytes),
                  xq_stride=xq_stride(spec), xs_stride=xs_stride(spec),
                  tile_bytes=tile_bytes(board), unicode_version=UNICODE_VERSION,
                  console_sources=console_sources(board, spec.console) if board.os == "baremetal" else [],
                  qemu_console_sources=console_sources(board, spec.console, emulated=True) if board.qemu_link else [],
                  **ci_values(board, spec.console, plan.weights.report(board) if plan.weights.separate else None))
    manifest = {
        "llmtool_version": __version__, "model_name": model_name, "board": board.name,
        "config": cfg.to_dict(), "quant": qm.mode, "group_size": qm.group_size,
        "context": context, "kv": spec.kv, "batch": plan.batch, "image_bytes": image.size, "ram_bytes": plan.ram_bytes,
        "kernel": kernel.label, "layout": spec.layout.to_dict(),
        "source": str(Path(source).resolve()) if source is not None else None,
        "tokenizer": {"vocab_size": tok.vocab_size, "bos_id": tok.bos_id, "eos_id": tok.eos_id,
                      "max_token_length": tok.max_token_length, "nfc": tok.nfc, "chat": tok.chat_format.family,
                      "chat_template_bytes": tok.chat_format.template_bytes},
        "prompt_capacity": plan.prompt_capacity, "console": spec.console,
        "weights": plan.weights.report(board) | ({"weights_in": spec.weights_in} if spec.weights_in else {}),
        "library": asdict(spec.library),
        **({"formats": dict(spec.formats), "auto": auto.report()} if auto else {}),
        "quantization_error": [asdict(e) for e in qm.errors],
    }

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_dir(out)
        copy_runtime(runtime, tmp / "runtime")
        env = _environment()
        for template, name in TEMPLATES.items():
            if name != "llm_image.S" or spec.weights != "separate":  # a separate image is not linked in
                (tmp / name).write_text(env.get_template(template).render(values))
        if board.os == "baremetal":  # the chip's memory map, and QEMU's where it differs
            ld = env.get_template("llm.ld.j2")
            for name, emulated in [("llm.ld", False)] + ([(emulation_ld, True)] if emulation_ld else []):
                memory = memory_map(board, plan, emulated)
                (tmp / name).write_text(ld.render(values, ld_name=name, emulated=emulated, memory=memory,
                                                  labels={r.name: r.label for r in memory}))
            memory = values["lib_memory"]  # the library's, for the user's script
            (tmp / spec.library.sections_file).write_text(env.get_template("llm_sections.ld.j2").render(
                values, memory=memory, labels={r.name: r.label for r in memory}))
        if spec.library.prefixed:  # its header, and CMake's step that renames its symbols
            (tmp / "include").mkdir()
            (tmp / "include" / f"{spec.library.name}.h").write_text(
                env.get_template("library_header.h.j2").render(values, api_functions=api_functions()))
            (tmp / "prefix_symbols.cmake").write_text(env.get_template("prefix_symbols.cmake.j2").render(values))
        render_packages(env, values, tmp, spec.library.packages)
        if board.toolchain_prefix:  # CMake's toolchain file for the board's cross compiler
            (tmp / "toolchain.cmake").write_text(env.get_template("toolchain.cmake.j2").render(values))
        (tmp / CI_WORKFLOW).parent.mkdir(parents=True)
        (tmp / CI_WORKFLOW).write_text(env.get_template("ci.yml.j2").render(values))
        write_image(image, tmp / "llm_image.bin", cfg.n_params())
        (tmp / "plan.json").write_text(json.dumps(plan.report(board), indent=2) + "\n")
        write_manifest(tmp, manifest)
        publish(tmp, out, force)
    except BaseException as e:  # SIGINT and SIGTERM too (entry.py): no hidden directory is left
        unwind(out)
        if isinstance(e, OSError):
            raise ToolchainError(f"cannot create {out}: {e.strerror or e}") from None
        raise
    return Project(out, image.size, plan.ram_bytes, context, spec.console, manifest["weights"])
