"""The k-quant weight formats (--quant q4, q5, q6: kquant.py, runtime_c/kernels/kquant.h)
end to end: their bytes against q8's, their agreement with the f32 reference, and one
token stream on the host emulator and on the boards: each format on every board QEMU
(or this machine) runs, and an image mixing them with q8 on a Cortex-A72 and an M4."""
import functools
import json

import pytest

from test_pipeline import llmtool
from toolchain.boards import all_boards, get_board
from toolchain.compile.compiler import compile_project
from toolchain.compile.image import image_entries
from toolchain.compile.spec import CompileSpec
from toolchain.config import tensor_shapes
from toolchain.host.emulator import Emulator
from toolchain.host.validate import validate
from toolchain.manifest import read_manifest
from toolchain.target.build import build_project
from toolchain.target.run import run_project

FORMATS = ("q4", "q5", "q6")
# stories260K's top-1 agreement with the f32 reference over the shipped text, at least
# (measured: docs/formats.md), and its matrices' bytes against q8's, at most
MIN_TOP1 = {"q4": 0.86, "q5": 0.91, "q6": 0.93}
MAX_RATIO = {"q4": 0.60, "q5": 0.71, "q6": 0.78}
# every board QEMU (or this machine) runs
EMULATED = [name for name, b in sorted(all_boards().items()) if b.emulation.get("kind") not in ("none", None)]
# --quant auto's image budget under QEMU: on stories260K, matrices in q4, q5, q6 and q8
# side by side (on the M4, the DSP kernel's widened activations beside the k-quants'
# int8 ones)
MIX_FLASH = 230_000


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("low_bit")
    model, tok = shared_models / "stories260K.bin", shared_models / "tok512.bin"
    made = {}

    def project(quant, board="host"):
        if (quant, board) not in made:
            console = "semihosting" if get_board(board).os == "baremetal" else None  # a command line
            made[quant, board] = compile_project(model, tok, board, root / f"{quant}-{board}", quant=quant,
                                                 console=console, flash=MIX_FLASH).project.path
        return made[quant, board]
    return project


@functools.cache
def host_text(out) -> str:
    """The emulator's greedy text for project `out`."""
    text = Emulator(out).generate("Once upon a time", steps=80, temperature=0.0).text.decode()
    assert len(text.split()) > 10
    return text


def matrix_bytes(out) -> int:
    spec = CompileSpec.of_project(read_manifest(out))
    shapes = tensor_shapes(spec.config)
    return sum(n for name, n in image_entries(spec) if len(shapes.get(name, ())) == 2)


@pytest.mark.parametrize("quant", FORMATS)
def test_fewer_bytes_than_q8_and_agreement_with_the_reference(projects, quant):
    ratio = matrix_bytes(projects(quant)) / matrix_bytes(projects("q8"))
    report = validate(projects(quant))
    print(f"{quant}: {ratio:.3f} of q8's matrix bytes, top-1 {100 * report.top1_agreement:.2f} %")
    assert ratio <= MAX_RATIO[quant] and report.top1_agreement >= MIN_TOP1[quant]


def runs_on_the_board(out, text: str) -> None:
    """Project `out` built for its board prints `text` under QEMU (or natively)."""
    build_project(out)
    result = run_project(out, "Once upon a time", steps=80, temperature=0.0, capture=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("quant,board", [(q, b) for q in FORMATS for b in EMULATED])
def test_each_format_gives_the_emulators_text_on_every_board(projects, quant, board):
    # a format's weights do not depend on the board: the host's project's text
    runs_on_the_board(projects(quant, board), host_text(projects(quant)))


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("board", ["rpi4", "mps2-an386"])
def test_mixed_formats_give_the_emulators_text(projects, board):
    """--quant auto within MIX_FLASH: q4, q5, q6 and q8 matrices (f32 norms) in one image."""
    out = projects("auto", board)
    assert {"q4", "q5", "q6", "q8"} <= set(read_manifest(out)["formats"].values())
    runs_on_the_board(out, host_text(out))


def test_auto_within_a_budget_beats_the_uniform_formats(projects, shared_models, tmp_path):
    """--quant auto at q4's image size plus 0.042 of q8's matrix bytes (0.62 of q8's in all,
    docs/formats.md): a mix of formats within --flash, better than q4 and the 87 % goal."""
    q8_matrices, q4_matrices = matrix_bytes(projects("q8")), matrix_bytes(projects("q4"))
    flash = (projects("q4") / "llm_image.bin").stat().st_size + int(0.62 * q8_matrices) - q4_matrices
    out = tmp_path / "auto"
    result = llmtool("compile", shared_models / "stories260K.bin", "-z", shared_models / "tok512.bin",
                     "--quant", "auto", "--flash", str(flash), "-o", out)
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(out)
    assert (out / "llm_image.bin").stat().st_size <= flash and manifest["auto"]["budget_bytes"] == flash
    assert len(set(manifest["formats"].values())) > 1 and f"--flash {flash}" in (out / "Makefile").read_text()
    assert "formats within" in result.stdout and "predicted mean KL" in result.stdout
    assert matrix_bytes(out) <= 0.62 * q8_matrices
    top1 = validate(out).top1_agreement
    assert top1 >= 0.87 and top1 > validate(projects("q4")).top1_agreement


@pytest.mark.parametrize("args,says", [
    (["--quant", "auto", "--flash", "100K"], "cannot hold the weight image even with every matrix in q4"),
    (["--quant", "auto", "--flash", "lots"], "is not a number of bytes"),
    (["--quant", "q5", "--calibrate", "/nonexistent.txt"], "--calibrate /nonexistent.txt: no such file"),
])
def test_what_auto_and_calibration_refuse(shared_models, tmp_path, args, says):
    out = tmp_path / "out"
    result = llmtool("compile", shared_models / "stories260K.bin", "-z", shared_models / "tok512.bin", *args,
                     "-o", out)
    errors = [line for line in result.stderr.splitlines() if line.lower().startswith("error:")]
    assert result.returncode != 0 and len(errors) == 1 and says in errors[0], result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_analyze_shares_out_the_boards_room():
    result = llmtool("analyze", "stories15M", "--board", "pico-plus-2", "--quant", "auto", "--json")
    auto = json.loads(result.stdout)["auto"]
    # the code region (4 MB) cannot hold it all in q4: the 16 MB flash's weight partition does
    assert auto["budget_bytes"] > 8 << 20 and auto["image_bytes"] <= auto["budget_bytes"]
    assert sum(auto["matrices"].values()) == 6 * 7 + 1


def test_auto_reuses_a_measured_sensitivity(shared_models, tmp_path, monkeypatch):
    """A compile handed an earlier one's sensitivities (benchmarks/quant_table.py's many
    budgets) chooses as that one did, without measuring them again."""
    model, tok = shared_models / "stories260K.bin", shared_models / "tok512.bin"
    first = compile_project(model, tok, "host", tmp_path / "a", quant="auto", flash=MIX_FLASH).auto
    assert first.sensitivity is not None and set(first.sensitivity) == set(first.formats)

    def measured_again(*args, **kwargs):
        raise AssertionError("measured again")
    monkeypatch.setattr("toolchain.compile.calibrate.tensor_sensitivity", measured_again)
    again = compile_project(model, tok, "host", tmp_path / "b", quant="auto", flash=MIX_FLASH,
                            sensitivity=first.sensitivity).auto
    assert again.formats == first.formats and again.predicted_kl == first.predicted_kl
    assert "sensitivity" not in again.report()
