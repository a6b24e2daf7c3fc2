#include <string.h>
#include "kernels.h"

/* 2^k as a float, for -126 <= k <= 127. */
static float pow2i(int k) {
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float exp_f32(float x) {
    if (x != x) return x;                 /* NaN */
    if (x > 88.72283f) return pow2i(127) * 2.0f; /* overflows to +inf */
    if (x < -103.97208f) return 0.0f;
    /* x = k ln2 + r with |r| <= ln2 / 2; ln2 split in two so k * ln2_hi is exact. */
    const float log2e = 1.44269504f, ln2_hi = 0.693145752f, ln2_lo = 1.42860677e-6f;
    float kf = x * log2e;
    int k = (int)(kf + (kf < 0.0f ? -0.5f : 0.5f));
    float r = (x - (float)k * ln2_hi) - (float)k * ln2_lo;
    /* Taylor series to r^7: the truncation error is below 1e-8 for |r| <= 0.35. */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    if (k < -126) return p * pow2i(k + 64) * pow2i(-64); /* subnormal result */
    if (k > 127) return p * pow2i(k - 1) * 2.0f;
    return p * pow2i(k);
}
