"""How a weight matrix is laid out in the image: chosen by the compiler for the
board's kernel, so the kernels stay simple.

A [rows, cols] matrix is stored as blocks of `rows` rows (the last block may have
fewer). Within a block, each group of columns (q8/q4: `group_size`; f32: the whole
row) is stored in chunks of `cols` columns: a chunk holds that span of every row of
the block in turn, so a kernel reading one stream sees the block's rows side by side
(the DSP kernel: four rows' four bytes in one LDM; AVX-512: sixteen rows' four bytes
in one vector). A group whose length is not a multiple of `cols` ends in a chunk
padded with zero weights. After a quantized group come the block's float scales for
it, one per row, so weights and scales are one stream in the order they are used.

q8 values are stored as value + bias in a byte: bias 0 is plain int8; bias 128 gives
unsigned bytes, for VNNI's unsigned-by-signed multiply (the kernel subtracts
128 * sum(x) per group). The C runtime reads the same layout (runtime_c/kernels/layout.c).

q4, q5 and q6 (kquant.py, runtime_c/kernels/kquant.h) are stored row by row, in groups
of `group_size` columns made of 32-column sub-blocks: their sizes are here too.

The layouts and their sizes need no numpy (board files hold layouts, and `llmtool
boards` should not load it); the packing functions import it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

BITS = {"f32": 32, "q8": 8}
KQUANT_SUB = 32  # columns per sub-block of q4, q5, q6
# q4, q5, q6: bytes of a sub-block's 32 values, and whether it has a min beside its scale
KQUANT_SPAN_BYTES = {"q4": 16, "q5": 20, "q6": 24}
KQUANT_HAS_MIN = {"q4": True, "q5": True, "q6": False}
# Scales below this are stored as 0 (their group as zeros): every product of a scale,
# an int32 sum and an activation scale is then a normal float, so vector units that
# flush subnormals to zero (Armv7 NEON, Helium) compute the same products. A power of
# two, so it is the same number as a float32.
MIN_SCALE = 2.0 ** -63


@dataclass(frozen=True)
class WeightLayout:
    rows: int = 1      # rows per block
    cols: int = 4      # columns per chunk
    bias: int = 0      # q8: stored byte = value + bias (0 or 128)

    def to_dict(self) -> dict:
        return asdict(self)


def chunk_padded(length: int, layout: WeightLayout) -> int:
    return -(-length // layout.cols) * layout.cols


def group_lengths(cols: int, group_size: int) -> list[int]:
    full, tail = divmod(cols, group_size)
    return [group_size] * full + ([tail] if tail else [])


def kquant_group_bytes(quant: str, length: int) -> tuple[int, int]:
    """Bytes of a q4/q5/q6 group of `length` columns: its values, and the rest: the
    sub-block scales (6 bits each with a 6-bit min, or a byte) and f16 d (and dmin)."""
    n_sub = -(-length // KQUANT_SUB)
    rest = -(-12 * n_sub // 8) + 4 if KQUANT_HAS_MIN[quant] else n_sub + 2
    return KQUANT_SPAN_BYTES[quant] * n_sub, rest


def block_bytes(block_rows: int, cols: int, group_size: int, quant: str, layout: WeightLayout) -> int:
    if quant in KQUANT_SPAN_BYTES:
        return block_rows * sum(map(sum, (kquant_group_bytes(quant, n) for n in group_lengths(cols, group_size))))
    if quant == "f32":
        return block_rows * chunk_padded(cols, layout) * 4
    return sum(block_rows * chunk_padded(n, layout) * BITS[quant] // 8 + 4 * block_rows
               for n in group_lengths(cols, group_size))


def matrix_bytes(rows: int, cols: int, group_size: int, quant: str, layout: WeightLayout) -> int:
    full, tail = divmod(rows, layout.rows)
    size = full * block_bytes(layout.rows, cols, group_size, quant, layout)
    return size + (block_bytes(tail, cols, group_size, quant, layout) if tail else 0)


def scale_bytes(rows: int, cols: int, group_size: int, quant: str) -> int:
    """Of matrix_bytes, the scales (none for f32)."""
    if quant in KQUANT_SPAN_BYTES:
        return rows * sum(kquant_group_bytes(quant, n)[1] for n in group_lengths(cols, group_size))
    return 0 if quant == "f32" else 4 * rows * len(group_lengths(cols, group_size))


def _chunks(values: np.ndarray, layout: WeightLayout, fill) -> np.ndarray:
    """[blocks, rows, n] -> [blocks, chunks * rows * cols]: padded, chunk-major."""
    import numpy as np

    blocks, rows, n = values.shape
    padded = np.full((blocks, rows, chunk_padded(n, layout)), fill, dtype=values.dtype)
    padded[:, :, :n] = values
    chunked = padded.reshape(blocks, rows, -1, layout.cols).transpose(0, 2, 1, 3)
    return chunked.reshape(blocks, -1)


def _stored_bytes(q: np.ndarray, layout: WeightLayout) -> np.ndarray:
    """q8 values [blocks, chunks * rows * cols] as the bytes the image holds."""
    import numpy as np

    return (q.astype(np.int16) + layout.bias).astype(np.uint8)


def _pack_blocks(values: np.ndarray, scales: np.ndarray | None, group_size: int, quant: str,
                 layout: WeightLayout) -> np.ndarray:
    """Blocks of equal height: values [blocks, rows, cols], scales [blocks, rows, groups]."""
    import numpy as np

    if quant == "f32":
        return _chunks(values.astype("<f4"), layout, 0).view(np.uint8)
    parts, start = [], 0
    for g, n in enumerate(group_lengths(values.shape[2], group_size)):
        parts.append(_stored_bytes(_chunks(values[:, :, start:start + n], layout, 0), layout))
        parts.append(np.ascontiguousarray(scales[:, :, g].astype("<f4")).view(np.uint8))
        start += n
    return np.concatenate(parts, axis=1)


def pack_matrix(values: np.ndarray, scales: np.ndarray | None, group_size: int, quant: str,
                layout: WeightLayout) -> np.ndarray:
    """The image bytes of a matrix: values [rows, cols] (f32, or int8 levels with
    scales [rows, groups]) in `layout`."""
    import numpy as np

    rows, cols = values.shape
    full = rows - rows % layout.rows
    out = []
    for lo, hi, height in ((0, full, layout.rows), (full, rows, rows - full)):
        if hi > lo:
            v = values[lo:hi].reshape(-1, height, cols)
            s = None if scales is None else scales[lo:hi].reshape(-1, height, scales.shape[1])
            out.append(_pack_blocks(v, s, group_size, quant, layout).reshape(-1))
    packed = np.concatenate(out)
    assert packed.size == matrix_bytes(rows, cols, group_size, quant, layout)
    return packed
