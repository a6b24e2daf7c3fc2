/* platform/chip_rp2350.c - the RP2350's start-up: the crystal into PLL_SYS, clk_sys
 * and clk_peri at the board's clock_mhz (the sequence is rp2_clocks.h's, shared with
 * the RP2040; the addresses rp2_map.h's). The flash keeps the boot ROM's XIP set-up
 * (RP2350 datasheet 5.9.5: a program may go on running in it). */
#include "chip.h"
#include "rp2_clocks.h"

void chip_start(void) { rp2_clocks_start(); }
