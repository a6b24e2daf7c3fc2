/* platform/xram.h - external RAM start-up: the board file names a driver (its
 * memory region's key `init`, one xram_<kind>.c), and the reset handler runs it
 * after the chip's clock start-up (chip.h) and before .data is copied, so that
 * the planned buffers and a weight copy placed in external RAM can be used from
 * then on (the copy of .data may itself land there).
 *
 * What a driver promises when it returns: the memory is mapped at the board's
 * address, and the core may read and write it with ordinary loads and stores of
 * any size and alignment (where the core's default memory map would make the
 * region Device memory, the driver makes it Normal memory). It does not test the
 * memory and has no way to report a fault: a board without the part wired in
 * faults on the first access instead.
 *
 * A driver uses no .data and no .bss (neither exists yet when it runs), no heap
 * and nothing from the C library. */
#ifndef LLM_XRAM_H
#define LLM_XRAM_H

void xram_init(void);

#endif
