"""Seeds: one small valid file (or directory) per input format, the same bytes on
every run (FORMATS: llama2.c v0/v1/v2, a train.py .pt, a Meta directory, a Hugging
Face directory and a sharded one, a GGUF, a tokenizer.bin, a SentencePiece .model, a
tiktoken ranks file)."""
from __future__ import annotations

import base64
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gguf
import sentencepiece as spm
from checkpoint_writers import write_gguf, write_hf, write_meta, write_train_pt
from synthetic import synthetic_tokenizer
from toolchain.config import Model, ModelConfig, random_model
from toolchain.importers.llama2c import write_llama2c
from toolchain.importers.tokenizer import write_llama2c_tokenizer

from .checkout import TOOLCHAIN
from .torch_zip import _fix_serialization_id


SEED_CONFIG = ModelConfig(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=300, hidden_dim=96,
                          max_seq_len=32, shared_classifier=False)
MULTIPLE_OF = 32  # Meta's rule gives SEED_CONFIG's hidden_dim 96 from dim 32
LLAMA3_SCALING = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                  "original_max_position_embeddings": 16}


def seed_model() -> Model:
    return random_model(SEED_CONFIG, seed=7)


def _make_llama2c(version: int):
    def make(d: Path) -> dict[str, str]:
        write_llama2c(seed_model(), d / "model.bin", version=version, group_size=32)
        return {"model.bin": f"llama2c-v{version}"}
    return make


def _make_train_pt(d: Path) -> dict[str, str]:
    write_train_pt(seed_model(), d / "ckpt.pt", multiple_of=MULTIPLE_OF, ffn_dim_multiplier=None)
    _fix_serialization_id(d / "ckpt.pt")
    return {"ckpt.pt": "zip"}


def _make_meta(d: Path) -> dict[str, str]:
    write_meta(seed_model(), d, multiple_of=MULTIPLE_OF, ffn_dim_multiplier=None, shards=2)
    params = json.loads((d / "params.json").read_text())
    params["use_scaled_rope"] = False  # Llama 3.1's key, so mutations reach it
    (d / "params.json").write_text(json.dumps(params))
    files = {"params.json": "json"}
    for p in sorted(d.glob("*.pth")):
        _fix_serialization_id(p)
        files[p.name] = "zip"
    return files


def _make_hf(d: Path) -> dict[str, str]:
    write_hf(seed_model(), d)
    return {"config.json": "json", "model.safetensors": "safetensors"}


def _make_hf_sharded(d: Path) -> dict[str, str]:
    write_hf(seed_model(), d, shards=2, rope_scaling=LLAMA3_SCALING)
    files = {"config.json": "json", "model.safetensors.index.json": "json"}
    return files | {p.name: "safetensors" for p in sorted(d.glob("model-*.safetensors"))}


class _GGUFWriterWithVocab(gguf.GGUFWriter):
    """llama.cpp's GGUFs carry the tokenizer in their metadata (string, float and int
    arrays) and sometimes general.alignment: the seed does too, so gguf's reader of
    those parts is fuzzed with the rest."""

    def write_header_to_file(self, *args, **kwargs):
        tok = synthetic_tokenizer(SEED_CONFIG.vocab_size)
        self.add_custom_alignment(32)
        self.add_tokenizer_model("llama")
        self.add_token_list([p.decode("utf-8", "replace") for p in tok.pieces])
        self.add_token_scores(tok.scores)
        self.add_token_types([3 if i < 3 else 6 if i < 259 else 1 for i in range(tok.vocab_size)])
        self.add_bos_token_id(tok.bos_id)
        self.add_eos_token_id(tok.eos_id)
        return super().write_header_to_file(*args, **kwargs)


def _make_gguf(d: Path) -> dict[str, str]:
    writer, gguf.GGUFWriter = gguf.GGUFWriter, _GGUFWriterWithVocab
    try:
        write_gguf(seed_model(), d / "model.gguf")
    finally:
        gguf.GGUFWriter = writer
    return {"model.gguf": "gguf"}


def _make_tokenizer_bin(d: Path) -> dict[str, str]:
    write_llama2c_tokenizer(synthetic_tokenizer(SEED_CONFIG.vocab_size), d / "tokenizer.bin")
    return {"tokenizer.bin": "tokenizer.bin"}


