"""The output directory: compile replaces nothing but an llmtool project, refuses
directories that hold the user's files or its own inputs, loses nothing to a race or
a signal, and leaves the modes the user's umask asks for."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import toolchain.compile.render
from toolchain.compile.compiler import compile_project
from toolchain.errors import ToolchainError
from toolchain.importers.tokenizer import load_tokenizer, write_llama2c_tokenizer

ROOT = Path(__file__).resolve().parents[1]


def llmtool(*args, cwd=None, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=os.environ | {"PYTHONPATH": str(ROOT)} | (env or {}), **kw)


def one_error_line(result, words):
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert words in lines[0], lines[0]


@pytest.fixture
def inputs(shared_models, tmp_path):
    """stories260K and its tokenizer in a folder of the user's, beside their notes."""
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("stories260K.bin", "tok512.bin"):
        shutil.copy(shared_models / name, folder / name)
    (folder / "notes.txt").write_text("mine")
    return folder / "stories260K.bin", folder / "tok512.bin"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def hidden_left(out: Path) -> list[str]:
    return [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


def test_force_replaces_an_llmtool_project_and_nothing_else(inputs, tmp_path):
    model, tok = inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    one_error_line(llmtool("compile", model, "-z", tok, "-o", out), "--force")
    one_error_line(llmtool("compile", model, "-z", tok, "-o", out, "--force"), "not an llmtool project")
    assert files_of(out) == {"keep.txt": b"mine"}
    shutil.rmtree(out)
    assert llmtool("compile", model, "-z", tok, "-o", out).returncode == 0
    first = (out / "llmtool.json").stat().st_ino
    result = llmtool("compile", model, "-z", tok, "-o", out, "--force")
    assert result.returncode == 0, result.stderr
    assert (out / "llmtool.json").stat().st_ino != first and not hidden_left(out)


def test_force_refuses_the_folder_that_holds_the_inputs(inputs):
    model, tok = inputs
    folder = model.parent
    before = files_of(folder)
    one_error_line(llmtool("compile", model, "-z", tok, "-o", folder, "--force"), "an input of this compile")
    (folder / "llmtool.json").write_text("{}")  # even one that looks like a project
    before["llmtool.json"] = b"{}"
    one_error_line(llmtool("compile", model, "-z", tok, "-o", folder, "--force"), "an input of this compile")
    one_error_line(llmtool("compile", model, "-z", tok, "-o", folder.parent, "--force"), "an input of this compile")
    assert files_of(folder) == before


@pytest.mark.parametrize("target, words", [(".", "the current directory"),
                                           ("..", "holds the current directory"),
                                           ("/", "the root directory"),
                                           ("HOME", "your home directory")])
def test_force_refuses_the_current_directory_its_parents_root_and_home(inputs, tmp_path, target, words):
    model, tok = inputs
    home = tmp_path / "home"
    work = home / "projects" / "work"
    work.mkdir(parents=True)
    for folder in (work, work.parent, home):  # llmtool projects, even: never replaced
        (folder / "llmtool.json").write_text("{}")
    out = home if target == "HOME" else target
    result = llmtool("compile", model, "-z", tok, "-o", out, "--force", cwd=work, env={"HOME": str(home)})
    one_error_line(result, words)
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == \
        ["llmtool.json", "projects", "projects/llmtool.json", "projects/work", "projects/work/llmtool.json"]


def publish_after(hook, monkeypatch):
    """Runs hook(out) just before the finished project is renamed into place."""
    real = toolchain.compile.render.publish

    def racing(tmp, out, force):
        hook(out)
        return real(tmp, out, force)

    monkeypatch.setattr(toolchain.compile.render, "publish", racing)


@pytest.mark.parametrize("files", [{"user.txt": b"mine"}, {}])
def test_a_directory_made_while_compiling_is_left_as_it_is(inputs, tmp_path, monkeypatch, files):
    model, tok = inputs
    out = tmp_path / "out"

    def user_makes_it(path):
        path.mkdir()
        for name, data in files.items():
            (path / name).write_bytes(data)

    publish_after(user_makes_it, monkeypatch)
    with pytest.raises(ToolchainError, match="was created while compiling: left as it is"):
        compile_project(model, tok, "host", out)
    assert files_of(out) == files and not hidden_left(out)


def test_force_never_replaces_what_took_a_projects_place(inputs, tmp_path, monkeypatch):
    model, tok = inputs
    out = tmp_path / "out"
    compile_project(model, tok, "host", out)

    def user_swaps_it(path):
        shutil.rmtree(path)
        path.mkdir()
        (path / "user.txt").write_text("mine")

    publish_after(user_swaps_it, monkeypatch)
    with pytest.raises(ToolchainError, match="not an llmtool project: left as it is"):
        compile_project(model, tok, "host", out, force=True)
    assert files_of(out) == {"user.txt": b"mine"} and not hidden_left(out)


def test_two_compiles_into_one_directory_one_fails(inputs, tmp_path):
    model, tok = inputs
    out = tmp_path / "out"
    command = [sys.executable, "-m", "toolchain", "compile", str(model), "-z", str(tok), "-o", str(out)]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=os.environ | {"PYTHONPATH": str(ROOT)}) for _ in range(2)]
    results = [(r.wait(), r.stderr.read()) for r in runs]
    assert sorted(rc for rc, _ in results) == [0, 1], results
    assert any("already exists" in err or "was created while compiling" in err for _, err in results)
    assert (out / "llmtool.json").is_file() and not hidden_left(out)


