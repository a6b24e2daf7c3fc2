"""Finding the external programs a step needs, with the package that provides them."""
import shutil

from ..errors import ToolchainError


def require(program: str, package: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise ToolchainError(f"{program} not found: install the Debian package {package} "
                             f"(apt-get install {package}, or run scripts/setup.sh)")
    return path
