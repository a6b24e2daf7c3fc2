"""Tokenizers: llama2.c tokenizer.bin and SentencePiece .model into one representation,
and the C encoder against SentencePiece itself."""
import sentencepiece as spm
import pytest

from synthetic import synthetic_tokenizer
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig, random_model
from toolchain.host.emulator import Emulator
from toolchain.errors import ToolchainError
from toolchain.importers.tokenizer import load_tokenizer, write_llama2c_tokenizer

TEXT = ("The little cat sat on the mat. It was a sunny day, and the cat was happy.\n"
        "Tom saw the cat and said: \"Hello, cat!\" The cat looked at Tom and purred.\n") * 40


def test_tok512(shared_models):
    tok = load_tokenizer(shared_models / "tok512.bin")
    assert tok.vocab_size == 512 and (tok.bos_id, tok.eos_id) == (1, 2)
    assert tok.pieces[1] == b"\n<s>\n" and tok.pieces[3] == b"<0x00>" and tok.pieces[259] == b" t"


def test_round_trip(tmp_path):
    tok = synthetic_tokenizer(400)
    write_llama2c_tokenizer(tok, tmp_path / "t.bin")
    back = load_tokenizer(tmp_path / "t.bin")
    assert back.pieces == tok.pieces and back.scores == tok.scores


@pytest.fixture(scope="module")
def sentencepiece_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("spm")
    (root / "corpus.txt").write_text(TEXT)
    spm.SentencePieceTrainer.train(input=str(root / "corpus.txt"), model_prefix=str(root / "tiny"),
                                   model_type="bpe", vocab_size=300, byte_fallback=True,
                                   character_coverage=1.0, minloglevel=2,
                                   # llama2.c's recipe (and Llama's): text is not normalised
                                   normalization_rule_name="identity", remove_extra_whitespaces=False,
                                   split_digits=True, allow_whitespace_only_pieces=True)
    return root / "tiny.model"


def test_sentencepiece_model_imports_like_llama2c_export(sentencepiece_model):
    tok = load_tokenizer(sentencepiece_model)
    sp = spm.SentencePieceProcessor(model_file=str(sentencepiece_model))
    assert tok.vocab_size == sp.get_piece_size() == 300
    assert tok.pieces[sp.bos_id()] == b"\n<s>\n" and b"<0x0A>" in tok.pieces
    assert all("\u2581".encode() not in p for p in tok.pieces)
    assert any(p.startswith(b" ") for p in tok.pieces)


def test_c_encoder_matches_sentencepiece(sentencepiece_model, tmp_path):
    sp = spm.SentencePieceProcessor(model_file=str(sentencepiece_model))
    config = ModelConfig(dim=32, n_layers=1, n_heads=4, n_kv_heads=4, vocab_size=300, hidden_dim=64,
                         max_seq_len=16)
    compile_project(random_model(config), sentencepiece_model, "host", tmp_path / "out", quant="f32")
    emu = Emulator(tmp_path / "out")
    for text in ["The cat sat.", "Hello, Tom!", "sunny day\nhappy cat", "Zebra quiz 42 ü", "the"]:
        assert emu.encode(text) == [sp.bos_id()] + sp.encode(text), text


def test_foreign_files_are_refused(tmp_path, shared_models):
    (tmp_path / "junk.model").write_bytes(b"\x00\x01not a tokenizer" * 10)
    for path in (tmp_path / "junk.model", shared_models / "stories260K.bin", tmp_path / "none.bin"):
        with pytest.raises(ToolchainError) as e:
            load_tokenizer(path)
        assert "\n" not in str(e.value)
