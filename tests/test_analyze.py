"""`llmtool analyze`: sensible figures for every board and the llama2.c shapes."""
import json

import pytest
from click.testing import CliRunner

from toolchain.boards import all_boards
from toolchain.cli import main

BOARDS = sorted(all_boards())


def analyze(*args, status=0):
    """stdout of `llmtool analyze ARGS`, which must exit with `status` (1: does not fit)."""
    result = CliRunner().invoke(main, ["analyze", *map(str, args)])
    assert result.exit_code == status, result.output
    return result.stdout


@pytest.mark.parametrize("board", BOARDS)
def test_stories260k_on_every_board(shared_models, board):
    a = json.loads(analyze(shared_models / "stories260K.bin", "--board", board, "--kv", "q8", "--json"))
    assert a["fits"] and a["params"] == 260_032
    assert 64 <= a["context"] <= 512 and a["context"] == a["largest_context"]["q8"]
    largest = a["largest_context"]
    assert largest["f32"] <= largest["f16"] <= largest["q8"]  # smaller KV rows, longer context
    if a["flash"]["limit"]:
        assert a["flash"]["used"] <= a["flash"]["limit"]
    if a["ram"]["limit"]:
        assert a["ram"]["used"] <= a["ram"]["limit"]
    assert a["estimated_tok_s"] > 1
    text = analyze(shared_models / "stories260K.bin", "--board", board)
    assert "largest context that fits" in text and "estimated decode speed" in text


@pytest.mark.parametrize("shape", ["stories15M", "stories42M", "stories110M"])
def test_llama2c_shapes(shape):
    external = ("coral-micro", "stm32h747i-disco")  # their external flash holds each shape's image
    for board, info in all_boards().items():
        fits = info.os != "baremetal" or board in external
        out = analyze(shape, "--board", board, status=0 if fits else 1)
        if not fits:
            assert out.count("\n") == 1 and "does not fit" in out and "flash" in out, out
        elif board in external:
            assert "weights: linked in, stored in " in out and "estimated decode speed" in out
        else:
            assert "context 1024" in out or "context 256" in out
    for_110m = json.loads(analyze(shape, "--board", "rpi4", "--json"))
    assert for_110m["bound"] == "memory" and 0 < for_110m["estimated_tok_s"] < 1000


def test_plot_draws_a_png(shared_models, tmp_path):
    png = tmp_path / "memory.png"
    analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--kv", "q8", "--plot", png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_a_model_that_does_not_fit_exits_1(shared_models):
    """For CI: the one-line reason, or the complete JSON object, and exit status 1."""
    out = analyze("stories110M", "--board", "stm32f405", status=1)
    assert out.startswith("stories110M does not fit stm32f405: its weight image needs 111.6 MB and no flash region holds it") and out.count("\n") == 1
    a = json.loads(analyze("stories110M", "--board", "stm32f405", "--json", status=1))
    assert a["fits"] is False and a["context"] == 0 and a["flash"]["sections"]["weights"] > a["flash"]["limit"]
    assert set(a) == set(json.loads(analyze(shared_models / "stories260K.bin", "--board", "stm32f405",
                                            "--json")))  # the same keys as when it fits
    # a context the board cannot hold, though a smaller one fits
    out = analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--context", "512", status=1)
    assert "context 512 does not fit stm32f405" in out and "the largest that fits is" in out
    a = json.loads(analyze(shared_models / "stories260K.bin", "--board", "stm32f405", "--context", "512", "--json",
                           status=1))
    assert a["fits"] is False and a["largest_context"]["f32"] < 512


@pytest.mark.parametrize("board", ["coral-micro", "stm32h747i-disco"])
def test_a_prompt_token_reads_the_external_weights_once_a_batch(board):
    """The 15M shape's weights run from SDRAM: a decoded token reads all of them from it,
    a prompt token its share of one read by the batch."""
    a = json.loads(analyze("stories15M", "--board", board, "--json"))
    sdram = next(t for t in a["tiers"] if t["kind"] == "external_ram")
    read = a["weights_read_per_token"]
    # the image less its tokenizer and RoPE tables, each read a row at a time
    assert 0.9 * a["weights"]["bytes"] < read["layers"] + read["classifier"] < a["weights"]["bytes"]
    kv = sdram["read_per_token"] - read["layers"] - read["classifier"]
    assert a["batch"] >= 8 and 0 <= kv < sdram["read_per_token"] / 4
    assert sdram["read_per_prompt_token"] == read["layers"] // a["batch"] + kv  # and no classifier
    assert a["estimated_prompt_tok_s"] > 4 * a["estimated_tok_s"]


