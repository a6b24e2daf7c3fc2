"""Chat templates read from tokenizer_config.json: the emulator's tokens for a system
prompt and two user turns (the first reply given) equal transformers'
apply_chat_template with the same template string, for ChatML (SmolLM2's and
Qwen2.5's templates, on byte-level BPEs trained here), Gemma 3's and TinyLlama's Zephyr
(on SentencePiece-style BPEs); a template llmtool does not know compiles, and chat refuses it."""
import json
import subprocess
import sys

import pytest
from tokenizers import AddedToken, Tokenizer
from transformers import PreTrainedTokenizerFast

from chat_templates import ALPACA, GEMMA3, QWEN25, QWEN3_GENERATION, SMOLLM2, ZEPHYR
from test_tokenizer_json import sentencepiece_style
from toolchain.errors import ToolchainError
from toolchain.host.encode import host_encoder
from toolchain.importers.chat_template import recognise
from toolchain.importers.tokenizer import load_tokenizer
from trained_tokenizers import BYTE_LEVEL, model_directory

SYSTEM = "You are a kind storyteller."
FIRST, REPLY, SECOND = "Tell me a story about a cat.", "Once upon a time, a cat sat on a mat.", " What did it eat? "


def gemma(llama2) -> Tokenizer:
    """Llama 2's vocabulary in Gemma's tokenizer.json pipeline (no dummy prefix, byte
    fallback), with Gemma's <bos>, <eos> and turn tokens added after it."""
    tk = sentencepiece_style(llama2, "gemma")
    tk.add_special_tokens([AddedToken(s, normalized=False, special=True)
                           for s in ("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>")])
    return tk


# (the tokenizer, made with pytest's request, its template, BOS, EOS and the token a reply ends at)
MODELS = {
    "smollm2": (lambda _: BYTE_LEVEL["gpt2-digits"](), SMOLLM2, "<|im_start|>", "<|im_end|>", "<|im_end|>"),
    "qwen2.5": (lambda _: BYTE_LEVEL["qwen2"](), QWEN25, None, "<|im_end|>", "<|im_end|>"),
    "gemma3": (lambda request: gemma(request.getfixturevalue("llama2")), GEMMA3, "<bos>", "<eos>", "<end_of_turn>"),
}


@pytest.mark.parametrize("model", list(MODELS))
def test_chat_tokens_equal_apply_chat_template(model, request, encoder_cache, tmp_path):
    make, template, bos, eos, end = MODELS[model]
    tk = make(request)
    emu = host_encoder(model_directory(tk, template, bos, eos, tmp_path / model))
    reference = PreTrainedTokenizerFast(tokenizer_object=tk, chat_template=template, bos_token=bos, eos_token=eos)

    def expected(messages):
        return list(reference.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)["input_ids"])

    conversation = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": FIRST},
                    {"role": "assistant", "content": REPLY}, {"role": "user", "content": SECOND}]
    first = emu.chat_tokens(SYSTEM, FIRST, first=True)
    reply = [*emu.encode(REPLY, bos=False), reference.convert_tokens_to_ids(end)]  # the reply runs its end too
    assert first + reply + emu.chat_tokens(SYSTEM, SECOND, first=False) == expected(conversation)
    # without a system prompt: the template's own (SmolLM2's, Qwen2.5's) or none (Gemma's)
    assert emu.chat_tokens("", FIRST, first=True) == expected(conversation[1:2])


