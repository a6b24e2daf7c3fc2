"""Hugging Face tokenizer.json: the C encoder against the `tokenizers` library itself
on thousands of varied strings, for byte-level BPEs trained here with SmolLM2's,
GPT-2's and Qwen2's pre-tokenizers (Qwen2's with its NFC normalizer, also on text
made non-NFC on purpose), for Llama 2's SentencePiece model and Llama 3's
tiktoken ranks converted by transformers, and decoding; the C's NFC against
unicodedata on every assigned code point; merges as pairs; special tokens anywhere in
the id space; BOS/EOS; and what is refused."""
import ctypes
import json
import random
import re
import struct
import unicodedata
import zlib

import pytest
from click.testing import CliRunner
from tokenizers import AddedToken, Tokenizer, models, normalizers, pre_tokenizers
from transformers.convert_slow_tokenizer import TikTokenConverter

from toolchain.cli import main
from toolchain.compile.compiler import compile_project
from toolchain.config import ModelConfig, random_model
from toolchain.errors import ToolchainError
from toolchain.host.emulator import Emulator
from toolchain.host.encode import host_encoder
from toolchain.importers.tokenizer import llama3_special_tokens, load_tokenizer
from toolchain.importers.unicode_nfc import nfc_tables
from toolchain.target.build import build_project
from toolchain.target.run import run_project
from trained_tokenizers import BYTE_LEVEL, CHAT, QWEN2, TOOL, special_pool
from varied_text import not_nfc_strings, varied_strings

STRINGS = 2000


def saved(tk: Tokenizer, directory) -> Tokenizer:
    directory.mkdir()
    tk.save(str(directory / "tokenizer.json"))
    return tk


def mismatches(emulator, reference: Tokenizer, strings: list[str]) -> list:
    """The strings whose C ids differ from the library's."""
    return [s for s in strings if emulator.encode(s, bos=False) != reference.encode(s).ids]


def normalized(s: str, specials: list[str], nfc: bool) -> str:
    """`s` as the library normalizes it: in NFC if `nfc`, each stretch between special
    tokens on its own."""
    if not nfc:
        return s
    parts = re.split("(" + "|".join(map(re.escape, sorted(specials, key=len, reverse=True))) + ")", s)
    return "".join(p if p in specials else unicodedata.normalize("NFC", p) for p in parts)


@pytest.mark.parametrize("pattern", list(BYTE_LEVEL))
def test_byte_level_bpe_equals_tokenizers(pattern, encoder_cache, tmp_path):
    reference = saved(BYTE_LEVEL[pattern](), tmp_path / pattern)
    tok = load_tokenizer(tmp_path / pattern)  # the directory, as a model's
    assert (tok.kind, tok.pretokenizer, tok.whole_pieces) == ("tiktoken", pattern, False)
    assert tok.special_ids == [0, 1, 2, tok.vocab_size - 1] and tok.pieces[-1] == TOOL.encode()
    assert tok.merge_splits is not None and 3000 < sum(map(bool, tok.merge_splits)) < 4000
    assert tok.nfc == (pattern == "qwen2")  # Qwen2 normalizes to NFC, in C too
    emulator = host_encoder(tmp_path / pattern)
    strings = varied_strings(STRINGS, special_pool(CHAT + [TOOL])) + not_nfc_strings(300, CHAT + [TOOL])
    assert sum(not unicodedata.is_normalized("NFC", s) for s in strings) > 400
    wrong = mismatches(emulator, reference, strings)
    assert not wrong, f"{len(wrong)} of {len(strings)} differ, first: {wrong[:3]!r}"
    for s in strings:  # decoding is the tokens' bytes: the text as normalized
        text = normalized(s, CHAT + [TOOL], tok.nfc).encode()
        assert b"".join(emulator.decode(0, t) for t in emulator.encode(s, bos=False)) == text
    # special tokens inside text are cut out whole, wherever their ids are
    assert emulator.encode(f"<|im_start|>user\nHi{TOOL}<|im_end|>", bos=False)[:1] == [1]
    assert emulator.encode(f"Hi{TOOL}<|im_end|>", bos=False)[-2:] == [tok.vocab_size - 1, 2]


