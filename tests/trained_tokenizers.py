"""Tokenizers trained here with the `tokenizers` library, and model directories holding
them: byte-level BPEs with SmolLM2's, GPT-2's and Qwen2's pipelines (Qwen2's with its
NFC normalizer) for the tests, and for scripts/fuzz.sh's qwen project."""
import json

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from toolchain.importers.tokenizer_json import PATTERNS
from toolchain.train.corpus import make_stories
from varied_text import varied_strings

QWEN2 = next(regex for regex, name in PATTERNS.items() if name == "qwen2")
CHAT = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]  # trained first: ids 0..2
TOOL = "<|tool_call|>"  # added after training: the last id


def special_pool(specials: list[str]) -> list[str]:
    """The special tokens whole, cut short and nested in each other, for varied_strings."""
    return specials + [s[:-1] for s in specials] + [s[:2] + specials[0] + s[2:] for s in specials[:2]]


def byte_level(pre_tokenizer, normalizer=None) -> Tokenizer:
    """A byte-level BPE trained here on generated stories and the varied strings' alphabet
    (a few thousand merges), with CHAT's special tokens first and TOOL last."""
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizer
    if normalizer is not None:
        tk.normalizer = normalizer
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4000, special_tokens=CHAT, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(make_stories(300) + varied_strings(3000, special_pool(CHAT), seed=1), trainer)
    tk.add_special_tokens([AddedToken(TOOL, special=True, normalized=False)])
    return tk


BYTE_LEVEL = {
    # SmolLM2's: every digit alone, then GPT-2's pattern
    "gpt2-digits": lambda: byte_level(pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                               pre_tokenizers.ByteLevel(add_prefix_space=False)])),
    "gpt2": lambda: byte_level(pre_tokenizers.ByteLevel(add_prefix_space=False)),
    "qwen2": lambda: byte_level(pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2), behavior="isolated"),
                                                         pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                  use_regex=False)]),
                                normalizers.NFC()),
}


def model_directory(tk: Tokenizer, template: str, bos: str | None, eos: str, directory):
    """tokenizer.json and a tokenizer_config.json holding the template, as a model directory has them."""
    directory.mkdir()
    tk.save(str(directory / "tokenizer.json"))
    config = {"bos_token": bos, "eos_token": eos, "chat_template": template}
    (directory / "tokenizer_config.json").write_text(json.dumps(config))
    return directory
