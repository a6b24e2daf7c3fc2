"""`llmtool tokenizer train / export / encode` with SentencePiece: a vocabulary
trained here, exported to tokenizer.bin and encoded by the C runtime exactly as
SentencePiece itself encodes."""
import json
import subprocess

import pytest
import sentencepiece as spm
from click.testing import CliRunner

from toolchain.cli import main
from toolchain.importers.tokenizer import load_tokenizer
from toolchain.host.encode import host_encoder
from toolchain.host.validate import DEFAULT_TEXT

SAMPLES = ["Once upon a time, there was a little girl.", "Tim's mom said: \"Hello!\"", "a  b   c",
           "The 12 red balls\nrolled 345 times.", "Zebra quiz ü 日本", " leading space", "end\n", "x"]


def llmtool(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """PREFIX of a 400-token vocabulary trained on the children's stories llmtool ships
    and some numbers."""
    root = tmp_path_factory.mktemp("tok")
    corpus = root / "corpus.txt"
    corpus.write_text(DEFAULT_TEXT.read_text() + "In 1999 Tim counted 1999 apples and 2024 pears.\n" * 20)
    prefix = root / "sub" / "stories"
    result = llmtool("tokenizer", "train", corpus, "--vocab-size", 400, "-o", prefix)
    assert result.exit_code == 0, result.output
    return prefix


def test_train_writes_model_and_llama2c_export(trained):
    sp = spm.SentencePieceProcessor(model_file=str(trained.with_suffix(".model")))
    tok = load_tokenizer(trained.with_suffix(".bin"))
    assert sp.get_piece_size() == tok.vocab_size == 400 and tok.kind == "sentencepiece"
    assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (0, 1, 2, -1)
    assert tok.pieces[1] == b"\n<s>\n" and tok.pieces[3] == b"<0x00>" and b" the" in tok.pieces
    assert tok.pieces == load_tokenizer(trained.with_suffix(".model")).pieces
    assert sp.encode("1999", out_type=str) == ["\u2581", "1", "9", "9", "9"]  # split_digits


def test_c_encoder_equals_sentencepiece(trained, encoder_cache):
    sp = spm.SentencePieceProcessor(model_file=str(trained.with_suffix(".model")))
    emulator = host_encoder(trained.with_suffix(".bin"))
    for text in SAMPLES:
        assert emulator.encode(text, bos=True) == [1] + sp.encode(text), text
    result = llmtool("tokenizer", "encode", trained.with_suffix(".bin"), SAMPLES[0], "--bos")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [1] + sp.encode(SAMPLES[0])
    result = llmtool("tokenizer", "encode", trained.with_suffix(".model"), SAMPLES[2])
    assert json.loads(result.output) == sp.encode(SAMPLES[2])


def test_sentencepiece_builds_carry_no_tiktoken_code(trained, encoder_cache):
    library = host_encoder(trained.with_suffix(".bin")).out / "build/emulator/libllm.so"
    symbols = subprocess.run(["nm", "-D", str(library)], capture_output=True, text=True, check=True).stdout
    assert " llm_encode" in symbols and "tiktoken" not in symbols


def test_export_of_a_sentencepiece_model(trained, tmp_path):
    result = llmtool("tokenizer", "export", trained.with_suffix(".model"), "-o", tmp_path / "t.bin")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.bin").read_bytes() == trained.with_suffix(".bin").read_bytes()


@pytest.mark.parametrize("args, message", [
    (["train", "missing.txt", "--vocab-size", 300, "-o", "x"], "no such file"),
    (["train", DEFAULT_TEXT, "--vocab-size", 100, "-o", "x"], "at least 260"),
    (["train", DEFAULT_TEXT, "--vocab-size", 100000, "-o", "x"], "Vocabulary size too high"),
    (["export", DEFAULT_TEXT, "-o", "out.bin"], "not a tokenizer"),
    (["encode", "missing.bin", "text"], "no such file"),
])
def test_bad_input_gives_one_error_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = llmtool("tokenizer", *args)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: ") and message in result.output
    assert list(tmp_path.iterdir()) == []
