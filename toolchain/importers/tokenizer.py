"""Tokenizers: every format becomes one representation, llama2.c's.

A token is a byte string with a merge score; BOS and EOS ids come with it. Two kinds:
- "sentencepiece": llama2.c's BPE by score (SentencePiece's '▁' already turned into a
  space, byte tokens spelled "<0x0A>"), from a tokenizer.bin, a SentencePiece .model or
  a tokenizer.json holding a SentencePiece-style BPE (tokenizer_json.py);
- "tiktoken": byte-level BPE (Llama 3's from a tiktoken ranks file; GPT-2's, SmolLM2's
  and Qwen2's from a tokenizer.json). Each piece is the token's raw bytes (byte 0 is a
  token) with score -rank, so "higher score merges first" holds for both kinds; a
  pre-tokenizer pattern splits the text first. Meta's 256 special tokens follow the
  ranks with score 0.
Special (added) tokens are recognised in text whole; their ids may be anywhere.
"""
from __future__ import annotations

import base64
import binascii
import math
import os
import re
import struct
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..compile.outdir import file_mode
from ..errors import ToolchainError
from .chat_template import ChatFormat, by_kind

TOKENIZER_KINDS = ("sentencepiece", "tiktoken")  # ImageHeader.tokenizer and LLM_TOKENIZER_KIND order
# The byte-level pre-tokenizer patterns the C matches by hand (LLM_PRETOKENIZER order);
# "gpt2-digits" is GPT-2's after splitting off every digit (SmolLM2)
PRETOKENIZERS = ("llama3", "qwen2", "gpt2", "gpt2-digits")
# Where a SentencePiece-style encoder puts its '▁' before the text (LLM_DUMMY_PREFIX
# order): never, at the start of the text (llama2.c, SentencePiece), or at the start of
# every stretch between special tokens (tokenizer.json's Prepend normalizer)
DUMMY_PREFIXES = ("none", "text", "segment")
# Of two pairs that make the same token (LLM_MERGE_TIES order): the leftmost (llama2.c,
# tiktoken); else first the one with the shorter left part, or with the lower left id
# (the orders transformers gives a token's merges when it converts a SentencePiece model
# or tiktoken ranks into a tokenizer.json), then the leftmost
MERGE_TIES = ("leftmost", "shorter-left", "left-id")

SPECIAL_SCORE = 0.0  # tiktoken special tokens: never the result of a merge
TOKENIZER_JSON = "tokenizer.json"  # Hugging Face's, alone or in a model directory
MAX_TOKENIZER_BYTES = 256 << 20  # Llama 3's ranks are 2 MB, Gemma's SentencePiece model 5 MB


def llama3_special_tokens() -> list[str]:
    """Meta's Llama 3 special tokens in id order (they follow the ranks: <|begin_of_text|>
    is 128000): ten named or reserved ones, then reserved tokens 5..250."""
    named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
             "<|reserved_special_token_1|>", "<|reserved_special_token_2|>",
             "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
             "<|reserved_special_token_4|>", "<|eot_id|>"]
    return named + [f"<|reserved_special_token_{i}|>" for i in range(5, 251)]


@dataclass
class Tokenizer:
    pieces: list[bytes]
    scores: list[float]
    bos_id: int = 1
    eos_id: int = 2
    kind: str = "sentencepiece"  # one of TOKENIZER_KINDS: which encoder the runtime builds
    special_ids: list[int] = field(default_factory=list)  # recognised in text as a whole, never merged
    pretokenizer: str = "llama3"  # tiktoken: one of PRETOKENIZERS
    whole_pieces: bool = True     # tiktoken: a pre-tokenized piece that is a token is that token
                                  # (tiktoken; tokenizer.json's ignore_merges), else always merged
    nfc: bool = False             # the text is normalized to Unicode NFC first (tokenizer.json's
                                  # NFC normalizer: Qwen2, 2.5, 3)
    dummy_prefix: str = "text"    # sentencepiece: one of DUMMY_PREFIXES
    dummy_prefix_on_space: bool = True  # also before text that starts with a space (not Metaspace's way)
    # tokenizer.json's merges are pairs: the byte length of the left part of the first merge
    # that makes each token (0: none), so that a pair joining into a token merges only if it
    # is that merge (or one of extra_merges). None: any pair joining into a token merges
    # (llama2.c, tiktoken).
    merge_splits: list[int] | None = None
    # with merge_splits, the other merges making a token already made by one: (token, left
    # part's length, score), sorted
    extra_merges: list[tuple[int, int, float]] = field(default_factory=list)
    # which of two pairs making the same token merges first: one of MERGE_TIES
    merge_ties: str = "leftmost"
    # the chat layout tokenizer_config.json's chat_template names; None: by kind (chat_format)
    chat: ChatFormat | None = None

    @property
    def chat_format(self) -> ChatFormat:
        return self.chat if self.chat is not None else by_kind(self.kind)

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    @property
    def max_token_length(self) -> int:
        return max(map(len, self.pieces))

    @property
    def kind_index(self) -> int:
        """The kind as the image header and llm_config.h number it."""
        return self.option_index("kind")

    def option_index(self, option: str) -> int:
        """An option's value as llm_config.h numbers it: its place in the option's names."""
        names = {"kind": TOKENIZER_KINDS, "pretokenizer": PRETOKENIZERS, "dummy_prefix": DUMMY_PREFIXES,
                 "merge_ties": MERGE_TIES}[option]
        return names.index(getattr(self, option))

    @property
    def n_special(self) -> int:
        return len(self.special_ids)

    @property
    def has_bin_form(self) -> bool:
        """Whether llama2.c's tokenizer.bin holds all of it (see _as_tiktoken)."""
        default = Tokenizer([], [])
        tiktoken_specials = list(range(self.vocab_size - self.n_special, self.vocab_size))
        return (self.merge_splits is None and self.merge_ties == "leftmost" and self.whole_pieces
                and self.dummy_prefix_on_space and not self.nfc
                and (self.pretokenizer, self.dummy_prefix) == (default.pretokenizer, default.dummy_prefix)
                and self.special_ids == (tiktoken_specials if self.kind == "tiktoken" else []))


