"""llmtool's compiler: import -> quantize -> plan -> render -> build -> run."""

__version__ = "0.1.0"
