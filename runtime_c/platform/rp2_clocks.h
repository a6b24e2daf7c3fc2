/* platform/rp2_clocks.h - the clock tree both RP2 chips start with (chip_rp2040.c,
 * chip_rp2350.c; the addresses are rp2_map.h's): the 12 MHz crystal (XOSC) into
 * PLL_SYS, clk_ref from the crystal, clk_sys from PLL_SYS through its glitchless
 * mux, and clk_peri (the UART's clock) from clk_sys. The PLL's dividers are the
 * board file's [chip] (LLM_CHIP_PLL_*); toolchain/chips.py checks they make
 * clock_mhz. Sources: RP2040 datasheet 2.15 (clocks), 2.16 (XOSC), 2.18 (PLL,
 * 2.18.2.1's power-up order); RP2350 datasheet 8.1, 8.2, 8.6, the same blocks. */
#ifndef LLM_RP2_CLOCKS_H
#define LLM_RP2_CLOCKS_H

#include "rp2_map.h"

#define XOSC_CTRL REG(XOSC_BASE + 0x00u)
#define XOSC_STATUS REG(XOSC_BASE + 0x04u)
#define XOSC_STARTUP REG(XOSC_BASE + 0x0Cu)
#define PLL_CS REG(PLL_SYS_BASE + 0x0u)
#define PLL_PWR (PLL_SYS_BASE + 0x4u)
#define PLL_FBDIV_INT REG(PLL_SYS_BASE + 0x8u)
#define PLL_PRIM REG(PLL_SYS_BASE + 0xCu)
#define CLK_REF_CTRL (CLOCKS_BASE + 0x30u)
#define CLK_REF_DIV REG(CLOCKS_BASE + 0x34u)
#define CLK_REF_SELECTED REG(CLOCKS_BASE + 0x38u)
#define CLK_SYS_CTRL (CLOCKS_BASE + 0x3Cu)
#define CLK_SYS_DIV REG(CLOCKS_BASE + 0x40u)
#define CLK_SYS_SELECTED REG(CLOCKS_BASE + 0x44u)
#define CLK_PERI_CTRL REG(CLOCKS_BASE + 0x48u)

enum {
    /* XOSC CTRL: FREQ_RANGE 0xaa0 = 1-15 MHz (bits 11:0), ENABLE magic 0xfab (bits 23:12) */
    XOSC_RANGE_1_15MHZ = 0xAA0u, XOSC_ENABLE = 0xFABu << 12, XOSC_STABLE = 1u << 31,
    /* STARTUP.DELAY counts 256 crystal cycles: 1 ms is (kHz + 128) / 256; 64 times
     * that leaves room for a crystal that starts slower than the datasheet's 1 ms */
    XOSC_DELAY = (LLM_CHIP_CRYSTAL_MHZ * 1000 + 128) / 256 * 64,
    PLL_LOCK = 1u << 31,                                            /* CS */
    PLL_PD = 1u << 0, PLL_POSTDIVPD = 1u << 3, PLL_VCOPD = 1u << 5, /* PWR: power-down bits */
    /* clk_ref SRC (bits 1:0) 2 = XOSC; clk_sys SRC (bit 0) 1 = its aux mux, whose
     * AUXSRC (bits 7:5) 0 = PLL_SYS; clk_peri AUXSRC 0 = clk_sys, ENABLE bit 11.
     * SELECTED is one-hot: bit n while SRC n drives the output. */
    REF_SRC_MASK = 3u, REF_SRC_XOSC = 2u, SYS_SRC_AUX = 1u, PERI_ENABLE = 1u << 11,
};

static inline void rp2_clocks_start(void) {
    /* The crystal: its range and start-up delay, then on; STABLE once the delay ran. */
    XOSC_STARTUP = XOSC_DELAY;
    XOSC_CTRL = XOSC_RANGE_1_15MHZ | XOSC_ENABLE;
    while (!(XOSC_STATUS & XOSC_STABLE)) {
    }
    /* Off the sources about to change (the RP2350 comes out of reset with clk_sys on
     * its aux mux): clk_sys to clk_ref, clk_ref to the ring oscillator, each through
     * its glitchless mux, waiting until the switch is done. */
    CLEAR_BITS(CLK_SYS_CTRL) = SYS_SRC_AUX;
    while (CLK_SYS_SELECTED != 1u) {
    }
    CLEAR_BITS(CLK_REF_CTRL) = REF_SRC_MASK;
    while (CLK_REF_SELECTED != 1u) {
    }
    /* PLL_SYS from a clean reset, then the datasheet's order: reference divider and
     * feedback divider, power and VCO on, wait for lock, then the post dividers and
     * their power. */
    SET_BITS(RESETS_BASE) = RESET_PLL_SYS;
    rp2_unreset(RESET_PLL_SYS);
    PLL_CS = LLM_CHIP_PLL_REFDIV;
    PLL_FBDIV_INT = LLM_CHIP_PLL_FBDIV;
    CLEAR_BITS(PLL_PWR) = PLL_PD | PLL_VCOPD;
    while (!(PLL_CS & PLL_LOCK)) {
    }
    PLL_PRIM = (uint32_t)LLM_CHIP_PLL_POSTDIV1 << 16 | (uint32_t)LLM_CHIP_PLL_POSTDIV2 << 12;
    CLEAR_BITS(PLL_PWR) = PLL_POSTDIVPD;
    /* clk_ref from the crystal, undivided. */
    CLK_REF_DIV = CLK_REF_DIV_ONE;
    REG(CLK_REF_CTRL) = REF_SRC_XOSC;
    while (CLK_REF_SELECTED != 1u << REF_SRC_XOSC) {
    }
    /* clk_sys: the aux mux may glitch, so it is set to PLL_SYS while clk_sys runs from
     * clk_ref; then the glitchless switch to it. */
    CLK_SYS_DIV = CLK_SYS_DIV_ONE;
    REG(CLK_SYS_CTRL) = 0; /* AUXSRC PLL_SYS, SRC clk_ref */
    REG(CLK_SYS_CTRL) = SYS_SRC_AUX;
    while (CLK_SYS_SELECTED != 1u << SYS_SRC_AUX) {
    }
    /* clk_peri from clk_sys: stopped before its source is set (its mux is not
     * glitchless), then started. */
    CLK_PERI_CTRL = 0;
#if defined(CLK_PERI_DIV)
    CLK_PERI_DIV = CLK_PERI_DIV_ONE;
#endif
    CLK_PERI_CTRL = PERI_ENABLE; /* AUXSRC 0: clk_sys */
}

#endif
