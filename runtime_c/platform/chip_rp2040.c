/* platform/chip_rp2040.c - the RP2040's start-up: the crystal into PLL_SYS, clk_sys
 * and clk_peri at the board's clock_mhz (the sequence is rp2_clocks.h's, shared with
 * the RP2350; the addresses rp2_map.h's). The second-stage boot loader
 * (boot2_generic_03h.S) runs the flash at clk_sys / 4, 33 MHz at 133 MHz. */
#include "chip.h"
#include "rp2_clocks.h"

void chip_start(void) { rp2_clocks_start(); }
