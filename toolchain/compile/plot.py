"""`llmtool analyze --plot`: the flash and RAM maps of a model on a board, as a picture."""
from __future__ import annotations

from pathlib import Path

from ..errors import ToolchainError
from .analyze import Analysis, kib

COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]


def _bars(a: Analysis) -> list[tuple[str, dict[str, int], int | None]]:
    """(label, sections, limit) for flash and for each RAM region, as planned."""
    f = a.fit
    if f is None:
        return [("image", a.flash_sections, a.board.flash_bytes)]
    w = f.plan.weights
    in_code = w.store == a.board.code_region and not w.separate
    bars = [(f"flash ({a.board.code_region})" if f.flash_needed is not None and in_code else
             f"image ({w.store}) and code" if f.flash_needed is not None else "weight image",
             a.flash_sections, f.flash_limit if in_code else None)]
    for arena in f.plan.arenas:
        kv = sum(b.nbytes for b in arena.buffers if b.name.startswith(("key_", "value_")))
        sections = {"KV cache": kv, "other buffers (sharing storage)": arena.nbytes - kv}
        if arena.section is None:
            sections["stack and statics"] = f.plan.stack_bytes + f.plan.static_bytes
            if a.board.os != "baremetal":
                sections["weights (loaded)"] = f.ram_needed - f.plan.ram_bytes
        sections["weights (copy)"] = w.held_in(arena.region)
        limit = a.board.region(arena.region).length if a.board.os == "baremetal" else a.board.ram_bytes
        bars.append((f"RAM ({arena.region})", sections, limit or None))
    if w.copied and not any(arena.region == w.run for arena in f.plan.arenas):
        bars.append((f"RAM ({w.run})", {"weights (copy)": w.nbytes}, a.board.region(w.run).length))
    return bars


def plot_memory(a: Analysis, path: Path) -> None:
    if Path(path).is_dir():
        raise ToolchainError(f"{path} is a directory: name the PNG file to draw")
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    bars = _bars(a)
    fig, axes = plt.subplots(len(bars), 1, figsize=(10, 1.7 * len(bars) + 0.8), squeeze=False)
    for ax, (label, sections, limit) in zip(axes[:, 0], bars):
        left = 0
        for i, (name, n) in enumerate(s for s in sections.items() if s[1] > 0):
            ax.barh(0, n, left=left, color=COLORS[i % len(COLORS)], edgecolor="white",
                    label=f"{name} ({kib(n)})")
            left += n
        if limit:
            ax.axvline(limit, color="black", linestyle="--", linewidth=1.5)
            ax.text(limit, 0.45, f" limit {kib(limit)}", va="bottom", ha="right", fontsize=8)
        ax.set_yticks([0], [label])
        ax.set_xlim(0, max(left, limit or 0) * 1.02)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: kib(int(x))))
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8, frameon=False)
    context = f"context {a.fit.context}" if a.fit else "does not fit"
    fig.suptitle(f"{a.name} on {a.board.name}: {a.quant} weights, KV cache {a.kv}, {context}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
