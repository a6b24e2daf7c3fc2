#!/usr/bin/env bash
# Sets up everything llmtool needs on a Debian/Ubuntu machine: the C toolchain,
# then the Python package (editable) with its test dependencies.
# Usage: scripts/setup.sh        (as root, or with sudo available)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Debian packages: the host compiler and make build every generated project.
PACKAGES=(build-essential make)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

# PyTorch (the reference model) as a CPU build; then llmtool itself.
python3 -c "import torch" 2>/dev/null || python3 -m pip install -q "torch==2.13.0"
python3 -m pip install -q -e ".[test]"
echo "llmtool is set up: $(command -v llmtool)"