# the published models' parameter counts (their model cards')
PUBLISHED_PARAMS = {"SmolLM2-135M": 134_515_008, "SmolLM2-360M": 361_821_120, "Qwen2.5-0.5B": 494_032_768,
                    "Qwen3-0.6B": 596_049_920, "TinyLlama-1.1B": 1_100_048_384, "Gemma-3-270M": 268_098_176}


@pytest.mark.parametrize("name", PUBLISHED_PARAMS)
def test_published_models_by_name(name):
    """Each fits a Raspberry Pi 5 at the context compile would choose; its tied
    classifier is the embedding table, stored once and read whole a token, an untied
    one's embedding table only a row a token."""
    a = json.loads(analyze(name, "--board", "rpi5", "--json"))
    assert a["fits"] and a["params"] == PUBLISHED_PARAMS[name]
    assert a["context"] == min(4096, a["largest_context"]["f32"])  # compile's cap unless asked
    read, sections = a["weights_read_per_token"], a["flash"]["sections"]
    not_streamed = sections["tokenizer"] + sections["rope tables"]  # a row of each a token
    tied = name != "TinyLlama-1.1B"
    dim, vocab = {"SmolLM2-135M": (576, 49152), "SmolLM2-360M": (960, 49152), "Qwen2.5-0.5B": (896, 151936),
                  "Qwen3-0.6B": (1024, 151936), "TinyLlama-1.1B": (2048, 32000), "Gemma-3-270M": (640, 262144)}[name]
    assert vocab * dim <= read["classifier"] < 1.07 * vocab * dim  # q8: a byte a weight and its scales
    embedding = 0 if tied else read["classifier"]  # untied: a table the size of the classifier's
    assert abs(a["weights"]["bytes"] - (read["layers"] + read["classifier"] + embedding + not_streamed)) < 65536
    assert read["classifier_format"] == "q8"
    assert read["classifier_share"] == pytest.approx(read["classifier"] / (read["layers"] + read["classifier"]))


def test_the_classifier_line():
    out = analyze("Gemma-3-270M", "--board", "rpi4", "--quant", "q4")
    line = next(line for line in out.splitlines() if line.startswith("classifier"))
    assert line.startswith("classifier (q4): 90.5 MB a token, 62.") and "tied: the embedding table, stored once" in line
    line = next(line for line in analyze("TinyLlama-1.1B", "--board", "rpi4").splitlines()
                if line.startswith("classifier"))
    assert line.startswith("classifier (q8): 66.4 MB a token, 6.") and "tied" not in line


def test_a_sliding_layer_reads_its_window_of_the_kv_cache():
    """Gemma 3 at position 2048: its 3 global layers read 2048 positions of keys and
    values, its 15 sliding ones 512."""
    from toolchain.boards import get_board
    from toolchain.compile.analyze import analyze as analysis, bytes_read_per_token

    a = analysis("Gemma-3-270M", get_board("rpi4"), context=4096)
    kv = bytes_read_per_token(a.fit, a.board, a.config, a.reads)["ram"] - a.reads.per_token(1, prompt=False)
    row = 2 * a.config.kv_dim * 4  # a position's key and value, f32
    assert kv == row * (3 * 2048 + 15 * 512)


def test_a_tokenizer_is_counted_padded_to_the_vocabulary(shared_models, tmp_path):
    """As compile pads it: one token short of the model's 512 counts as 512 (the empty
    piece a byte), one more than 512 is refused."""
    from toolchain.importers.tokenizer import Tokenizer, load_tokenizer, write_llama2c_tokenizer

    full = load_tokenizer(shared_models / "tok512.bin")
    for n, pieces in (("511", full.pieces[:511]), ("513", full.pieces + [b"extra"])):
        write_llama2c_tokenizer(Tokenizer(pieces, (full.scores + [0.0])[:len(pieces)]), tmp_path / f"tok{n}.bin")

    def tokenizer_bytes(tok):
        return json.loads(analyze(shared_models / "stories260K.bin", "--board", "rpi4", "--tokenizer", tok,
                                  "--json"))["flash"]["sections"]["tokenizer"]
    dropped = len(full.pieces[511])  # the last piece's bytes; its NUL stays
    assert tokenizer_bytes(tmp_path / "tok511.bin") == tokenizer_bytes(shared_models / "tok512.bin") - dropped
    result = CliRunner().invoke(main, ["analyze", str(shared_models / "stories260K.bin"), "--board", "rpi4",
                                       "--tokenizer", str(tmp_path / "tok513.bin")])
    assert result.exit_code == 1 and "513 tokens but the model's vocabulary is 512" in result.output
