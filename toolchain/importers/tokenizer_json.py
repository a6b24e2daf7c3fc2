"""Hugging Face tokenizer.json (the `tokenizers` library's file) into a Tokenizer.

Two shapes of BPE are read, each onto an encoder the runtime already has:
- byte-level BPE (GPT-2, SmolLM2, Qwen2, Llama 3): a ByteLevel pre-tokenizer, alone
  (GPT-2's pattern), after Digits (SmolLM2) or after a Split by Qwen2's or Llama 3's
  pattern -> the "tiktoken" kind with that pattern; an NFC normalizer (Qwen2's), the
  only one taken there, sets Tokenizer.nfc. Tokens are spelled in GPT-2's
  bytes-to-characters map, undone here;
- SentencePiece-style BPE with byte fallback (Llama 2, TinyLlama, Gemma: '▁' for
  spaces, by a Replace normalizer, with a Prepend normalizer or not, or by a Metaspace
  pre-tokenizer) -> the "sentencepiece" kind.
tokenizer.json ranks merges, which are pairs, not tokens. Where the merges are every
split of every token into two tokens, each token's together (transformers' conversion
of a SentencePiece model or tiktoken ranks), merging by the token's score gives the
library's result; otherwise the runtime checks that a pair is a merge by its left part's
length and ranks it by the merge's rank (Tokenizer.merge_splits, extra_merges). Added tokens are
recognised whole in text, at their own ids. Anything else is refused by name.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..errors import ToolchainError
from .chat_template import ChatFormat, recognise
from .tokenizer import Tokenizer

SPACE_MARK = "\u2581"  # SentencePiece's '▁'
PATTERNS = {  # the Split regexes (and GPT-2's, ByteLevel's own) the C matches by hand
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+": "llama3",
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
    r"\s*[\r\n]+|\s+(?!\S)|\s+": "qwen2",
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+": "gpt2",
}
# when no file names them (the first of each present)
BOS_NAMES = ("<s>", "<bos>", "<|begin_of_text|>", "<|startoftext|>")
EOS_NAMES = ("<|endoftext|>", "</s>", "<eos>", "<|end_of_text|>")


def byte_level_alphabet() -> dict[str, int]:
    """GPT-2's map from the character spelling each byte in a byte-level token to the
    byte: printable Latin-1 bytes stand for themselves, the other 68 for U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{chr(b): b for b in printable}, **{chr(256 + i): b for i, b in enumerate(others)}}


def _describe(component: dict) -> str:
    """A pre-tokenizer's or normalizer's name as an error names it: Sequence[Digits, ByteLevel]."""
    kind = component.get("type")
    parts = component.get("pretokenizers") or component.get("normalizers")
    return f"{kind}[{', '.join(map(_describe, parts))}]" if kind == "Sequence" and parts else str(kind)


def _steps(component: dict | None, key: str) -> list[dict]:
    if component is None:
        return []
    return list(component.get(key) or []) if component.get("type") == "Sequence" else [component]


