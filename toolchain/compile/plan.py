"""The memory plan: every RAM buffer the runtime uses, sized and placed at compile time.

A pure function of the compile's spec (model config, quantization, KV storage,
context, board, the tokenizer's longest piece). Each
buffer has a lifetime, the phases of one generation step it is used in; buffers
never live at the same time share storage (greedy placement, largest first). The
hottest buffers go to the board's fast RAM (STM32 CCM, Cortex-M7/M55 DTCM) while
they fit; the rest to its main RAM, beside the stack, and what that cannot hold to
external RAM. Where the weight image is kept comes first (weights.py): a copy of it
in a RAM region takes its room there. The generated llm_plan.c declares one static
arena per region and points each RunState field into it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from ..boards import Board
from ..config import ModelConfig
from .layout import chunk_padded
from .quantize import n_groups
from .weights import WeightPlacement, place_weights

if TYPE_CHECKING:
    from .spec import CompileSpec

KV_ELEM_BYTES = {"f32": 4, "f16": 2, "q8": 1}
ALIGN = 16
STATIC_SLACK = 512  # the runtime's few other statics (console handles, a byte buffer)
# A console's own statics beyond those: RTT's control block and ring buffers (runtime_c/platform/rtt.c)
CONSOLE_STATIC_BYTES = {"rtt": 128 + 1024 + 512}
MERGE_NODE_BYTES = 24  # runtime_c/model.h: MergeNode, six int32 (tokenizer.c asserts it)


def tile_bytes(board: Board) -> int:
    """The weight bytes a batch runs through together (llm.c's tiles), from memory once,
    then from the cache for the batch's other tokens: a share of an x86 L2 (1 MB and
    up; on the 110M shape in q8, 256 KB tiles ran a 128-token prompt at 820 tok/s, 128
    KB at 795, 16 KB at 710), of the Arm and RISC-V boards' L2 (512 KB and up, shared),
    or half a microcontroller's 16 KB cache (a Cortex-M7's L1, an RP2350's XIP cache;
    the tokens' activations share it on the M7)."""
    if board.os == "baremetal":
        return 8 << 10
    return (256 if board.cpu in ("x86-64", "native") else 128) << 10


def model_statics(spec: CompileSpec) -> int:
    """The runtime's statics that grow with the model, in pointers of the board's width:
    model.h's Weights (a Matrix is two, a layer 16 and its options' 0 to 8, the rest 13
    and the local RoPE tables' 2)."""
    c, pointer = spec.config, 4 if spec.board.os == "baremetal" else 8
    options = 3 * c.qkv_bias + 2 * c.qk_norm + 2 * c.post_norms + bool(c.sliding_window)
    return pointer * (13 + 2 * bool(c.rope_local_theta) + (16 + options) * c.n_layers)


# One generation step, in order: a buffer's lifetime is the set of phases it is used in.
PHASES = ("startup", "encode", "embed", "attention_norm", "qkv", "attention", "wo",
          "ffn_norm", "ffn_up", "ffn_down", "classifier", "sample")
ALWAYS = frozenset(PHASES)


@dataclass(frozen=True)
class Buffer:
    name: str                 # RunState field; "key_cache[2]" is layer 2's
    ctype: str
    elem_bytes: int
    count: int
    phases: frozenset[str]    # when it is live
    heat: int                 # fast-RAM priority: lower is hotter
    purpose: str
    region: str = ""
    offset: int = 0

    @property
    def nbytes(self) -> int:
        return self.count * self.elem_bytes

    def live_with(self, other: "Buffer") -> bool:
        return bool(self.phases & other.phases)


# The arena of every model compiled with --share-arena: a common symbol, which the
# linker makes one array as large as the largest model's (never prefixed by --name)
SHARED_ARENA = "llm_shared_arena"


@dataclass(frozen=True)
class Arena:
    region: str               # the board's memory region ("ram" on Linux)
    section: str | None       # linker section, for regions the linker script names
    nbytes: int
    buffers: tuple[Buffer, ...]
    shared: bool = False      # compile --share-arena: one array with the program's other such models

    @property
    def symbol(self) -> str:
        return SHARED_ARENA if self.shared else f"arena_{self.region.replace('-', '_')}"


