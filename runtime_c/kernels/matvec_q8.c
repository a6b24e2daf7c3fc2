#include "layout.h"

void matvec_q8_reference(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                         int group_size, const WeightLayout *l) {
    layout_matvec(out, x, xs, block, rows, cols, group_size, l);
}