class _Reader:
    def __init__(self, data: bytes, path: Path):
        self.path = path
        try:
            self.j = json.loads(data)
        except (ValueError, UnicodeDecodeError) as e:
            raise self.error(f"not valid JSON ({e})") from None
        if not isinstance(self.j, dict) or not isinstance(self.j.get("model"), dict):
            raise self.error("a tokenizer.json without a model")
        self.model = self.j["model"]
        for key in ("normalizer", "pre_tokenizer", "post_processor"):
            self.check_component(self.j.get(key), key)
        added = self.j.get("added_tokens")
        if added is not None and not (isinstance(added, list) and all(isinstance(t, dict) for t in added)):
            raise self.error("added_tokens is not a list of tokens")
        template = (self.j.get("post_processor") or {}).get("single")
        if template is not None and not (isinstance(template, list) and all(isinstance(t, dict) for t in template)):
            raise self.error("the post-processor's template is not a list of steps")

    def check_component(self, component, key: str) -> None:
        """A normalizer, pre-tokenizer or post-processor is null or an object, its
        Sequence's steps objects too, so that reading it can only fail by name."""
        if component is None:
            return
        if not isinstance(component, dict):
            raise self.error(f"{key} is not an object")
        steps = component.get("pretokenizers") or component.get("normalizers") or component.get("processors")
        if steps is not None:
            if not isinstance(steps, list):
                raise self.error(f"{key}'s steps are not a list")
            for step in steps:
                if step is None:
                    raise self.error(f"{key} has a null step")
                self.check_component(step, key)

    def error(self, message: str) -> ToolchainError:
        return ToolchainError(f"{self.path}: {message}")

    def unsupported(self, what: str, component: dict) -> ToolchainError:
        return self.error(f"{what} {_describe(component)} is not supported")

    # --- what kind of BPE ---

    def byte_level_pattern(self) -> str | None:
        """The PRETOKENIZERS name of a byte-level pre-tokenizer, None if there is no ByteLevel."""
        pre = self.j.get("pre_tokenizer")
        steps = _steps(pre, "pretokenizers")
        types = [s.get("type") for s in steps]
        if "ByteLevel" not in types:
            return None
        byte_level = steps[-1]
        if types[-1] != "ByteLevel":
            raise self.unsupported("pre-tokenizer", pre)
        if byte_level.get("add_prefix_space"):
            raise self.error("ByteLevel's add_prefix_space is not supported")
        own_regex = byte_level.get("use_regex", True)
        if types == ["ByteLevel"] and own_regex:
            return "gpt2"
        if types == ["Digits", "ByteLevel"] and steps[0].get("individual_digits") and own_regex:
            return "gpt2-digits"
        if types == ["Split", "ByteLevel"] and not own_regex:
            split = steps[0]
            regex = split.get("pattern", {}).get("Regex") if isinstance(split.get("pattern"), dict) else None
            regex = regex if isinstance(regex, str) else None
            if split.get("behavior") == "Isolated" and not split.get("invert") and regex in PATTERNS:
                return PATTERNS[regex]
            if regex not in PATTERNS:
                raise self.error(f"the pre-tokenizer's Split pattern {regex!r} is not GPT-2's, Qwen2's or Llama 3's")
        raise self.unsupported("pre-tokenizer", pre)

    def byte_level_nfc(self) -> bool:
        """Whether a byte-level BPE's text is normalized to NFC first (Qwen2's); no normalizer: False."""
        normalizer = self.j.get("normalizer")
        if normalizer is not None and [s.get("type") for s in _steps(normalizer, "normalizers")] != ["NFC"]:
            raise self.unsupported("normalizer", normalizer)
        return normalizer is not None

    def dummy_prefix(self) -> tuple[str, bool]:
        """A SentencePiece-style file's DUMMY_PREFIXES name (where its '▁' goes) and
        whether it goes before a space too (not Metaspace's way)."""
        normalizer, pre = self.j.get("normalizer"), self.j.get("pre_tokenizer")
        replace_space = {"type": "Replace", "pattern": {"String": " "}, "content": SPACE_MARK}
        split_on_space = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False}
        if pre == split_on_space and replace_space in _steps(normalizer, "normalizers"):
            pre = None  # Gemma's: no space is left to split on once the normalizer has replaced them
        if pre is None:
            steps = _steps(normalizer, "normalizers")
            if steps == [replace_space]:
                return "none", True
            if steps == [{"type": "Prepend", "prepend": SPACE_MARK}, replace_space]:
                return "segment", True
            raise (self.unsupported("normalizer", normalizer) if normalizer is not None else
                   self.error("a BPE with neither a ByteLevel pre-tokenizer nor SentencePiece's '▁' is not supported"))
        if normalizer is not None:
            raise self.unsupported("normalizer (beside a pre-tokenizer)", normalizer)
        if pre.get("type") != "Metaspace" or pre.get("replacement") != SPACE_MARK or pre.get("split", True):
            raise self.unsupported("pre-tokenizer", pre)
        scheme = pre.get("prepend_scheme") or ("always" if pre.get("add_prefix_space", True) else "never")
        if scheme not in ("first", "always", "never"):
            raise self.error(f"Metaspace's prepend_scheme {scheme!r} is not supported")
        return {"first": "text", "always": "segment", "never": "none"}[scheme], False

    def check_model(self, byte_level: bool) -> None:
        model = self.model
        if model.get("type", "BPE") != "BPE":
            raise self.error(f"model type {model.get('type')} is not supported (only BPE)")
        for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
            if model.get(key):
                raise self.error(f"the BPE model's {key} {model[key]!r} is not supported")
        if byte_level and model.get("byte_fallback"):
            raise self.error("byte_fallback in a byte-level BPE is not supported")
        if not byte_level and not model.get("byte_fallback"):
            raise self.error("a SentencePiece-style BPE without byte_fallback is not supported")
        if not byte_level and model.get("ignore_merges"):
            raise self.error("ignore_merges in a SentencePiece-style BPE is not supported")

    # --- the vocabulary ---

    def added_tokens(self) -> dict[int, str]:
        added = {}
        for token in self.j.get("added_tokens") or []:
            content, token_id = token.get("content"), token.get("id")
            if not isinstance(content, str) or not content or not isinstance(token_id, int) or token_id < 0:
                raise self.error(f"added token {token!r} has no content or id")
            for option in ("single_word", "lstrip", "rstrip"):
                if token.get(option):
                    raise self.error(f"added token {content!r}: {option} is not supported")
            added[token_id] = content
        return added

    def pieces(self, byte_level: bool, added: dict[int, str]) -> list[bytes]:
        vocab = self.model.get("vocab")
        if not isinstance(vocab, dict) or not vocab:
            raise self.error("the BPE model has no vocabulary")
        alphabet = byte_level_alphabet()
        by_id: dict[int, bytes] = {}
        for text, token_id in vocab.items():
            if not isinstance(token_id, int) or token_id < 0:
                raise self.error(f"token {text!r} has id {token_id!r}")
            if byte_level:
                try:
                    by_id[token_id] = bytes(alphabet[c] for c in text)
                except KeyError:
                    raise self.error(f"token {text!r} is not spelled in the byte-level alphabet") from None
            else:
                by_id[token_id] = text.replace(SPACE_MARK, " ").encode()
        by_id.update({i: content.encode() for i, content in added.items()})
        n = max(by_id) + 1
        if len(by_id) != n:
            missing = next(i for i in range(n) if i not in by_id)
            raise self.error(f"no token has id {missing} (the ids must be 0..{n - 1})")
        pieces = [by_id[i] for i in range(n)]
        first = {}
        for i, piece in enumerate(pieces):
            if first.setdefault(piece, i) != i:
                raise self.error(f"tokens {first[piece]} and {i} are both {piece!r}")
        return pieces

    def merges(self) -> list[tuple[str, str]]:
        out, merges = [], self.model.get("merges") or []
        if not isinstance(merges, list):
            raise self.error("the BPE model's merges are not a list")
        for merge in merges:
            pair = tuple(merge.split(" ")) if isinstance(merge, str) else tuple(merge) if isinstance(merge, list) else ()
            if len(pair) != 2 or not all(isinstance(p, str) for p in pair):
                raise self.error(f"merge {merge!r} is not two tokens")
            out.append(pair)
        return out

    def special_id(self, name: str | None, ids: dict[str, int]) -> int | None:
        if name is not None and (not isinstance(name, str) or name not in ids):
            raise self.error(f"special token {name!r} is not in the vocabulary")
        return None if name is None else ids[name]

    def config(self) -> dict:
        """tokenizer_config.json beside the file, if there is one."""
        config_path = self.path.with_name("tokenizer_config.json")
        if not config_path.is_file():
            return {}
        try:
            config = json.loads(config_path.read_text())
        except (ValueError, UnicodeDecodeError) as e:
            raise ToolchainError(f"{config_path}: not valid JSON ({e})") from None
        if not isinstance(config, dict):
            raise ToolchainError(f"{config_path}: not a tokenizer_config.json (no object)")
        return config

    def chat_format(self) -> ChatFormat | None:
        """The layout of the chat_template in tokenizer_config.json, or in chat_template.jinja
        beside it (where transformers now saves it); None without one."""
        config = self.config()
        jinja_path = self.path.with_name("chat_template.jinja")
        if "chat_template" in config:
            return recognise(config["chat_template"], config)
        if jinja_path.is_file():
            try:
                return recognise(jinja_path.read_text(), config)
            except UnicodeDecodeError:
                raise ToolchainError(f"{jinja_path}: not UTF-8 text") from None
        return None

    def bos_eos(self, ids: dict[str, int]) -> tuple[int, int]:
        """From tokenizer_config.json beside the file, else the post-processor's template
        (a special token before the text is BOS, one after it EOS), else the usual names;
        without a BOS (GPT-2, Qwen), the EOS (<|endoftext|>) starts text too."""
        config = self.config()

        def named(key: str) -> str | None:
            value = config.get(key)
            return value.get("content") if isinstance(value, dict) else value

        template = (self.j.get("post_processor") or {}).get("single") or []
        specials = [(i, (step["SpecialToken"] or {}).get("id")) for i, step in enumerate(template)
                    if isinstance(step.get("SpecialToken"), dict)]
        before = next((name for i, name in specials if i == 0), None)
        after = next((name for i, name in specials if i == len(template) - 1 and i > 0), None)
        eos = self.special_id(named("eos_token") or after or next((n for n in EOS_NAMES if n in ids), None), ids)
        if eos is None:
            raise self.error("no EOS token: put the model's tokenizer_config.json beside it")
        bos = self.special_id(named("bos_token") or before or next((n for n in BOS_NAMES if n in ids), None), ids)
        return (eos if bos is None else bos), eos


