"""llmtool's compiler, a package per stage (docs/architecture.md):
importers/ (checkpoints, tokenizers) -> compile/ (quantize, layout, image, plan,
render) -> target/ (build, run); host/ runs a project's C on this machine (emulate,
validate, bench), train/ trains the reference model (model.py), cli/ is `llmtool`."""

__version__ = "0.1.0"
