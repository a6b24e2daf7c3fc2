/* chip.h - a chip's start-up (chip_<kind>.c, the board file's [chip]): the clock
 * tree to the board's clock_mhz (oscillator, PLL, flash wait states, bus
 * dividers) before anything else runs. Boards whose clock is fixed (the MPS2 and
 * MPS3 FPGA images) have none, and neither has a QEMU link (build/llm-qemu): QEMU's
 * machines start at their clock and do not model these registers. */
#ifndef LLM_CHIP_H
#define LLM_CHIP_H

void chip_start(void);

#endif
