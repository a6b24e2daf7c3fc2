"""The host pipeline end to end: compile stories260K, run the C code through the
host emulator, and hold it to llama2.c's known output and the PyTorch reference."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.importers import load_checkpoint
from toolchain.model import Transformer
from toolchain.host.validate import DEFAULT_TEXT

# llama2.c's run, fp32, greedy, 200 steps from BOS (../shared/README.md)
KNOWN_TEXT = (
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
    "One day, she saw a big, red ball. She wanted to play with it, but it was too high.\n"
    "Lily's mom said, \"Lily, let's go to the park.\" Lily was sad and didn't know what to do. "
    "She said, \"I want to play with your ball, but I can't find it.\"\n"
    "Lily was sad and didn't know what to do. She said, \"I'm sorry, Lily. I didn't know what to do.\"\n"
    "Lily didn't want to help her mom, so she"
)
PROMPTS = ["Once upon a time", "Tom had a big dog", "The sun was hot.", "Lily and Ben",
           "One day, a little bird"]


def llmtool(*args):
    return subprocess.run([sys.executable, "-m", "toolchain", *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def stories(shared_models):
    return shared_models / "stories260K.bin", shared_models / "tok512.bin"


@pytest.fixture(scope="module")
def reference(stories):
    return Transformer(load_checkpoint(stories[0]))


@pytest.fixture(scope="module")
def f32_project(stories, tmp_path_factory):
    out = tmp_path_factory.mktemp("f32") / "out"
    result = llmtool("compile", stories[0], "--tokenizer", stories[1], "--board", "host",
                     "--quant", "f32", "-o", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def q8_project(stories, tmp_path_factory):
    out = tmp_path_factory.mktemp("q8") / "out"
    compile_project(stories[0], stories[1], "host", out, quant="q8", group_size=64)
    return out


def sample_reference(reference, n, seed):
    """n tokens from BOS, sampled at temperature 1 from the PyTorch model."""
    generator = torch.Generator().manual_seed(seed)
    reference.reset()
    tokens = [1]
    with torch.no_grad():
        while len(tokens) < n:
            logits = reference(torch.tensor([tokens[-1]]), start_pos=len(tokens) - 1)[-1]
            tokens.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)))
    return tokens


def test_emulate_f32_prints_llama2c_known_text(f32_project):
    result = llmtool("emulate", f32_project, "--temperature", 0, "--steps", 200)
    assert result.returncode == 0, result.stderr
    assert result.stdout == KNOWN_TEXT + "\n"
    assert "achieved tok/s" in result.stderr


def test_native_binary_prints_the_same(f32_project):
    subprocess.run(["make", "-C", str(f32_project), "-s"], check=True)
    result = subprocess.run([str(f32_project / "build" / "llm"), "-t", "0", "-n", "200"],
                            capture_output=True, text=True, check=True)
    assert result.stdout == KNOWN_TEXT + "\n"


def test_f32_greedy_matches_reference_for_prompts(f32_project, reference):
    emu = Emulator(f32_project)
    for prompt in PROMPTS:
        gen = emu.generate(prompt, steps=120, temperature=0.0)
        prompt_tokens = emu.encode(prompt)  # the C encoder
        assert gen.tokens[:len(prompt_tokens)] == prompt_tokens
        reference.reset()
        want = reference.generate_greedy(prompt_tokens, 120)
        assert gen.tokens == want, prompt
        assert gen.text.decode().startswith(prompt)


def test_f32_logits_match_reference_at_every_position(f32_project, reference):
    emu = Emulator(f32_project)
    tokens = sample_reference(reference, 256, seed=7)
    want = reference.score(torch.tensor(tokens)).numpy()
    got = np.stack([emu.forward(t, pos) for pos, t in enumerate(tokens)])
    assert np.abs(got - want).max() <= 1e-4


def test_q8_top1_agreement_with_f32_reference(q8_project, reference, capsys):
    """Teacher-forced over toolchain/data/stories.txt (children's stories written for
    llmtool), in windows of the context: the q8 build's argmax against the f32 reference."""
    emu = Emulator(q8_project)
    tokens = emu.encode(DEFAULT_TEXT.read_text())
    agree = total = 0
    max_err = 0.0
    for start in range(0, len(tokens), emu.context - 1):
        window = [1] + tokens[start + 1:start + emu.context]  # each window starts at BOS
        want = reference.score(torch.tensor(window)).numpy()
        got = np.stack([emu.forward(t, pos) for pos, t in enumerate(window)])
        agree += int((got.argmax(1) == want.argmax(1)).sum())
        total += len(window)
        max_err = max(max_err, float(np.abs(got - want).max()))
    with capsys.disabled():
        print(f"\nq8 vs f32 reference: top-1 agreement {agree}/{total} = {agree / total:.2%}, "
              f"max abs logit error {max_err:.4f}")
    assert total >= 1000
    assert agree / total >= 0.98


def test_runtime_has_no_heap(f32_project):
    subprocess.run(["make", "-C", str(f32_project), "-s", "all", "emulator"], check=True)
    for binary in (f32_project / "build" / "llm", f32_project / "build" / "emulator" / "libllm.so"):
        symbols = subprocess.run(["nm", "-D" if binary.suffix == ".so" else "-u", str(binary)],
                                 capture_output=True, text=True, check=True).stdout
        names = {line.split()[-1].split("@")[0] for line in symbols.splitlines() if line.strip()}
        assert names and not names & {"malloc", "calloc", "realloc", "free"}, binary


def test_a_project_compiled_again_in_place_loads_anew(stories, q8_project, tmp_path):
    """The emulator of a project compiled over another in one process runs the new C and
    image, not the library already loaded from that path (the loader's by-name cache)."""
    out = tmp_path / "out"
    compile_project(stories[0], stories[1], "host", out, quant="f32")
    f32 = Emulator(out).forward(1, 0)
    compile_project(stories[0], stories[1], "host", out, quant="q8", group_size=64, force=True)
    again = Emulator(out).forward(1, 0)
    assert not np.array_equal(again, f32)
    assert np.array_equal(again, Emulator(q8_project).forward(1, 0))
