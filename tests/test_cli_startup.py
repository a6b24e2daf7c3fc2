"""A quick command line: `llmtool --help`, every command's --help and `boards` import
neither torch, numpy nor matplotlib, and a compile of a llama2.c file no torch (each
only where a command needs it: the PyTorch reference, the .pt / Meta / Hugging Face
readers, the plot), so they start in a fraction of a second instead of the three
torch takes. Checked by the modules imported (deterministic), not by timing."""
import subprocess
import sys
from pathlib import Path

import pytest

from toolchain.cli import main

ROOT = Path(__file__).resolve().parents[1]
# What none of these commands needs: each takes from a tenth of a second (numpy) to
# several (torch) to import.
NEVER = {"torch", "matplotlib", "gguf", "sentencepiece", "tiktoken"}
HEAVY = NEVER | {"numpy", "jinja2", "tqdm"}
HEAVY_OF_OURS = {"toolchain.model", "toolchain.train.trainer", "toolchain.host.validate", "toolchain.importers",
                 "toolchain.compile.compiler", "toolchain.compile.analyze", "toolchain.compile.plot",
                 "toolchain.host.emulator"}


def imported(*args, cwd=ROOT) -> tuple[set[str], subprocess.CompletedProcess]:
    """The modules `python -X importtime ARGS` imports, and the finished process."""
    result = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True,
                            cwd=cwd, timeout=300)
    modules = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert "toolchain.cli" in modules or "-c" in args, result.stderr[-2000:]
    return modules, result


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def import_seconds(stderr: str) -> float:
    """The cumulative import time of the top-level imports `-X importtime` reports."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|")
            if not name.startswith("  ") and cumulative.strip().isdigit():
                total += int(cumulative)
    return total / 1e6


@pytest.mark.parametrize("args", [["-m", "toolchain", "--help"], ["-m", "toolchain.cli", "--help"],
                                  ["-m", "toolchain", "boards"]])
def test_help_and_boards_import_nothing_heavy(args):
    modules, result = imported(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not roots(modules) & HEAVY, sorted(roots(modules) & HEAVY)
    assert not modules & HEAVY_OF_OURS, sorted(modules & HEAVY_OF_OURS)
    print(f"\n{' '.join(args)}: {import_seconds(result.stderr):.3f} s of imports")


def test_help_lists_every_command_with_its_line():
    result = subprocess.run([sys.executable, "-m", "toolchain", "--help"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    listing = result.stdout.split("Commands:\n", 1)[1].splitlines()
    assert sorted(line.split()[0] for line in listing) == sorted(main.commands)
    for line in listing:
        name, text = line.split(None, 1)
        assert text == main.commands[name].get_short_help_str(limit=200) and not text.endswith("..."), line


def test_every_commands_help_imports_nothing_heavy():
    """Each command imports what it needs inside its function, after its options are parsed."""
    script = ("import sys, io, contextlib\n"
              "from toolchain.cli import main\n"
              "def walk(cmd, path):\n"
              "    yield path\n"
              "    for name, sub in getattr(cmd, 'commands', {}).items():\n"
              "        yield from walk(sub, path + [name])\n"
              "for path in walk(main, []):\n"
              "    with contextlib.redirect_stdout(io.StringIO()) as out:\n"
              "        main([*path, '--help'], standalone_mode=False)\n"
              "    assert 'Usage:' in out.getvalue(), path\n"
              "print(' '.join(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    modules = set(result.stdout.split())
    assert not roots(modules) & HEAVY, sorted(roots(modules) & HEAVY)
    assert not modules & HEAVY_OF_OURS, sorted(modules & HEAVY_OF_OURS)


def test_compiling_a_llama2c_file_does_not_import_torch(shared_models, tmp_path):
    modules, result = imported("-m", "toolchain", "compile", str(shared_models / "stories260K.bin"),
                               "--tokenizer", str(shared_models / "tok512.bin"), "-o", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "out" / "llmtool.json").is_file()
    assert not roots(modules) & NEVER, sorted(roots(modules) & NEVER)
    assert "toolchain.model" not in modules and "toolchain.importers.gguf_file" not in modules
    print(f"\ncompile stories260K.bin: {import_seconds(result.stderr):.3f} s of imports")


def test_torch_comes_with_the_readers_that_need_it(tmp_path):
    """The other side: a .pt checkpoint is read with torch, and the RoPE tables the
    compiler stores are the ones the PyTorch reference rotates by."""
    script = ("import sys\n"
              "from toolchain.rope import rope_table\n"
              "from toolchain.importers import load_checkpoint\n"
              "assert 'torch' not in sys.modules\n"
              "from toolchain.model import Transformer\n"
              "from toolchain.config import ModelConfig, random_model\n"
              "m = random_model(ModelConfig(dim=64, n_layers=1, n_heads=4, n_kv_heads=2, vocab_size=300,\n"
              "                             hidden_dim=96, max_seq_len=32, rope_freq_factors=(1.0, 2.0) * 4))\n"
              "import numpy as np\n"
              "t = Transformer(m)\n"
              "cos, sin = rope_table(m.config, 16)\n"
              "assert np.array_equal(t.rope_cos[:16].numpy(), cos) and np.array_equal(t.rope_sin[:16].numpy(), sin)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def test_python_m_toolchain_cli_runs_commands():
    result = subprocess.run([sys.executable, "-m", "toolchain.cli", "boards"], capture_output=True, text=True,
                            cwd=ROOT, timeout=60)
    assert result.returncode == 0 and "rpi4" in result.stdout and "host" in result.stdout

