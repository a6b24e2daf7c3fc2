"""`llmtool analyze`: where a model's bytes go on a board, the largest context each
KV storage allows, and a speed estimate from the board's clock and bandwidth."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..boards import Board
from ..choices import DEFAULT_CONTEXT_CAP, KV_MODES
from ..config import NAMED_SHAPES, ModelConfig, tensor_shapes
from ..importers import load_checkpoint
from ..importers.tokenizer import Tokenizer, padded
from .auto import AutoChoice, choose, estimated_sensitivity, with_formats
from .fit import Fit, assess, largest_batch, largest_context
from .image import image_entries
from .layout import scale_bytes
from .plan import kv_positions
from .spec import CompileSpec
from .weights import CODE_ESTIMATE, kib, no_room


@dataclass(frozen=True)
class WeightReads:
    """The image's bytes a decoded token streams through the core: every layer's
    matrices and norms, and the classifier's matrix (a tied classifier is the embedding
    table, stored once). Not read whole: the tokenizer, the RoPE tables (a row of each
    a token) and an untied embedding table (one row a token: embed() in llm.c)."""
    layers: int
    classifier: int
    classifier_format: str

    def per_token(self, batch: int, prompt: bool) -> int:
        """A decoded token's reads, or a prompt token's: its batch's share of the
        layers' (forward_layers reads each matrix once for the batch) and no classifier
        (only the prompt's last token is classified)."""
        return self.layers // batch if prompt else self.layers + self.classifier

    def report(self) -> dict:
        return {"layers": self.layers, "classifier": self.classifier, "classifier_format": self.classifier_format,
                "classifier_share": self.classifier / (self.layers + self.classifier)}


def weight_reads(spec: CompileSpec) -> WeightReads:
    classifier = "tok_embeddings.weight" if spec.config.shared_classifier else "output.weight"
    sizes = dict(image_entries(spec))
    layers = sum(n for name, n in sizes.items() if name.startswith("layers.")) + sizes["norm.weight"]
    return WeightReads(layers, sizes[classifier], spec.matrix_format(classifier))


def attended(cfg: ModelConfig, layer: int, pos: int) -> int:
    """The positions layer `layer`'s query at `pos` reads from the KV cache: all of
    them, or a sliding layer's window."""
    return min(pos, cfg.sliding_window) if layer in cfg.sliding_layers else pos


@dataclass
class Analysis:
    name: str
    config: ModelConfig
    board: Board
    quant: str
    kv: str
    context: int                         # asked for, or the largest that fits (0: none does)
    fit: Fit | None                      # at that context; None when it does not fit
    largest: dict[str, int]              # KV storage -> largest context that fits (0: none)
    weights: str                         # linked or separate (compile --weights)
    flash_sections: dict[str, int]
    ram_sections: dict[str, int]
    tok_s: float | None                  # estimated decode speed at half the context
    bound: str                           # "memory" or "compute"
    prompt_tok_s: float | None = None    # estimated prompt speed there, in batches of fit.plan.batch
    auto: AutoChoice | None = None       # --quant auto: the budget, and formats estimated for it
    reads: WeightReads | None = None     # what a token reads of the image (None: it does not fit)

    def to_json(self) -> dict:
        f = self.fit
        return {
            "model": self.name, "board": self.board.name, "quant": self.quant, "kv": self.kv,
            "params": self.config.n_params(), "fits": f is not None,
            "context": f.context if f else 0,
            "flash": {"sections": self.flash_sections, "used": f.flash_needed if f else None,
                      "limit": self.board.flash_bytes},
            "ram": {"sections": self.ram_sections, "used": f.ram_needed if f else None,
                    "limit": f.ram_limit if f else self.board.ram_bytes},
            "largest_context": self.largest,
            "tiers": tiers(f, self.board, self.config, self.reads) if f else [],
            "weights": f.plan.weights.report(self.board) if f else {"mode": self.weights},
            "estimated_tok_s": self.tok_s, "bound": self.bound, "batch": f.plan.batch if f else 0,
            "estimated_prompt_tok_s": self.prompt_tok_s,
            "weights_read_per_token": self.reads.report() if f else None,
            **({"auto": self.auto.report()} if self.auto else {}),
        }


def model_config(model: str) -> tuple[str, ModelConfig]:
    """A checkpoint file, or the name of a known shape (config.NAMED_SHAPES: llama2.c's
    stories15M/42M/110M, the published small models)."""
    if model in NAMED_SHAPES and not Path(model).exists():
        return model, NAMED_SHAPES[model]
    return Path(model).stem, load_checkpoint(model).config


def flash_sections(spec: CompileSpec) -> dict[str, int]:
    sections = {"weights": 0, "scales": 0, "norms": 0, "tokenizer": 0, "rope tables": 0}
    shapes = tensor_shapes(spec.config)
    for name, nbytes in image_entries(spec):
        key = ("tokenizer" if name.startswith("vocab.") else "rope tables" if name.startswith("rope")
               else "norms" if "norm" in name else "weights")
        if key == "weights" and len(shapes.get(name, ())) == 2:  # scales lie beside their groups
            scales = scale_bytes(*shapes[name], spec.group_size, spec.matrix_format(name))
            sections["scales"] += scales
            nbytes -= scales
        sections[key] += nbytes
    if spec.board.os == "baremetal":
        sections["code (estimate)"] = CODE_ESTIMATE
    return sections


def ram_sections(fit: Fit, board: Board) -> dict[str, int]:
    """Buffers by kind (before sharing), then what sharing saves, then the stack."""
    kinds = {"KV cache": ("key_", "value_"), "logits and sampler": ("logits", "probindex"),
             "prompt and encoder": ("prompt_tokens", "str_buffer", "merge_nodes", "cmdline")}
    sections = dict.fromkeys(["KV cache", "activations", "logits and sampler", "prompt and encoder"], 0)
    for b in fit.plan.buffers:
        kind = next((k for k, prefixes in kinds.items() if b.name.startswith(prefixes)), "activations")
        sections[kind] += b.nbytes
    planned = sum(a.nbytes for a in fit.plan.arenas)
    sections["shared (saved)"] = planned - sum(sections.values())
    if board.os != "baremetal":
        sections["weights (loaded)"] = fit.image_bytes
    elif fit.plan.weights.copied:
        sections[f"weights (copy in {fit.plan.weights.run})"] = fit.image_bytes
    sections["stack and statics"] = fit.ram_needed - planned - sum(n for k, n in sections.items()
                                                                   if k.startswith("weights"))
    return sections


def bytes_read_per_token(fit: Fit, board: Board, cfg: ModelConfig, weights: WeightReads,
                         prompt: bool = False) -> dict[str, int]:
    """Memory region -> the bytes one token reads from it at half the context: the
    weights it streams (WeightReads) from where they are read (their region, or their
    start-up copy's; on Linux, RAM), and of each layer's KV cache, from wherever it was
    planned, the positions its query attends to (a sliding layer's window). A prompt
    token reads the weights once a batch: the kernels take a block of weights through
    all the batch's tokens while it is in the cache (a block and the batch's
    activations: a few KB)."""
    where = fit.plan.weights.run if board.os == "baremetal" else "ram"
    reads = {where: weights.per_token(fit.plan.batch, prompt)}
    pos = fit.context // 2
    for b in fit.plan.buffers:
        if b.name.startswith(("key_", "value_")):  # "key_cache[2]": layer 2's, a row per position it holds
            layer = int(b.name[b.name.index("[") + 1:-1])
            held = kv_positions(cfg, fit.context, fit.plan.batch, layer)
            reads[b.region] = reads.get(b.region, 0) + b.nbytes * attended(cfg, layer, pos) // held
    return reads


def tiers(fit: Fit, board: Board, cfg: ModelConfig, weights: WeightReads) -> list[dict]:
    """Each memory region the build uses: its tier, what it holds, its bandwidth and
    what a token reads from it (bare metal; Linux has one RAM)."""
    if board.os != "baremetal":
        return []
    reads = bytes_read_per_token(fit, board, cfg, weights)
    prompt_reads = bytes_read_per_token(fit, board, cfg, weights, prompt=True)
    w = fit.plan.weights
    held = {board.code_region: fit.flash_needed or 0}
    if w.separate or w.store != board.code_region:  # flash_needed counts only weights linked beside the code
        held[w.store] = held.get(w.store, 0) + w.nbytes
    if w.copied:
        held[w.run] = held.get(w.run, 0) + w.nbytes
    for arena in fit.plan.arenas:
        held[arena.region] = held.get(arena.region, 0) + arena.nbytes
    held[board.ram_region] = held.get(board.ram_region, 0) + fit.plan.stack_bytes + fit.plan.static_bytes
    return [{"region": r.name, "kind": r.kind, "bytes": held[r.name], "limit": r.length,
             "read_mb_s": board.read_mb_s_of(r.name), "read_per_token": reads.get(r.name, 0),
             "read_per_prompt_token": prompt_reads.get(r.name, 0)}
            for r in board.memory if r.name in held]


def estimate_tok_s(cfg: ModelConfig, fit: Fit, board: Board, weights: WeightReads,
                   prompt: bool = False) -> tuple[float | None, str]:
    """Decode speed at half the context: the slower of streaming the weights and the
    KV cache it attends to once per token, each from its memory tier at that tier's
    bandwidth (bytes_read_per_token), and doing its multiply-accumulates. A prompt
    token's (prompt=True): the weights once a batch, and no classifier."""
    if not (board.read_mb_s and board.int8_macs_per_cycle and board.clock_mhz):
        return None, ""
    pos = fit.context // 2
    classifier = cfg.vocab_size * cfg.dim
    macs = cfg.n_params() - classifier * (2 - cfg.shared_classifier) + classifier * (not prompt) \
        + 2 * cfg.n_heads * cfg.head_dim * sum(attended(cfg, layer, pos) for layer in range(cfg.n_layers))
    memory_s = sum(n / (board.read_mb_s_of(region) * 1e6)
                   for region, n in bytes_read_per_token(fit, board, cfg, weights, prompt).items())
    compute_s = macs / (board.int8_macs_per_cycle * board.clock_mhz * 1e6)
    return 1.0 / max(memory_s, compute_s), "memory" if memory_s >= compute_s else "compute"


def analyze(model: str, board: Board, quant: str = "q8", group_size: int = 64, kv: str = "f32",
            context: int | None = None, tok: Tokenizer | None = None, weights: str = "linked",
            weights_in: str = "") -> Analysis:
    name, cfg = model_config(model)
    tok = tok and padded(tok, cfg.vocab_size)  # as compile pads it
    spec = CompileSpec(cfg, board, quant, group_size, kv, tokenizer=tok, weights=weights, weights_in=weights_in)
    auto = None
    if quant == "auto":  # the board's room for the image, shared out by estimate (compile measures)
        auto = choose(spec.at(context or min(cfg.max_seq_len, DEFAULT_CONTEXT_CAP)), None, estimated_sensitivity)
        spec = with_formats(spec, auto.formats)
    largest = {mode: largest_context(replace(spec, kv=mode)) for mode in KV_MODES}
    if context is None:  # as compile chooses it
        context = min(largest[kv], DEFAULT_CONTEXT_CAP)
    else:
        spec.check_context(context)
    flash = flash_sections(spec.at(max(context, 1)))
    if context == 0:
        return Analysis(name, cfg, board, quant, kv, 0, None, largest, weights, flash, {}, None, "", None, auto)
    fit = assess(spec.at(context))
    if fit.fits:  # the batch compile would take beside that context
        fit = assess(spec.at(context).batched(largest_batch(spec.at(context))))
    reads = weight_reads(spec.at(context))
    tok_s, bound = estimate_tok_s(cfg, fit, board, reads)
    return Analysis(name, cfg, board, quant, kv, context, fit if fit.fits else None, largest, weights, flash,
                    ram_sections(fit, board), tok_s, bound, estimate_tok_s(cfg, fit, board, reads, prompt=True)[0],
                    auto, reads)


def why_not(a: Analysis) -> str:
    """One line: what does not fit."""
    if a.largest[a.kv]:
        return (f"context {a.context} does not fit {a.board.name} with KV cache {a.kv}: "
                f"the largest that fits is {a.largest[a.kv]}")
    b = a.board
    image = sum(a.flash_sections.values()) - CODE_ESTIMATE * (b.os == "baremetal")
    reason = no_room(b, image, a.weights == "separate", a.quant)
    if reason:
        return f"{a.name} does not fit {b.name}: {reason}"
    return f"{a.name} does not fit {b.name}: not enough RAM ({kib(b.ram_bytes)}) even at a context of 1"


def report_lines(a: Analysis) -> list[str]:
    b = a.board
    head = (f"{a.name} ({a.config.n_params():,} parameters) on {b.name} "
            f"({b.cpu}, {b.clock_mhz} MHz), {a.quant} weights, KV cache {a.kv}")
    if a.fit is None:
        return [why_not(a)]
    f = a.fit
    lines = [head, f"context {f.context}"]
    if a.auto:
        r = a.auto.report()
        lines.append("--quant auto: " + (f"a weight image of up to {r['budget_bytes']:,} bytes, " if r["budget_bytes"]
                                          else "no limit on the image, ") +
                     ", ".join(f"{n} in {fmt}" for fmt, n in r["matrices"].items()) +
                     " matrices by estimate (compile measures each one's sensitivity)")
    width = max(map(len, [*a.flash_sections, *a.ram_sections]))

    def table(title, sections, used, limit):
        lines.append(f"{title}:")
        for name, n in sections.items():
            lines.append(f"  {name:<{width}} {kib(n):>12}")
        tail = f" of {kib(limit)} ({100 * used / limit:.1f} %)" if limit else ""
        lines.append(f"  {'total':<{width}} {kib(used):>12}{tail}")

    w = f.plan.weights
    if f.flash_needed is not None:
        table(f"flash ({b.code_region})" if w.store == b.code_region and not w.separate else "image and code",
              a.flash_sections, f.image_bytes + CODE_ESTIMATE, f.flash_limit if w.store == b.code_region else 0)
        where = f"weights: {'a separate image' if w.separate else 'linked in'}, stored in {w.store}"
        if w.separate:
            where += f" at {w.address(b):#010x}"
        lines.append(where + (f", copied to {w.run} at start-up" if w.copied else ", read in place"))
    else:
        lines.append(f"weight image: {kib(f.image_bytes)} (in the binary, loaded into RAM)")
    regions = " + ".join(arena.region for arena in f.plan.arenas)
    table(f"RAM ({regions})", a.ram_sections, f.ram_needed, f.ram_limit)
    lines.append("largest context that fits: " + ", ".join(
        f"KV {mode} {n if n else 'none'}" for mode, n in a.largest.items()))
    r = a.reads
    lines.append(f"classifier ({r.classifier_format}): {kib(r.classifier)} a token, "
                 f"{100 * r.report()['classifier_share']:.1f} % of the weights read"
                 + (" (tied: the embedding table, stored once; a token's embedding reads one row of it)"
                    if a.config.shared_classifier else ""))
    used = tiers(f, b, a.config, r)
    if used:
        lines.append("memory tiers (bytes held, read per token and per prompt token at the estimate's position):")
        for t in used:
            lines.append(f"  {t['region']:<10} {t['kind']:<12} {kib(t['bytes']):>10} of {kib(t['limit']):>10}, "
                         f"{kib(t['read_per_token']):>10} a token, {kib(t['read_per_prompt_token']):>10} a prompt "
                         f"token at {t['read_mb_s']:,g} MB/s")
    if a.tok_s is not None:
        bandwidth = "each tier's bandwidth" if used else f"{b.read_mb_s:,} MB/s"
        lines.append(f"estimated decode speed: {a.tok_s:,.1f} tok/s at position {f.context // 2} "
                     f"({a.bound}-bound; from {bandwidth} and {b.int8_macs_per_cycle} int8 MACs "
                     f"per cycle at {b.clock_mhz} MHz)")
        lines.append(f"estimated prompt speed: {a.prompt_tok_s:,.1f} tok/s in batches of {f.plan.batch} "
                     f"(the weights read once a batch)")
    return lines
