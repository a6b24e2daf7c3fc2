"""Chat (--mode chat): each template's tokens, and one conversation held alike by
the host emulator and the Linux image under QEMU."""
import subprocess
import sys

import pytest

from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.errors import ToolchainError
from toolchain.target.run import run_project
from toolchain.host.encode import CACHE_ENV, host_encoder

TURNS = "Tell me a story about a cat\nWhat did the cat eat?\n"
SYSTEM = "You are a kind storyteller."


@pytest.fixture(scope="module")
def projects(shared_models, tmp_path_factory):
    root = tmp_path_factory.mktemp("chat")
    for board in ["host", "rpi4", "mps2-an386"]:
        compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, root / board)
    return root


def test_llama2_template(projects):
    emu = Emulator(projects / "host")
    first = emu.chat_tokens(SYSTEM, "  Hi there \n", first=True)
    assert first == emu.encode(f"[INST] <<SYS>>\n{SYSTEM}\n<</SYS>>\n\nHi there [/INST]", bos=True)
    assert emu.chat_tokens(SYSTEM, "And then?", first=False) == emu.encode("[INST] And then? [/INST]", bos=True)
    assert emu.chat_tokens("", "Hi", first=True) == emu.encode("[INST] Hi [/INST]", bos=True)


def test_llama3_template(shared_models, tmp_path, monkeypatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    emu = host_encoder(shared_models / "llama3-tokenizer.model")

    def text(s):
        return emu.encode(s, bos=False)

    def header(role):
        return [128006, *text(role), 128007, *text("\n\n")]
    expected = [128000, *header("system"), *text(SYSTEM), 128009,
                *header("user"), *text("Hi there"), 128009, *header("assistant")]
    assert emu.chat_tokens(SYSTEM, " Hi there\n", first=True) == expected
    assert emu.chat_tokens(SYSTEM, "More", first=False) == [*header("user"), *text("More"), 128009,
                                                            *header("assistant")]
    # a reply ends at <|eot_id|>, which is run so the next turn follows it
    _, pos = emu.chat_turn(SYSTEM, "Hi", 0, temperature=0.0)
    assert 0 < pos <= emu.context


@pytest.mark.slow
def test_conversation_is_the_same_on_the_emulator_and_under_qemu(projects):
    emulated = subprocess.run([sys.executable, "-m", "toolchain", "emulate", str(projects / "host"), "--mode", "chat",
                               "--system", SYSTEM, "-t", "0"], input=TURNS, capture_output=True, text=True)
    assert emulated.returncode == 0, emulated.stderr
    transcript = emulated.stdout
    assert transcript.count("User: ") >= 2 and transcript.count("Assistant: ") == 2  # input or context ends
    replies = [line for line in transcript.split("Assistant: ")[1:]]
    assert replies[0] != replies[1] and all(len(r.split()) > 3 for r in replies)
    for board in ["host", "rpi4"]:
        result = run_project(projects / board, temperature=0.0, mode="chat", system=SYSTEM, input_text=TURNS,
                             capture=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert result.stdout == transcript, board


def test_chat_needs_a_linux_board(projects):
    with pytest.raises(ToolchainError, match="needs a Linux board"):
        run_project(projects / "mps2-an386", mode="chat", input_text="Hi\n", capture=True)