def sentencepiece_style(llama2, prepend: str, ties: str = "shorter-left") -> Tokenizer:
    """Llama 2's tokenizer.json with `prepend`'s dummy prefix and each token's merges in
    `ties` order: transformers' today, or by left id as transformers 4 wrote them."""
    vocab, merges = llama2
    left = len if ties == "shorter-left" else vocab.get  # (whichever order this transformers has)
    merges = sorted(merges, key=lambda m: (vocab[m[0] + m[1]], left(m[0])))
    tk = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    if prepend == "legacy":  # the Prepend normalizer: '▁' after every special token too
        tk.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    elif prepend == "gemma":  # no '▁' before the text, and a split on spaces that finds none
        tk.normalizer = normalizers.Replace(" ", "▁")
        tk.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous")
    else:
        tk.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme=prepend, split=False)
    tk.add_special_tokens([AddedToken(s, normalized=False, special=True) for s in ("<unk>", "<s>", "</s>")])
    return tk


@pytest.mark.parametrize("prepend, ties", [("first", "shorter-left"), ("legacy", "shorter-left"),
                                           ("gemma", "shorter-left"), ("first", "left-id")])
def test_sentencepiece_style_bpe_equals_tokenizers(prepend, ties, llama2, encoder_cache, tmp_path):
    reference = saved(sentencepiece_style(llama2, prepend, ties), tmp_path / prepend)
    (tmp_path / prepend / "tokenizer_config.json").write_text(json.dumps({"bos_token": "<s>", "eos_token": "</s>"}))
    tok = load_tokenizer(tmp_path / prepend / "tokenizer.json")
    assert (tok.kind, tok.merge_splits, tok.merge_ties, tok.bos_id, tok.eos_id) == ("sentencepiece", None, ties, 1, 2)
    assert tok.dummy_prefix == {"first": "text", "legacy": "segment", "gemma": "none"}[prepend]
    emulator = host_encoder(tok)
    strings = varied_strings(STRINGS, special_pool(["<s>", "</s>", "<unk>"]))
    wrong = mismatches(emulator, reference, strings)
    assert not wrong, f"{len(wrong)} of {len(strings)} differ, first: {wrong[:3]!r}"
    if prepend != "legacy":  # decoding gives the text back, after the '▁' put before it
        for s in strings:
            spaced = prepend == "first" and s and not s.startswith(" ") and \
                not any(s.startswith(x) for x in ("<s>", "</s>", "<unk>"))
            decoded = b"".join(emulator.decode(0, t) for t in emulator.encode(s, bos=False))
            assert decoded == (b" " if spaced else b"") + s.encode(), s
    # after BOS the dummy prefix's space is dropped, and only the dummy prefix's
    first = emulator.encode(" hi", bos=False)[0]
    piece = reference.id_to_token(first).replace("▁", " ")
    assert piece.startswith(" ") and emulator.decode(tok.bos_id, first) == (piece[prepend != "gemma":]).encode()


def test_llama3_tokenizer_json_equals_tokenizers(shared_models, encoder_cache, tmp_path):
    """Llama 3's ranks as transformers converts them: every split a merge, a token's merges
    ranked by their left part's id, and whole pieces first (ignore_merges)."""
    ranks = shared_models / "llama3-tokenizer.model"
    converted = TikTokenConverter(vocab_file=str(ranks)).converted()
    converted.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in llama3_special_tokens()])
    reference = saved(converted, tmp_path / "llama3")
    tok = load_tokenizer(tmp_path / "llama3")
    assert (tok.kind, tok.pretokenizer, tok.whole_pieces, tok.merge_ties) == ("tiktoken", "llama3", True, "left-id")
    assert (tok.pieces, tok.bos_id, tok.eos_id) == (load_tokenizer(ranks).pieces, 128000, 128001)
    strings = varied_strings(STRINGS, special_pool(["<|begin_of_text|>", "<|eot_id|>", "<|end_header_id|>"]))
    wrong = mismatches(host_encoder(tok), reference, strings)
    assert not wrong, f"{len(wrong)} of {len(strings)} differ, first: {wrong[:3]!r}"


