"""The k-quant weight formats (--quant q4, q5, q6: kquant.py, runtime_c/kernels/kquant.h)
end to end: their bytes against q8's, their agreement with the f32 reference, and one
token stream on the host emulator and under QEMU, on each kind of core."""
import pytest

from toolchain.boards import get_board
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
# a core of each kind QEMU has: Cortex-A72, M4F, M55 with Helium, M7, ARMv7-A, RV64
BOARDS = {"q4": ["rpi4", "mps2-an386", "mps3-an547", "mps2-an500", "rpi3-armhf", "visionfive2"],
          "q5": ["rpi4", "mps2-an386"], "q6": ["rpi4", "mps2-an386"]}


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("low_bit")
    model, tok = shared_models / "stories260K.bin", shared_models / "tok512.bin"
    made = {}

    def project(quant, board="host"):
        if (quant, board) not in made:
            console = "semihosting" if get_board(board).os == "baremetal" else None  # a command line
            made[quant, board] = compile_project(model, tok, board, root / f"{quant}-{board}", quant=quant,
                                                 console=console).project.path
        return made[quant, board]
    return project


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


@pytest.mark.slow  # cross builds and QEMU
@pytest.mark.parametrize("quant,board", [(q, b) for q in FORMATS for b in BOARDS[q]])
def test_the_same_text_on_the_emulator_and_under_qemu(projects, quant, board):
    text = Emulator(projects(quant)).generate("Once upon a time", steps=80, temperature=0.0).text.decode()
    assert len(text.split()) > 10
    out = projects(quant, board)
    build_project(out)
    result = run_project(out, "Once upon a time", steps=80, temperature=0.0, capture=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == text + "\n"
