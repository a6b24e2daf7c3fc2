"""Tokenizers: every format becomes one representation, llama2.c's.

A token is a byte string (SentencePiece's '▁' already turned into a space, byte
tokens spelled "<0x0A>") with a merge score; BOS and EOS ids come with it.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .errors import ToolchainError


@dataclass
class Tokenizer:
    pieces: list[bytes]
    scores: list[float]
    bos_id: int = 1
    eos_id: int = 2

    @property
    def vocab_size(self) -> int:
        return len(self.pieces)

    @property
    def max_token_length(self) -> int:
        return max(map(len, self.pieces))


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
        if not 0 < n <= max_len or at + 8 + n > len(data) or score != score:
            return None
        pieces.append(data[at + 8:at + 8 + n])
        scores.append(score)
        at += 8 + n
    return Tokenizer(pieces, scores) if len(pieces) > 2 else None


def _read_sentencepiece(data: bytes) -> Tokenizer | None:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor()
    try:
        sp.LoadFromSerializedProto(data)
    except (RuntimeError, OSError):
        return None
    if sp.get_piece_size() == 0:
        return None
    pieces, scores = [], []
    for i in range(sp.get_piece_size()):
        piece = sp.id_to_piece(i)
        if i == sp.bos_id():
            piece = "\n<s>\n"
        elif i == sp.eos_id():
            piece = "\n</s>\n"
        pieces.append(piece.replace("\u2581", " ").encode("utf-8"))
        scores.append(sp.get_score(i))
    return Tokenizer(pieces, scores, bos_id=sp.bos_id(), eos_id=sp.eos_id())


def load_tokenizer(path: Path | str) -> Tokenizer:
    path = Path(path)
    if not path.is_file():
        raise ToolchainError(f"{path}: no such file")
    data = path.read_bytes()
    tok = _read_llama2c(data) or _read_sentencepiece(data)
    if tok is None:
        raise ToolchainError(f"{path}: not a tokenizer (expected a llama2.c tokenizer.bin "
                             f"or a SentencePiece .model)")
    return tok


def write_llama2c_tokenizer(tok: Tokenizer, path: Path | str) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<i", tok.max_token_length))
        for piece, score in zip(tok.pieces, tok.scores):
            f.write(struct.pack("<fi", score, len(piece)) + piece)
