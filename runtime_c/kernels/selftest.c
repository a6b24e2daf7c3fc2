/* selftest.c - the board's q8 (f32, k-quant) kernels against the portable reference, on
 * the board itself (llm-test -k): random matrices of awkward shapes, group tails and
 * short blocks, in the kernels' layouts. */
#include <math.h>
#include <string.h>
#include "layout.h"
#include "kquant.h"

#define MAX_N 300
#if defined(KERNEL_ROWS)
#define ROWS KERNEL_ROWS
static const WeightLayout kernel_layout = {KERNEL_ROWS, KERNEL_COLS, KERNEL_BIAS};
#define KERNEL matvec_q8_kernel
#else /* no ISA kernel: the reference against itself, in a layout like the DSP's */
#define ROWS 4
static const WeightLayout kernel_layout = {4, 4, 0};
static void reference(float *out, const int8_t *x, const float *xs, const uint8_t *block, int rows, int cols,
                      int group_size) {
    matvec_q8_reference(out, x, xs, block, rows, cols, group_size, &kernel_layout);
}
#define KERNEL reference
#endif
#define MAX_GROUPS (MAX_N / 4)
#define PADDED (MAX_N + 16) /* a row rounded up to whole chunks */

static uint32_t next(uint32_t *state) { /* xorshift32 */
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
}

/* w[rows][MAX_N] with scales s[rows][MAX_GROUPS] into one block in the kernel's layout
 * (the C twin of toolchain/compile/layout.py's pack_matrix). */
static void pack(uint8_t *block, const int8_t *w, const float *s, int rows, int cols, int group_size) {
    const WeightLayout *l = &kernel_layout;
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        const int len = cols - start < group_size ? cols - start : group_size;
        const long values = layout_values_bytes(l, rows, len, 8);
        for (long i = 0; i < values; i++) { /* chunk, then row, then column within the chunk */
            const int chunk = (int)(i / ((long)rows * l->cols)), r = (int)(i / l->cols % rows);
            const int j = chunk * l->cols + (int)(i % l->cols);
            block[i] = (uint8_t)((j < len ? w[r * MAX_N + start + j] : 0) ^ l->bias);
        }
        for (int r = 0; r < rows; r++) memcpy(block + values + 4 * r, &s[r * MAX_GROUPS + g], 4);
        block += values + 4L * rows;
    }
}

/* The kernel and the reference on one packed block: the same floats, bit for bit. */
static int agree(const int8_t *prepared, const int8_t *x, const float *xs, const int8_t *w, const float *s,
                 int rows, int cols, int group_size) {
    uint8_t block[ROWS * PADDED + 4 * ROWS * MAX_GROUPS];
    float want[ROWS], got[ROWS];
    pack(block, w, s, rows, cols, group_size);
    matvec_q8_reference(want, x, xs, block, rows, cols, group_size, &kernel_layout);
    KERNEL(got, prepared, xs, block, rows, cols, group_size);
    return memcmp(want, got, sizeof(float) * (size_t)rows) == 0;
}

/* Running sums that cancel into subnormals: x is 1 at each group's first column and
 * 0 elsewhere, each row's weight there +-1 (the rest 0), so every group sum is +-1;
 * the scales are 2^-63 * (1 + k/8), so every product is +-(1 + k/8) * 2^-126, a
 * normal float, while the sums of two of them are often below 2^-126. A kernel
 * that adds the sums on a unit that flushes subnormals to zero fails here. */
static int subnormal_sums_agree(uint32_t *state, int8_t *x, int16_t *prepared, int8_t *w, float *xs, float *s,
                                int rows, int cols, int group_size) { /* the caller's buffers, overwritten */
    memset(x, 0, PADDED);
    memset(w, 0, ROWS * MAX_N);
    for (int start = 0, g = 0; start < cols; start += group_size, g++) {
        x[start] = 1;
        xs[g] = KERNEL_MIN_SCALE;
        for (int r = 0; r < rows; r++) {
            w[r * MAX_N + start] = next(state) & 1 ? 1 : -1;
            s[r * MAX_GROUPS + g] = KERNEL_MIN_SCALE * (1.0f + (float)(next(state) % 8) / 8.0f);
        }
    }
#if KERNEL_X_BYTES == 1
    memcpy(prepared, x, PADDED);
#else
    matvec_q8_prepare((int8_t *)prepared, x, cols);
#endif
    return agree((const int8_t *)prepared, x, xs, w, s, rows, cols, group_size);
}

