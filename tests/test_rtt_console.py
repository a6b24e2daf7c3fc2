"""Bare-metal firmware with an RTT console (`compile --console rtt`): no semihosting
instruction in the image, and under QEMU, booted as the project's README says, its
prompt loop (through toolchain.target.rtt over QEMU's GDB server, and through
`llmtool monitor --gdb`) streams the host emulator's greedy text and survives bad lines."""
import shlex
import socket
import subprocess
import sys
import threading
import time

import pytest

from console_session import split_answers
from toolchain.boards import get_board
from toolchain.compile.compiler import compile_project
from toolchain.errors import ToolchainError
from toolchain.host.emulator import Emulator
from toolchain.target.build import BINARY, build_project
from toolchain.target.gdb_remote import GdbRemote, checksum
from toolchain.target.rtt import RttConsole, control_block_addresses
from toolchain.target.run import emulated_binary, run_project

pytestmark = pytest.mark.slow  # QEMU and cross builds: the full suite only

RTT_BOARDS = ["mps2-an386", "stm32f405", "mps2-an500"]  # an500: a Cortex-M7, the rings in an uncached MPU region
PROMPTS = [b"Once upon a time", b"Tom and his dog went to the park"]
STEPS = 60


@pytest.fixture(scope="module")
def built(shared_models, tmp_path_factory):
    """A function: the built --console rtt project for a board (compiled once)."""
    projects = {}

    def project(name):
        if name not in projects:
            out = tmp_path_factory.mktemp("rtt") / name
            compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", name, out, quant="q8",
                            console="rtt")
            build_project(out)
            projects[name] = out
        return projects[name]
    return project


def free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def readme_commands(out):
    """The two commands of the README's "Talk to it under QEMU": QEMU's, the monitor's."""
    section = (out / "README.md").read_text().split("## Talk to it under QEMU")[1].split("\n## ")[0]
    return [shlex.split(block.split("\n```")[0]) for block in section.split("```sh\n")[1:]]


def boot(out):
    """QEMU running the project as its README says (on a free port, not 1234, so that
    tests can run side by side); the port."""
    qemu, monitor = readme_commands(out)
    assert "-gdb" in qemu and qemu[qemu.index("-gdb") + 1] == "tcp::1234"
    assert monitor == ["llmtool", "monitor", ".", "--gdb", "localhost:1234"]
    port = free_port()
    qemu[qemu.index("-gdb") + 1] = f"tcp::{port}"
    return subprocess.Popen(qemu, cwd=out, stdin=subprocess.DEVNULL), port


