/* prefetch.h - how far ahead of a weight stream to prefetch: the x86 matrix kernels'
 * distance, which toolchain/host/read_bandwidth.c (the bench's roofline probe) reads with too. */
#ifndef LLM_PREFETCH_H
#define LLM_PREFETCH_H
#ifndef LLM_PREFETCH_BYTES
/* How far ahead of the weight stream the x86 matrix kernels prefetch (prefetcht0; a
 * matrix is one contiguous stream, and the hardware prefetcher alone keeps too few
 * lines in flight for one core to reach its bandwidth). Measured on the 110M shape's
 * matrices, all rounds interleaved in one process, medians of 25, GB/s of weights:
 * AMD EPYC Zen 5, AVX-512 VNNI, 1 thread: none 22.3-27.2, 6 KB 29.6-33.1,
 * 8 KB 32.1-32.6, 12 KB 31.9-32.9, 16 KB 30.8-32.7 (a plain read loop: 31.3-34.1);
 * AVX2 1.5 KB 22.3-25.0, 4 KB 25.9-27.3, 8 KB 27.9-31.1. On Zen 3 (AVX2), 1.5 KB
 * beat 1 and 2 KB: -DLLM_PREFETCH_BYTES=... (the Makefile's KERNELS) tunes it per machine. */
#define LLM_PREFETCH_BYTES 8192
#endif
#endif