#if defined(KERNEL_F32_ROWS)
static const WeightLayout f32_layout = {KERNEL_F32_ROWS, KERNEL_F32_COLS, 0};

/* The f32 kernel against the reference on one block of random floats (values of
 * every magnitude, so that rounding differs wherever the order would); `unit` 1, or
 * 1e-18: products and sums then largely subnormal (a kernel whose unit flushes
 * them to zero fails). */
static int f32_agrees(uint32_t *state, int rows, int cols, float unit) {
    static float w[KERNEL_F32_ROWS * PADDED], x[PADDED];
    float want[KERNEL_F32_ROWS], got[KERNEL_F32_ROWS];
    const long chunk = (long)rows * KERNEL_F32_COLS;
    for (int j = 0; j < cols; j++) x[j] = (float)((int)(next(state) % 2001) - 1000) * 1.3e-3f * unit;
    for (long i = 0; i < (cols + KERNEL_F32_COLS - 1) / KERNEL_F32_COLS * chunk; i++) {
        const int j = (int)(i / chunk) * KERNEL_F32_COLS + (int)(i % KERNEL_F32_COLS);
        w[i] = j < cols ? (float)((int)(next(state) % 2001) - 1000) * 7.1e-4f * unit : 0.0f;
    }
    matvec_f32_reference(want, x, (const uint8_t *)w, rows, cols, &f32_layout);
    matvec_f32_kernel(got, x, (const uint8_t *)w, rows, cols);
    return memcmp(want, got, sizeof(float) * (size_t)rows) == 0;
}
#endif

#if defined(LLM_KERNEL_VFP) || defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
/* A float of any sign and magnitude from 2^-35 to 2^11, or zero. */
static float any_float(uint32_t *state) {
    const uint32_t r = next(state);
    if (r % 64 == 0) return r & 64 ? -0.0f : 0.0f;
    return (float)((int)(r >> 8 & 0xFFFF) - 32768) * (float)(1u << (r % 32)) * 0x1p-35f;
}

static int same_floats(const float *a, const float *b, int n) {
    return memcmp(a, b, sizeof(float) * (size_t)n) == 0;
}

/* The board's float kernels (VFP assembly on Cortex-M; on x86 the AVX2 attention
 * kernels, quantizer, softmax and SwiGLU, on AArch64 the NEON attention kernels,
 * softmax and SwiGLU, the rest being the C) against their C twins, on the stack (the statics of the runtime are few by
 * design), in a frame of their own: softmax
 * with x - max over the whole range of the exponential, its edges (subnormal
 * results, EXP_F32_MIN), NaN and infinities; SwiGLU the same of either sign; scores
 * and weighted sums of values of every magnitude, so that any change of order would
 * round differently. */
#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
/* key_dots and value_sums over caches of random halves (subnormals included, no
 * infinities or NaNs) and int8: the board's twins against the C. */
