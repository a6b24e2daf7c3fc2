"""Training a SentencePiece tokenizer the way llama2.c trains its custom vocabularies,
then exporting it in the runtime's format (llama2.c tokenizer.bin)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ToolchainError
from ..importers.tokenizer import load_tokenizer, write_llama2c_tokenizer


def train_sentencepiece(corpus: Path, vocab_size: int, prefix: Path) -> Path:
    """Trains a BPE vocabulary of `vocab_size` on the text file `corpus`, writes
    PREFIX.model (and SentencePiece's PREFIX.vocab) and PREFIX.bin; returns PREFIX.bin."""
    import sentencepiece as spm

    corpus, prefix = Path(corpus), Path(prefix)
    if not corpus.is_file():
        raise ToolchainError(f"{corpus}: no such file")
    if vocab_size < 260:  # <unk>, BOS, EOS, the 256 byte tokens and at least one more
        raise ToolchainError(f"--vocab-size must be at least 260 (3 control and 256 byte tokens), "
                             f"not {vocab_size}")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    try:
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(prefix), model_type="bpe", vocab_size=vocab_size,
            self_test_sample_size=0, input_format="text", character_coverage=1.0,
            num_threads=os.cpu_count() or 1, split_digits=True, allow_whitespace_only_pieces=True,
            byte_fallback=True, unk_surface=r" \342\201\207 ",
            # text is taken as it is: no normalisation, and runs of spaces are kept, so the
            # runtime's encoder (llama2.c's, which never collapses spaces) agrees with SentencePiece
            normalization_rule_name="identity", remove_extra_whitespaces=False,
            add_dummy_prefix=True, unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2)
    except (RuntimeError, OSError) as e:
        # SentencePiece's messages start with its source location: "INTERNAL: ...cc(744) [...] Why"
        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1].split("] ")[-1]
        raise ToolchainError(f"training a tokenizer on {corpus} failed: {reason}") from None
    out = prefix.with_name(prefix.name + ".bin")
    write_llama2c_tokenizer(load_tokenizer(prefix.with_name(prefix.name + ".model")), out)
    return out
