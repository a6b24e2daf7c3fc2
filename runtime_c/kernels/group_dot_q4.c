#include "kernels.h"

/* Byte j of w holds values 2j (low nibble) and 2j + 1 (high nibble), each stored
 * as value + 8; the group starts are even, so each group starts on a byte. */
void group_dot_q4_reference(int32_t *sums, const int8_t *x, const int8_t *w, int n, int group_size) {
    const uint8_t *packed = (const uint8_t *)w;
    for (int start = 0, g = 0; start < n; start += group_size, g++) {
        int end = start + group_size < n ? start + group_size : n;
        int32_t acc = 0;
        for (int j = start; j < end; j++) {
            int nibble = j & 1 ? packed[j >> 1] >> 4 : packed[j >> 1] & 15;
            acc += (int32_t)x[j] * (nibble - 8);
        }
        sums[g] = acc;
    }
}