def tiny_byte_level(merges: list[list[str]], tmp_path, name: str = "tiny", normalizer=None) -> Tokenizer:
    """A byte-level BPE over the bytes, ab, bc, abc and ea with `merges`, saved as tmp_path/name."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    vocab |= {"ab": 256, "bc": 257, "abc": 258, "ea": 259, "<|endoftext|>": 260}
    tk = Tokenizer(models.BPE(vocab, [tuple(m) for m in merges]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    if normalizer is not None:
        tk.normalizer = normalizer
    tk.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    return saved(tk, tmp_path / name)


def test_a_pair_joining_into_a_token_merges_only_if_it_is_a_merge(encoder_cache, tmp_path):
    """"abc" is made of "ab" + "c": "a" + "bc" joins into it too, but is no merge; then
    it is one too, of its own rank."""
    texts = ("abc", "abcabc", "xabc", "bc", "ab", "eabc", "abab<|endoftext|>abc")
    reference = tiny_byte_level([["b", "c"], ["a", "b"], ["ab", "c"]], tmp_path, "one")
    tok = load_tokenizer(tmp_path / "one")
    assert tok.merge_splits[258] == 2 and tok.merge_splits[257] == 1 and not tok.extra_merges
    emulator = host_encoder(tok)
    assert reference.encode("abc").tokens == ["a", "bc"]  # not "abc"
    assert [emulator.encode(t, bos=False) for t in texts] == [reference.encode(t).ids for t in texts]
    # "a" + "bc" after "e" + "a": in "eabc", "ea" wins
    reference = tiny_byte_level([["b", "c"], ["a", "b"], ["ab", "c"], ["e", "a"], ["a", "bc"]], tmp_path, "two")
    tok = load_tokenizer(tmp_path / "two")
    assert tok.extra_merges == [(258, 1, -4.0)]
    emulator = host_encoder(tok)
    assert reference.encode("abc").tokens == ["abc"] and reference.encode("eabc").tokens == ["ea", "bc"]
    assert [emulator.encode(t, bos=False) for t in texts] == [reference.encode(t).ids for t in texts]


def nfc_encoder(tmp_path) -> tuple[Tokenizer, list[bytes], Emulator]:
    """The tiny byte-level BPE with an NFC normalizer, its pieces, and the C encoder built around it."""
    reference = tiny_byte_level([["a", "b"]], tmp_path, "nfc", normalizers.NFC())
    return reference, load_tokenizer(tmp_path / "nfc").pieces, host_encoder(tmp_path / "nfc")


def test_c_nfc_equals_unicodedata_on_every_code_point(encoder_cache, tmp_path):
    """The C's NFC, read back from the tokens' bytes, is unicodedata's: on every assigned
    code point (U+0000 ends a C string) in runs of 8192 and their NFD forms, and on random
    sequences of the characters the tables hold, Hangul jamo and syllables among them."""
    _, pieces, emulator = nfc_encoder(tmp_path)
    tables = nfc_tables()
    config = (emulator.out / "llm_config.h").read_text()
    assert "#define LLM_NFC 1" in config and f"#define LLM_NFC_MAPPINGS {len(tables['mappings'])}" in config
    # the planned workspace has room for a prompt's normalized text besides its nodes
    capacity = emulator.prompt_capacity
    assert int(re.search(r"LLM_ENCODE_WORKSPACE_BYTES (\d+)u", config)[1]) >= 24 * capacity + capacity + 3

    def c_nfc(s: str | bytes) -> bytes:
        return b"".join(pieces[t] for t in emulator.encode(s, bos=False))

    assigned = [chr(c) for c in range(1, 0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    runs = ["".join(assigned[i:i + 8192]) for i in range(0, len(assigned), 8192)]
    wrong = [s[:1] for run in runs for s in (run, unicodedata.normalize("NFD", run))
             if c_nfc(s) != unicodedata.normalize("NFC", s).encode()]
    assert not wrong, f"{len(wrong)} runs differ, starting at {wrong[:3]!r}"
    held = {int(c) & 0x1FFFFF for c in tables["mappings"].ravel()} | set(map(int, tables["marks"]))
    held |= {*range(0x1100, 0x1113), *range(0x1161, 0x1176), *range(0x11A7, 0x11C3), 0xAC00, 0xAC01, 0xD7A3}
    held = sorted(held | {ord("a"), ord("e"), ord(">")})
    rng = random.Random(0)
    strings = ["".join(chr(rng.choice(held)) for _ in range(rng.randint(1, 12))) for _ in range(3000)]
    wrong = [s for s in strings for t in (s, unicodedata.normalize("NFD", s))
             if c_nfc(t) != unicodedata.normalize("NFC", t).encode()]
    assert not wrong, f"{len(wrong)} differ, first: {wrong[:3]!r}"
    # bytes that are not UTF-8 go through as they are, and break no composition around them
    assert c_nfc(b"\xc0\x80e\xcc\x81\xed\xa0\x80e\xff\xcc\x81") == b"\xc0\x80\xc3\xa9\xed\xa0\x80e\xff\xcc\x81"


def test_combining_marks_by_the_thousand(encoder_cache, tmp_path):
    """Thousands of combining marks in a row, in two classes to reorder, and text NFC
    makes three times as long: the library's ids, in a workspace of
    llm_encode_workspace_size's bytes; the longest prompt of marks main() takes, in the
    planned one. In a smaller one: -LLM_ERR_TOO_LONG, and nothing written past it."""
    reference, _, emulator = nfc_encoder(tmp_path)
    texts = ["e" + "\u0301\u0316" * 3000, "\U0001d160" * 2000, "\u0344" * 3000 + "a"]
    assert [emulator.encode(t, bos=False) for t in texts] == [reference.encode(t).ids for t in texts]
    lib, capacity = emulator.lib, emulator.prompt_capacity
    # the longest prompt main() takes, marks all but one, in the planned workspace as main() encodes it
    data = ("e" + "\u0301" * ((capacity - 4) // 2)).encode()
    tokens = (ctypes.c_int * capacity)()
    n = lib.llm_encode(data, 1, 0, tokens, capacity)
    assert len(data) + 3 >= capacity - 1 and tokens[:n] == [emulator.bos_id] + reference.encode(data.decode()).ids
    data = texts[0].encode()
    tokens = (ctypes.c_int * (len(data) + 3))()
    for lent in (4 * 3000, 100_000):  # too small to normalize in; then to merge the marks' piece in
        memory = ctypes.create_string_buffer(b"\xa5" * (lent + 64), lent + 64)
        lib.llm_encode_workspace(memory, lent)
        try:
            assert lib.llm_encode(data, 0, 0, tokens, len(tokens)) == -4  # LLM_ERR_TOO_LONG
        finally:
            lib.llm_encode_workspace(None, 0)
        assert memory.raw[lent:] == b"\xa5" * 64


def test_image_check_refuses_nfc_tables_that_lead_outside(encoder_cache, tmp_path):
    """A CRC-valid image whose NFC tables index past themselves (a second part past the
    marks, a composite past the mappings) is refused: -LLM_ERR_IMAGE."""
    _, _, emulator = nfc_encoder(tmp_path)
    lib, tables = emulator.lib, nfc_tables()
    lib.image_check.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    image = (emulator.out / "llm_image.bin").read_bytes()
    weights = (emulator.out / "llm_weights.c").read_text()
    at = {n: int(re.search(rf"\.nfc_{n} = AT\(\w+, (\d+)\)", weights)[1]) for n in ("mappings", "composites")}

    def checked(offset: int, value: bytes) -> int:
        data = bytearray(image)
        data[offset:offset + len(value)] = value
        data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
        return lib.image_check(ctypes.create_string_buffer(bytes(data), len(data)), len(data))

    assert checked(0, b"") == 0
    past_the_marks = int(tables["mappings"][0, 0]) & 0x1FFFFF | (len(tables["marks"]) + 1) << 21
    assert checked(at["mappings"], struct.pack("<I", past_the_marks)) == -1  # LLM_ERR_IMAGE
    assert checked(at["composites"] + 2 * 5, struct.pack("<H", len(tables["mappings"]))) == -1


@pytest.mark.slow  # a cross build and QEMU
@pytest.mark.parametrize("board", ["rpi4", "mps2-an386"])
def test_a_board_encodes_a_non_nfc_prompt_as_the_library(board, encoder_cache, tmp_path):
    """A model with the NFC tokenizer on a Raspberry Pi 4 and a Cortex-M4 under QEMU, as
    on the host: a prompt in NFD and out of canonical order is encoded to as many ids as the library's
    (main says how many), and printed back token by token as its NFC form (byte tokens
    and no merge of them here: the same bytes are the same ids)."""
    reference, _, _ = nfc_encoder(tmp_path)
    tok = load_tokenizer(tmp_path / "nfc")
    prompt = "Tie\u0302\u0301ng Vie\u0323\u0302t \u212b\u0344 \u1112\u1161\u11ab a\u0301\u0316"
    ids = reference.encode(prompt).ids
    nfc = unicodedata.normalize("NFC", prompt)
    assert b"".join(tok.pieces[i] for i in ids) == nfc.encode() and len(ids) < len(prompt.encode())
    model = random_model(ModelConfig(dim=16, n_layers=1, n_heads=2, n_kv_heads=2, vocab_size=tok.vocab_size,
                                     hidden_dim=32, max_seq_len=64))
    compile_project(model, tok, "host", tmp_path / "host", quant="f32")
    assert Emulator(tmp_path / "host").generate(prompt, steps=len(ids), temperature=0.0).text == nfc.encode()
    compile_project(model, tok, board, tmp_path / board, quant="f32")
    build_project(tmp_path / board)
    result = run_project(tmp_path / board, prompt, steps=len(ids), temperature=0.0, capture=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == nfc + "\n" and f"prompt tokens: {1 + len(ids)}\n" in result.stderr


def write_json(tmp_path, name: str, change) -> str:
    """The tiny tokenizer.json with `change` applied to its JSON, as tmp_path/name.json."""
    j = json.loads((tmp_path / "tiny" / "tokenizer.json").read_text())
    change(j)
    (tmp_path / f"{name}.json").write_text(json.dumps(j))
    return str(tmp_path / f"{name}.json")


REFUSED = {  # how to break a tokenizer.json -> what the one error line names
    "unigram": (lambda j: j["model"].update(type="Unigram"), "model type Unigram is not supported"),
    "whitespace": (lambda j: j.update(pre_tokenizer={"type": "Whitespace"}), "pre-tokenizer Whitespace is not supported"),
    "plain": (lambda j: j.update(pre_tokenizer=None), "a BPE with neither a ByteLevel pre-tokenizer nor SentencePiece's"),
    "bert": (lambda j: j.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "BertPreTokenizer"}, {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]}),
        r"pre-tokenizer Sequence\[BertPreTokenizer, ByteLevel\] is not supported"),
    "split": (lambda j: j.update(pre_tokenizer={"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\w+"}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}),
        "Split pattern '.*' is not GPT-2's, Qwen2's or Llama 3's"),
    "prefix": (lambda j: j["pre_tokenizer"].update(add_prefix_space=True), "ByteLevel's add_prefix_space is not"),
    "lowercase": (lambda j: j.update(normalizer={"type": "Lowercase"}), "normalizer Lowercase is not supported"),
    "lstrip": (lambda j: j["added_tokens"][0].update(lstrip=True), "'<|endoftext|>': lstrip is not supported"),
    "gap": (lambda j: j["model"]["vocab"].pop("ea"), "no token has id 259"),
    "merge": (lambda j: j["model"]["merges"].append(["c", "zz"]), "names a token not in the vocabulary"),
    "twice": (lambda j: j["model"]["merges"].append(["a", "b"]), r"merge 3 \('a', 'b'\) is there twice"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_unsupported_tokenizer_json_is_refused_by_name(case, tmp_path):
    tiny_byte_level([["a", "b"], ["b", "c"], ["ab", "c"]], tmp_path)
    change, message = REFUSED[case]
    path = write_json(tmp_path, case, change)
    with pytest.raises(ToolchainError, match=message) as e:
        load_tokenizer(path)
    assert "\n" not in str(e.value) and path in str(e.value)


def json_paths(o, prefix=()):
    """Where a value sits in a JSON object, as key paths, a few items of each list."""
    yield prefix
    items = list(o.items()) if isinstance(o, dict) else list(enumerate(o[:3])) if isinstance(o, list) else []
    for key, value in items:
        yield from json_paths(value, prefix + (key,))


def test_malformed_tokenizer_json_is_a_one_line_error(tmp_path):
    """Any value anywhere replaced by one of another shape: a tokenizer or one error line."""
    tiny_byte_level([["a", "b"], ["b", "c"], ["ab", "c"]], tmp_path)
    original = json.loads((tmp_path / "tiny" / "tokenizer.json").read_text())
    original["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": QWEN2}, "behavior": "Isolated", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]}
    original["post_processor"] = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "ab"}}]}
    places = [p for p in json_paths(original) if p and p[:2] != ("model", "vocab") or len(p) == 3]
    junk = [None, 0, 1.5, "x", [], {}, ["a"], [["a"]], {"type": "Sequence", "pretokenizers": [None]}, {"Regex": 3}]
    rng = random.Random(0)
    for _ in range(300):
        j, place = json.loads(json.dumps(original)), rng.choice(places)
        parent = j
        for key in place[:-1]:
            parent = parent[key]
        parent[place[-1]] = rng.choice(junk)
        (tmp_path / "tiny" / "tokenizer.json").write_text(json.dumps(j))
        try:
            load_tokenizer(tmp_path / "tiny")
        except ToolchainError as e:
            assert "\n" not in str(e), place


def test_bad_files_and_directories_are_one_line_errors(tmp_path):
    (tmp_path / "broken.json").write_text('{"model": ')
    (tmp_path / "empty").mkdir()
    for path, message in ((tmp_path / "broken.json", "not valid JSON"),
                          (tmp_path / "empty", "a directory without a tokenizer.json")):
        result = CliRunner().invoke(main, ["tokenizer", "encode", str(path), "hi"])
        assert result.exit_code == 1 and result.output.count("\n") == 1 and message in result.output


def test_bos_and_eos_come_from_the_files(tmp_path):
    tiny_byte_level([["a", "b"], ["b", "c"], ["ab", "c"]], tmp_path)
    assert (load_tokenizer(tmp_path / "tiny").bos_id, load_tokenizer(tmp_path / "tiny").eos_id) == (260, 260)
    template = {"type": "TemplateProcessing", "special_tokens": {},
                "single": [{"SpecialToken": {"id": "ab", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "bc", "type_id": 0}}], "pair": []}
    tok = load_tokenizer(write_json(tmp_path, "template", lambda j: j.update(post_processor=template)))
    assert (tok.bos_id, tok.eos_id) == (256, 257)
    (tmp_path / "tiny" / "tokenizer_config.json").write_text(json.dumps(
        {"bos_token": None, "eos_token": {"content": "abc", "special": True}}))
    assert (load_tokenizer(tmp_path / "tiny").bos_id, load_tokenizer(tmp_path / "tiny").eos_id) == (258, 258)


def test_only_byte_level_builds_carry_a_pattern(llama2, encoder_cache, tmp_path):
    """llm_config.h names the pattern of a byte-level build and nothing of it in a
    SentencePiece-style one, whose image has no Unicode table nor merge table."""
    tiny_byte_level([["a", "b"], ["b", "c"], ["ab", "c"]], tmp_path)
    byte_level = host_encoder(tmp_path / "tiny")
    config = (byte_level.out / "llm_config.h").read_text()
    assert "#define LLM_PRETOKENIZER 2" in config and "#define LLM_MERGE_PAIRS 1" in config
    assert "#define LLM_N_SPECIAL 1" in config and "#define LLM_NFC 0" in config  # no NFC normalizer: no tables
    assert f"#define LLM_ENCODE_WORKSPACE_BYTES {24 * byte_level.prompt_capacity}u" in config  # nor room for it
    weights = (byte_level.out / "llm_weights.c").read_text()
    assert ".merge_splits" in weights and ".nfc_" not in weights
    saved(sentencepiece_style(llama2, "first"), tmp_path / "sp")
    sentencepiece = host_encoder(tmp_path / "sp")
    config = (sentencepiece.out / "llm_config.h").read_text()
    assert "LLM_PRETOKENIZER" not in config and "LLM_CHAR_CLASS_RUNS" not in config
    assert "#define LLM_MERGE_PAIRS 0" in config and "#define LLM_DUMMY_PREFIX_ON_SPACE 0" in config
    weights = (sentencepiece.out / "llm_weights.c").read_text()
    assert ".char_classes" not in weights and ".merge_splits" not in weights and ".special_ids" in weights


def test_export_refuses_what_tokenizer_bin_cannot_hold(tmp_path):
    tiny_byte_level([["a", "b"], ["b", "c"], ["ab", "c"]], tmp_path)
    result = CliRunner().invoke(main, ["tokenizer", "export", str(tmp_path / "tiny"), "-o", str(tmp_path / "t.bin")])
    assert result.exit_code == 1 and "no tokenizer.bin form" in result.output and not (tmp_path / "t.bin").exists()
