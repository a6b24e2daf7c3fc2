"""compile --package: each framework's manifest read by a real parser, with the fields
its documentation requires and values that are right; the Arduino layout against the
library specification's rules; and on the host, what can be built without the SDKs:
Arduino's src/ as arduino-cli compiles it, the Pico SDK INTERFACE target, PlatformIO's
files and flags, the Zephyr module and the ESP-IDF component against stubs of the SDK
functions they call. Each build runs examples/embed/host/main.c: llama2.c's text."""
import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from test_cli_errors import llmtool
from test_pipeline import KNOWN_TEXT
from toolchain import __version__
from toolchain.boards import kernel_named
from toolchain.choices import PACKAGES
from toolchain.compile.compiler import compile_project
from toolchain.compile.packages import LIBRARY_CFLAGS, arduino_name
from toolchain.compile.spec import LibraryOptions

MAIN = Path(__file__).resolve().parents[1] / "examples" / "embed" / "host" / "main.c"
FRAMEWORK_FILES = ["zephyr/module.yml", "zephyr/CMakeLists.txt", "zephyr/Kconfig", "idf_component.yml",
                   "pico_sdk_llm.cmake", "library.properties", "src", "library.json"]
# the Arduino library specification (1.5 format, rev. 2.2)
ARDUINO_REQUIRED = ["name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                    "architectures"]
ARDUINO_CATEGORIES = ["Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
                      "Data Storage", "Data Processing", "Other"]
ARDUINO_NAME = re.compile(r"(?=[A-Za-z0-9 _.\-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}")
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")


def compiled(models, factory, board, quant, packages=PACKAGES):
    # the folder is the library's name, as a framework's library folder would be
    return compile_project(models / "stories260K.bin", models / "tok512.bin", board, factory.mktemp(board) / "llm",
                           quant=quant, library=LibraryOptions(packages=packages)).project.path


@pytest.fixture(scope="module")
def host(shared_models, tmp_path_factory):
    return compiled(shared_models, tmp_path_factory, "host", "f32")


@pytest.fixture(scope="module", params=["host", "mps2-an386"])
def project(request, shared_models, tmp_path_factory):
    return compiled(shared_models, tmp_path_factory, request.param, "f32" if request.param == "host" else "q8")


def library_sources(project):
    """What the plain CMakeLists.txt's static library compiles, which every framework must."""
    block = re.search(r"add_library\(\w+ STATIC(.*?)\)", (project / "CMakeLists.txt").read_text(), re.S)[1]
    sources = re.findall(r"\$\{CMAKE_CURRENT_SOURCE_DIR\}/(\S+)", block)
    assert sources and all((project / f).is_file() for f in sources) and "llm_image.S" in sources
    return sources


def kernel_flags(project):
    return list(kernel_named(json.loads((project / "llmtool.json").read_text())["kernel"]).flags)


def test_zephyr_module(project):
    module = yaml.safe_load((project / "zephyr" / "module.yml").read_text())
    assert module == {"name": "llm", "build": {"cmake": "zephyr", "kconfig": "zephyr/Kconfig"}}
    cmake = (project / module["build"]["cmake"] / "CMakeLists.txt").read_text()
    kconfig = (project / module["build"]["kconfig"]).read_text()
    assert re.findall(r"^config (\w+)\n\tbool \"[^\"]+\"\n\thelp\n\t  \S", kconfig, re.M) == ["LLM"]
    assert re.findall(r"if\(CONFIG_(\w+)\)", cmake) == ["LLM"]  # the option Kconfig declares
    listed = re.search(r"zephyr_library_sources\((.*?)\)", cmake, re.S)[1]
    assert re.findall(r"\$\{LLM_DIR\}/(\S+)", listed) == library_sources(project)
    assert "zephyr_include_directories(${LLM_DIR}/runtime)" in cmake and (project / "runtime" / "llm.h").is_file()
    assert all(flag in cmake for flag in LIBRARY_CFLAGS + tuple(kernel_flags(project)))


def test_esp_idf_component(project):
    manifest = yaml.safe_load((project / "idf_component.yml").read_text())
    assert manifest["version"] == __version__ and "stories260K" in manifest["description"]
    cmake = (project / "CMakeLists.txt").read_text()
    # the component's registration comes first, and returns before the plain CMake's project()
    esp, plain = cmake.split("cmake_minimum_required(", 1)
    assert re.search(r"^if\(ESP_PLATFORM\)\n(.*\n)*    return\(\)\nendif\(\)\n$", esp, re.M)
    register = re.search(r"idf_component_register\(SRCS(.*?)INCLUDE_DIRS (\S+)\s+PRIV_INCLUDE_DIRS (\S+)\)", esp, re.S)
    assert re.findall(r"\$\{CMAKE_CURRENT_LIST_DIR\}/(\S+)", register[1]) == library_sources(project)
    assert (project / register[2] / "llm.h").is_file() and (project / register[3] / "llm_config.h").is_file()
    assert "ESP_PLATFORM" not in plain


def test_platformio_manifest(project):
    manifest = json.loads((project / "library.json").read_text())
    assert manifest["name"] == "llm" and manifest["version"] == __version__
    assert "stories260K" in manifest["description"] and manifest["keywords"]
    assert manifest["frameworks"] == "*" and manifest["platforms"] == "*"
    build = manifest["build"]
    assert build["srcDir"] == "." and build["srcFilter"][0] == "-<*>"  # nothing but what follows
    assert build["srcFilter"][1:] == [f"+<{f}>" for f in library_sources(project)]
    assert (project / build["includeDir"] / "llm.h").is_file()
    assert build["flags"] == ["-I.", *LIBRARY_CFLAGS, *kernel_flags(project)] and (project / "llm_config.h").is_file()


def arduino_properties(project):
    """library.properties as the specification reads it: key=value lines, # comments."""
    lines = [line for line in (project / "library.properties").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    assert all("=" in line for line in lines), lines
    return dict(line.split("=", 1) for line in lines)


def test_arduino_library_layout(project):
    properties = arduino_properties(project)
    assert set(ARDUINO_REQUIRED) <= set(properties)
    assert all(properties[k] for k in ARDUINO_REQUIRED if k != "url")  # url: the user's page, left to fill in
    assert ARDUINO_NAME.fullmatch(properties["name"]) and not properties["name"].startswith("Arduino")
    assert ARDUINO_NAME.fullmatch(project.name)  # the library folder's rules are the name's
    assert SEMVER.fullmatch(properties["version"]) and properties["version"] == __version__
    assert properties["category"] in ARDUINO_CATEGORIES and properties["architectures"] == "*"
    src = project / "src"
    assert (src / properties["includes"]).is_file() and properties["includes"] == "llm.h"
    files = [f for f in src.rglob("*") if f.is_file()]
    assert all(f.suffix in (".c", ".S", ".h") for f in files), files  # only library sources and headers
    # wrappers, not copies: each includes a file of the project that exists; each C one the
    # build header first (the library's flags)
    build = src / "llm_build.h"
    assert "#pragma GCC optimize" in build.read_text() and all(f in build.read_text() for f in ("fp-contract=off",))
    for f in set(files) - {build}:
        assert f.suffix != ".c" or f.read_text().split("\n")[1] == '#include "llm_build.h"', f
        included = re.findall(r'^#include "(\.\./[^"]+)"$', f.read_text(), re.M)
        assert len(included) == 1 and (f.parent / included[0]).resolve().is_file(), f
        assert (f.parent / included[0]).resolve().is_relative_to(project.resolve()) and f.stat().st_size < 1024
    wrapped = sorted(f.relative_to(src / "sources").as_posix() for f in files if f.suffix != ".h")
    assert wrapped == sorted(library_sources(project))
    assert [f.name for f in project.rglob("*.bin")] == ["llm_image.bin"]  # the weights once


@pytest.mark.parametrize("name, expected", [("llm", "llm"), ("tiny_7", "tiny_7"), ("_x", "llm_x"), ("_1", "llm_1")])
def test_arduino_names_follow_the_specification(name, expected):
    assert arduino_name(name) == expected and ARDUINO_NAME.fullmatch(expected)


def test_only_the_asked_packages_are_written(shared_models, tmp_path_factory):
    plain = compiled(shared_models, tmp_path_factory, "mps2-an386", "q8", packages=())
    cmake = compiled(shared_models, tmp_path_factory, "mps2-an386", "q8", packages=("cmake",))
    zephyr = compiled(shared_models, tmp_path_factory, "mps2-an386", "q8", packages=("zephyr",))
    assert sorted(p.name for p in cmake.iterdir()) == sorted(p.name for p in plain.iterdir())
    assert not any((cmake / f).exists() or (zephyr / f).exists() for f in FRAMEWORK_FILES if "zephyr" not in f)
    assert all((zephyr / f).exists() for f in FRAMEWORK_FILES if "zephyr" in f)
    assert "ESP_PLATFORM" not in (zephyr / "CMakeLists.txt").read_text()
    assert json.loads((cmake / "llmtool.json").read_text())["library"]["packages"] == ["cmake"]
    readme = (zephyr / "README.md").read_text()
    assert "CONFIG_LLM=y" in readme and "Arduino" not in readme and "PlatformIO" not in readme


def test_the_project_readme_says_how_to_use_each_package(host):
    readme = (host / "README.md").read_text()
    for words in ("CONFIG_LLM=y", "components/llm", "include(path/to/this/project/pico_sdk_llm.cmake)",
                  "`libraries/`", "lib_deps = file://"):
        assert words in readme, words


def test_an_unknown_package_is_refused(shared_models, tmp_path):
    out = tmp_path / "out"
    result = llmtool("compile", shared_models / "stories260K.bin", "--tokenizer", shared_models / "tok512.bin",
                     "--package", "bogus", "-o", out)
    # click's choice error, as for compile's other choices: one Error: line after the usage
    errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "'bogus'" in errors[0] and "platformio" in errors[0]
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_framework_package_with_a_name_is_refused(shared_models, tmp_path):
    """A framework compiles the sources itself, so nothing renames the symbols --name asks for."""
    out = tmp_path / "out"
    result = llmtool("compile", shared_models / "stories260K.bin", "--tokenizer", shared_models / "tok512.bin",
                     "--name", "a", "--package", "cmake", "--package", "arduino", "-o", out)
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and not out.exists()
    assert result.stderr.startswith("error: --name a renames") and "--package arduino" in result.stderr


def run_story(program):
    result = subprocess.run([program], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout == KNOWN_TEXT + "\n", result.stderr


def cc_link(tmp_path, sources, flags, includes):
    """Compiles each source on its own from tmp_path (not the project), as a
    framework's builder does, and links them into examples/embed's program."""
    objects = [tmp_path / f"{i}.o" for i in range(len(sources))]
    with ThreadPoolExecutor() as pool:
        results = list(pool.map(lambda job: subprocess.run(["cc", "-O2", *flags, "-c", job[0], "-o", job[1]],
                                                           cwd=tmp_path, capture_output=True, text=True),
                                zip(sources, objects)))
    assert all(r.returncode == 0 for r in results), "".join(r.stderr for r in results)
    subprocess.run(["cc", "-O2", *includes, MAIN, *objects, "-lm", "-pthread", "-o", "story"], cwd=tmp_path,
                   check=True)
    run_story(tmp_path / "story")


def test_arduino_src_builds_as_arduino_cli_builds_it(host, tmp_path):
    src = host / "src"
    sources = sorted(f for f in src.rglob("*") if f.suffix in (".c", ".S"))  # all of src/, recursively
    cc_link(tmp_path, sources, [f"-I{src}"], [f"-I{src}"])  # -I src only: no flags of the library's own


@pytest.mark.slow  # a cross build
def test_arduino_src_cross_builds_for_a_cortex_m(shared_models, tmp_path_factory, tmp_path):
    """The build header's pragmas and the DSP kernel's define under the Arm compiler,
    with the board's CPU flags as an Arduino core would give them, warnings on."""
    project = compiled(shared_models, tmp_path_factory, "mps2-an386", "q8", packages=("arduino",))
    src = project / "src"
    sources = sorted(f for f in src.rglob("*") if f.suffix in (".c", ".S"))
    cpu = ["-O2", "-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-Wall", "-Werror"]
    for i, f in enumerate(sources):
        subprocess.run(["arm-none-eabi-gcc", *cpu, f"-I{src}", "-c", f, "-o", tmp_path / f"{i}.o"], cwd=tmp_path,
                       check=True)
    subprocess.run(["arm-none-eabi-ld", "-r", "-o", "all.o", *(f"{i}.o" for i in range(len(sources)))],
                   cwd=tmp_path, check=True)
    symbols = subprocess.run(["arm-none-eabi-nm", "all.o"], cwd=tmp_path, capture_output=True, text=True,
                             check=True).stdout
    assert re.search(r" T llm_init\n", symbols) and re.search(r" R llm_image\n", symbols)
    assert re.search(r" T matvec_q8_dsp", symbols), "the DSP kernel, by the build header's define"


def test_platformio_builds_what_the_manifest_lists(host, tmp_path):
    build = json.loads((host / "library.json").read_text())["build"]
    sources = [host / build["srcDir"] / f[2:-1] for f in build["srcFilter"][1:]]
    # PlatformIO takes a library's -I directories from the library's own
    flags = [f"-I{host / f[2:]}" if f.startswith("-I") else f for f in build["flags"]]
    include = f"-I{host / build['includeDir']}"
    cc_link(tmp_path, sources, [*flags, include], [include])


# Stand-ins for the few SDK functions the glue calls, as the SDKs document them: Zephyr's
# cmake/modules/extensions.cmake, ESP-IDF's idf_component_register. The stub builds the
# library they describe; examples/embed's program links it.
STUBS = {
    "zephyr": """
set(CONFIG_LLM y)
add_library(zephyr_interface INTERFACE)
macro(zephyr_library_named name)
    set(ZEPHYR_CURRENT_LIBRARY ${name})
    add_library(${name} STATIC)
    target_link_libraries(${name} PRIVATE zephyr_interface)
endmacro()
function(zephyr_library_sources)
    target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
function(zephyr_include_directories)
    target_include_directories(zephyr_interface INTERFACE ${ARGN})
endfunction()
function(zephyr_library_include_directories)
    target_include_directories(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
function(zephyr_library_compile_options)
    target_compile_options(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endfunction()
add_subdirectory(${PROJECT}/zephyr module)
set(LIBRARY llm zephyr_interface)
""",
    "esp-idf": """
set(ESP_PLATFORM 1)
function(idf_component_register)
    cmake_parse_arguments(arg "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS" ${ARGN})
    list(TRANSFORM arg_INCLUDE_DIRS PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
    list(TRANSFORM arg_PRIV_INCLUDE_DIRS PREPEND ${CMAKE_CURRENT_SOURCE_DIR}/)
    add_library(__idf_llm STATIC ${arg_SRCS})
    target_include_directories(__idf_llm PUBLIC ${arg_INCLUDE_DIRS} PRIVATE ${arg_PRIV_INCLUDE_DIRS})
    set(COMPONENT_LIB __idf_llm PARENT_SCOPE)
endfunction()
add_subdirectory(${PROJECT} component)
if(TARGET llm)
    message(FATAL_ERROR "the plain CMake library was defined too: no return() after the component")
endif()
set(LIBRARY __idf_llm)
""",
    "pico-sdk": """
include(${PROJECT}/pico_sdk_llm.cmake)
set(LIBRARY llm)
""",
}


@pytest.mark.parametrize("package", STUBS)
def test_the_cmake_glue_builds_without_the_sdk(host, tmp_path, package):
    (tmp_path / "CMakeLists.txt").write_text(
        f"cmake_minimum_required(VERSION 3.13)\nproject(stub C ASM)\n{STUBS[package]}\n"
        "find_package(Threads REQUIRED)\n"
        "add_executable(story ${MAIN})\ntarget_link_libraries(story ${LIBRARY} Threads::Threads m)\n")
    for command in (["cmake", "-S", tmp_path, "-B", tmp_path / "build", f"-DPROJECT={host}", f"-DMAIN={MAIN}"],
                    ["cmake", "--build", tmp_path / "build", "-j"]):
        result = subprocess.run(list(map(str, command)), capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
    run_story(tmp_path / "build" / "story")
