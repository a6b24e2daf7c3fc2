"""A Hugging Face `chat_template` (tokenizer_config.json) recognised as one of the
layouts runtime_c/chat.c renders, and the data that layout takes from the template.

The template is Jinja code; the board has no Jinja. So the compile names the family
by the template's own markers, and finds what the family leaves to the template by
rendering it here (in a sandbox, as transformers does) for a probe conversation:
- ChatML (SmolLM2, Qwen2.5, Qwen3): the system turn the template inserts when the
  conversation has none (SmolLM2's and Qwen2.5's name the model), and what it writes
  after the assistant's header for a reply without thinking (Qwen3's empty
  `<think>` block, with enable_thinking false);
- Zephyr (TinyLlama's chat): what closes each message (the EOS text, "</s>");
- Gemma, Llama 3, Llama 2: nothing; their layouts are fixed.
A template with none of the markers, or one that does not render, is kept as a refusal:
the build compiles, and chat names the reason.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import jinja2
import jinja2.ext
import jinja2.sandbox

# LLM_CHAT_FAMILY order; "unknown": a template chat refuses
CHAT_FAMILIES = ("llama2", "llama3", "chatml", "gemma", "zephyr", "unknown")
MARKERS = {  # each family's tokens, all present in its template
    "chatml": ("<|im_start|>", "<|im_end|>"),
    "gemma": ("<start_of_turn>", "<end_of_turn>"),
    "llama3": ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    "llama2": ("[INST]", "[/INST]"),
    "zephyr": ("<|user|>", "<|assistant|>"),
}
TEMPLATE_BYTES = 96  # what a layout adds around the system prompt and the user's text, at most (ChatML: 80)
PROBE = "\x01probe\x01"  # a user text no template writes itself


@dataclass
class ChatFormat:
    family: str                # one of CHAT_FAMILIES
    default_system: str = ""   # the system prompt the template writes when none is given
    reply_prefix: str = ""     # what the template writes after the assistant's header
    turn_end: str = ""         # what closes each message before its "\n" (Zephyr's EOS text)
    refusal: str = ""          # family "unknown": why chat is refused

    @property
    def family_index(self) -> int:
        return CHAT_FAMILIES.index(self.family)

    @property
    def template_bytes(self) -> int:
        """The bytes of a rendered turn besides the system prompt and the user's text."""
        return TEMPLATE_BYTES + sum(len(s.encode()) for s in (self.default_system, self.reply_prefix,
                                                              self.turn_end, self.turn_end))


def by_kind(kind: str) -> ChatFormat:
    """A tokenizer without a chat_template: Llama 2's layout for SentencePiece, Llama 3's for tiktoken."""
    return ChatFormat("llama3" if kind == "tiktoken" else "llama2")


def _render(template: str, config: dict, **variables) -> str:
    def raise_exception(message):
        raise jinja2.TemplateError(message)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False)
    env.globals["raise_exception"] = raise_exception
    names = {k: (v.get("content") if isinstance(v, dict) else v) or "" for k, v in config.items()
             if k.endswith("_token")}
    return env.from_string(template).render(**names, **variables)


def _chatml(template: str, config: dict) -> ChatFormat:
    user_turn = f"<|im_start|>user\n{PROBE}<|im_end|>\n<|im_start|>assistant\n"
    plain = _render(template, config, messages=[{"role": "user", "content": PROBE}], add_generation_prompt=True)
    no_thinking = _render(template, config, messages=[{"role": "user", "content": PROBE}],
                          add_generation_prompt=True, enable_thinking=False)
    before, turn, reply_prefix = no_thinking.partition(user_turn)
    if not turn or not plain.startswith(before):
        return ChatFormat("unknown", refusal="chat_template renders a ChatML user turn in another layout "
                                             "than <|im_start|>user\\n...<|im_end|>\\n<|im_start|>assistant\\n")
    start, end = "<|im_start|>system\n", "<|im_end|>\n"
    if before and not (before.startswith(start) and before.endswith(end)):
        return ChatFormat("unknown", refusal=f"chat_template writes {before!r} before the first ChatML user turn")
    return ChatFormat("chatml", default_system=before[len(start):-len(end)] if before else "",
                      reply_prefix=reply_prefix)


def _zephyr(template: str, config: dict) -> ChatFormat:
    user = _render(template, config, messages=[{"role": "user", "content": PROBE}], add_generation_prompt=True)
    end = user.removeprefix(f"<|user|>\n{PROBE}").removesuffix("\n<|assistant|>\n")
    layout = f"<|system|>\n{PROBE}{end}\n<|user|>\n{PROBE}{end}\n<|assistant|>\n"
    both = _render(template, config, messages=[{"role": "system", "content": PROBE}, {"role": "user", "content": PROBE}],
                   add_generation_prompt=True)
    if not end or "\n" in end or both != layout:
        return ChatFormat("unknown", refusal="chat_template renders Zephyr's turns in another layout than "
                                             "<|user|>\\n...</s>\\n<|assistant|>\\n")
    return ChatFormat("zephyr", turn_end=end)


def recognise(template, config: dict) -> ChatFormat:
    """The ChatFormat of tokenizer_config.json's chat_template (`config`: the file)."""
    if isinstance(template, list):  # a list of named templates: the default one is chat's
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default")
    if not isinstance(template, str):
        return ChatFormat("unknown", refusal="chat_template is not a template string")
    family = next((f for f, marks in MARKERS.items() if all(m in template for m in marks)), None)
    if family is None:
        return ChatFormat("unknown", refusal="chat_template is none of ChatML, Gemma, Zephyr, Llama 3 or Llama 2")
    if family not in ("chatml", "zephyr"):
        return ChatFormat(family)
    try:
        return (_chatml if family == "chatml" else _zephyr)(template, config)
    except Exception as e:  # the file's own code failed, however it did (an index, a raise_exception): refused
        why = " ".join(str(e).split())  # one line
        return ChatFormat("unknown", refusal=f"chat_template does not render ({type(e).__name__}: {why})")