static int half_and_int8_caches_agree(uint32_t *state, const float *q, const float *att, int n, int head_dim) {
    enum { ROW = 80, POSITIONS = 45 }; /* float_selftest's largest head and position count */
    uint16_t halves[ROW * POSITIONS];
    int8_t bytes[ROW * POSITIONS];
    for (int i = 0; i < ROW * POSITIONS; i++) {
        const uint32_t r = next(state);
        halves[i] = (uint16_t)((r & 0x7C00u) == 0x7C00u ? r & 0xBFFFu : r & 0xFFFFu);
        bytes[i] = (int8_t)(r >> 16);
    }
    float want[ROW], got[ROW];
    key_dots_f16(want, q, halves, POSITIONS, n, head_dim);
    key_dots_f16_kernel(got, q, halves, POSITIONS, n, head_dim);
    if (!same_floats(want, got, n)) return -1;
    key_dots_i8(want, q, bytes, POSITIONS, n, head_dim);
    key_dots_i8_kernel(got, q, bytes, POSITIONS, n, head_dim);
    if (!same_floats(want, got, n)) return -1;
    value_sums_f16(want, att, halves, ROW, n, head_dim);
    value_sums_f16_kernel(got, att, halves, ROW, n, head_dim);
    if (!same_floats(want, got, head_dim)) return -1;
    value_sums_i8(want, att, bytes, ROW, n, head_dim);
    value_sums_i8_kernel(got, att, bytes, ROW, n, head_dim);
    return same_floats(want, got, head_dim) ? 0 : -1;
}
#endif

static __attribute__((noinline)) int float_selftest(uint32_t *state, int *cases) {
    static const int sizes[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 33, 45, 64, 100, 127, 128};
#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64) /* heads of 64 and more: the 32- and 64-wide blocks */
    enum { N = 128, POSITIONS = 45, DIM = 80 };
    static const int dims[] = {8, 4, 16, 12, 6, 1, 33, 48, 64, 80};
#else
    enum { N = 128, POSITIONS = 45, DIM = 16 };
    static const int dims[] = {8, 4, 16, 12, 6, 1};
#endif
    static const float edges[] = {-87.0f, -86.99999f, -87.00001f, -103.97208f, -103.972076f, -103.97209f,
                                  -0.0f, 0.0f, -1e-30f, -0.34657359f, -0.34657362f, -88.0f, -150.0f,
                                  -INFINITY, 87.0f, 87.00001f, 88.72283f, 88.722839f, 100.0f};
    const int n_edges = (int)(sizeof edges / sizeof *edges);
    float x[N], want[N], got[N], keys[DIM * POSITIONS], q[DIM];
    for (unsigned si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        const int n = sizes[si];
        for (int round = 0; round < 4; round++) {
            const float max = round == 0 ? 0.0f : (float)(int)(next(state) % 200) - 100.0f;
            for (int i = 0; i < n; i++) x[i] = max - (float)(next(state) % 1100000) * 1e-4f;
            x[next(state) % n] = max;
            if (round == 2) { /* values at the edges */
                for (int i = 0; i < n; i++) x[i] = max + edges[next(state) % n_edges];
                x[0] = max;
            }
            if (round == 3) x[next(state) % n] = NAN;
            memcpy(want, x, sizeof(float) * (size_t)n);
            memcpy(got, x, sizeof(float) * (size_t)n);
            softmax_f32(want, n);
            softmax_f32_kernel(got, n);
            if (!same_floats(want, got, n)) return -1;
            /* SwiGLU's exponentials take either sign */
            for (int i = 0; i < n; i++) {
                const float g = round == 2 ? edges[next(state) % n_edges]
                                           : (float)((int)(next(state) % 2400001) - 1200000) * 1e-4f;
                want[i] = got[i] = next(state) & 1 ? g : -g;
                x[i] = any_float(state);
            }
            if (round == 3) want[n / 2] = got[n / 2] = NAN;
            swiglu_f32(want, x, n);
            swiglu_f32_kernel(got, x, n);
            if (!same_floats(want, got, n)) return -1;
            (*cases) += 2;
        }
        const int m = n < POSITIONS ? n : POSITIONS;
        for (unsigned d = 0; d < sizeof dims / sizeof *dims; d++) {
            const int head_dim = dims[d];
            for (int i = 0; i < DIM * POSITIONS; i++) keys[i] = any_float(state);
            for (int i = 0; i < head_dim; i++) q[i] = any_float(state);
            for (int i = 0; i < m; i++) x[i] = any_float(state);
            /* keys [head_dim][POSITIONS] */
            scores_f32(want, q, keys, POSITIONS, m, head_dim, 2.828427f);
            scores_f32_kernel(got, q, keys, POSITIONS, m, head_dim, 2.828427f);
            if (!same_floats(want, got, m)) return -1;
            /* the same floats as values [m][DIM] */
            weighted_sum_f32(want, x, keys, DIM, m, head_dim);
            weighted_sum_f32_kernel(got, x, keys, DIM, m, head_dim);
            if (!same_floats(want, got, head_dim)) return -1;
            (*cases) += 2;
#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64) /* the half and int8 caches' twins */
            if (half_and_int8_caches_agree(state, q, x, m, head_dim) != 0) return -1;
            (*cases) += 4;
#endif
        }
        /* quantize_q8: halves (x = k + 0.5 with scale 1), values of every magnitude,
         * groups below KERNEL_MIN_SCALE and of zeros */
        static const int group_sizes[] = {4, 8, 32, 64, 100};
        for (unsigned gi = 0; gi < sizeof group_sizes / sizeof *group_sizes; gi++) {
            for (int kind = 0; kind < 3; kind++) {
                int8_t q_want[N], q_got[N];
                for (int i = 0; i < n; i++) {
                    x[i] = kind == 0   ? (float)((int)(next(state) % 254) - 127) + 0.5f * (float)(next(state) & 1)
                           : kind == 1 ? any_float(state)
                                       : any_float(state) * 0x1p-90f * (float)(next(state) & 1);
                }
                x[next(state) % n] = kind == 0 ? 127.0f : x[0];
                quantize_q8(q_want, want, x, n, group_sizes[gi]);
                quantize_q8_kernel(q_got, got, x, n, group_sizes[gi]);
                const int groups = (n + group_sizes[gi] - 1) / group_sizes[gi];
                if (memcmp(q_want, q_got, (size_t)n) != 0 || !same_floats(want, got, groups)) return -1;
                (*cases)++;
            }
        }
    }
    return 0;
}
#endif