def _make_sentencepiece(d: Path) -> dict[str, str]:
    """A BPE .model trained on toolchain/data/stories.txt as llmtool trains (byte fallback,
    identity normalisation), in memory and on one thread so the bytes are reproducible."""
    lines = (TOOLCHAIN / "data" / "stories.txt").read_text().splitlines()
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=out, model_type="bpe", vocab_size=340,
        byte_fallback=True, character_coverage=1.0, normalization_rule_name="identity",
        remove_extra_whitespaces=False, split_digits=True, allow_whitespace_only_pieces=True,
        num_threads=1, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    (d / "tokenizer.model").write_bytes(out.getvalue())
    return {"tokenizer.model": "spm"}


def _bpe_merges(text: bytes, n: int) -> list[bytes]:
    """n byte-pair merges learnt greedily from `text` (ties broken by the pair's bytes)."""
    words = [[bytes([b]) for b in w] for w in re.findall(rb" ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+", text)]
    merges = []
    for _ in range(n):
        pairs = Counter((w[i], w[i + 1]) for w in words for i in range(len(w) - 1))
        if not pairs:
            break
        (a, b), _count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append(a + b)
        for w in words:
            i = 0
            while i < len(w) - 1:
                if w[i] == a and w[i + 1] == b:
                    w[i:i + 2] = [a + b]
                i += 1
    return merges


def _make_tiktoken(d: Path) -> dict[str, str]:
    tokens = [bytes([b]) for b in range(256)] + _bpe_merges((TOOLCHAIN / "data" / "stories.txt").read_bytes(), 44)
    lines = [base64.b64encode(t) + b" " + str(rank).encode() for rank, t in enumerate(tokens)]
    (d / "tokenizer.tiktoken").write_bytes(b"\n".join(lines) + b"\n")
    return {"tokenizer.tiktoken": "tiktoken"}


@dataclass(frozen=True)
class Format:
    slug: str
    title: str
    kind: str                                   # "checkpoint" or "tokenizer"
    make: Callable[[Path], dict[str, str]]      # writes the seed into a directory: {file name: file type}
    target: str = "."                           # what is loaded: a file of that directory, or "." for it


# The formats, one entry each. Adding one (tokenizer.json once llmtool reads it) is an
# entry here and, for structure-aware mutations, a file type in MUTATORS (mutations.py); e.g.
#   Format("tokenizer-json", "Hugging Face tokenizer.json", "tokenizer", _make_tokenizer_json,
#          "tokenizer.json"),   # with _make_tokenizer_json returning {"tokenizer.json": "json"}
FORMATS = [
    Format("llama2c-v0", "llama2.c v0 (legacy)", "checkpoint", _make_llama2c(0), "model.bin"),
    Format("llama2c-v1", "llama2.c v1", "checkpoint", _make_llama2c(1), "model.bin"),
    Format("llama2c-v2", "llama2.c v2 (Q8_0)", "checkpoint", _make_llama2c(2), "model.bin"),
    Format("train-pt", "train.py .pt", "checkpoint", _make_train_pt, "ckpt.pt"),
    Format("meta-dir", "Meta params.json + 2 .pth", "checkpoint", _make_meta),
    Format("hf-dir", "HF config.json + safetensors", "checkpoint", _make_hf),
    Format("hf-sharded", "HF 2 shards + index, llama3 RoPE", "checkpoint", _make_hf_sharded),
    Format("gguf", "GGUF (F32, vocab metadata)", "checkpoint", _make_gguf, "model.gguf"),
    Format("tokenizer-bin", "llama2.c tokenizer.bin", "tokenizer", _make_tokenizer_bin, "tokenizer.bin"),
    Format("sentencepiece", "SentencePiece .model", "tokenizer", _make_sentencepiece, "tokenizer.model"),
    Format("tiktoken", "tiktoken ranks file", "tokenizer", _make_tiktoken, "tokenizer.tiktoken"),
]
FORMATS_BY_SLUG = {f.slug: f for f in FORMATS}


@dataclass
class Seed:
    fmt: Format
    directory: Path
    files: dict[str, str]                     # name -> file type
    data: dict[str, bytes]                    # name -> bytes
    parsed: dict = field(default_factory=dict)  # cache of structures the mutators parse once
    baseline: dict | None = None              # the unmutated seed's fingerprint


def make_seeds(root: Path, formats: list[Format]) -> dict[str, Seed]:
    seeds = {}
    for fmt in formats:
        d = root / fmt.slug
        d.mkdir(parents=True)
        files = fmt.make(d)
        seeds[fmt.slug] = Seed(fmt, d, files, {n: (d / n).read_bytes() for n in files})
    return seeds
