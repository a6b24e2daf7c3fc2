#!/usr/bin/env bash
# Sets up everything llmtool needs on a Debian/Ubuntu machine: the host C
# toolchain, every board's cross compiler, emulator and flashing tools (the Debian packages the
# board files in boards/ name), then the Python package (editable) with its
# test dependencies. Says what it installs as it goes (apt and pip print each
# package); the first run takes a few minutes, most of it downloading.
# Usage: scripts/setup.sh [--dry-run]   (as root, or with sudo available)
#   --dry-run: say what would be installed, and install nothing
set -euo pipefail
cd "$(dirname "$0")/.."

DRY_RUN=0
case "${1:-}" in
    --dry-run) DRY_RUN=1 ;;
    "") ;;
    *) echo "usage: scripts/setup.sh [--dry-run]" >&2; exit 2 ;;
esac

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

step() { printf '\n==> %s\n' "$*"; }
run() {  # prints the command, then runs it (unless --dry-run)
    echo "+ $*"
    [ "$DRY_RUN" -eq 1 ] || "$@"
}

# The host toolchain, plus each board's `toolchain_package` and its emulation and flash `package`.
mapfile -t BOARD_PACKAGES < <(sed -n -E 's/^(toolchain_package|package) = "(.*)"/\2/p' boards/*.toml | tr ' ' '\n')
# cmake builds a project as a library (CMakeLists.txt); clang and its compiler-rt (libFuzzer,
# sanitizers) build scripts/fuzz.sh's harnesses.
PACKAGES=(build-essential make binutils cmake clang libclang-rt-dev "${BOARD_PACKAGES[@]}")
mapfile -t PACKAGES < <(printf '%s\n' "${PACKAGES[@]}" | sed '/^$/d' | sort -u)
step "Debian packages: the host C toolchain, clang, and each board's cross compiler, QEMU and flashing tools (${#PACKAGES[@]})"
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${#missing[@]} of them: ${missing[*]}"
    run $SUDO apt-get update -q
    run $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
    echo "all installed: ${PACKAGES[*]}"
fi

step "PyTorch (the reference model), CPU build"
if python3 -c "import torch" 2>/dev/null; then
    echo "installed: torch $(python3 -c 'import torch; print(torch.__version__)')"
else
    echo "installing torch 2.13.0 (a download of a few hundred MB)"
    run python3 -m pip install --progress-bar on "torch==2.13.0"
fi

step "llmtool (editable, from $(pwd)) and its Python dependencies, with the tests'"
run python3 -m pip install --progress-bar on -e ".[test]"

if [ "$DRY_RUN" -eq 1 ]; then
    step "dry run: nothing was installed"
else
    step "llmtool is set up: $(command -v llmtool)"
fi