def padded(tok: Tokenizer, vocab_size: int) -> Tokenizer:
    """`tok` with ids up to `vocab_size`, for a model whose embedding has rows beyond
    its tokenizer's tokens (Qwen2.5: 151,936 rows, 151,665 tokens), ids no text
    encodes. Each extra id is an empty piece: no merge of two pieces makes it, no text
    is it, and it decodes to nothing; its score is the tokenizer's lowest."""
    extra = vocab_size - tok.vocab_size
    if extra < 0:
        raise ToolchainError(f"the tokenizer has {tok.vocab_size} tokens but the model's vocabulary is "
                             f"{vocab_size}: wrong tokenizer for this model")
    if extra == 0:
        return tok
    return replace(tok, pieces=tok.pieces + [b""] * extra, scores=tok.scores + [min(tok.scores)] * extra,
                   merge_splits=None if tok.merge_splits is None else tok.merge_splits + [0] * extra)

def _read_llama2c(data: bytes) -> Tokenizer | None:
    """llama2.c's tokenizer.bin: int32 max_token_length, then per token a float32
    score, an int32 length and the bytes, up to the end of the file. None if the
    bytes do not parse exactly that way."""
    if len(data) < 4:
        return None
    (max_len,) = struct.unpack_from("<i", data)
    if not 0 < max_len <= 1024:
        return None
    pieces, scores, at = [], [], 4
    while at < len(data):
        if at + 8 > len(data):
            return None
        score, n = struct.unpack_from("<fi", data, at)
        if not 0 < n <= max_len or at + 8 + n > len(data):
            return None
        pieces.append(data[at + 8:at + 8 + n])
        scores.append(score)
        at += 8 + n
    if len(pieces) <= 2:
        return None
    return _as_tiktoken(pieces, scores) or Tokenizer(pieces, scores)


def _as_tiktoken(pieces: list[bytes], scores: list[float]) -> Tokenizer | None:
    """A tokenizer.bin that write_llama2c_tokenizer wrote from a tiktoken tokenizer: every
    piece's score is -id up to the special tokens, which score SPECIAL_SCORE (at least
    BOS and EOS, in Meta's order), and every single byte is a piece."""
    n = next((i for i, s in enumerate(scores) if s != -i), len(scores))
    if len(scores) - n < 2 or any(s != SPECIAL_SCORE for s in scores[n:]):
        return None
    if len({p for p in pieces[:n] if len(p) == 1}) != 256:
        return None
    return Tokenizer(pieces, scores, bos_id=n, eos_id=n + 1, kind="tiktoken", special_ids=list(range(n, len(scores))))