/* The q8 kernel (and the f32 one), in a frame of their own. */
static __attribute__((noinline)) int matvec_selftest(uint32_t seed, int *cases) {
    static const int sizes[] = {1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 172, 255, 300};
    static const int groups[] = {4, 8, 16, 32, 48, 64, 96, 128, 256};
    int8_t x[PADDED], w[ROWS * MAX_N];
    _Alignas(8) int16_t prepared[PADDED]; /* either form; aligned as a planned buffer (LDRD) */
    float xs[MAX_GROUPS], s[ROWS * MAX_GROUPS];
    uint32_t state = seed ? seed : 1;
    *cases = 0;
    for (unsigned si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (unsigned gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
            const int cols = sizes[si], group_size = groups[gi], n_groups = (cols + group_size - 1) / group_size;
            if (group_size % kernel_layout.cols) continue; /* the compiler never pairs these */
            for (int i = 0; i < cols; i++) x[i] = (int8_t)((int)(next(&state) % 255) - 127);
            for (int i = 0; i < ROWS * MAX_N; i++) w[i] = (int8_t)((int)(next(&state) % 255) - 127);
            if (si == 0) x[0] = w[0] = -127; /* the extreme product */
            memset(x + cols, 0, sizeof x - (size_t)cols);
#if KERNEL_X_BYTES == 1
            memcpy(prepared, x, sizeof x);
#else
            matvec_q8_prepare((int8_t *)prepared, x, cols);
#endif
            const int heights[2] = {ROWS, 1 + (int)(next(&state) % ROWS)}; /* a whole block, and any */
            for (int h = 0; h < 2; h++) {
                const int rows = heights[h];
                /* each group alone, scales 1: every output is that group's int32 sum exactly */
                for (int one = 0; one < n_groups; one++) {
                    for (int g = 0; g < n_groups; g++) {
                        xs[g] = g == one ? 1.0f : 0.0f;
                        for (int r = 0; r < rows; r++) s[r * MAX_GROUPS + g] = xs[g];
                    }
                    if (!agree((const int8_t *)prepared, x, xs, w, s, rows, cols, group_size)) return -1;
                }
                /* then random scales: the same float epilogue, in the same order */
                for (int g = 0; g < n_groups; g++) {
                    xs[g] = (float)(next(&state) % 1000000 + 1) * 3.1e-7f;
                    for (int r = 0; r < rows; r++) s[r * MAX_GROUPS + g] = (float)(next(&state) % 1000000 + 1) * 1.7e-8f;
                }
                if (!agree((const int8_t *)prepared, x, xs, w, s, rows, cols, group_size)) return -1;
                (*cases)++;
            }
            for (int h = 0; h < 2 && n_groups > 1; h++) { /* last: it overwrites x and w */
                if (!subnormal_sums_agree(&state, x, prepared, w, xs, s, heights[h], cols, group_size)) return -1;
                (*cases)++;
            }
        }
#if defined(KERNEL_F32_ROWS)
        for (int rows = 1; rows <= KERNEL_F32_ROWS; rows++) {
            if (!f32_agrees(&state, rows, sizes[si], 1.0f) || !f32_agrees(&state, rows, sizes[si], 1e-18f)) return -1;
            (*cases)++;
        }
#endif
    }
    return 0;
}

