/* platform/rp2_map.h - the RP2040's and RP2350's registers that the start-up
 * (rp2_clocks.h) and the UART driver (uart_rp2_pl011.c) touch: the same blocks at
 * other addresses, with other reset bits and divider fields. Which chip is
 * llm_config.h's LLM_CHIP_RP2040 or LLM_CHIP_RP2350 (the board file's [chip]).
 * Sources: RP2040 datasheet 2.2 (address map), 2.14 (resets), 2.15 (clocks);
 * RP2350 datasheet 2.2, 7.5, 8.1 (CLK_*_DIV fields: table 557 on). */
#ifndef LLM_RP2_MAP_H
#define LLM_RP2_MAP_H

#include <stdint.h>
#include "model.h"

#define REG(address) (*(volatile uint32_t *)(address))

#if defined(LLM_CHIP_RP2040)
#define RESETS_BASE 0x4000C000u
#define CLOCKS_BASE 0x40008000u
#define XOSC_BASE 0x40024000u
#define PLL_SYS_BASE 0x40028000u
#define IO_BANK0_BASE 0x40014000u
#define PADS_BANK0_BASE 0x4001C000u
enum { RESET_IO_BANK0 = 1u << 5, RESET_PADS_BANK0 = 1u << 8, RESET_PLL_SYS = 1u << 12, RESET_UART0 = 1u << 22 };
/* divide by 1: CLK_REF_DIV.INT is bits 9:8, CLK_SYS_DIV.INT bits 31:8 (8 fraction bits) */
enum { CLK_REF_DIV_ONE = 1u << 8, CLK_SYS_DIV_ONE = 1u << 8 };
#define PAD_ISO 0u /* RP2040 pads have no isolation latch */
#elif defined(LLM_CHIP_RP2350)
#define RESETS_BASE 0x40020000u
#define CLOCKS_BASE 0x40010000u
#define XOSC_BASE 0x40048000u
#define PLL_SYS_BASE 0x40050000u
#define IO_BANK0_BASE 0x40028000u
#define PADS_BANK0_BASE 0x40038000u
enum { RESET_IO_BANK0 = 1u << 6, RESET_PADS_BANK0 = 1u << 9, RESET_PLL_SYS = 1u << 14, RESET_UART0 = 1u << 26 };
/* divide by 1: CLK_REF_DIV.INT is bits 23:16, CLK_SYS_DIV.INT bits 31:16 (16 fraction
 * bits); clk_peri has a divider too (CLK_PERI_DIV at 0x4c, INT bits 17:16) */
enum { CLK_REF_DIV_ONE = 1u << 16, CLK_SYS_DIV_ONE = 1u << 16, CLK_PERI_DIV_ONE = 1u << 16 };
#define CLK_PERI_DIV REG(CLOCKS_BASE + 0x4Cu)
/* a pad's ISO bit (8): set at reset, it holds the pad's last state until cleared */
#define PAD_ISO (1u << 8)
#else
#error "rp2_map.h: llm_config.h names neither LLM_CHIP_RP2040 nor LLM_CHIP_RP2350"
#endif

/* Every register has atomic aliases: +0x2000 sets the bits written, +0x3000 clears them. */
#define SET_BITS(address) REG((address) + 0x2000u)
#define CLEAR_BITS(address) REG((address) + 0x3000u)

/* RESETS: RESET (0x0) holds a block in reset while its bit is set; RESET_DONE
 * (0x8) says when it has come out. */
static inline void rp2_unreset(uint32_t blocks) {
    CLEAR_BITS(RESETS_BASE) = blocks;
    while ((REG(RESETS_BASE + 0x8u) & blocks) != blocks) {
    }
}

#endif
