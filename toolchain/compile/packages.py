"""compile --package: the project as a library of an embedded framework's build.

Only what can be written without the frameworks' SDKs: each one's manifest and the
CMake or Make glue its documentation asks for, beside the plain CMakeLists.txt (which
is the "cmake" package, and for ESP-IDF also registers the component: see
CMakeLists.txt.j2). Every framework compiles the same library sources (render.py's
library_sources) with the same flags as CMakeLists.txt: LIBRARY_CFLAGS and the
kernels' flags; the CPU's flags are the framework's own (its board or target).
"""
from __future__ import annotations

from pathlib import Path

import jinja2

# C11, and floats rounded alike on every board (the emulator's tokens are the device's)
LIBRARY_CFLAGS = ("-std=c11", "-ffp-contract=off", "-fno-strict-aliasing", "-fno-math-errno",
                  "-fvect-cost-model=cheap")

# package -> {template under templates/packages/: the file it renders, {name} the library's}
TEMPLATES = {
    "cmake": {},
    "zephyr": {"zephyr/module.yml.j2": "zephyr/module.yml", "zephyr/CMakeLists.txt.j2": "zephyr/CMakeLists.txt",
               "zephyr/Kconfig.j2": "zephyr/Kconfig"},
    "esp-idf": {"idf_component.yml.j2": "idf_component.yml"},
    "pico-sdk": {"pico_sdk.cmake.j2": "pico_sdk_{name}.cmake"},
    "arduino": {"library.properties.j2": "library.properties", "arduino_build.h.j2": "src/{name}_build.h"},
    "platformio": {"library.json.j2": "library.json"},
}
ARDUINO_SOURCES = "src/sources"  # the wrappers of the library's sources; src/ itself mirrors the headers


def arduino_wrappers(project: Path, sources: list[str], name: str) -> dict[str, str]:
    """The Arduino library's src/: a file per library source and per header that
    includes the real one, so the runtime is not copied. arduino-cli compiles src/
    recursively with -I src alone, so src/ mirrors what -Iruntime and -I. would find
    (llm.h, kernels/kernels.h, llm_config.h), and the sources' wrappers include the
    build header first (the flags Arduino cannot pass per library)."""
    headers = [h.relative_to(project / "runtime").as_posix() for h in (project / "runtime").rglob("*.h")
               if h.parent.name not in ("platform", "tools")]
    wrappers = {"src/llm_config.h": '#include "../llm_config.h"\n'}
    for h in headers:
        wrappers[f"src/{h}"] = f'#include "{"../" * (h.count("/") + 1)}runtime/{h}"\n'
    for f in sources:
        real = f'#include "{"../" * (ARDUINO_SOURCES.count("/") + 1 + f.count("/"))}{f}"\n'
        # a C file takes the flags first; the image's .incbin finds src/../llm_image.bin through -I src
        first = f'#include "{name}_build.h"\n' if f.endswith(".c") else '#define LLM_IMAGE_FILE "../llm_image.bin"\n'
        wrappers[f"{ARDUINO_SOURCES}/{f}"] = first + real
    return wrappers


def arduino_pragmas(flags: list[str]) -> dict:
    """The build header's content: -D flags as #defines, -m flags as one GCC target
    pragma, -f flags as GCC optimize pragmas (-std is left to the core's C dialect)."""
    return {"defines": [(f[2:].partition("=")[0], f.partition("=")[2] or "1") for f in flags if f.startswith("-D")],
            "targets": [f[2:] for f in flags if f.startswith("-m")],
            "optimize": [f[2:] for f in flags if f.startswith("-f")]}


def arduino_name(name: str) -> str:
    """The Arduino library's name: the library's, unless it starts with "_", which the
    specification's names (a letter or digit first, at least one letter) cannot."""
    return name if name[0].isalnum() else "llm" + name


def render_packages(env: jinja2.Environment, values: dict, project: Path, packages: tuple[str, ...]):
    """Writes each package's files into the project being written at `project`."""
    name = values["library"].name
    extra = dict(arduino_name=arduino_name(name),
                 pragmas=arduino_pragmas(values["library_cflags"] + list(values["kernel"].flags)),
                 description=f"{values['model_name']} ({values['n_params']:,} parameters, {values['quant']}) "
                             f"for {values['board'].name}, compiled by llmtool {values['version']}")
    files = {path.format(name=name): env.get_template(f"packages/{template}").render(values, **extra)
             for package in packages for template, path in TEMPLATES[package].items()}
    if "arduino" in packages:
        files |= {path: f"/* {path} - {values['generated']}. */\n" + text
                  for path, text in arduino_wrappers(project, values["lib_sources"], name).items()}
    for path, text in files.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
