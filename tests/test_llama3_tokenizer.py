"""Llama 3's tokenizer: the C encoder against tiktoken itself on thousands of varied
strings, decoding, the tokenizer.bin export, a Llama 3-sized vocabulary compiled for
the host, and `llmtool tokenizer encode`."""
import json
from dataclasses import replace

import numpy as np
import pytest
import tiktoken
from click.testing import CliRunner
from tiktoken.load import load_tiktoken_bpe

from toolchain.boards import get_board
from toolchain.cli import main
from toolchain.config import ModelConfig
from toolchain.errors import ToolchainError
from toolchain.compile.image import image_entries
from toolchain.compile.spec import CompileSpec
from toolchain.importers.tokenizer import llama3_special_tokens, load_tokenizer
from toolchain.host.encode import CACHE_ENV, host_encoder
from varied_text import varied_strings

# Meta's pre-tokenizer pattern, as ../shared/README.md gives it
PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
           r"\s*[\r\n]+|\s+(?!\S)|\s+")
KNOWN_TEXT = "the answer to the ultimate question of life, the universe, and everything is "
KNOWN_IDS = [128000, 1820, 4320, 311, 279, 17139, 3488, 315, 2324, 11, 279, 15861, 11, 323, 4395, 374, 220]

SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
            "<|reserved_special_token_0|>", "<|reserved_special_token_250|>", "<|eot_id", "<|", "|>",
            "<|reserved_special_token_251|>", "<|<|eot_id|>|>"]


@pytest.fixture(scope="module")
def ranks_file(shared_models):
    return shared_models / "llama3-tokenizer.model"


@pytest.fixture(scope="module")
def reference(ranks_file, monkeypatch_module):
    """tiktoken's own Encoding, built here from the ranks file (no download)."""
    monkeypatch_module.setenv("TIKTOKEN_CACHE_DIR", "")  # tiktoken's loader: no cache files
    ranks = load_tiktoken_bpe(str(ranks_file))
    specials = {s: len(ranks) + i for i, s in enumerate(llama3_special_tokens())}
    return tiktoken.Encoding("llama3-test", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=specials)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def cache(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("cache")
    monkeypatch_module.setenv(CACHE_ENV, str(root))
    return root


@pytest.fixture(scope="module")
def emulator(ranks_file, cache):
    """A random model with Llama 3's 128256-token vocabulary, compiled for the host."""
    return host_encoder(ranks_file)


def test_ranks_file_imports_with_meta_special_tokens(ranks_file):
    tok = load_tokenizer(ranks_file)
    assert (tok.kind, tok.vocab_size, tok.n_special, tok.bos_id, tok.eos_id) == ("tiktoken", 128256, 256, 128000, 128001)
    assert tok.pieces[0] == b"!" and tok.pieces[220] == b" " and tok.pieces[1820] == b"the"
    ids = {p: i for i, p in enumerate(tok.pieces)}
    assert ids[b"<|start_header_id|>"] == 128006 and ids[b"<|end_header_id|>"] == 128007
    assert ids[b"<|eot_id|>"] == 128009 and ids[b"<|reserved_special_token_250|>"] == 128255
    assert b"\0" in tok.pieces  # byte 0 is a token: the image stores lengths


def test_known_encoding(emulator):
    assert emulator.encode(KNOWN_TEXT, bos=True) == KNOWN_IDS


def test_c_encoder_equals_tiktoken(emulator, reference):
    strings = varied_strings(2000, SPECIALS)
    assert len(set(strings)) > 1900
    wrong = []
    for s in strings:
        ids = emulator.encode(s, bos=False)
        if ids != reference.encode(s, allowed_special="all"):
            wrong.append(s)
        elif b"".join(emulator.decode(0, t) for t in ids) != s.encode():
            wrong.append(("decode", s))
    assert not wrong, f"{len(wrong)} of {len(strings)} differ, first: {wrong[:3]!r}"
    # special tokens inside text are cut out whole, and the pattern restarts after them
    ids = emulator.encode("<|start_header_id|>user<|end_header_id|>\n\nHi  <|eot_id|>", bos=True)
    assert ids[:3] == [128000, 128006, 882] and ids[-1] == 128009 and ids.count(128009) == 1


def test_llama3_model_runs_on_host(emulator):
    logits = emulator.forward(token=128000, pos=0)
    assert logits.shape == (128256,) and np.isfinite(logits).all()
    gen = emulator.generate("Hello 𐌰𐌱", steps=12, temperature=0)
    assert gen.tokens[:2] == [128000, 9906] and gen.positions == 12 and max(gen.tokens) < 128256
    # byte tokens are printed too: 𐌰 is four of them
    assert gen.text.startswith("Hello 𐌰𐌱".encode()) and gen.text == b"".join(gen.pieces)


def test_only_tiktoken_images_carry_unicode_tables(shared_models, ranks_file):
    config = ModelConfig(dim=64, n_layers=1, n_heads=8, n_kv_heads=8, vocab_size=512, hidden_dim=172, max_seq_len=8)
    host = get_board("host")
    names = [name for name, _ in image_entries(CompileSpec(config, host, context=8,
                                                           tokenizer=load_tokenizer(shared_models / "tok512.bin")))]
    assert "vocab.char_classes" not in names
    config = replace(config, vocab_size=128256)
    sizes = dict(image_entries(CompileSpec(config, host, context=8, tokenizer=load_tokenizer(ranks_file))))
    assert 1000 < sizes["vocab.char_classes"] // 4 < 3000  # runs of one Unicode class


def test_export_reads_back_as_tiktoken(ranks_file, emulator, tmp_path):
    result = CliRunner().invoke(main, ["tokenizer", "export", str(ranks_file), "-o", str(tmp_path / "l3.bin")])
    assert result.exit_code == 0, result.output
    original, back = load_tokenizer(ranks_file), load_tokenizer(tmp_path / "l3.bin")
    assert (back.kind, back.n_special, back.bos_id, back.eos_id) == ("tiktoken", 256, 128000, 128001)
    assert back.pieces == original.pieces and back.scores == original.scores
    result = CliRunner().invoke(main, ["tokenizer", "encode", str(tmp_path / "l3.bin"), KNOWN_TEXT, "--bos"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == KNOWN_IDS


def test_cli_encode_uses_the_cached_build(ranks_file, emulator, cache, reference):
    builds = sorted((cache / "tokenizers").iterdir())
    result = CliRunner().invoke(main, ["tokenizer", "encode", str(ranks_file), "Hi there<|eot_id|>"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == reference.encode("Hi there<|eot_id|>", allowed_special="all")
    assert sorted((cache / "tokenizers").iterdir()) == builds


def test_bad_ranks_files_are_refused(tmp_path, ranks_file):
    lines = ranks_file.read_bytes().splitlines()
    cases = {"broken.model": lines[:5] + [b"@@@ 5"] + lines[6:300],
             "gap.model": lines[:5] + lines[6:300],
             "few.model": lines[:200]}  # not every byte
    for name, content in cases.items():
        (tmp_path / name).write_bytes(b"\n".join(content) + b"\n")
        with pytest.raises(ToolchainError) as e:
            load_tokenizer(tmp_path / name)
        assert "\n" not in str(e.value) and name in str(e.value)
    result = CliRunner().invoke(main, ["tokenizer", "export", str(tmp_path / "gap.model"), "-o",
                                       str(tmp_path / "out.bin")])
    assert result.exit_code == 1 and "error:" in result.output and not (tmp_path / "out.bin").exists()