def test_zephyr_turns_equal_apply_chat_template(llama2, encoder_cache, tmp_path):
    """TinyLlama's chat: Llama 2's tokenizer.json (its dummy prefix after every special
    token too) and the Zephyr template, each message closed by "</s>" (EOS, found whole
    in the text). The reply is the model's own tokens, so only the turns around it are
    compared: its EOS run, the second turn follows it."""
    tk = sentencepiece_style(llama2, "legacy")
    emu = host_encoder(model_directory(tk, ZEPHYR, "<s>", "</s>", tmp_path / "tinyllama"))
    reference = PreTrainedTokenizerFast(tokenizer_object=tk, chat_template=ZEPHYR, bos_token="<s>", eos_token="</s>")

    def expected(messages):
        return list(reference.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)["input_ids"])

    conversation = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": FIRST},
                    {"role": "assistant", "content": REPLY}, {"role": "user", "content": SECOND}]
    whole = expected(conversation)
    first, second = emu.chat_tokens(SYSTEM, FIRST, first=True), emu.chat_tokens(SYSTEM, SECOND, first=False)
    assert whole[:len(first)] == first and whole[-len(second):] == second
    reply = whole[len(first):-len(second)]
    assert reply[-1] == 2 and "".join(reference.convert_ids_to_tokens(reply[:-1])).replace("▁", " ") == REPLY
    assert emu.chat_tokens("", FIRST, first=True) == expected(conversation[1:2])


def test_recognised_data(tmp_path):
    """What each template leaves to the layout: the default system prompt, Qwen3's empty think block."""
    assert recognise(SMOLLM2, {}).default_system == "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    assert recognise(QWEN25, {}).default_system.startswith("You are Qwen, created by Alibaba Cloud.")
    qwen3 = recognise(QWEN3_GENERATION, {})
    assert (qwen3.family, qwen3.default_system, qwen3.reply_prefix) == ("chatml", "", "<think>\n\n</think>\n\n")
    assert recognise(GEMMA3, {"bos_token": "<bos>"}).family == "gemma"
    zephyr = recognise(ZEPHYR, {"eos_token": "</s>"})
    assert (zephyr.family, zephyr.turn_end, zephyr.default_system) == ("zephyr", "</s>", "")
    # a list of named templates: the default one; a ChatML template with its own layout is refused by why
    assert recognise([{"name": "tool_use", "template": ALPACA}, {"name": "default", "template": SMOLLM2}],
                     {}).family == "chatml"
    odd = recognise("{{ '<|im_start|>' + messages[0]['content'] + '<|im_end|>' }}", {})
    assert odd.family == "unknown" and "another layout" in odd.refusal


def test_the_template_chooses_and_without_one_the_kind(tmp_path):
    directory = model_directory(BYTE_LEVEL["gpt2-digits"](), SMOLLM2, None, "<|im_end|>", tmp_path / "smol")
    assert load_tokenizer(directory).chat_format.family == "chatml"  # a tiktoken kind: Llama 3's without it
    (directory / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|im_end|>"}))
    (directory / "chat_template.jinja").write_text(GEMMA3)  # where transformers now saves it
    assert load_tokenizer(directory).chat_format.family == "gemma"
    (directory / "chat_template.jinja").unlink()
    tok = load_tokenizer(directory)
    assert tok.chat is None and tok.chat_format.family == "llama3"
    llama2 = "{{ bos_token + '[INST] ' + messages[0]['content'] + ' [/INST]' }}"
    assert recognise(llama2, {}).family == "llama2"


def test_an_unknown_template_compiles_and_chat_refuses(tmp_path, encoder_cache):
    directory = model_directory(BYTE_LEVEL["gpt2-digits"](), ALPACA, None, "<|im_end|>", tmp_path / "alpaca")
    emu = host_encoder(directory)
    assert emu.encode("Hi", bos=False)  # the build works
    with pytest.raises(ToolchainError, match="chat_template is none of ChatML, Gemma, Zephyr, Llama 3 or Llama 2"):
        emu.chat_tokens(SYSTEM, FIRST, first=True)
    result = subprocess.run([sys.executable, "-m", "toolchain", "emulate", str(emu.out), "--mode", "chat"],
                            input="Hi\n", capture_output=True, text=True)
    assert result.returncode != 0 and "User:" not in result.stdout
    assert result.stderr.strip().splitlines() == ["error: chat: the tokenizer's chat_template is none of ChatML, "
                                                  "Gemma, Zephyr, Llama 3 or Llama 2"]
