#include <string.h>
#include "kernels.h"
#include "exp_f32.h"

/* 2^k as a float, for -126 <= k <= 127. */
static float pow2i(int k) {
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float exp_f32(float x) {
    static const float taylor[8] = EXP_F32_TAYLOR;
    if (x != x) return x;                 /* NaN */
    if (x > EXP_F32_MAX) return pow2i(127) * 2.0f; /* overflows to +inf */
    if (x < EXP_F32_MIN) return 0.0f;
    /* x = k ln2 + r with |r| <= ln2 / 2. */
    float kf = x * EXP_F32_LOG2E;
    int k = (int)(kf + (kf < 0.0f ? -0.5f : 0.5f));
    float r = (x - (float)k * EXP_F32_LN2_HI) - (float)k * EXP_F32_LN2_LO;
    float p = taylor[0];
    p = p * r + taylor[1];
    p = p * r + taylor[2];
    p = p * r + taylor[3];
    p = p * r + taylor[4];
    p = p * r + taylor[5];
    p = p * r + taylor[6];
    p = p * r + taylor[7];
    if (k < -126) return p * pow2i(k + 64) * pow2i(-64); /* subnormal result */
    if (k > 127) return p * pow2i(k - 1) * 2.0f;
    return p * pow2i(k);
}
