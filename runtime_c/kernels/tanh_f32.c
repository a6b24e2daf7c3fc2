#include "kernels.h"

/* tanh from exp_f32 alone (libm's tanhf differs between C libraries), within 2^-23
 * of the true value: near 0 its Taylor series, where 1 - 2 / (e^2x + 1) would lose
 * x's digits to the subtraction (the next term, 62/2835 x^9, is below 2^-24 x there);
 * else that, e^2x = inf giving 1. Odd: computed on |x|, the sign put back. */
float tanh_f32(float x) {
    const float a = x < 0.0f ? -x : x;
    float t;
    if (a < 0.125f) {
        const float a2 = a * a;
        t = a + a * a2 * (-1.0f / 3.0f + a2 * (2.0f / 15.0f + a2 * (-17.0f / 315.0f)));
    } else {
        t = 1.0f - 2.0f / (exp_f32(2.0f * a) + 1.0f);
    }
    return x < 0.0f ? -t : t;
}
