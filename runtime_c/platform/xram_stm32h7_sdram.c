/* platform/xram_stm32h7_sdram.c - external RAM of the STM32H747I-DISCO: 32 MB of
 * SDRAM, one IS42S32800J (8M x 32: 4 banks x 4096 rows x 512 columns, -6 speed
 * grade, 166 MHz at CAS 3) on the FMC's 32-bit bus as SDRAM bank 2 (SDNE1,
 * SDCKE1), at 0xD0000000.
 * Sources: RM0399 (STM32H745/755/747/757) section 23 FMC: 23.9 SDRAM controller
 * (23.9.3 the initialization steps, 23.9.6 the registers FMC_SDCRx, FMC_SDTRx,
 * FMC_SDCMR, FMC_SDRTR, FMC_SDSR), 23.7.6 FMC_BCR1 (FMCEN, BMAP), 23.4 (the
 * memory banks), section 9 RCC (AHB3ENR.FMCEN, AHB4ENR GPIO clocks, the FMC
 * kernel clock's reset choice rcc_hclk3), section 12 GPIO; the pin list is ST's
 * STM32H747I-DISCO BSP (stm32h747i_discovery_sdram.c) and the board's schematic
 * (MB1248); the timings are the IS42S32800J datasheet's; Armv7-M ARM B3.5 (MPU).
 *
 * Clocks: the core at 480 MHz, HCLK (the FMC's kernel clock) at 240 MHz, so the
 * SDRAM clock is HCLK / 2 = 120 MHz (8.33 ns a cycle), the figure the timings
 * below are counted in. */
#include <stdint.h>
#include "stm32_gpio.h"
#include "xram.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define RCC_AHB3ENR REG(0x580244D4u)
#define RCC_AHB4ENR REG(0x580244E0u)
#define GPIOA_BASE 0x58020000u
#define FMC_BASE 0x52004000u
#define FMC_BCR1 REG(FMC_BASE + 0x000u)
#define FMC_SDCR1 REG(FMC_BASE + 0x140u)
#define FMC_SDCR2 REG(FMC_BASE + 0x144u)
#define FMC_SDTR1 REG(FMC_BASE + 0x148u)
#define FMC_SDTR2 REG(FMC_BASE + 0x14Cu)
#define FMC_SDCMR REG(FMC_BASE + 0x150u)
#define FMC_SDRTR REG(FMC_BASE + 0x154u)
#define FMC_SDSR REG(FMC_BASE + 0x158u)
#define MPU_CTRL REG(0xE000ED94u)
#define MPU_RNR REG(0xE000ED98u)
#define MPU_RBAR REG(0xE000ED9Cu)
#define MPU_RASR REG(0xE000EDA0u)

#define SDRAM_BASE 0xD0000000u
#define BCR1_FMCEN (1u << 31)
#define SDRAM_SIZE_LOG2 25 /* 32 MB */

/* The core clock, for the 100 us wait only (the DWT counter is not started yet). */
#ifndef XRAM_CPU_MHZ
#define XRAM_CPU_MHZ 480
#endif