#if defined(KERNEL_Q4_TWIN) || defined(KERNEL_Q5_Q6_TWINS) || defined(KERNEL_GEMM_Q8_TWIN)
/* Random activations in [-127, 127] and group scales for one token of cols columns. */
static void random_token(uint32_t *state, int8_t *x, float *xs, int cols, int group_size) {
    for (int i = 0; i < cols; i++) x[i] = (int8_t)((int)(next(state) % 255) - 127);
    for (int g = 0; g * group_size < cols; g++) xs[g] = (float)(next(state) % 1000000 + 1) * 3.1e-7f;
}
#endif

#if defined(KERNEL_Q4_TWIN) || defined(KERNEL_Q5_Q6_TWINS)
/* The k-quant twins (kquant.h) against the reference: any bytes are a q4, q5 or q6
 * matrix once each group's half floats are finite. On x86 nine rows, the AVX-512
 * twins' whole block of eight and a short one; elsewhere three (those twins take
 * one or two at a time). On the stack: a static buffer would take RAM the memory
 * plan has given the model. */
#if defined(LLM_KERNEL_X86)
enum { KQ_ROWS = 9 };
#else
enum { KQ_ROWS = 3 };
#endif
enum { ROW_BYTES = 272 }; /* q6's widest row here: 300 columns in groups of 32 take 270 */
/* KQ_ROWS rows of random bytes as a q4, q5 or q6 matrix (`bits`): each group's half floats
 * made finite (exponent below 30, subnormals too). */
static void random_kquant(uint32_t *state, uint8_t *w, int bits, int cols, int group_size) {
    const long row_bytes = kquant_row_bytes(bits, cols, group_size);
    for (long i = 0; i < KQ_ROWS * row_bytes; i++) w[i] = (uint8_t)next(state);
    for (int r = 0; r < KQ_ROWS; r++) {
        uint8_t *p = w + r * row_bytes;
        for (int start = 0; start < cols; start += group_size) {
            const int len = kquant_min(group_size, cols - start), n_sub = (len + KQUANT_SUB - 1) / KQUANT_SUB;
            uint8_t *half = p + (long)kquant_span_bytes(bits) * n_sub + kquant_scale_bytes(bits, n_sub);
            for (int k = 0; k < (bits == 6 ? 2 : 4); k += 2) {
                const uint32_t h = next(state) % 0x7800u;
                half[k] = (uint8_t)h;
                half[k + 1] = (uint8_t)(h >> 8);
            }
            p += kquant_group_bytes(bits, len);
        }
    }
}

static const int kquant_sizes[] = {9, 32, 33, 64, 100, 172, 256, 300};
static const int kquant_groups[] = {32, 64, 96, 256};
enum { KQ_N = 300 };

