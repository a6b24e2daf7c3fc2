"""`llmtool tokenizer`: train a SentencePiece tokenizer, convert any tokenizer to the
runtime's format, and encode text with the runtime's own C encoder."""
import json
from pathlib import Path

import click


@click.group("tokenizer", short_help="Train, convert and try tokenizers.")
def command():
    """Train, convert and try tokenizers (llama2.c tokenizer.bin, SentencePiece
    .model, tiktoken ranks files such as Llama 3's, Hugging Face tokenizer.json or a
    model directory holding one)."""


@command.command("train", short_help="Train a SentencePiece BPE tokenizer on CORPUS.")
@click.argument("corpus", type=click.Path(path_type=Path))
@click.option("--vocab-size", type=int, required=True, help="Tokens in the vocabulary (at least 260).")
@click.option("-o", "--output", "prefix", required=True, type=click.Path(path_type=Path),
              help="Output prefix: writes PREFIX.model and PREFIX.bin.")
def train(corpus, vocab_size, prefix):
    """Train a SentencePiece BPE tokenizer on the text file CORPUS, llama2.c's recipe
    (byte fallback, digits split, no normalisation), and export it as PREFIX.bin."""
    from ..train.tokenizer import train_sentencepiece

    out = train_sentencepiece(corpus, vocab_size, prefix)
    click.echo(f"trained {vocab_size} tokens on {corpus} -> {out.with_suffix('.model')}, {out}")


@command.command("export", short_help="Convert TOKFILE to the runtime's tokenizer.bin layout.")
@click.argument("tokfile", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out", required=True, type=click.Path(path_type=Path),
              help="The tokenizer.bin to write.")
def export(tokfile, out):
    """Convert TOKFILE (any supported tokenizer but a tokenizer.json's) to llama2.c's
    tokenizer.bin layout, the runtime's format; a tiktoken tokenizer keeps its special
    tokens and reads back as tiktoken."""
    from ..importers.tokenizer import load_tokenizer, write_llama2c_tokenizer

    tok = load_tokenizer(tokfile)
    write_llama2c_tokenizer(tok, out)
    click.echo(f"{tokfile} ({tok.kind}, {tok.vocab_size} tokens) -> {out}")


@command.command("encode", short_help="Print the ids the C runtime's encoder gives TEXT (JSON).")
@click.argument("tokfile", type=click.Path(path_type=Path))
@click.argument("text")
@click.option("--bos", is_flag=True, help="Start with the BOS token.")
def encode(tokfile, text, bos):
    """Print, as a JSON list, the token ids the C runtime's encoder gives TEXT
    (special tokens such as <|eot_id|> in TEXT are recognised; a Qwen2 tokenizer.json's
    ids are the library's for TEXT in NFC). The first use of a
    tokenizer builds the runtime for the host, which is then cached."""
    from ..host.encode import host_encoder

    ids = host_encoder(tokfile).encode(text.encode("utf-8", "surrogateescape"), bos=bos)
    click.echo(json.dumps(ids))