def connect(port, timeout=30):
    """A GdbRemote to QEMU once its GDB server listens."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return GdbRemote(f"localhost:{port}")
        except ToolchainError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def session(out, lines, timeout=600):
    """Sends `lines` to the firmware's RTT down buffer through toolchain.target.rtt and
    returns the banner and its answers (split_answers)."""
    qemu, port = boot(out)
    received = b""
    try:
        with connect(port) as gdb:
            console = RttConsole(gdb, control_block_addresses(out, get_board(out.name)))
            pending = b"".join(line + b"\n" for line in lines)
            deadline = time.monotonic() + timeout
            while received.count(b"> ") < len(lines) + 1 and time.monotonic() < deadline:
                sent, got, _ = console.exchange(pending)
                pending, received = pending[sent:], received + got
                time.sleep(0.01)
    finally:
        qemu.kill()
        qemu.wait()
    return split_answers(received, len(lines))


@pytest.mark.parametrize("name", RTT_BOARDS)
def test_rtt_console(built, name):
    out = built(name)
    board = get_board(name)
    binary = out / emulated_binary(board, BINARY)
    disassembly = subprocess.run(["arm-none-eabi-objdump", "-d", str(binary)], capture_output=True, text=True,
                                 check=True).stdout
    assert "bkpt\t0x00ab" not in disassembly
    assert "runtime/platform/rtt.c" in (out / "Makefile").read_text()
    platform_files = {p.name for p in (out / "runtime" / "platform").iterdir()}
    assert {"rtt.c", "serial.h", "serial_console.c"} <= platform_files
    assert not [f for f in platform_files if f.startswith("uart_")]  # another console's
    assert b"SEGGER RTT" not in binary.read_bytes()  # no copy for a probe's search to find
    assert readme_commands(out)[0][-1] == str(binary.relative_to(out))  # the README boots the QEMU link

    emu = Emulator(out)
    expected = [emu.generate(p.decode(), steps=STEPS, temperature=0.0).text for p in PROMPTS]
    lines = [b"/temp 0", f"/steps {STEPS}".encode(), PROMPTS[0], PROMPTS[1],
             b"/frobnicate 3",
             b"caf\xc3 \xff\xfe",   # not UTF-8
             b"x" * 10_000,          # beyond the line buffer, and many times the down buffer
             PROMPTS[1]]             # the loop goes on
    banner, answers = session(out, lines)
    assert banner.startswith(b"llm: stories260K, q8, context ") and banner.count(b"\n") == 1
    assert answers[0] == answers[1] == b""  # flags set quietly
    for answer, text in zip(answers[2:4] + answers[7:], expected + expected[1:]):
        assert answer.startswith(text + b"\n"), answer
        speed = answer[len(text) + 1:]
        assert b"prompt tok/s: " in speed and b"decode tok/s: " in speed
    for answer in answers[4:7]:  # one error line each
        assert answer.startswith(b"error: ") and answer.count(b"\n") == 1, answer


def test_monitor_over_gdb(built):
    """`llmtool monitor --gdb` with stdin piped: the lines go down, the text comes up,
    and it quits once the firmware has answered."""
    out = built("mps2-an386")
    expected = Emulator(out).generate(PROMPTS[0].decode(), steps=STEPS, temperature=0.0).text
    qemu, port = boot(out)
    try:
        connect(port).close()  # QEMU listens (and runs on after the detach)
        result = subprocess.run([sys.executable, "-m", "toolchain", "monitor", str(out), "--gdb", f"localhost:{port}"],
                                input=b"/temp 0\n/steps %d\n%s\n" % (STEPS, PROMPTS[0]), capture_output=True,
                                timeout=300)
    finally:
        qemu.kill()
        qemu.wait()
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().startswith("connected to RTT at 0x")
    text = result.stdout.replace(b"\r\n", b"\n")
    assert text.startswith(b"llm: stories260K") and b"\n> > > " + expected + b"\n" in text, text
    assert text.endswith(b"\n> ")


def llmtool(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("args,words", [
    (["--port", "/dev/ttyACM0"], "compiled with --console rtt): give --gdb HOST:PORT"),
    ([], "give --gdb HOST:PORT"),
    (["--gdb", "localhost"], "--gdb takes HOST:PORT"),
    (["--gdb", "localhost:{closed}"], "cannot connect to the GDB server at localhost:"),
])
def test_monitor_refusals_are_one_line(built, args, words):
    result = llmtool("monitor", built("stm32f405"), *(a.format(closed=free_port()) for a in args))
    lines = result.stderr.splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert words in lines[0] and result.stdout == ""


def test_gdb_on_a_uart_project_and_run_are_refused(shared_models, tmp_path, built):
    uart = tmp_path / "uart"
    compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", "stm32f405", uart,
                    console="uart")
    result = llmtool("monitor", uart, "--gdb", "localhost:1234")
    assert result.returncode == 1 and result.stderr.startswith("error: ") and "give --port" in result.stderr
    out = built("stm32f405")
    with pytest.raises(ToolchainError, match="-semihosting-config enable=off -gdb tcp::1234 -kernel "
                                             "build/llm-qemu`, then `llmtool monitor .* --gdb localhost:1234`"):
        run_project(out, "Once upon a time")


def test_gdb_remote_acks_checksums_and_run_lengths():
    """Against a scripted server: a reply with a bad checksum is refused ("-") and taken
    when sent again, a run-length encoded reply is expanded, every reply is acknowledged."""
    server = socket.create_server(("localhost", 0))
    script = [(b"qSupported", [b"$PacketSize=100#00", b"$PacketSize=100#" + checksum(b"PacketSize=100")]),
              (b"?", [b"$S05#b8"]),
              (b"m20000000,4", [b'$a00*"#' + checksum(b'a00*"')]),  # "a00" and 5 more "0": a0000000
              (b"D", [b"$OK#9a"])]
    heard = []

    def serve():
        conn, _ = server.accept()
        with conn:
            stream = conn.makefile("rb")
            for request, replies in script:
                assert stream.read(1) == b"$"
                packet = b""
                while not packet.endswith(b"#"):
                    packet += stream.read(1)
                assert stream.read(2) == checksum(packet[:-1])
                conn.sendall(b"+")
                for reply in replies:
                    conn.sendall(reply)
                    heard.append(stream.read(1))
                assert packet[:-1] == request

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with GdbRemote(f"localhost:{server.getsockname()[1]}") as gdb:
        assert gdb.chunk == (0x100 - 32) // 2
        assert gdb.read(0x20000000, 4) == bytes.fromhex("a0000000")
    thread.join(timeout=10)
    server.close()
    assert heard == [b"-", b"+", b"+", b"+", b"+"]
