/* lanes_neon.h - a 4-row block's per-row floats in the lanes of one NEON vector
 * and back, for the 4-row q8 kernels (q8_tile_neon.h: the NEON and dot-product matvec
 * and GEMM twins); and on AArch64, 4 elements of a KV cache as floats, whichever way
 * it stores them. */
#ifndef LLM_LANES_NEON_H
#define LLM_LANES_NEON_H

#include <arm_neon.h>
#include <stdint.h>
#include <string.h>
#include "kernels.h"

/* The block's `rows` scales of a group, in lanes; lanes past `rows` are 0 (a short
 * block has only `rows` of them, and the next bytes may be past the image). */
static inline float32x4_t load_scales(const int8_t *at, int rows) {
    const float *p = (const float *)(const void *)at; /* 4-byte aligned: whole chunks and floats before */
    if (rows == 4) return vld1q_f32(p);
    float32x4_t s = vld1q_lane_f32(p, vdupq_n_f32(0.0f), 0);
    if (rows > 1) s = vld1q_lane_f32(p + 1, s, 1);
    if (rows > 2) s = vld1q_lane_f32(p + 2, s, 2);
    return s;
}

/* out[0 .. rows) = the first `rows` lanes of v. */
static inline void store_rows(float *out, float32x4_t v, int rows) {
    if (rows == 4) {
        vst1q_f32(out, v);
        return;
    }
    vst1q_lane_f32(out, v, 0);
    if (rows > 1) vst1q_lane_f32(out + 1, v, 1);
    if (rows > 2) vst1q_lane_f32(out + 2, v, 2);
}

#if defined(__aarch64__)
/* Elements i.. of `cache` as 4 floats, exactly (every half and int8 is a float). */
static inline __attribute__((always_inline)) float32x4_t cache_load4(const void *cache, long i, int kind) {
    const char *p = (const char *)cache + i * kind;
    if (kind == CACHE_F16) return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)(const void *)p)));
    if (kind == CACHE_I8) {
        int32_t four;
        memcpy(&four, p, sizeof four);
        const int16x8_t wide = vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(four)));
        return vcvtq_f32_s32(vmovl_s16(vget_low_s16(wide)));
    }
    return vld1q_f32((const float *)(const void *)p);
}
#endif

#endif
