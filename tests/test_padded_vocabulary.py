"""A tokenizer smaller than the model's vocabulary compiles, as Qwen2.5's does (151,665
tokens, an embedding padded to 151,936 rows): the extra ids are empty pieces that no
text encodes to and that decode to nothing."""
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

from hf_families import hf_model, save
from toolchain.compile.compiler import compile_project
from toolchain.host.emulator import Emulator
from toolchain.importers.tokenizer import load_tokenizer
from toolchain.importers.tokenizer_json import PATTERNS
from toolchain.train.corpus import make_stories
from varied_text import varied_strings

QWEN2 = next(regex for regex, name in PATTERNS.items() if name == "qwen2")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
EXTRA_ROWS = 37  # beyond the tokenizer's ids, as Qwen2.5's 271


def qwen_style_tokenizer(directory) -> Tokenizer:
    """A small byte-level BPE with Qwen2's pre-tokenizer and special tokens, trained here."""
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(make_stories(100), trainer)
    directory.mkdir()
    tk.save(str(directory / "tokenizer.json"))
    return tk


def test_a_model_with_more_rows_than_tokens_compiles_encodes_and_generates(tmp_path):
    reference = qwen_style_tokenizer(tmp_path / "tokenizer")
    n_tokens = load_tokenizer(tmp_path / "tokenizer").vocab_size
    source = hf_model("Qwen2.5-0.5B", hidden_size=64, intermediate_size=96, num_attention_heads=4,
                      num_key_value_heads=2, vocab_size=n_tokens + EXTRA_ROWS)
    out = tmp_path / "out"
    compile_project(save(source, tmp_path / "hf"), tmp_path / "tokenizer", "host", out, quant="q8", context=64)
    emu = Emulator(out)
    strings = varied_strings(300, SPECIALS)
    wrong = [s for s in strings if emu.encode(s, bos=False) != reference.encode(s).ids]
    assert not wrong, f"{len(wrong)} of {len(strings)} differ, first: {wrong[:3]!r}"
    assert max(t for s in strings for t in emu.encode(s, bos=False)) < n_tokens
    assert [emu.decode(0, t) for t in range(n_tokens, n_tokens + EXTRA_ROWS)] == [b""] * EXTRA_ROWS
    gen = emu.generate("Once upon a time", steps=40, temperature=0.0)
    assert gen.positions == 40 and gen.text == b"".join(gen.pieces)
    assert gen.tokens[1:len(reference.encode("Once upon a time").ids) + 1] == reference.encode("Once upon a time").ids