enum {
    AHB3ENR_FMCEN = 1u << 12,
    AF12_FMC = 12u,
    /* FMC_SDCRx: NC (1:0) 1 = 9 column bits, NR (3:2) 1 = 12 row bits, MWID (5:4) 2 =
     * 32 bits, NB (6) 1 = four internal banks, CAS (8:7) 3, WP (9) 0. SDCLK (11:10),
     * RBURST (12) and RPIPE (14:13) are read from FMC_SDCR1 for both banks (their
     * bits in FMC_SDCR2 are don't care): SDCLK 2 = kernel clock / 2, RBURST 1
     * (reads as bursts: sequential reads hit the open row), RPIPE 0 (no extra HCLK
     * of read delay, as ST's BSP for this board). */
    SDCR_BANK2 = 1u << 0 | 1u << 2 | 2u << 4 | 1u << 6 | 3u << 7,
    SDCR_COMMON = 2u << 10 | 1u << 12,
    /* FMC_SDCMR: MODE (2:0), CTB2 (3: the command goes to bank 2), NRFS (8:5, auto-
     * refreshes - 1), MRD (22:9, the mode register's value). */
    CMD_CLOCK_ENABLE = 1u, CMD_PALL = 2u, CMD_AUTO_REFRESH = 3u, CMD_LOAD_MODE = 4u,
    CMD_BANK2 = 1u << 3,
    SDSR_BUSY = 1u << 5,
    /* The SDRAM's mode register: burst length 1 (2:0 = 0), sequential (3 = 0), CAS
     * latency 3 (6:4 = 3), standard operation (8:7 = 0), single-location write
     * bursts (9 = 1), as the BSP. */
    SDRAM_MODE = 3u << 4 | 1u << 9,
};

/* FMC_SDTRx, each field the cycle count - 1, counted at 8.33 ns (RM0399 23.9.6):
 * TMRD (3:0) load mode register to active: 2 cycles (tMRD);
 * TXSR (7:4) self-refresh exit: 70 ns -> 9 cycles;
 * TRAS (11:8) self-refresh time: tRAS 42 ns -> 6 cycles;
 * TRC (15:12) row cycle: 60 ns -> 8 cycles (read from FMC_SDTR1 for both banks);
 * TWR (19:16) write recovery: the datasheet's 2 cycles, raised to 3 by the RM's
 *   rules TWR >= TRAS - TRCD (6 - 3) and TWR >= TRC - TRCD - TRP (8 - 3 - 3);
 * TRP (23:20) precharge: 18 ns -> 3 cycles (read from FMC_SDTR1 for both banks);
 * TRCD (27:24) active to read/write: 18 ns -> 3 cycles. */
#define SDTR(tmrd, txsr, tras, trc, twr, trp, trcd)                                                              \
    ((uint32_t)((tmrd)-1) | (uint32_t)((txsr)-1) << 4 | (uint32_t)((tras)-1) << 8 | (uint32_t)((trc)-1) << 12 | \
     (uint32_t)((twr)-1) << 16 | (uint32_t)((trp)-1) << 20 | (uint32_t)((trcd)-1) << 24)
#define SDRAM_TIMING SDTR(2, 9, 6, 8, 3, 3, 3)

/* FMC_SDRTR.COUNT (13:1): 4096 rows refreshed every 64 ms is one per 15.625 us;
 * 15.625 us x 120 MHz = 1875 cycles, less the RM's margin of 20: 1855. */
#define REFRESH_COUNT 1855u

/* The board's FMC pins, port by port (bit n = pin n), from the BSP and the
 * schematic: D: D2, D3, D13-D15, D0, D1; E: NBL0, NBL1, D4-D12; F: A0-A5, SDNRAS,
 * A6-A9; G: A10-A12, BA0, BA1, SDCLK, SDNCAS; H: SDNWE, SDNE1, SDCKE1, D16-D23;
 * I: D24-D27, NBL2, NBL3, D28, D29, D30, D31. */
static const struct {
    uint8_t port; /* 0 = A */
    uint16_t pins;
} fmc_pins[] = {
    {3, 1u << 0 | 1u << 1 | 1u << 8 | 1u << 9 | 1u << 10 | 1u << 14 | 1u << 15},
    {4, 1u << 0 | 1u << 1 | 0xFF80u},
    {5, 0x003Fu | 0xF800u},
    {6, 1u << 0 | 1u << 1 | 1u << 2 | 1u << 4 | 1u << 5 | 1u << 8 | 1u << 15},
    {7, 0xFFE0u},
    {8, 0x00FFu | 1u << 9 | 1u << 10},
};

static void fmc_command(uint32_t command) {
    while (FMC_SDSR & SDSR_BUSY) {
    }
    FMC_SDCMR = command | CMD_BANK2;
    while (FMC_SDSR & SDSR_BUSY) {
    }
}