static __attribute__((noinline)) int kquant_selftest(uint32_t *state, int *cases, int bits, Matvec twin,
                                                     Matvec reference) {
    uint8_t w[KQ_ROWS * ROW_BYTES];
    int8_t x[KQ_N];
    float xs[KQ_N / 32 + 1], want[KQ_ROWS], got[KQ_ROWS];
    for (unsigned si = 0; si < sizeof kquant_sizes / sizeof *kquant_sizes; si++) {
        for (unsigned gi = 0; gi < sizeof kquant_groups / sizeof *kquant_groups; gi++) {
            const int cols = kquant_sizes[si], group_size = kquant_groups[gi];
            random_kquant(state, w, bits, cols, group_size);
            random_token(state, x, xs, cols, group_size);
            reference(want, x, xs, w, KQ_ROWS, cols, group_size);
            twin(got, x, xs, w, KQ_ROWS, cols, group_size);
            if (memcmp(want, got, sizeof want) != 0) return -1;
            (*cases)++;
        }
    }
    return 0;
}
#endif

/* The GEMM twins (kernels.h: Gemm) against the reference token by token, for every
 * batch of up to GEMM_TOKENS tokens (on a microcontroller's small stack five: more
 * than any twin's register tile there). */
#if defined(KERNEL_GEMM_Q8_TWIN) || defined(KERNEL_GEMM_KQUANT_TWINS)
#if defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
enum { GEMM_TOKENS = 9 };
#else
enum { GEMM_TOKENS = 5 };
#endif

/* want[t] and got[t] agree for t < tokens, on their first `rows` floats. */
static int batch_agrees(const float *want, const float *got, int tokens, int stride, int rows) {
    for (int t = 0; t < tokens; t++) {
        if (memcmp(want + t * stride, got + t * stride, sizeof(float) * (size_t)rows) != 0) return 0;
    }
    return 1;
}
#endif

#if defined(KERNEL_GEMM_Q8_TWIN)
enum { GEMM_N = 136, GEMM_PADDED = GEMM_N + 16, GEMM_GROUPS = GEMM_N / 4 };
static __attribute__((noinline)) int gemm_q8_selftest(uint32_t *state, int *cases) {
    static const int sizes[] = {4, 16, 33, 64, 100, 136};
    static const int groups[] = {4, 16, 32, 64, 128};
    const WeightLayout *l = &kernel_layout;
    uint8_t block[ROWS * GEMM_PADDED + 4 * ROWS * GEMM_GROUPS];
    int8_t x[GEMM_PADDED];
    _Alignas(8) int16_t prepared[GEMM_TOKENS][GEMM_PADDED];
    float xs[GEMM_TOKENS][GEMM_GROUPS], want[GEMM_TOKENS][ROWS], got[GEMM_TOKENS][ROWS];
    for (unsigned si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        for (unsigned gi = 0; gi < sizeof groups / sizeof *groups; gi++) {
            const int cols = sizes[si], group_size = groups[gi], rows = gi % 2 ? ROWS : 1 + (int)(next(state) % ROWS);
            if (group_size % l->cols) continue;
            uint8_t *p = block; /* values in [-127, 127] (+ bias) and normal scales, group by group */
            for (int start = 0; start < cols; start += group_size) {
                const int len = cols - start < group_size ? cols - start : group_size;
                for (long i = 0; i < layout_values_bytes(l, rows, len, 8); i++) {
                    *p++ = (uint8_t)(((int)(next(state) % 255) - 127) ^ l->bias);
                }
                for (int r = 0; r < rows; r++, p += 4) {
                    const float scale = (float)(next(state) % 1000000 + 1) * 1.7e-8f;
                    memcpy(p, &scale, 4);
                }
            }
            for (int t = 0; t < GEMM_TOKENS; t++) {
                memset(x, 0, sizeof x);
                random_token(state, x, xs[t], cols, group_size);
                matvec_q8_reference(want[t], x, xs[t], block, rows, cols, group_size, l);
#if KERNEL_X_BYTES == 1
                memcpy(prepared[t], x, sizeof x);
#else
                matvec_q8_prepare((int8_t *)prepared[t], x, cols);
#endif
            }
            for (int tokens = 1; tokens <= GEMM_TOKENS; tokens++) {
                const TokenBatch b = {(const int8_t *)prepared, xs[0], sizeof prepared[0], GEMM_GROUPS, ROWS, tokens};
                gemm_q8_kernel(got[0], &b, block, rows, cols, group_size);
                if (!batch_agrees(want[0], got[0], tokens, ROWS, rows)) return -1;
                (*cases)++;
            }
        }
    }
    return 0;
}
#endif

