#!/usr/bin/env bash
# Sets up everything llmtool needs on a Debian/Ubuntu machine: the host C
# toolchain, every board's cross compiler and emulator (the Debian packages the
# board files in boards/ name), then the Python package (editable) with its
# test dependencies.
# Usage: scripts/setup.sh        (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# The host toolchain, plus each board's `toolchain_package` and emulation `package`.
mapfile -t BOARD_PACKAGES < <(sed -n -E 's/^(toolchain_package|package) = "(.*)"/\2/p' boards/*.toml | tr ' ' '\n')
# clang and its compiler-rt (libFuzzer, sanitizers) build scripts/fuzz.sh's harnesses.
PACKAGES=(build-essential make binutils clang libclang-rt-dev "${BOARD_PACKAGES[@]}")
missing=()
for p in $(printf '%s\n' "${PACKAGES[@]}" | sort -u); do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# PyTorch (the reference model) as a CPU build; then llmtool itself.
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[test]"
echo "llmtool is set up: $(command -v llmtool)"
