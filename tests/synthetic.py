"""Small synthetic inputs the tests build themselves: tokenizers of any size."""
from toolchain.importers.tokenizer import Tokenizer


def synthetic_tokenizer(vocab_size: int) -> Tokenizer:
    """<unk>, BOS, EOS, the 256 byte tokens, then made-up words: a llama2.c-shaped
    vocabulary of any size (>= 259), so random models get a real tokenizer."""
    pieces = [b"<unk>", b"\n<s>\n", b"\n</s>\n"] + [f"<0x{b:02X}>".encode() for b in range(256)]
    letters = "etaoinshrdlucmfw"
    i = 0
    while len(pieces) < vocab_size:
        word, n = "", i
        while True:
            word += letters[n % len(letters)]
            n //= len(letters)
            if n == 0:
                break
        pieces.append((" " + word if i % 2 else word).encode())
        i += 1
    scores = [0.0] * 259 + [-float(k) for k in range(vocab_size - 259)]
    return Tokenizer(pieces[:vocab_size], scores[:vocab_size], bos_id=1, eos_id=2)
