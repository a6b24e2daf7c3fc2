"""Models bigger than the chip: weights stored in external flash and copied at
start-up to external RAM where that reads faster, buffers in on-chip RAM, each under
the board's QEMU stand-in with the host emulator's text; the weight image as an image
of its own (--weights separate), flashed (under QEMU: loaded) apart from one firmware
that runs any image of its shape, or on Linux mapped from a file (llm -w)."""
import json
import shutil
import subprocess
import sys

import pytest

from serial_session import session
from synthetic import synthetic_tokenizer
from toolchain.boards import get_board
from toolchain.compile.compiler import compile_project
from toolchain.config import LLAMA2C_SHAPES, ModelConfig, random_model
from toolchain.errors import ToolchainError
from toolchain.host.emulator import Emulator
from toolchain.importers.llama2c import read_llama2c
from toolchain.importers.tokenizer import load_tokenizer
from toolchain.target.build import BINARY, build_project
from toolchain.target.flash import flash_project
from toolchain.target.run import emulated_binary, emulator_command, image_args, run_project, separate_weights

PROMPTS = ("Once upon a time", "The little dog", "She said")
STEPS = 12


@pytest.fixture(scope="module")
def llama2_tokenizer(shared_models):
    return load_tokenizer(shared_models / "llama2-tokenizer.bin")


def assert_runs_as_emulated(out, prompts=PROMPTS, steps=STEPS):
    """Greedy text on the board's emulator (QEMU) equals the host emulator's."""
    emulator = Emulator(out)
    for prompt in prompts:
        result = run_project(out, prompt, steps=steps, temperature=0.0, capture=True, timeout=600)
        assert result.returncode == 0, result.stderr
        assert result.stdout == emulator.generate(prompt, steps=steps, temperature=0.0).text.decode() + "\n"


@pytest.mark.slow  # QEMU
@pytest.mark.parametrize("board,quant,stored,read", [
    ("coral-micro", "q8", "weights", "sdram"),   # the QSPI flash's partition, copied to the faster SDRAM
    ("pico-plus-2", "q4", "weights", "weights"),  # the flash's partition, read in place (the PSRAM is no faster)
])
def test_the_15m_shape_runs_from_external_memory(tmp_path, llama2_tokenizer, board, quant, stored, read):
    out = tmp_path / board
    compile_project(random_model(LLAMA2C_SHAPES["stories15M"], seed=7), llama2_tokenizer, board, out,
                    quant=quant, context=64, console="semihosting")
    plan = json.loads((out / "plan.json").read_text())
    assert plan["weights"]["stored_in"] == stored and plan["weights"]["read_from"] == read
    on_chip = {r.name for r in get_board(board).memory if r.kind == "ram"}
    spilled = [b for a in plan["arenas"] if a["region"] not in on_chip for b in a["buffers"]]
    assert all(b["heat"] >= 10 for b in spilled)  # the activations stay on the chip; only colder buffers spill
    assert_runs_as_emulated(out)


