"""`python -m toolchain.cli`: the same as `llmtool` and `python -m toolchain`."""
from ..entry import main

main()
