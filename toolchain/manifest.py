"""llmtool.json: how a project was compiled, read back by build, run and emulate."""
import json
from pathlib import Path

from .errors import ToolchainError

MANIFEST = "llmtool.json"


def write_manifest(out: Path, manifest: dict) -> None:
    (Path(out) / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(out: Path) -> dict:
    path = Path(out) / MANIFEST
    if not path.is_file():
        raise ToolchainError(f"{out} is not an llmtool project (no {MANIFEST}); run `llmtool compile` first")
    return json.loads(path.read_text())