@pytest.mark.slow  # QEMU
def test_teensy41_says_why_the_15m_shape_does_not_fit_and_runs_what_does(tmp_path):
    result = subprocess.run(["llmtool", "analyze", "stories15M", "--board", "teensy41"], capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert result.stdout == ("stories15M does not fit teensy41: its weight image needs 16.1 MB and no flash region "
                             "holds it (room for weights: flash 992.0 KB, weights 6.8 MB); fewer bits (--quant q4) "
                             "or a smaller model might\n")
    # the 15M shape with 4 of its layers and a 4096-token vocabulary: 5.5 MB, in the weight partition
    smaller = ModelConfig(dim=288, n_layers=4, n_heads=6, n_kv_heads=6, vocab_size=4096, hidden_dim=768,
                          max_seq_len=256)
    out = tmp_path / "teensy"
    compile_project(random_model(smaller, seed=8), synthetic_tokenizer(4096), "teensy41", out, context=64,
                    console="semihosting")
    weights = json.loads((out / "plan.json").read_text())["weights"]
    assert weights["stored_in"] == weights["read_from"] == "weights" and weights["address"] == 0x60100000
    assert_runs_as_emulated(out, PROMPTS[:1])


@pytest.mark.slow  # QEMU
def test_the_42m_shape_fits_coral_micro_and_runs_under_qemu(tmp_path, llama2_tokenizer):
    """stories42M's shape: 43 MB of q8 weights, copied to the 64 MB SDRAM. A short run
    (QEMU copies and checks 45 MB, then runs 6 positions)."""
    out = tmp_path / "coral42"
    compile_project(random_model(LLAMA2C_SHAPES["stories42M"], seed=9), llama2_tokenizer, "coral-micro", out,
                    context=64, console="semihosting")
    weights = json.loads((out / "plan.json").read_text())["weights"]
    assert weights["read_from"] == "sdram" and weights["bytes"] > 40 << 20
    assert_runs_as_emulated(out, PROMPTS[:1], steps=6)


def build(out):
    build_project(out)
    return (out / "build" / "llm.bin").read_bytes()


def qemu_with_weights(out, weights_file, prompt):
    """build/llm-qemu of `out` booted with `weights_file` loaded where its board has the
    weight image flashed."""
    manifest = json.loads((out / "llmtool.json").read_text())
    board = get_board(manifest["board"])
    shutil.copyfile(weights_file, out / "build" / "llm_weights.img")
    command = emulator_command(board, out / emulated_binary(board, BINARY), image_args(prompt, STEPS, 0.0, 0.9, 1),
                               weights=separate_weights(manifest))
    return subprocess.run(command, capture_output=True, timeout=300)


@pytest.mark.slow  # QEMU
def test_separate_weights_share_one_firmware_and_are_checked_at_boot(tmp_path, shared_models):
    tok = load_tokenizer(shared_models / "tok512.bin")
    stories = read_llama2c(shared_models / "stories260K.bin")
    other = random_model(stories.config, seed=10)
    # one firmware, byte for byte, for two models of one shape (the serial-console build for the chip)
    firmware = [build(compile_project(m, tok, "pico-plus-2", tmp_path / name, weights="separate").project.path)
                for m, name in ((stories, "pico-a"), (other, "pico-b"))]
    assert firmware[0] == firmware[1]
    assert (tmp_path / "pico-a" / "build" / "llm_weights.uf2").read_bytes() != \
        (tmp_path / "pico-b" / "build" / "llm_weights.uf2").read_bytes()
    # its serial console, booted as the README says (QEMU loading the image at the partition)
    banner, answers = session(tmp_path / "pico-b", [b"/temp 0", f"/steps {STEPS}".encode(), PROMPTS[0].encode()])
    assert banner.startswith(b"llm: q8 weights (a separate image), context ")
    want = Emulator(tmp_path / "pico-b").generate(PROMPTS[0], steps=STEPS, temperature=0.0).text
    assert answers[2].startswith(want + b"\n")
    # under QEMU: A's firmware runs B's weights as B's emulator does
    a, b = (compile_project(m, tok, "mps2-an386", tmp_path / name, weights="separate").project.path
            for m, name in ((stories, "a"), (other, "b")))
    for out in (a, b):
        build(out)
    assert (a / "build" / "llm.bin").read_bytes() == (b / "build" / "llm.bin").read_bytes()
    result = qemu_with_weights(a, b / "llm_image.bin", PROMPTS[0])
    assert result.returncode == 0, result.stderr
    assert result.stdout == Emulator(b).generate(PROMPTS[0], steps=STEPS, temperature=0.0).text + b"\n"
    assert result.stdout != Emulator(a).generate(PROMPTS[0], steps=STEPS, temperature=0.0).text + b"\n"
    # a corrupted image, and one of another shape, are refused at boot in one line
    corrupt = bytearray((a / "llm_image.bin").read_bytes())
    corrupt[len(corrupt) // 2] ^= 0x40
    (tmp_path / "corrupt.img").write_bytes(corrupt)
    shorter = compile_project(stories, tok, "mps2-an386", tmp_path / "c", weights="separate", context=128).project
    for image, words in ((tmp_path / "corrupt.img", "the weight image is corrupt (CRC-32 mismatch)"),
                         (shorter.path / "llm_image.bin", "does not match this build (another shape")):
        result = qemu_with_weights(a, image, PROMPTS[0])
        lines = result.stderr.decode().splitlines()
        assert result.returncode == 1 and result.stdout == b"" and len(lines) == 1, result.stderr
        assert lines[0].startswith("error: the weight image at 0x00020000: ") and words in lines[0]


@pytest.mark.parametrize("board", ["host", pytest.param("rpi4", marks=pytest.mark.slow)])
def test_linux_runs_a_weight_image_mapped_from_a_file(tmp_path, shared_models, board):
    tok = load_tokenizer(shared_models / "tok512.bin")
    model = shared_models / "stories260K.bin"
    linked = compile_project(model, tok, board, tmp_path / "linked").project.path
    separate = compile_project(model, tok, board, tmp_path / "separate", weights="separate").project.path
    for prompt in PROMPTS:  # llmtool run gives a separate build its image with -w
        want = run_project(linked, prompt, steps=STEPS, temperature=0.0, capture=True)
        got = run_project(separate, prompt, steps=STEPS, temperature=0.0, capture=True)
        assert got.returncode == 0 and got.stdout == want.stdout, got.stderr
    command = emulator_command(get_board(board), separate / BINARY, ["-i", "x"])
    result = subprocess.run(command[:-2] + ["-w", str(tmp_path / "none.img"), "-i", "x"], capture_output=True,
                            text=True)
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "none.img: No such file" in result.stderr
    result = subprocess.run(command, capture_output=True, text=True)  # no -w
    assert result.returncode == 1 and result.stderr == ("error: this build has no weight image linked in: give one "
                                                        "with -w FILE (build/llm_weights.img)\n")


# Runs a command and prints its peak RSS in KB. From a small process of its own: a
# child's peak counts the memory it had before exec, and this one's is pytest's.
PEAK_RSS = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def peak_rss(command):
    """The peak resident set of `command`, in bytes."""
    return int(subprocess.run([sys.executable, "-c", PEAK_RSS, *command], capture_output=True, text=True,
                              check=True).stdout) * 1024


@pytest.mark.parametrize("weights", ["linked", "separate"])
def test_the_weight_image_is_in_memory_once(tmp_path, llama2_tokenizer, weights):
    """A 17 MB image (copied to huge pages when linked, mapped from its file when
    separate): the peak RSS is at most the image, the plan and 10 %."""
    out = compile_project(random_model(LLAMA2C_SHAPES["stories15M"], seed=11), llama2_tokenizer, "host",
                          tmp_path / "out", context=256, weights=weights).project
    build_project(out.path)
    manifest = json.loads((out.path / "llmtool.json").read_text())
    command = emulator_command(get_board("host"), out.path / BINARY, ["-n", "8", "-t", "0"],
                               weights=separate_weights(manifest))
    assert peak_rss(command) <= 1.1 * (out.image_bytes + out.ram_bytes)


def test_flash_writes_a_weight_image_of_its_own_apart(tmp_path, shared_models):
    tok, model = load_tokenizer(shared_models / "tok512.bin"), shared_models / "stories260K.bin"
    out = compile_project(model, tok, "pico-plus-2", tmp_path / "pico", weights="separate").project.path
    firmware = f"picotool load --execute {out}/build/llm.uf2"
    weights = f"picotool load {out}/build/llm_weights.img --offset 0x10020000"
    for part, want in (("all", [firmware, weights]), ("firmware", [firmware]), ("weights", [weights])):
        lines = []
        flash_project(out, "picotool", None, dry_run=True, echo=lines.append, part=part)
        assert lines == want
    # weights linked in but stored in the QSPI flash: st-flash, which writes a flat file of the
    # internal flash, cannot write them
    qspi = compile_project(model, tok, "stm32h747i-disco", tmp_path / "h7", weights_in="qspi").project.path
    with pytest.raises(ToolchainError, match="st-flash writes the internal flash only: .* at 0x90000000"):
        flash_project(qspi, None, None, dry_run=True, echo=print)
    lines = []
    flash_project(qspi, "pyocd", None, dry_run=True, echo=lines.append)  # the HEX file has both
    assert lines == [f"pyocd load --target stm32h747xihx {qspi}/build/llm.hex"]
    linked = compile_project(model, tok, "stm32f405", tmp_path / "f4").project.path
    with pytest.raises(ToolchainError, match="weights are written with its firmware"):
        flash_project(linked, None, None, dry_run=True, echo=print, part="weights")
