#include "kquant.h"

void matvec_q6_reference(float *out, const int8_t *x, const float *xs, const uint8_t *w, int rows, int cols,
                         int group_size) {
    kquant_matvec(out, x, xs, w, rows, cols, group_size, 6);
}