#if defined(KERNEL_GEMM_KQUANT_TWINS)
static __attribute__((noinline)) int gemm_kquant_selftest(uint32_t *state, int *cases, int bits, Gemm twin,
                                                          Matvec reference) {
    uint8_t w[KQ_ROWS * ROW_BYTES];
    int8_t x[GEMM_TOKENS][KQ_N];
    float xs[GEMM_TOKENS][KQ_N / 32 + 1], want[GEMM_TOKENS][KQ_ROWS], got[GEMM_TOKENS][KQ_ROWS];
    for (unsigned si = 0; si < sizeof kquant_sizes / sizeof *kquant_sizes; si += 2) {
        for (unsigned gi = 0; gi < sizeof kquant_groups / sizeof *kquant_groups; gi++) {
            const int cols = kquant_sizes[si], group_size = kquant_groups[gi];
            random_kquant(state, w, bits, cols, group_size);
            for (int t = 0; t < GEMM_TOKENS; t++) {
                random_token(state, x[t], xs[t], cols, group_size);
                reference(want[t], x[t], xs[t], w, KQ_ROWS, cols, group_size);
            }
            for (int tokens = 1; tokens <= GEMM_TOKENS; tokens++) {
                const TokenBatch b = {x[0], xs[0], KQ_N, KQ_N / 32 + 1, KQ_ROWS, tokens};
                twin(got[0], &b, w, KQ_ROWS, cols, group_size);
                if (!batch_agrees(want[0], got[0], tokens, KQ_ROWS, KQ_ROWS)) return -1;
                (*cases)++;
            }
        }
    }
    return 0;
}
#endif

int kernel_selftest(uint32_t seed, int *cases) {
    kernels_init();
    if (matvec_selftest(seed, cases) != 0) return -1;
#if defined(KERNEL_Q4_TWIN) || defined(KERNEL_Q5_Q6_TWINS)
    uint32_t kquant_state = seed ? seed : 1;
#endif
#if defined(KERNEL_Q4_TWIN)
    if (kquant_selftest(&kquant_state, cases, 4, matvec_q4_kernel, matvec_q4_reference) != 0) return -1;
#endif
#if defined(KERNEL_Q5_Q6_TWINS)
    if (kquant_selftest(&kquant_state, cases, 5, matvec_q5_kernel, matvec_q5_reference) != 0) return -1;
    if (kquant_selftest(&kquant_state, cases, 6, matvec_q6_kernel, matvec_q6_reference) != 0) return -1;
#endif
#if defined(KERNEL_GEMM_Q8_TWIN) || defined(KERNEL_GEMM_KQUANT_TWINS)
    uint32_t gemm_state = seed ? seed : 1;
#endif
#if defined(KERNEL_GEMM_Q8_TWIN)
    if (gemm_q8_selftest(&gemm_state, cases) != 0) return -1;
#endif
#if defined(KERNEL_GEMM_KQUANT_TWINS)
    if (gemm_kquant_selftest(&gemm_state, cases, 4, gemm_q4_kernel, matvec_q4_reference) != 0) return -1;
    if (gemm_kquant_selftest(&gemm_state, cases, 5, gemm_q5_kernel, matvec_q5_reference) != 0) return -1;
    if (gemm_kquant_selftest(&gemm_state, cases, 6, gemm_q6_kernel, matvec_q6_reference) != 0) return -1;
#endif
#if defined(LLM_KERNEL_VFP) || defined(LLM_KERNEL_X86) || defined(LLM_KERNEL_A64)
    uint32_t state = seed ? seed : 1;
    if (float_selftest(&state, cases) != 0) return -1;
#endif
    return 0;
}
