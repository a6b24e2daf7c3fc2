#include <string.h>
#include "kernels.h"

uint16_t f32_to_f16(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t mant = x & 0x7FFFFFu;
    int exp = (int)((x >> 23) & 0xFFu);
    if (exp == 0xFF) return (uint16_t)(sign | 0x7C00u | (mant ? 0x200u : 0u)); /* inf, NaN */
    int e = exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7C00u); /* too large: inf */
    uint32_t half, rem, mid;
    if (e <= 0) { /* a half subnormal, or zero */
        if (e < -10) return (uint16_t)sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        half = mant >> shift;
        rem = mant & ((1u << shift) - 1u);
        mid = 1u << (shift - 1);
    } else {
        half = ((uint32_t)e << 10) | (mant >> 13);
        rem = mant & 0x1FFFu;
        mid = 0x1000u;
    }
    /* round to nearest, ties to even; a carry into the exponent is still right */
    if (rem > mid || (rem == mid && (half & 1u))) half++;
    return (uint16_t)(sign | half);
}

float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t x;
    if (exp == 0x1F) {
        x = sign | 0x7F800000u | (mant << 13);
    } else if (exp != 0) {
        x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
    } else if (mant == 0) {
        x = sign;
    } else { /* subnormal: normalise */
        int e = -1;
        do {
            mant <<= 1;
            e++;
        } while ((mant & 0x400u) == 0);
        x = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
    float f;
    memcpy(&f, &x, sizeof f);
    return f;
}
