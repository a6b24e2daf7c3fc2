import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MODELS = ROOT.parent / "shared" / "models"
sys.path.insert(0, str(Path(__file__).parent))  # tests' own helpers (synthetic.py)


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models: the test data every developer and CI run has (never copied here)."""
    if not (SHARED_MODELS / "stories260K.bin").is_file():
        pytest.fail(f"test data missing: {SHARED_MODELS} (see DEVELOPERS.md)")
    return SHARED_MODELS


@pytest.fixture(scope="session")
def llama2(shared_models):
    """Llama 2's SentencePiece model as transformers converts it (TinyLlama's tokenizer.json):
    its vocabulary and merges, every split of every token a merge, ranked by token."""
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import generate_merges

    sp = spm.SentencePieceProcessor(model_file=str(shared_models / "llama2-tokenizer.model"))
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    return vocab, generate_merges(vocab, None)


@pytest.fixture(scope="session")
def tok300(tmp_path_factory) -> Path:
    """A llama2.c tokenizer.bin of 300 synthetic tokens, for the small random models."""
    from synthetic import synthetic_tokenizer
    from toolchain.importers.tokenizer import write_llama2c_tokenizer

    path = tmp_path_factory.mktemp("tok") / "tok300.bin"
    write_llama2c_tokenizer(synthetic_tokenizer(300), path)
    return path


@pytest.fixture(scope="module")
def encoder_cache(tmp_path_factory):
    """A cache of its own for the module's `llmtool tokenizer encode` builds ($LLMTOOL_CACHE)."""
    from toolchain.host.encode import CACHE_ENV

    with pytest.MonkeyPatch.context() as mp:
        root = tmp_path_factory.mktemp("cache")
        mp.setenv(CACHE_ENV, str(root))
        yield root


@pytest.fixture(scope="module")
def built_board(shared_models, tmp_path_factory):
    """stories260K in q8 compiled and built for a board (and a console: the board
    file's unless given), once per module and pair; the project's directory."""
    from toolchain.compile.compiler import compile_project
    from toolchain.target.build import build_project

    projects = {}

    def build(board, console=None):
        if (board, console) not in projects:
            out = tmp_path_factory.mktemp(board) / "out"
            compile_project(shared_models / "stories260K.bin", shared_models / "tok512.bin", board, out,
                            quant="q8", console=console)
            build_project(out)
            projects[board, console] = out
        return projects[board, console]
    return build