def start_compile(model, tok, out):
    return subprocess.Popen([sys.executable, "-m", "toolchain", "compile", str(model), "-z", str(tok), "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ | {"PYTHONPATH": str(ROOT)})


def when_rendering(process, out, timeout=60.0):
    """Waits until the compile has started writing its hidden project directory."""
    end = time.monotonic() + timeout
    while not hidden_left(out):
        assert process.poll() is None and time.monotonic() < end, "the compile never started rendering"
        time.sleep(0.002)


@pytest.mark.parametrize("sig, status, line", [(signal.SIGTERM, 143, "terminated"),
                                               (signal.SIGINT, 130, "interrupted")])
def test_a_signal_while_rendering_leaves_nothing(inputs, tmp_path, sig, status, line):
    model, tok = inputs
    out = tmp_path / "out"
    process = start_compile(model, tok, out)
    when_rendering(process, out)
    process.send_signal(sig)
    rc, err = process.wait(timeout=60), process.stderr.read()
    if rc == 0:  # finished in the instant between: then it is whole
        assert (out / "llmtool.json").is_file()
    else:
        assert rc == status and err.strip() == line, err
        assert not out.exists()
    assert not hidden_left(out)


# `python -m toolchain` with a line on stderr once the interpreter is up: a SIGINT before
# that lands in Python's own initialisation ("Fatal Python error: init_import_site" on a
# loaded machine), which no program can handle
ANNOUNCED = "import sys, runpy; print('up', file=sys.stderr, flush=True); runpy.run_module('toolchain', run_name='__main__')"


@pytest.mark.parametrize("delay", [0.05, 0.3, 1.0])
def test_sigint_during_start_up_is_one_line(inputs, tmp_path, delay):
    model, tok = inputs
    process = subprocess.Popen([sys.executable, "-c", ANNOUNCED, "compile", str(model), "-z", str(tok), "-o",
                                str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert process.stderr.readline() == "up\n"
    time.sleep(delay)  # importing the CLI, the importers, the compiler: the whole start-up window
    process.send_signal(signal.SIGINT)
    rc, err = process.wait(timeout=60), process.stderr.read()
    assert "Traceback" not in err
    if rc in (0, -signal.SIGINT) and not err:
        # finished (stories260K compiles in a third of a second): at most the signal
        # landed in the interpreter's own exit, after it restored the default action
        assert (tmp_path / "out" / "llmtool.json").is_file() and not hidden_left(tmp_path / "out")
    else:
        assert rc == 130 and err.strip() == "interrupted", (rc, err)


def test_what_a_killed_compile_left_is_cleaned_up(inputs, tmp_path):
    model, tok = inputs
    out = tmp_path / "out"
    process = start_compile(model, tok, out)
    when_rendering(process, out)
    process.kill()
    process.wait()
    assert hidden_left(out) and not out.exists()
    assert llmtool("compile", model, "-z", tok, "-o", out).returncode == 0
    assert not hidden_left(out) and (out / "llmtool.json").is_file()


def test_an_old_project_a_killed_compile_moved_aside_comes_back(inputs, tmp_path):
    model, tok = inputs
    out = tmp_path / "out"
    compile_project(model, tok, "host", out)
    dead = subprocess.Popen(["true"])  # a process id that no longer runs
    dead.wait()
    aside = tmp_path / f".out.llmtool-{dead.pid}.old.abcdefgh"
    aside.mkdir()
    out.rename(aside / "out")
    result = llmtool("compile", model, "-z", tok, "-o", out)  # finds the old one back in place
    one_error_line(result, "already exists")
    assert (out / "llmtool.json").is_file() and not hidden_left(out)


def test_what_a_killed_compile_moved_aside_is_never_deleted(inputs, tmp_path):
    """A directory of the user's that a compile moved aside (it had taken a project's
    place) and could not put back stays where it is when out is taken."""
    model, tok = inputs
    out = tmp_path / "out"
    out.mkdir()
    (out / "theirs.txt").write_text("also mine")
    dead = subprocess.Popen(["true"])
    dead.wait()
    kept = tmp_path / f".out.llmtool-{dead.pid}.old.abcdefgh" / "out"
    kept.mkdir(parents=True)
    (kept / "user.txt").write_text("mine")
    one_error_line(llmtool("compile", model, "-z", tok, "-o", out), "already exists")
    assert (kept / "user.txt").read_text() == "mine" and files_of(out) == {"theirs.txt": b"also mine"}


@pytest.mark.parametrize("where, words", [("notes.txt/x", "notes.txt is not a directory"),
                                          ("/dev/null/x", "/dev/null is not a directory"),
                                          ("dangling", "a symbolic link to nothing"),
                                          ("/sys/llmtool-out", "cannot create /sys/llmtool-out"),
                                          ("/proc/self/llmtool-out", "is not writable")])
def test_unwritable_places_are_one_line(inputs, tmp_path, where, words):
    model, tok = inputs
    (model.parent / "dangling").symlink_to(tmp_path / "nowhere")
    out = where if where.startswith("/") else model.parent / where
    one_error_line(llmtool("compile", model, "-z", tok, "-o", out), words)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_projects_and_exported_tokenizers_take_the_users_umask(inputs, tmp_path, mask):
    model, tok = inputs
    old = os.umask(mask)
    try:
        compile_project(model, tok, "host", tmp_path / "out")
        write_llama2c_tokenizer(load_tokenizer(tok), tmp_path / "tok.bin")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask
    assert (tmp_path / "tok.bin").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("args, words", [(["tokenizer", "export", "TOK", "-o", "/tmp"], "/tmp is a directory"),
                                         (["tokenizer", "export", "TOK", "-o", "/dev/null/x"], "/dev/null: no such"),
                                         (["tokenizer", "export", "TOK", "-o", "/sys/x.bin"], "cannot write /sys/x.bin"),
                                         (["analyze", "stories15M", "-b", "host", "--plot", "/dev/null/x.png"],
                                          "/dev/null/x.png: Not a directory"),
                                         (["analyze", "stories15M", "-b", "host", "--plot", "/tmp"],
                                          "/tmp is a directory")])
def test_other_outputs_in_unwritable_places_are_one_line(inputs, args, words):
    one_error_line(llmtool(*[str(inputs[1]) if a == "TOK" else a for a in args]), words)