@dataclass(frozen=True)
class MemoryPlan:
    arenas: tuple[Arena, ...]
    context: int
    kv: str
    prompt_capacity: int      # token slots main.c has for a prompt
    cmdline_bytes: int        # bare metal: the semihosting command line
    stack_bytes: int
    static_bytes: int         # the statics beside the plan's buffers: STATIC_SLACK, the console's, the model's
    weights: WeightPlacement  # where the weight image is stored and read (bare metal)
    batch: int = 1            # tokens the activation buffers hold (llm_forward_batch)

    @property
    def buffers(self) -> tuple[Buffer, ...]:
        return tuple(b for a in self.arenas for b in a.buffers)

    def nbytes_of(self, name: str) -> int:
        return next(b.nbytes for b in self.buffers if b.name == name)

    @property
    def ram_bytes(self) -> int:
        return sum(a.nbytes for a in self.arenas) + self.stack_bytes + self.static_bytes

    @property
    def unshared_bytes(self) -> int:
        return sum(-(-b.nbytes // ALIGN) * ALIGN for b in self.buffers)

    def fields(self) -> dict[str, str | list[str]]:
        """RunState initialisers: field -> pointer expression (a list for per-layer arrays)."""
        out: dict[str, str | list[str]] = {}
        for arena in self.arenas:
            for b in arena.buffers:
                expr = f"({b.ctype} *)({arena.symbol} + {b.offset})"
                if "[" in b.name:
                    out.setdefault(b.name.split("[")[0], []).append((int(b.name[:-1].split("[")[1]), expr))
                else:
                    out[b.name] = expr
        return {k: [e for _, e in sorted(v)] if isinstance(v, list) else v for k, v in out.items()}

    def report(self, board: Board) -> dict:
        def arena(a: Arena) -> dict:
            buffers = [asdict(b) | {"phases": sorted(b.phases, key=PHASES.index), "nbytes": b.nbytes}
                       for b in a.buffers]
            return {"region": a.region, "bytes": a.nbytes} | ({"shared": a.symbol} if a.shared else {}) | \
                {"buffers": buffers}
        return {"context": self.context, "kv": self.kv, "batch": self.batch, "ram_bytes": self.ram_bytes,
                "weights": self.weights.report(board),
                "stack_bytes": self.stack_bytes, "unshared_buffer_bytes": self.unshared_bytes,
                "arenas": [arena(a) for a in self.arenas]}


SYSTEM_PROMPT_BYTES = 256  # a serial console's /system, its NUL included


def chat_text_bytes(cmdline_bytes: int, template_bytes: int) -> int:
    """llm_chat_encode's scratch for a console line and the system prompt: the two
    texts and the template's own bytes (ChatFormat.template_bytes)."""
    return cmdline_bytes + SYSTEM_PROMPT_BYTES + template_bytes


def widest_input(spec: CompileSpec) -> int:
    """The widest matrix input: dim, hidden_dim, or the attention's output (q_dim)."""
    c = spec.config
    return max(c.dim, c.hidden_dim, c.q_dim)


def xs_stride(spec: CompileSpec) -> int:
    """A token's activation scales: a group's of the widest input."""
    return n_groups(widest_input(spec), spec.group_size)


def xq_stride(spec: CompileSpec) -> int:
    """A token's quantized activations: the widest input in the kernel's form, padded
    to its chunks; a kernel that widens them also needs the int8 values staged."""
    widest = widest_input(spec)
    x_bytes = spec.kernel.x_bytes if "q8" in spec.matrix_formats else 1
    return chunk_padded(widest, spec.layout) * x_bytes + (widest if x_bytes > 1 else 0)


def kv_positions(cfg: ModelConfig, context: int, batch: int, layer: int) -> int:
    """The positions layer `layer`'s KV cache holds: the context, or in a sliding layer
    a ring of its window and a batch less one (runtime_c/kv_cache.c). The batch: llm.c's
    forward_layers stores a batch's keys and values before any of its tokens attends,
    so the first token's window must outlive the others' stores."""
    if layer not in cfg.sliding_layers:
        return context
    return min(context, cfg.sliding_window + batch - 1)


def kv_ring(cfg: ModelConfig, context: int, batch: int) -> int:
    """llm_config.h's LLM_KV_RING: the positions of the sliding layers' rings (all one
    window), or 0 when there are none or a ring would hold the whole context."""
    ring = kv_positions(cfg, context, batch, cfg.sliding_layers[0]) if cfg.sliding_layers else context
    return ring if ring < context else 0


def encode_workspace_nodes(prompt_capacity: int, nfc: bool) -> int:
    """The planned encoder workspace, in merge nodes: one per slot of the prompt; with
    NFC also room for the prompt's normalized text before them, as long as the slots
    and word-aligned (runtime_c/tokenizer_nfc.c), so that a prompt of main()'s whose
    normalized form is no longer than it was fits: only a few rare characters lengthen
    it (U+0344 becomes two marks). Normalizing itself needs 4 bytes a code point of a
    combining sequence, which the nodes' room holds many times."""
    return prompt_capacity + (-(-(prompt_capacity + 3) // MERGE_NODE_BYTES) if nfc else 0)


def buffers_needed(spec: CompileSpec) -> tuple[list[Buffer], int, int]:
    """Every buffer the runtime and main.c use, with lifetimes (see runtime_c/llm.c)."""
    c, context, kv, os = spec.config, spec.context, spec.kv, spec.board.os
    # The encoder needs a slot per prompt byte before merging. On Linux a prompt may
    # be four bytes per position; a microcontroller's RAM only allows one.
    prompt_capacity = (4 if os == "linux" else 1) * context + 3
    # the longest command line: a prompt of prompt_capacity bytes, or a token list for validate
    cmdline = max(prompt_capacity, 6 * context) + 64 if os == "baremetal" else 0

    def b(name, ctype, size, count, phases, heat, purpose):
        return Buffer(name, ctype, size, count, frozenset(phases), heat, purpose)

    act, n = "float", spec.batch  # the activations: one per token of a batch (llm_forward_batch)
    wanted = [
        b("x", act, 4, n * c.dim, PHASES[2:11], 0, "residual stream"),
        b("xb", act, 4, n * max(c.dim, c.q_dim), ("attention_norm", "qkv", "attention", "wo", "ffn_norm", "ffn_up", "ffn_down"),
          1, "normed input, attention output"),
        b("q", act, 4, n * c.n_heads * c.head_dim, ("qkv", "attention"), 4, "query"),
        b("k", act, 4, n * c.kv_dim, ("qkv",), 5, "this position's key"),
        b("v", act, 4, n * c.kv_dim, ("qkv",), 5, "this position's value"),
        b("xb2", act, 4, n * c.dim, ("wo",), 6, "attention projection"),
        b("hb", act, 4, n * c.hidden_dim, ("ffn_up", "ffn_down"), 7, "FFN gate"),
        b("hb2", act, 4, n * c.hidden_dim, ("ffn_up", "ffn_down"), 7, "FFN up"),
        b("att", act, 4, c.n_heads * context, ("attention",), 8, "attention scores"),
        b("logits", act, 4, c.vocab_size, ("classifier", "sample"), 20, "logits"),
        b("probindex", "ProbIndex", 8, c.vocab_size, ("sample",), 21, "top-p candidates"),
        # a pair of pieces and a NUL; at least one UTF-8 codepoint and a NUL
        b("str_buffer", "char", 1, max(2 * spec.max_token_length + 1, 5), ("encode",), 30, "encoder scratch"),
        b("prompt_tokens", "int", 4, prompt_capacity, ALWAYS, 31, "encoded prompt (main)"),
        # BPE merging's list and heap, a node per token before merging: as many as a
        # prompt main() encodes can have, and (NFC) room before them for its normalized
        # text; only while encoding, so it shares storage with the activations, logits
        # and sampler buffers (dead then)
        b("merge_nodes", "MergeNode", MERGE_NODE_BYTES, encode_workspace_nodes(prompt_capacity, spec.nfc),
          ("encode",), 30, "BPE merge workspace"),
    ]
    if spec.quant != "f32":
        matmuls = ("qkv", "wo", "ffn_up", "ffn_down", "classifier")
        # in the kernel's form, padded to its chunks; a kernel that widens them also
        # needs the int8 values staged
        wanted += [b("xq", "int8_t", 1, n * xq_stride(spec), matmuls, 2, "quantized activations"),
                   b("xs", "float", 4, n * xs_stride(spec), matmuls, 3, "activation scales")]
    for l in range(c.n_layers):
        positions = kv_positions(c, context, n, l)
        rows = positions * c.kv_dim
        wanted += [b(f"key_cache[{l}]", "KVElem", KV_ELEM_BYTES[kv], rows, ALWAYS, 10 + l, f"layer {l} keys"),
                   b(f"value_cache[{l}]", "KVElem", KV_ELEM_BYTES[kv], rows, ALWAYS, 10 + l, f"layer {l} values")]
        if kv == "q8":
            scales = positions * c.n_kv_heads
            wanted += [b(f"key_scales[{l}]", "float", 4, scales, ALWAYS, 10 + l, f"layer {l} key scales"),
                       b(f"value_scales[{l}]", "float", 4, scales, ALWAYS, 10 + l, f"layer {l} value scales")]
    if cmdline:
        wanted.append(b("cmdline", "char", 1, cmdline, ("startup", "encode"), 32, "command line or console line"))
    if os == "baremetal" and spec.console != "semihosting":
        # a serial console's chat: the system prompt, kept for the conversation, and a
        # turn rendered in the model's template (llm_chat_encode's scratch) while encoding
        wanted += [b("system_prompt", "char", 1, SYSTEM_PROMPT_BYTES, ALWAYS, 33, "chat: system prompt"),
                   b("chat_text", "char", 1, chat_text_bytes(cmdline, spec.chat_template_bytes), ("encode",), 32,
                     "chat: the turn's text")]
    return wanted, prompt_capacity, cmdline


def place(buffers: list[Buffer], region: str) -> tuple[list[Buffer], int]:
    """Offsets for buffers in one arena: largest first, each at the lowest offset
    that overlaps no buffer live at the same time."""
    placed: list[Buffer] = []
    for buf in sorted(buffers, key=lambda x: (-x.nbytes, x.name)):
        offset = 0
        for other in sorted((p for p in placed if p.live_with(buf)), key=lambda p: p.offset):
            if offset + buf.nbytes <= other.offset:
                break
            offset = max(offset, -(-(other.offset + other.nbytes) // ALIGN) * ALIGN)
        placed.append(replace(buf, region=region, offset=offset))
    size = max((-(-(p.offset + p.nbytes) // ALIGN) * ALIGN for p in placed), default=0)
    return sorted(placed, key=lambda p: p.offset), size


def fill(wanted: list[Buffer], region: str, capacity: int) -> list[Buffer]:
    """The hottest of `wanted` first, each while `region` still holds them in `capacity`."""
    chosen: list[Buffer] = []
    for buf in sorted(wanted, key=lambda x: (x.heat, x.name)):
        if place(chosen + [buf], region)[1] <= capacity:
            chosen.append(buf)
    return chosen


def plan_memory(spec: CompileSpec) -> MemoryPlan:
    """Every buffer in an arena of a RAM region, by tier: the board's fast regions take
    the hottest, then its main internal RAM; with external RAM (PSRAM, SDRAM), the main
    RAM takes the hottest of the rest while it holds them (beside the stack and the
    statics) and the external regions the others, the KV cache first among them.
    A shared arena (--share-arena) is one array in the main RAM: the linker, not a
    section, places it."""
    board, shared = spec.board, spec.library.share_arena
    weights = place_weights(spec)
    wanted, prompt_capacity, cmdline = buffers_needed(spec)
    bare = board.os == "baremetal"
    fast_regions = [r for r in board.memory if r.fast and r.kind == "ram"] if bare and not shared else []
    external = [r for r in board.memory if r.kind == "external_ram"] if bare and not shared else []
    console_bytes = CONSOLE_STATIC_BYTES.get(spec.console, 0)
    if console_bytes and board.has_caches:  # aligned to an MPU region of its size: as much again at worst
        console_bytes *= 2
    static_bytes = STATIC_SLACK + console_bytes + model_statics(spec)
    arenas = []

    def add(region: str, buffers: list[Buffer], section: str | None) -> None:
        placed, size = place(buffers, region)
        arenas.append(Arena(region, section, size, tuple(placed)))

    def room(region) -> int:
        return region.length - weights.held_in(region.name)

    def section(region: str) -> str:  # the model's own: several models' fragments link into one script
        return f".bss.{spec.library.name}_{region}"

    for region in fast_regions:
        chosen = fill(wanted, region.name, room(region))
        if chosen:
            add(region.name, chosen, section(region.name))
            wanted = [w for w in wanted if w not in chosen]
    main = board.ram_region or "ram"
    if external:
        chosen = fill(wanted, main, room(board.region(main)) - board.stack_bytes - static_bytes)
        rest = [w for w in wanted if w not in chosen]
        for region in external:
            spilled = fill(rest, region.name, room(region))
            if spilled:
                add(region.name, spilled, section(region.name))
                rest = [w for w in rest if w not in spilled]
        wanted = chosen + rest  # what no tier holds overfills the main RAM: the plan does not fit
    if wanted or not arenas:  # the rest in the board's main RAM (none left: no empty array, which C warns of)
        placed, size = place(wanted, main)
        arenas.insert(0, Arena(main, None, size, tuple(placed), shared))
    return MemoryPlan(tuple(arenas), spec.context, spec.kv, prompt_capacity, cmdline, board.stack_bytes,
                      static_bytes, weights, spec.batch)


def plan_fits(plan: MemoryPlan, board: Board) -> bool:
    """Whether every arena fits its region (the main one with the stack and statics,
    each beside a weight copy it holds)."""
    for arena in plan.arenas:
        limit = board.ram_bytes if arena.section is None else board.region(arena.region).length
        used = arena.nbytes + (plan.stack_bytes + plan.static_bytes if arena.section is None else 0) \
            + plan.weights.held_in(arena.region)
        if limit and used > limit:
            return False
    w = plan.weights
    if w.copied and not any(a.region == w.run for a in plan.arenas):
        beside = plan.stack_bytes + plan.static_bytes if w.run == board.ram_region else 0
        return w.nbytes + beside <= board.region(w.run).length
    return True