void xram_init(void) {
    /* The FMC's clock (its kernel clock stays the reset choice, rcc_hclk3). */
    RCC_AHB3ENR |= AHB3ENR_FMCEN;
    (void)RCC_AHB3ENR; /* read back: the clock is on before the FMC is written */

    /* Each pin to AF12 (FMC), push-pull (OTYPER's reset value), very high speed
     * (OSPEEDR 3, offset 0x08: the pins toggle at 120 MHz) and a weak pull-up
     * (PUPDR 1, offset 0x0C), as the BSP sets them. */
    for (uint32_t i = 0; i < sizeof fmc_pins / sizeof fmc_pins[0]; i++) {
        volatile uint32_t *gpio = (volatile uint32_t *)(GPIOA_BASE + 0x400u * fmc_pins[i].port);
        for (uint32_t pin = 0; pin < 16; pin++) {
            if (!(fmc_pins[i].pins & 1u << pin)) continue;
            stm32_pin_alternate(&RCC_AHB4ENR, GPIOA_BASE, fmc_pins[i].port, pin, AF12_FMC);
            gpio[2] |= 3u << (2 * pin);
            gpio[3] = (gpio[3] & ~(3u << (2 * pin))) | 1u << (2 * pin);
        }
    }

    /* 23.9.3 steps 1-2: the memory's features and timings, then the FMC on. */
    FMC_SDCR1 = SDCR_COMMON;
    FMC_SDCR2 = SDCR_BANK2;
    FMC_SDTR1 = SDRAM_TIMING;
    FMC_SDTR2 = SDRAM_TIMING;
    FMC_BCR1 |= BCR1_FMCEN;

    /* Steps 3-8, the JEDEC power-up: SDCLK and CKE on, 100 us of stable clock,
     * precharge all, eight auto-refreshes (the datasheet asks for two or more),
     * the mode register, then the refresh rate. */
    fmc_command(CMD_CLOCK_ENABLE);
    for (volatile uint32_t n = 0; n < 100u * XRAM_CPU_MHZ; n++) {
        /* at least a cycle an iteration: >= 100 us at the core's clock */
    }
    fmc_command(CMD_PALL);
    fmc_command(CMD_AUTO_REFRESH | (8u - 1) << 5);
    fmc_command(CMD_LOAD_MODE | SDRAM_MODE << 9);
    FMC_SDRTR = REFRESH_COUNT << 1;

    /* The default memory map makes 0xA0000000-0xDFFFFFFF Device memory (Armv7-M
     * B3.1, table B3-1: "External device"): unaligned accesses there fault and
     * nothing is cached, so compiled C cannot use it as RAM. Two ways out: FMC_BCR1
     * BMAP = 01 swaps the SDRAM banks to 0x60000000/0x70000000, which the default
     * map makes Normal memory, but moves the board's address; or an MPU region
     * over the SDRAM as Normal memory. This takes the MPU, so the memory stays at
     * 0xD0000000. Region 7 (the highest of the eight every Cortex-M7 has, so it
     * wins over any lower region that overlaps): base 0xD0000000, 32 MB (SIZE =
     * log2 - 1), Normal write-back read/write-allocate (TEX 1, C 1, B 1), not
     * shareable, read/write for all (AP 3), execute-never (XN: it holds data).
     * PRIVDEFENA keeps the default map everywhere else. */
    __asm__ volatile("dsb" ::: "memory");
    MPU_RNR = 7u;
    MPU_RBAR = SDRAM_BASE;
    MPU_RASR = 1u << 28 | 3u << 24 | 1u << 19 | 1u << 17 | 1u << 16 | (uint32_t)(SDRAM_SIZE_LOG2 - 1) << 1 | 1u;
    MPU_CTRL |= 1u << 2 | 1u << 0; /* PRIVDEFENA, ENABLE */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
