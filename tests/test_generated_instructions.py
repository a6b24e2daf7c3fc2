"""A generated project's own instructions are true: for every board, the steps of its
CI workflow (.github/workflows/llm.yml), run as GitHub runs them in the project
directory (all but the package install), and its README's run command succeed, and
where the board can be emulated they print generated text; the files its "Getting
it onto the board" names are what the build wrote."""
import re
import subprocess

import pytest
import yaml

from toolchain.boards import all_boards, get_board
from toolchain.compile.compiler import compile_project
from toolchain.compile.render import CI_WORKFLOW, SMOKE_PROMPT, SMOKE_STEPS

from serial_session import session

pytestmark = pytest.mark.slow  # cross builds and QEMU

INSTALL = re.compile(r"\b(apt-get|sudo|pip3?)\b")  # the steps that need root: not run here
# How GitHub Actions runs a step's script on Linux, by its `shell` (None: not given).
SHELLS = {None: ["bash", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"], "sh": ["sh", "-e"]}


def workflow_steps(project):
    """(name, script, shell) of each `run:` step of the project's workflow, in order."""
    workflow = yaml.safe_load((project / CI_WORKFLOW).read_text())
    for job in workflow["jobs"].values():
        shell = job.get("defaults", workflow.get("defaults", {})).get("run", {}).get("shell")
        for step in job["steps"]:
            if "run" in step:
                yield step["name"], step["run"], step.get("shell", shell)


def run_script(project, script, shell, tmp_path):
    path = tmp_path / "script.sh"
    path.write_text(script)
    return subprocess.run([*SHELLS[shell], str(path)], cwd=project, capture_output=True, text=True,
                          timeout=600)


def readme_run_command(project):
    """The fenced command of the README's "Run it" section, or None when it has none."""
    found = re.search(r"^## Run it[^\n]*\n.*?```sh\n(.*?)```", (project / "README.md").read_text(), re.S | re.M)
    return found.group(1) if found else None


def install_text(project):
    """The README's "Getting it onto the board" paragraph (the board file's `install`)."""
    return re.search(r"^## Getting it onto the board\n\n(.*?)\n\n## ", (project / "README.md").read_text(),
                     re.S | re.M).group(1)


def assert_generated(stdout):
    assert stdout.startswith(SMOKE_PROMPT), stdout
    assert len(stdout[len(SMOKE_PROMPT):].split()) >= 10, stdout  # words beyond the prompt


@pytest.mark.parametrize("name", sorted(all_boards()))
def test_workflow_steps_and_readme_command_run(shared_models, tmp_path, name):
    out = tmp_path / name
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", name, out, context=64)
    board = get_board(name)
    outputs = {}
    for step, script, shell in workflow_steps(out):
        if INSTALL.search(script):
            continue
        result = run_script(out, script, shell, tmp_path)
        assert result.returncode == 0, (step, result.stderr)
        outputs[step] = result.stdout
    assert list(outputs)[:2] == ["Build", "Size of build/llm"] and "text" in outputs["Size of build/llm"]
    for named in re.findall(r"build/[\w.-]*\w", install_text(out)):  # what the board's instructions load
        assert (out / named).is_file(), named
        if named == "build/llm.bin":  # the raw image: the code region's contents alone
            assert 0 < (out / named).stat().st_size <= board.flash_bytes
    generations = [stdout for step, stdout in outputs.items() if step.startswith("Generate")]
    command = readme_run_command(out)
    if "## Talk to it under QEMU" in (out / "README.md").read_text():  # a serial console: type a prompt into it
        assert not generations and command is None
        _, answers = session(out, [b"/temp 0", f"/steps {SMOKE_STEPS}".encode(), SMOKE_PROMPT.encode()])
        assert_generated(answers[2].decode())
        return
    if board.emulation["kind"] == "none":
        assert len(outputs) == 2 and command is None  # the build and size steps only
        return
    assert len(generations) == 1
    assert_generated(generations[0])
    result = run_script(out, command, None, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == generations[0]  # the README's command is the workflow's
