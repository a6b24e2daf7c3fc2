#include <string.h>
#include "layout.h"

long layout_block_bytes(const WeightLayout *l, int rows, int cols, int group_size, int bits) {
    if (bits == 32) return layout_values_bytes(l, rows, cols, 32);
    long bytes = 0;
    for (int start = 0; start < cols; start += group_size) {
        bytes += layout_values_bytes(l, rows, cols - start < group_size ? cols - start : group_size, bits) + 4L * rows;
    }
    return bytes;
}

void layout_row_f32(float *out, const uint8_t *w, int rows, int cols, int group_size, int bits,
                    const WeightLayout *l, int row) {
    const int block = row / l->rows, r = row % l->rows;
    const int height = rows - block * l->rows < l->rows ? rows - block * l->rows : l->rows;
    const uint8_t *p = w + block * layout_block_bytes(l, l->rows, cols, group_size, bits); /* blocks before are whole */
    const long chunk = layout_chunk_bytes(l, height, bits), span = (long)l->cols * bits / 8;
    if (bits == 32) {
        for (int j = 0; j < cols; j++) memcpy(&out[j], p + (j / l->cols) * chunk + r * span + 4 * (j % l->cols), 4);
        return;
    }
    for (int start = 0; start < cols; start += group_size) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const long values = layout_values_bytes(l, height, len, bits);
        float scale;
        memcpy(&scale, p + values + 4 * r, sizeof scale);
        for (int j = 0; j < len; j++) {
            out[start + j] = (float)(int8_t)(p[(j / l->cols) * chunk + r * span + j % l->cols] ^ l->bias) * scale;
        }
        p += values + 4L * height;
    }
}
