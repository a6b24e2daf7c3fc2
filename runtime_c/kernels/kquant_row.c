#include "kquant.h"

void kquant_row_f32(float *out, const uint8_t *w, int cols, int group_size, int bits, int row) {
    const uint8_t *p = w + row * kquant_row_bytes(bits, cols, group_size);
    for (int start = 0; start < cols; start += group_size) {
        const int len = kquant_min(group_size, cols - start);
        const KquantGroup g = kquant_group(p, bits, len);
        for (int i = 0; i < len; i++) {
            const int j = i / KQUANT_SUB;
            const uint8_t *span = g.values + (long)j * kquant_span_bytes(bits);
            out[start + i] = g.d * (float)kquant_scale(&g, bits, j) * (float)kquant_value(span, i % KQUANT_SUB, bits) -
                             g.dmin * (float)kquant_sub_min(&g, bits, j);
        }
        p = g.next;
    }
}
