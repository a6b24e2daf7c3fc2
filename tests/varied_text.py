"""Varied text for testing encoders against their references: many scripts, combining
marks, emoji (ZWJ sequences, flags, skin tones), digit and whitespace runs, code,
contractions in mixed case, and the tokenizer's special tokens inside text."""
import random

WORDS = ["the", "The", "THE", "hello", "world", "naïve", "café", "Ünïcödé", "straße", "ﬁne", "Ǆemal", "ǅ",
         "Привет", "мир", "Γειά", "σου", "שלום", "مرحبا", "नमस्ते", "हिन्दी", "สวัสดี", "日本語", "中文字",
         "한국어", "カタカナ", "ひらがな", "𐌰𐌱𐌲", "𝐀𝐁𝐂", "e\u0301", "a\u0308\u0323", "ʼn"]  # letters, combining marks
NUMBERS = ["0", "7", "42", "123", "2024", "1234567", "3.14159", "١٢٣٤", "०१२", "Ⅻ", "ⅷ", "²³", "½", "①②",
           "𝟘𝟙", "፲"]
SYMBOLS = ["!", "?", ".", ",", "...", "—", "(", ")", "[]", "{}", "<>", "==", "->", "::", "#", "@", "$", "%",
           "&&", "||", "**", "//", "\"", "'", "`", "€", "©", "°", "🙂", "👍🏽", "👨\u200d👩\u200d👧", "❤\ufe0f",
           "🇫🇷", "\u200b", "\u00ad", "\ufeff", "\x7f", "\x1c", "\u180e"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", " \n", "\n ", " \r\n ", "\x0b", "\x0c",
          "\x85", "\xa0", "\u2009", "\u3000", "\u2028", "\u202f", "\u1680", " \t \n\t "]
CONTRACTIONS = ["'s", "'S", "'t", "'T", "'re", "'Re", "'RE", "'ve", "'VE", "'m", "'M", "'ll", "'LL", "'lL",
                "'d", "'D", "'ſ", "’s", "'x", "''", "'"]
CODE = ["def f(x):\n    return x ** 2\n", "if (a && b) { c++; }", "x = [1, 2, 3]", "for (int i=0;i<10;i++)",
        "#include <stdio.h>\n", "    \n\t\t", '{"key": "value", "n": 12}', "<div class=\"a\">b</div>",
        "SELECT * FROM t WHERE id=5;", "λx.x", "a_b-c", "https://ex.am/p?q=1&r=2"]


def varied_strings(count: int, specials: list[str], seed: int = 0) -> list[str]:
    """Fragments of every kind above and the tokenizer's special tokens (whole, cut and
    nested) glued together; every fifth string is their characters in random order instead."""
    pools = [WORDS, NUMBERS, SYMBOLS, SPACES, CONTRACTIONS, specials, CODE]
    rng = random.Random(seed)
    alphabet = sorted(set("".join(sum(pools, []))))
    out = []
    for i in range(count):
        if i % 5 == 4:
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))
        else:
            out.append("".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 10))))
    return out


# Text not in Unicode NFC, on purpose: NFD forms (accented Latin, Greek, Vietnamese;
# Hangul as conjoining jamo), combining marks out of canonical order, singletons that
# NFC replaces (U+212B ANGSTROM SIGN, U+2126 OHM SIGN, U+212A KELVIN SIGN, U+0340, a CJK
# compatibility ideograph), U+0344 (two marks in NFC), U+0F73, Hangul LV + T jamo,
# U+1D160 (excluded from composition: three code points), a mark after a character
# it does not compose with, and '>' + U+0338 (NFC: U+226F, but not after a special
# token's '>': the library normalizes the text between special tokens on its own)
NOT_NFC = ["cafe\u0301", "nai\u0308ve", "U\u0308ni\u0308co\u0308de\u0301", "α\u0313\u0301λφα", "ρ\u0314ω\u0342",
           "Tie\u0302\u0301ng Vie\u0323\u0302t", "đa\u0302\u0300u", "\u1112\u1161\u11ab\u1100\u116e\u11a8\u110b\u1165",
           "a\u0301\u0316", "e\u0302\u0323", "o\u031b\u0301\u0323", "\u212b", "\u2126", "\u212a", "\u0340",
           "\uf900", "\u0344", "x\u0344", "\u0f73", "\uac00\u11a8", "\U0001d160", "q\u0301", ">\u0338",
           "\u0301" * 40, "A\u030a\u0301"]


def not_nfc_strings(count: int, specials: list[str], seed: int = 0) -> list[str]:
    """Strings of NOT_NFC's fragments, glued to letters, spaces and the tokenizer's
    special tokens (a fragment right after one too)."""
    pools = [NOT_NFC, NOT_NFC, WORDS, SPACES, specials]
    rng = random.Random(seed)
    return [s + f for s in specials for f in NOT_NFC] + \
        ["".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 8))) for _ in range(count)]
