"""Finding the external programs a step needs, with the package that provides them."""
import shutil

from ..errors import ToolchainError


def require(program: str, package: str, install: str | None = None) -> str:
    """The path of `program`, or one line naming the Debian package that provides
    it (or `install`, how to get it where it is not a Debian package)."""
    path = shutil.which(program)
    if path is None:
        raise ToolchainError(f"{program} not found: " + (install or f"install the Debian package {package} "
                                                         f"(apt-get install {package}, or run scripts/setup.sh)"))
    return path
