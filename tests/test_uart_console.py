"""Bare-metal firmware with a serial console (`compile --console uart`): no semihosting
instruction in the image, and under QEMU, with semihosting off, the UART's prompt
loop streams the host emulator's greedy text and survives bad lines."""
import subprocess
from dataclasses import replace

import pytest

from toolchain.boards import console_for, get_board
from toolchain.compile.compiler import compile_project
from toolchain.errors import ToolchainError
from toolchain.host.emulator import Emulator
from toolchain.host.bench import count_instructions
from toolchain.target.build import BINARY, build_project
from toolchain.target.run import emulated_binary, run_project, serial_command

from serial_session import readme_command, session

pytestmark = pytest.mark.slow  # QEMU and cross builds: the full suite only

# QEMU's machines connect -serial stdio to these boards' [uart]: UART0 (CMSDK APB) on
# the MPS2/MPS3 images, USART1 on netduinoplus2 (stm32f405); the stand-ins' own UART0
# (rp2350 on mps2-an505, nrf52840 on mps2-an386, nucleo-h743zi on mps2-an500)
UART_BOARDS = ["mps2-an386", "mps2-an500", "mps3-an547", "stm32f405", "rp2350", "nrf52840", "nucleo-h743zi"]
PROMPTS = [b"Once upon a time", b"Tom and his dog went to the park"]
STEPS = 60


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.mark.parametrize("name", UART_BOARDS)
def test_uart_console(stories, tmp_path, name):
    board = get_board(name)
    out = tmp_path / name
    compile_project(stories[0], stories[1], name, out, quant="q8", console="uart")
    build_project(out)
    binary = out / emulated_binary(board, BINARY)
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", str(binary)], capture_output=True, text=True,
                                 check=True).stdout
    assert "bkpt\t0x00ab" not in disassembly
    assert "runtime/platform/serial_console.c" in (out / "Makefile").read_text()
    context = int((out / "llm_config.h").read_text().split("#define LLM_CONTEXT ")[1].split()[0])

    emu = Emulator(out)
    expected = [emu.generate(p.decode(), steps=STEPS, temperature=0.0).text for p in PROMPTS]
    lines = [b"/temp 0", f"/steps {STEPS}".encode(), PROMPTS[0], PROMPTS[1],
             b"Once upon a time " * (context // 4),  # beyond the context
             b"/frobnicate 3", b"/steps 100000",
             b"caf\xc3 \xff\xfe",              # not UTF-8
             b"x" * 10_000,                     # beyond the line buffer
             PROMPTS[0]]                        # the loop goes on
    assert readme_command(out)[-1] == str(binary.relative_to(out))  # the README boots the QEMU link
    pins = board.uart.get("pins")
    if pins and "connect" not in board.uart:  # the README wires an adapter to the pins the firmware drives
        assert f"(TX {pins['tx']}, RX {pins['rx']})" in (out / "README.md").read_text()
    banner, answers = session(out, lines)
    assert banner.startswith(b"llm: stories260K, q8, context ") and banner.count(b"\n") == 1
    assert answers[0] == answers[1] == b""  # flags set quietly
    for answer, text in zip(answers[2:4] + answers[9:], expected + expected[:1]):
        assert answer.startswith(text + b"\n")
        speed = answer[len(text) + 1:]
        assert b"prompt tok/s: " in speed and b"decode tok/s: " in speed
    for answer in answers[4:9]:  # one error line each
        assert answer.startswith(b"error: ") and answer.count(b"\n") == 1, answer


def test_console_choices(stories, tmp_path):
    with pytest.raises(ToolchainError, match="--console is for bare-metal boards"):
        compile_project(stories[0], stories[1], "rpi4", tmp_path / "a", console="uart")
    with pytest.raises(ToolchainError, match="no \\[uart\\]"):  # every bare-metal board file has one now
        console_for(replace(get_board("rp2040"), uart={}), "uart")
    assert not (tmp_path / "a").exists()
    compile_project(stories[0], stories[1], "stm32f405", tmp_path / "c", console="uart")
    assert "semihosting" not in (tmp_path / "c" / ".github" / "workflows" / "llm.yml").read_text()  # builds only
    with pytest.raises(ToolchainError, match="-serial stdio -semihosting-config enable=off -kernel build/llm-qemu`"):
        run_project(tmp_path / "c", "Once upon a time")


@pytest.mark.parametrize("name", ["mps2-an386", "mps3-an547", "stm32f405", "rp2350"])
def test_on_chip_timing_agrees_with_counted_instructions(stories, tmp_path, name):
    """Under -icount shift=0 an instruction takes 1 ns: a core doing one instruction
    per cycle at 1,000 MHz. The decode tok/s the firmware measures with its own cycle
    counter must then be 10^9 / (instructions per token, counted as bench --count
    does on the semihosting build), within 5 %."""
    counting, out = tmp_path / "semihosting", tmp_path / name
    compile_project(stories[0], stories[1], name, counting, quant="q8", console="semihosting")
    counted = count_instructions(counting, steps=STEPS)["instructions_per_token"]
    compile_project(stories[0], stories[1], name, out, quant="q8", console="uart")
    build_project(out)
    command = serial_command(get_board(name), BINARY, icount=True)
    _, answers = session(out, [b"/temp 0", f"/steps {STEPS}".encode(), b"Once"], command=command)
    decode = float(answers[2].split(b"decode tok/s: ")[1].split()[0])
    assert decode == pytest.approx(1e9 / counted, rel=0.05)


@pytest.mark.parametrize("name", ["mps2-an386", "stm32f405"])
def test_chat_on_the_serial_console(stories, tmp_path, name):
    """/system and /chat: the serial console's conversation is the host emulator's,
    turn by turn; a turn beyond what is left of the context gets one error line and
    the next line starts a new conversation."""
    out = tmp_path / name
    compile_project(stories[0], stories[1], name, out, quant="q8", console="uart")
    build_project(out)
    system, turns = "You are a kind storyteller.", ["Tell me a story about a cat", "What did the cat eat?"]
    emu = Emulator(out)
    users = [*turns, "and then " * (emu.context // 2), turns[0]]  # the third fits the line, not the context
    expected, pos, turn = [], 0, 0
    for user in users:  # what the console answers: the emulator's reply, or one error line and a new conversation
        try:
            reply, pos = emu.chat_turn(system, user, pos, temperature=0.0, seed=1 + turn)
            expected.append(reply + b"\n")
            turn += 1
        except ToolchainError:
            expected.append(b"error: the conversation is longer than the context of this build (%d tokens): "
                            b"the next line starts a new one\n" % emu.context)
            pos, turn = 0, 0
    assert expected[2].startswith(b"error: ") and not expected[3].startswith(b"error: ")
    lines = [b"/temp 0", b"/seed 1", f"/system {system}".encode(), b"/chat", *(u.encode() for u in users),
             b"/chat", PROMPTS[0]]
    _, answers = session(out, lines)
    assert answers[:3] == [b"", b"", b""]
    assert answers[3] == b"chat: on, a new conversation (/chat again: off)\n"
    assert answers[4:8] == expected
    assert answers[8] == b"chat: off\n"
    steps = min(256, emu.context)  # the console's default
    assert answers[9].startswith(emu.generate(PROMPTS[0].decode(), steps=steps, temperature=0.0).text + b"\n")
