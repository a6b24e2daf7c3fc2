"""What one compile is for: the model's shape, the board, and the options that shape
its image and its memory plan. Every stage after import (image layout, plan, fit,
render) reads this one value, so they agree on the kernel's layout, the context and
the tokenizer's sizes by construction."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..boards import Board, Kernel, console_for, get_board, kernel_named
from .layout import WeightLayout
from ..choices import KV_MODES, MAX_CONTEXT, PACKAGES
from ..config import ModelConfig
from ..errors import ToolchainError
from ..importers.chat_template import TEMPLATE_BYTES
from ..importers.tokenizer import Tokenizer
from .quantize import check_group_size
from .weights import check_weights_options

# A tokenizer's longest piece in bytes, where no tokenizer is given (analyze, bench)
ESTIMATED_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class LibraryOptions:
    """How the model is packaged as a library for someone else's build."""
    name: str = "llm"                # the library, its target and header; not "llm": its symbols' prefix
    share_arena: bool = False        # the planned buffers in one arena shared with other such models
    packages: tuple[str, ...] = ()   # framework glue written beside CMakeLists.txt (choices.PACKAGES)

    def __post_init__(self):
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.name):
            raise ToolchainError(f"--name {self.name!r} is not a C identifier (letters, digits and _, "
                                 f"not starting with a digit): it prefixes the library's symbols")
        object.__setattr__(self, "packages", tuple(dict.fromkeys(self.packages)))  # a manifest's list, once each
        unknown = [p for p in self.packages if p not in PACKAGES]
        if unknown:
            raise ToolchainError(f"unknown --package {unknown[0]!r} (choose from {', '.join(PACKAGES)})")
        framework = next((p for p in self.packages if p != "cmake"), None)
        if self.prefixed and framework:
            raise ToolchainError(f"--name {self.name} renames the library's symbols once it is built, which make lib "
                                 f"and CMakeLists.txt do and --package {framework}'s build does not: link the "
                                 f"project's CMakeLists.txt (add_subdirectory) instead, or compile without --name")

    @property
    def prefixed(self) -> bool:
        """Whether the library's symbols carry the name (NAME_llm_init, ...)."""
        return self.name != "llm"

    @property
    def symbol_prefix(self) -> str:
        return f"{self.name}_" if self.prefixed else ""

    @property
    def label_prefix(self) -> str:
        """Before the memory regions' labels in the library's linker-script fragment (LLM_RAM)."""
        return f"{self.name.upper()}_"

    @property
    def sections_file(self) -> str:
        """The library's linker-script fragment."""
        return f"{self.name}_sections.ld"


@dataclass(frozen=True)
class CompileSpec:
    config: ModelConfig
    board: Board
    quant: str = "q8"
    group_size: int = 64
    kv: str = "f32"
    context: int = 1
    tokenizer: Tokenizer | None = None  # None: its tables estimated from the vocabulary size
    kernel: Kernel | None = None        # the board's for these weights unless given (a built project's)
    console: str = ""                   # bare metal: semihosting, uart or rtt ("": the board file's); Linux: stdio
    weights: str = "linked"             # linked into the firmware, or a separate image (compile/weights.py)
    weights_in: str = ""                # bare metal: the region to keep or copy them in ("": the planner's)
    library: LibraryOptions = LibraryOptions()
    formats: tuple[tuple[str, str], ...] = ()  # --quant auto: each matrix's format, by tensor name
    batch: int = 1                      # prompt tokens run through the layers at once (llm_forward_batch)

    def __post_init__(self):
        if self.kv not in KV_MODES:
            raise ToolchainError(f"unknown KV cache storage {self.kv!r} (choose from {', '.join(KV_MODES)})")
        check_group_size(self.quant, self.group_size, self.config)  # and the weight format
        if self.kernel is None:
            object.__setattr__(self, "kernel", self.board.kernel(self.quant, self.group_size))
        object.__setattr__(self, "console", console_for(self.board, self.console or None))
        check_weights_options(self.board, self.weights, self.weights_in)

    @classmethod
    def of_project(cls, manifest: dict) -> CompileSpec:
        """The spec a project was compiled to, from its llmtool.json (its kernel as
        recorded there: the host's may differ from this machine's)."""
        return cls(ModelConfig.from_dict(manifest["config"]), get_board(manifest["board"]), manifest["quant"],
                   manifest["group_size"], manifest["kv"], manifest["context"],
                   kernel=kernel_named(manifest["kernel"]), console=manifest.get("console", ""),
                   weights=manifest.get("weights", {}).get("mode", "linked"),
                   weights_in=manifest.get("weights", {}).get("weights_in", ""),
                   library=LibraryOptions(**manifest.get("library", {})),
                   formats=tuple(manifest.get("formats", {}).items()) if manifest["quant"] == "auto" else (),
                   batch=manifest.get("batch", 1))

    def matrix_format(self, name: str) -> str:
        """The format of matrix `name`: its own under --quant auto, else the build's."""
        return dict(self.formats).get(name, self.quant)

    @property
    def matrix_formats(self) -> set[str]:
        return {f for _, f in self.formats} if self.quant == "auto" else {self.quant}

    @property
    def layout(self) -> WeightLayout:
        """The f32 and q8 matrices' layout (the board's kernel's); q4, q5, q6 have their own."""
        return self.kernel.layout("q8" if "q8" in self.matrix_formats else self.quant)

    @property
    def max_token_length(self) -> int:
        return self.tokenizer.max_token_length if self.tokenizer is not None else ESTIMATED_TOKEN_LENGTH

    @property
    def nfc(self) -> bool:
        """Whether the encoder normalizes text to NFC (no tokenizer: as if not)."""
        return self.tokenizer is not None and self.tokenizer.nfc

    @property
    def chat_template_bytes(self) -> int:
        """A rendered chat turn's bytes besides its two texts (the planned scratch's share)."""
        return self.tokenizer.chat_format.template_bytes if self.tokenizer is not None else TEMPLATE_BYTES

    def at(self, context: int) -> CompileSpec:
        """The same compile with another context."""
        return replace(self, context=context)

    def batched(self, batch: int) -> CompileSpec:
        """The same compile with another batch."""
        return replace(self, batch=batch)

    def check_context(self, context: int) -> None:
        """A --context the user asked for: at most what the model was trained for and
        what llmtool plans for."""
        limit = min(self.config.max_seq_len, MAX_CONTEXT)
        if not 1 <= context <= limit:
            why = "the model's max_seq_len" if limit == self.config.max_seq_len else "the most llmtool plans for"
            raise ToolchainError(f"--context {context} is outside 1..{limit} ({why})")