def _all_splits_scores(vocab: dict[str, int], merges: list[tuple[str, str]],
                       n: int) -> tuple[list[float], str] | None:
    """If the merges are every split of every token into two tokens, each token's
    together (tokenizer.json converted from SentencePiece or tiktoken): scores that make
    merging by score (llama2.c's, tiktoken's: any pair joining into a token) give the
    library's result, and the MERGE_TIES name of the order of each token's merges. Else None."""
    joins = {(t[:i], t[i:]) for t in vocab for i in range(1, len(t)) if t[:i] in vocab and t[i:] in vocab}
    if len(merges) != len(joins) or set(merges) != joins:
        return None
    scores, seen, groups = [0.0] * n, set(), []
    for rank, (a, b) in enumerate(merges):
        token = vocab[a + b]
        if groups and groups[-1][0] == token:
            groups[-1][1].append(a)
        elif token in seen:
            return None  # the token's merges are not together
        else:
            seen.add(token)
            scores[token] = -float(rank) - 1.0  # below every unmerged token's 0, unequal for two tokens
            groups.append((token, [a]))
    orders = {"shorter-left": len, "left-id": vocab.get}
    several = [lefts for _, lefts in groups if len(lefts) > 1]
    if not several:
        return scores, "leftmost"
    for name, key in orders.items():
        if all(sorted(lefts, key=key) == lefts and len({key(x) for x in lefts}) == len(lefts) for lefts in several):
            return scores, name
    return None


