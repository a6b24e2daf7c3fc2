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
