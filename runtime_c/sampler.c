/* sampler.c - greedy, temperature and top-p sampling with a seeded RNG, as llama2.c. */
#include "sampler.h"
#include "model.h"
#include "kernels/kernels.h"

/* xorshift64* (llama2.c's generator), so a seed gives the same stream everywhere. */
static uint32_t random_u32(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1DULL) >> 32);
}

static float random_f32(uint64_t *state) { /* in [0, 1) */
    return (float)(random_u32(state) >> 8) / 16777216.0f;
}

/* The first index of the largest value (a NaN never wins, unless at x[0]). The
 * maximum rides in a register: compared with x[best], each step waited for the
 * load at the address the step before chose (10 cycles a logit on AMD Zen). */
static int argmax(const float *x, int n) {
    int best = 0;
    float max = x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] > max) {
            max = x[i];
            best = i;
        }
    }
    return best;
}

static int sample_multinomial(const float *probs, int n, float coin) {
    float cdf = 0.0f;
    for (int i = 0; i < n; i++) {
        cdf += probs[i];
        if (coin < cdf) return i;
    }
    return n - 1; /* rounding left the cdf just below 1 */
}

/* Orders by probability, highest first; ties by index so the order is total. */
static int before(const ProbIndex *a, const ProbIndex *b) {
    return a->prob > b->prob || (a->prob == b->prob && a->index < b->index);
}

/* Heapsort: in place and deterministic, where libc's qsort may allocate. */
static void sift_down(ProbIndex *a, int root, int n) {
    for (;;) {
        int child = 2 * root + 1;
        if (child >= n) return;
        /* a max-heap of the "last" element, so the sorted array comes out in `before` order */
        if (child + 1 < n && before(&a[child], &a[child + 1])) child++;
        if (!before(&a[root], &a[child])) return;
        ProbIndex t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void sort_candidates(ProbIndex *a, int n) {
    for (int i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        ProbIndex t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

/* Samples from the smallest set of tokens whose probabilities add up past topp. */
static int sample_topp(const float *probs, int n, float topp, float coin) {
    ProbIndex *candidates = llm_state.probindex;
    /* Tokens below this cannot be in the nucleus; dropping them first keeps the sort short. */
    const float cutoff = (1.0f - topp) / (float)(n - 1);
    int n0 = 0;
    for (int i = 0; i < n; i++) {
        if (probs[i] >= cutoff) {
            candidates[n0].index = i;
            candidates[n0].prob = probs[i];
            n0++;
        }
    }
    /* Nothing reaches the cutoff only when topp < 1/n (near-uniform probabilities,
     * e.g. a huge temperature): then the top token alone is past topp, the nucleus. */
    if (n0 == 0) return argmax(probs, n);
    sort_candidates(candidates, n0);
    float cumulative = 0.0f;
    int last = n0 - 1;
    for (int i = 0; i < n0; i++) {
        cumulative += candidates[i].prob;
        if (cumulative > topp) {
            last = i;
            break;
        }
    }
    float r = coin * cumulative;
    float cdf = 0.0f;
    for (int i = 0; i <= last; i++) {
        cdf += candidates[i].prob;
        if (r < cdf) return candidates[i].index;
    }
    return candidates[last].index;
}

int sampler_sample(Sampler *sampler, float *logits) {
    const int n = LLM_VOCAB_SIZE;
    if (sampler->temperature == 0.0f) return argmax(logits, n);
    for (int i = 0; i < n; i++) logits[i] /= sampler->temperature;
    softmax_f32_kernel(logits, n);
    float coin = random_f32(&sampler->rng);
    if (sampler->topp <= 0.0f || sampler->topp >= 1.0f) return sample_multinomial(logits, n, coin);
    return sample_topp(logits, n, sampler->topp, coin);
}