def _pair_scores(reader: _Reader, pieces: list[bytes], vocab: dict[str, int], merges: list[tuple[str, str]]
                 ) -> tuple[list[float], list[int], list[tuple[int, int, float]]]:
    """Each token's score (-rank of the first merge that makes it) and that merge's left
    part's length; the other merges making a token already made, sorted (Tokenizer.extra_merges)."""
    scores, splits, extra, seen = [0.0] * len(pieces), [0] * len(pieces), [], set()
    for rank, (a, b) in enumerate(merges):
        ids = [vocab.get(a), vocab.get(b), vocab.get(a + b)]
        if None in ids:
            raise reader.error(f"merge {rank} ({a!r}, {b!r}) names a token not in the vocabulary")
        if (a, b) in seen:
            raise reader.error(f"merge {rank} ({a!r}, {b!r}) is there twice")
        seen.add((a, b))
        left, _, token = ids
        if not splits[token]:
            scores[token], splits[token] = -float(rank), len(pieces[left])
        else:
            extra.append((token, len(pieces[left]), -float(rank)))
    return scores, splits, sorted(extra)


def read_tokenizer_json(data: bytes, path: Path) -> Tokenizer:
    reader = _Reader(data, path)
    pattern = reader.byte_level_pattern()
    byte_level = pattern is not None
    if byte_level:
        nfc = reader.byte_level_nfc()
        dummy_prefix = (Tokenizer([], []).dummy_prefix, True)
    else:
        dummy_prefix = reader.dummy_prefix()
    reader.check_model(byte_level)
    added = reader.added_tokens()
    pieces = reader.pieces(byte_level, added)
    vocab = dict(reader.model["vocab"])
    merges = reader.merges()
    if byte_level and len({p for p in pieces if len(p) == 1}) != 256:
        raise reader.error("a byte-level BPE needs every byte as a token")
    kind = dict(kind="tiktoken", pretokenizer=pattern, whole_pieces=bool(reader.model.get("ignore_merges")),
                nfc=nfc) \
        if byte_level else dict(kind="sentencepiece", dummy_prefix=dummy_prefix[0], dummy_prefix_on_space=dummy_prefix[1])
    all_splits = _all_splits_scores(vocab, merges, len(pieces))
    if all_splits is not None:
        (scores, ties), merge_splits, extra = all_splits, None, []
    else:
        (scores, merge_splits, extra), ties = _pair_scores(reader, pieces, vocab, merges), "leftmost"
    ids = {**vocab, **{content: i for i, content in added.items()}}
    bos, eos = reader.bos_eos(ids)
    return Tokenizer(pieces, scores, bos_id=bos, eos_id=eos, special_ids=sorted(added), merge_splits=merge_splits,
                     extra_merges=extra, merge_ties=ties, chat=reader.chat_format(), **kind)
