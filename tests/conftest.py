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
def tok300(tmp_path_factory) -> Path:
    """A llama2.c tokenizer.bin of 300 synthetic tokens, for the small random models."""
    from synthetic import synthetic_tokenizer
    from toolchain.importers.tokenizer import write_llama2c_tokenizer

    path = tmp_path_factory.mktemp("tok") / "tok300.bin"
    write_llama2c_tokenizer(synthetic_tokenizer(300), path)
    return path
