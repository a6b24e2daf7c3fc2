"""Where the non-Python parts live: templates/, runtime_c/ and boards/.

In a source checkout (and an editable install) they sit beside the package; a
wheel carries them inside it under toolchain/_data/.
"""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for base in (_PACKAGE / "_data", _PACKAGE.parent):
        if (base / name).is_dir():
            return base / name
    raise FileNotFoundError(f"llmtool installation is missing its {name}/ directory")