def _read_tiktoken(data: bytes, path: Path) -> Tokenizer | None:
    """A tiktoken BPE ranks file (base64 token, space, rank on each line; ranks 0..n-1),
    with Llama 3's special tokens after the ranks. None if the first line is not one.
    (tiktoken's own load_tiktoken_bpe caches files by path name in the temp directory,
    which would return stale ranks for a rewritten file.)"""
    lines = data.splitlines()
    if not lines or not re.fullmatch(rb"[A-Za-z0-9+/]+=* \d+", lines[0]):
        return None
    ranks: dict[int, bytes] = {}
    for number, line in enumerate(lines, 1):
        token, _, rank = line.partition(b" ")
        try:
            ranks[int(rank)] = base64.b64decode(token, validate=True)
        except (ValueError, binascii.Error):
            raise ToolchainError(f"{path}: line {number} is not a base64 token and a rank") from None
    if sorted(ranks) != list(range(len(lines))):
        raise ToolchainError(f"{path}: the ranks are not 0..{len(lines) - 1}, each once")
    pieces = [ranks[r] for r in range(len(ranks))]
    if len({p for p in pieces if len(p) == 1}) != 256 or len(set(pieces)) != len(pieces):
        raise ToolchainError(f"{path}: a byte-level BPE needs every byte as a token and no token twice")
    specials = [s.encode() for s in llama3_special_tokens()]
    return Tokenizer(pieces + specials, [-float(r) for r in range(len(pieces))] + [SPECIAL_SCORE] * len(specials),
                     bos_id=len(pieces), eos_id=len(pieces) + 1, kind="tiktoken",
                     special_ids=list(range(len(pieces), len(pieces) + len(specials))))


def _read_sentencepiece(data: bytes) -> Tokenizer | None:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(data)
        pieces_text = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    except (RuntimeError, OSError, UnicodeDecodeError):  # not a model, or pieces that are not UTF-8
        return None
    if not pieces_text:
        return None
    pieces, scores = [], []
    for i, piece in enumerate(pieces_text):
        if i == sp.bos_id():
            piece = "\n<s>\n"
        elif i == sp.eos_id():
            piece = "\n</s>\n"
        pieces.append(piece.replace("\u2581", " ").encode("utf-8"))
        scores.append(sp.get_score(i))
    return Tokenizer(pieces, scores, bos_id=sp.bos_id(), eos_id=sp.eos_id())


def load_tokenizer(path: Path | str) -> Tokenizer:
    """Any supported tokenizer file, or a Hugging Face model directory's tokenizer.json."""
    path = Path(path)
    if path.is_dir():
        if not (path / TOKENIZER_JSON).is_file():
            raise ToolchainError(f"{path}: a directory without a {TOKENIZER_JSON}")
        path = path / TOKENIZER_JSON
    if not path.is_file():
        raise ToolchainError(f"{path}: no such file")
    if path.stat().st_size > MAX_TOKENIZER_BYTES:
        raise ToolchainError(f"{path}: {path.stat().st_size:,} bytes is too large for a tokenizer")
    data = path.read_bytes()
    if data.lstrip()[:1] == b"{":
        from .tokenizer_json import read_tokenizer_json

        tok = read_tokenizer_json(data, path)
    else:
        tok = _read_llama2c(data) or _read_tiktoken(data, path) or _read_sentencepiece(data)
    if tok is None:
        raise ToolchainError(f"{path}: not a tokenizer (expected a llama2.c tokenizer.bin, a SentencePiece "
                             f".model, a tiktoken ranks file or a Hugging Face {TOKENIZER_JSON})")
    for name, token in (("BOS", tok.bos_id), ("EOS", tok.eos_id)):
        if not 0 <= token < tok.vocab_size:  # a SentencePiece model without <s> says -1
            raise ToolchainError(f"{path}: the tokenizer has no {name} token (id {token})")
    bad = next((i for i, score in enumerate(tok.scores) if not math.isfinite(score)), None)
    if bad is not None:  # the encoder orders merges by score: NaN has no order
        raise ToolchainError(f"{path}: token {bad}'s score is {tok.scores[bad]}, not a finite number")
    return tok


def write_llama2c_tokenizer(tok: Tokenizer, path: Path | str) -> None:
    """Writes llama2.c's tokenizer.bin layout (a tiktoken tokenizer stays recognisable by
    its scores, see _as_tiktoken); all at once, so a failure leaves no partial file."""
    path = Path(path)
    if not tok.has_bin_form:
        raise ToolchainError(f"{path}: this tokenizer's pre-tokenizer, merges or special tokens have no "
                             f"tokenizer.bin form; give the runtime the tokenizer itself")
    if not path.parent.is_dir():
        raise ToolchainError(f"{path.parent}: no such directory")
    if path.is_dir():
        raise ToolchainError(f"{path} is a directory: name the tokenizer.bin to write")
    data = [struct.pack("<i", tok.max_token_length)]
    data += [struct.pack("<fi", score, len(piece)) + piece for piece, score in zip(tok.pieces, tok.scores)]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        raise ToolchainError(f"cannot write {path}: {e.strerror}") from None
    try:
        os.fchmod(fd, file_mode())  # as the user's umask gives new files (mkstemp's is 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(data))
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
