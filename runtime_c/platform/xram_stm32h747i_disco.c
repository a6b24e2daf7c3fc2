/* platform/xram_stm32h747i_disco.c - the external memories of the ST STM32H747I-DISCO
 * (MB1248, a Cortex-M7 STM32H747XI), both brought up by xram_init:
 *
 * 1. 32 MB of SDRAM at 0xD0000000: one IS42S32800J (8M x 32: 4 banks x 4096 rows x
 *    512 columns, -6 speed grade, 166 MHz at CAS 3) on the FMC's 32-bit bus as SDRAM
 *    bank 2 (SDNE1, SDCKE1), read/write.
 * 2. 128 MB of QSPI NOR flash at 0x90000000, read-only: the board's MT25TL01G, two
 *    512 Mbit Micron MT25QL512ABB dies, one on each QUADSPI bank (BK1 and BK2) in
 *    dual-flash mode (the even-addressed bytes in the BK1 die, the odd in the BK2
 *    die, both read at once), left in the QUADSPI's memory-mapped mode reading with
 *    4-byte-address quad I/O fast read (0xEC, 1-4-4).
 *
 * Sources: RM0399 (STM32H745/755/747/757): section 23 FMC: 23.9 SDRAM controller
 * (23.9.3 the initialization steps, 23.9.6 the registers FMC_SDCRx, FMC_SDTRx,
 * FMC_SDCMR, FMC_SDRTR, FMC_SDSR), 23.7.6 FMC_BCR1 (FMCEN, BMAP), 23.4 (the
 * memory banks); the QUADSPI section (QUADSPI_CR, _DCR, _SR, _FCR, _DLR, _CCR,
 * _DR, _PSMKR, _PSMAR, _PIR; indirect, status-polling, memory-mapped and
 * dual-flash modes); section 9 RCC (AHB3ENR FMCEN and QSPIEN, AHB3RSTR QSPIRST,
 * AHB4ENR GPIO clocks, the FMC's and QUADSPI's kernel clock's reset choice
 * rcc_hclk3), section 12 GPIO. The pin lists are ST's STM32H747I-DISCO BSP
 * (stm32h747i_discovery_sdram.c, stm32h747i_discovery_qspi.c / .h) and the
 * board's schematic; the flash's commands, its register layout and dummy cycles
 * are ST's MT25TL01G component driver (mt25tl01g.c / .h / _conf.h) and BSP_QSPI_Init
 * and BSP_QSPI_EnableMemoryMappedMode (STR, SPI_4IO interface); the SDRAM
 * timings are the IS42S32800J datasheet's; Armv7-M ARM B3.1 (the default memory
 * map) and B3.5 (MPU).
 *
 * Clocks: HCLK (the FMC's and QUADSPI's kernel clock) is the core's clock / 2 and
 * the SDRAM clock HCLK / 2: 100 MHz at the board's 400 MHz. The SDRAM timings below
 * are counted at 120 MHz (8.33 ns a cycle), so they hold at or below it. The
 * QUADSPI prescaler keeps the flash clock at or below 100 MHz: 200 MHz / 2. */
#include <stdint.h>
#include "llm_config.h"
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
#define RCC_AHB3RSTR REG(0x5802447Cu)
#define QUADSPI_BASE 0x52005000u
#define QUADSPI_CR REG(QUADSPI_BASE + 0x00u)
#define QUADSPI_DCR REG(QUADSPI_BASE + 0x04u)
#define QUADSPI_SR REG(QUADSPI_BASE + 0x08u)
#define QUADSPI_FCR REG(QUADSPI_BASE + 0x0Cu)
#define QUADSPI_DLR REG(QUADSPI_BASE + 0x10u)
#define QUADSPI_CCR REG(QUADSPI_BASE + 0x14u)
#define QUADSPI_DR8 (*(volatile uint8_t *)(QUADSPI_BASE + 0x20u)) /* byte access: one byte a FIFO entry */
#define QUADSPI_PSMKR REG(QUADSPI_BASE + 0x24u)
#define QUADSPI_PSMAR REG(QUADSPI_BASE + 0x28u)
#define QUADSPI_PIR REG(QUADSPI_BASE + 0x2Cu)

#define SDRAM_BASE 0xD0000000u
#define BCR1_FMCEN (1u << 31)
#define SDRAM_SIZE_LOG2 25 /* 32 MB */

/* The core clock (the board file's, which its [chip] start-up makes: llm_config.h),
 * for the waits (the DWT counter is not started yet). */
#define XRAM_CPU_MHZ LLM_CLOCK_MHZ

/* The QUADSPI's kernel clock: RCC_D1CCIPR.QSPISEL's reset choice, rcc_hclk3 (HCLK,
 * the core's clock / HPRE 2 here); the FMC's too, and the SDRAM clock half that. */
#define XRAM_QSPI_KERNEL_MHZ (XRAM_CPU_MHZ / 2)
#define SDRAM_CLOCK_MHZ (XRAM_CPU_MHZ / 4)
/* QUADSPI_CR.PRESCALER: the flash clock is the kernel clock / (PRESCALER + 1), kept
 * at or below 100 MHz (ST's BSP runs it at 200 / 2 = 100 MHz with 8 dummy cycles; the
 * MT25QL's STR ceiling is 133 MHz). */
#define QSPI_PRESCALER ((XRAM_QSPI_KERNEL_MHZ + 99) / 100 - 1)
_Static_assert(QSPI_PRESCALER >= 0 && QSPI_PRESCALER <= 255, "QUADSPI prescaler out of range");

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

enum {
    AHB3ENR_QSPIEN = 1u << 14,
    AHB3RSTR_QSPIRST = 1u << 14,
    /* QUADSPI_CR: EN (0), SSHIFT (4: sample the flash's data half a clock late, as
     * the BSP in STR), DFM (6: dual-flash), FTHRES (12:8, the FIFO threshold - 1: 0,
     * as the BSP; only flags depend on it), APMS (22: status polling stops at the
     * first match), PRESCALER (31:24). */
    QCR_EN = 1u << 0,
    QCR_SSHIFT = 1u << 4,
    QCR_DFM = 1u << 6,
    QCR_APMS = 1u << 22,
    /* QUADSPI_DCR: CKMODE (0) 0 = mode 0, the clock low between commands; CSHT
     * (10:8) + 1 cycles of nCS high between commands: 5, 50 ns at <= 100 MHz, the
     * minimum the BSP's comment gives for commands other than reads (its own 4
     * cycles are 40 ns at 100 MHz); FSIZE (20:16): 2^(FSIZE + 1) bytes, 26 for 2^27 = 128 MB, both dies
     * together in dual-flash mode. */
    QDCR = 4u << 8 | 26u << 16,
    QSR_TCF = 1u << 1, QSR_SMF = 1u << 3, QSR_BUSY = 1u << 5,
    QFCR_CTCF = 1u << 1, QFCR_CSMF = 1u << 3,
    /* QUADSPI_CCR: INSTRUCTION (7:0), IMODE (9:8), ADMODE (11:10) and DMODE (25:24)
     * lines (1 = one, 3 = four), ADSIZE (13:12, 3 = 32 bits), ABMODE (15:14, 0: no
     * alternate bytes), DCYC (22:18) dummy cycles, FMODE (27:26) 0 = indirect write,
     * 1 = indirect read, 2 = status polling, 3 = memory-mapped; SIOO, DHHC and DDRM
     * 0: the instruction every command, single transfer rate. */
    CCR_IMODE_1 = 1u << 8, CCR_IMODE_4 = 3u << 8,
    CCR_ADMODE_4 = 3u << 10, CCR_ADSIZE_32 = 3u << 12,
    CCR_DMODE_1 = 1u << 24, CCR_DMODE_4 = 3u << 24,
    CCR_WRITE = 0u << 26, CCR_READ = 1u << 26, CCR_POLL = 2u << 26, CCR_MAPPED = 3u << 26,
    /* The MT25QL512's commands (mt25tl01g.h, the Micron datasheet's command set). */
    NOR_WRITE_ENABLE = 0x06u, NOR_READ_STATUS = 0x05u, NOR_RESET_ENABLE = 0x66u, NOR_RESET_MEMORY = 0x99u,
    NOR_ENTER_4_BYTE_ADDRESS = 0xB7u, NOR_READ_VCR = 0x85u, NOR_WRITE_VCR = 0x81u,
    NOR_QUAD_IO_READ_4_BYTE = 0xECu,
    /* Status register: WIP (bit 0, busy), WEL (bit 1, write enable latch); one byte a
     * die, BK1's first, so each mask covers both dies. */
    NOR_SR_WIP = 0x0101u, NOR_SR_WEL = 0x0202u,
    /* The dummy cycles of the quad reads, in the volatile configuration register's
     * bits 7:4 (MT25TL01G_VCR_NB_DUMMY; the BSP's MT25TL01G_DUMMY_CYCLES_READ_QUAD,
     * the same 8 it puts in the memory-mapped read command). */
    NOR_DUMMY_CYCLES = 8u,
    NOR_VCR_DUMMY_MASK = 0xF0u,
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

/* FMC_SDRTR.COUNT (13:1): 4096 rows refreshed every 64 ms is one per 15.625 us:
 * that many SDRAM clock cycles less the RM's margin of 20 (1542 at 100 MHz, 1855 at
 * 120). The timings above are counted at 120 MHz, so they hold at any slower clock. */
#define REFRESH_COUNT (15625u * SDRAM_CLOCK_MHZ / 1000u - 20u)
_Static_assert(SDRAM_CLOCK_MHZ <= 120, "the SDRAM timings are counted for at most 120 MHz");

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

/* Busy-waits at least `us` microseconds: a core cycle or more an iteration. */
static void spin_us(uint32_t us) {
    for (volatile uint32_t n = 0; n < us * XRAM_CPU_MHZ; n++) {
    }
}

static void qspi_wait_idle(void) {
    while (QUADSPI_SR & QSR_BUSY) {
    }
}

/* An indirect-mode command without data (an instruction only): CCR starts it;
 * then its transfer-complete flag, and the QUADSPI idle again. */
static void qspi_command(uint32_t ccr) {
    qspi_wait_idle();
    QUADSPI_CCR = CCR_WRITE | ccr;
    while (!(QUADSPI_SR & QSR_TCF)) {
    }
    QUADSPI_FCR = QFCR_CTCF;
    qspi_wait_idle();
}

/* Status-polling mode: READ STATUS REGISTER (1-0-1) on both dies, one byte each,
 * every 16 flash clocks until (status & mask) == match, then stop (APMS). */
static void qspi_poll_status(uint32_t mask, uint32_t match) {
    qspi_wait_idle();
    QUADSPI_DLR = 2u - 1;
    QUADSPI_PSMKR = mask;
    QUADSPI_PSMAR = match;
    QUADSPI_PIR = 0x10u;
    QUADSPI_CCR = CCR_POLL | CCR_IMODE_1 | CCR_DMODE_1 | NOR_READ_STATUS;
    while (!(QUADSPI_SR & QSR_SMF)) {
    }
    QUADSPI_FCR = QFCR_CSMF;
    qspi_wait_idle();
}

/* WRITE ENABLE on both dies, then wait for both WEL bits: the commands that change
 * the flash's state (4-byte address mode, the configuration registers) need it. */
static void qspi_write_enable(void) {
    qspi_command(CCR_IMODE_1 | NOR_WRITE_ENABLE);
    qspi_poll_status(NOR_SR_WEL, NOR_SR_WEL);
}

/* The QSPI flash into memory-mapped mode, the steps of BSP_QSPI_Init (STR, 1-4-4
 * interface) and BSP_QSPI_EnableMemoryMappedMode. */
static void qspi_init(void) {
    /* The QUADSPI's clock on (its kernel clock the reset choice, rcc_hclk3) and the
     * block reset, as the BSP's MSP init. */
    RCC_AHB3ENR |= AHB3ENR_QSPIEN;
    (void)RCC_AHB3ENR; /* read back: the clock is on before the QUADSPI is written */
    RCC_AHB3RSTR |= AHB3RSTR_QSPIRST;
    RCC_AHB3RSTR &= ~AHB3RSTR_QSPIRST;
    (void)RCC_AHB3RSTR;

    /* The pins (from the BSP's stm32h747i_discovery_qspi.h and QSPI_MspInit):
     * alternate function, push-pull, very high speed, no pull but a pull-up on
     * nCS (the dual-die part has one chip select, BK1's: the BSP's BK2 nCS is the
     * same PG6). */
    static const struct {
        uint8_t port, pin, af, pull_up; /* port 0 = A */
    } qspi_pins[] = {
        {1, 2, 9, 0},   /* PB2  CLK */
        {6, 6, 10, 1},  /* PG6  BK1_NCS */
        {3, 11, 9, 0},  /* PD11 BK1_IO0 */
        {5, 9, 10, 0},  /* PF9  BK1_IO1 */
        {5, 7, 9, 0},   /* PF7  BK1_IO2 */
        {5, 6, 9, 0},   /* PF6  BK1_IO3 */
        {7, 2, 9, 0},   /* PH2  BK2_IO0 */
        {7, 3, 9, 0},   /* PH3  BK2_IO1 */
        {6, 9, 9, 0},   /* PG9  BK2_IO2 */
        {6, 14, 9, 0},  /* PG14 BK2_IO3 */
    };
    for (uint32_t i = 0; i < sizeof qspi_pins / sizeof qspi_pins[0]; i++) {
        uint32_t port = qspi_pins[i].port, pin = qspi_pins[i].pin;
        volatile uint32_t *gpio = (volatile uint32_t *)(GPIOA_BASE + 0x400u * port);
        stm32_pin_alternate(&RCC_AHB4ENR, GPIOA_BASE, port, pin, qspi_pins[i].af);
        gpio[1] &= ~(1u << pin);          /* OTYPER: push-pull */
        gpio[2] |= 3u << (2 * pin);       /* OSPEEDR: very high speed */
        gpio[3] = (gpio[3] & ~(3u << (2 * pin))) | (uint32_t)qspi_pins[i].pull_up << (2 * pin); /* PUPDR */
    }

    /* The QUADSPI (disabled while configured): the flash's size and chip-select
     * high time, then the prescaler, sample shift, dual-flash mode, then on. */
    QUADSPI_DCR = QDCR;
    QUADSPI_CR = (uint32_t)QSPI_PRESCALER << 24 | QCR_APMS | QCR_DFM | QCR_SSHIFT;
    QUADSPI_CR |= QCR_EN;

    /* Reset the dies from whatever protocol a previous run left them in: RESET
     * ENABLE and RESET MEMORY first in quad SPI protocol (4-0-0: a die in extended
     * SPI ignores that as an incomplete command), then in extended SPI (1-0-0).
     * Each reset is given 1 ms to settle (the recovery time is not confirmed here;
     * the BSP polls instead), then the dies are polled until neither is busy. After
     * the reset the volatile settings are the nonvolatile ones: extended SPI,
     * 3-byte addresses, the default dummy cycles. */
    qspi_command(CCR_IMODE_4 | NOR_RESET_ENABLE);
    qspi_command(CCR_IMODE_4 | NOR_RESET_MEMORY);
    spin_us(1000);
    qspi_command(CCR_IMODE_1 | NOR_RESET_ENABLE);
    qspi_command(CCR_IMODE_1 | NOR_RESET_MEMORY);
    spin_us(1000);
    qspi_poll_status(NOR_SR_WIP, 0);

    /* 4-byte address mode (write enable first, as the component driver): each die
     * holds 64 MB, beyond 24 address bits. The 0xEC read below takes 4 address bytes
     * whatever the mode; this keeps the dies' other commands agreeing with it. */
    qspi_write_enable();
    qspi_command(CCR_IMODE_1 | NOR_ENTER_4_BYTE_ADDRESS);
    qspi_poll_status(NOR_SR_WIP, 0);

    /* The dummy cycles: READ VOLATILE CONFIGURATION REGISTER (1-0-1, a byte a die),
     * its bits 7:4 set to 8 on each die (the rest kept, as the BSP), WRITE ENABLE,
     * WRITE VOLATILE CONFIGURATION REGISTER (1-0-1). The BSP's QSPI_DummyCyclesCfg
     * sends these with the instruction on 4 lines; the dies are in extended SPI
     * after the reset, so here they go on 1. */
    qspi_wait_idle();
    QUADSPI_DLR = 2u - 1;
    QUADSPI_CCR = CCR_READ | CCR_IMODE_1 | CCR_DMODE_1 | NOR_READ_VCR;
    while (!(QUADSPI_SR & QSR_TCF)) {
    }
    uint32_t vcr_bk1 = QUADSPI_DR8, vcr_bk2 = QUADSPI_DR8;
    QUADSPI_FCR = QFCR_CTCF;
    vcr_bk1 = (vcr_bk1 & ~(uint32_t)NOR_VCR_DUMMY_MASK) | NOR_DUMMY_CYCLES << 4;
    vcr_bk2 = (vcr_bk2 & ~(uint32_t)NOR_VCR_DUMMY_MASK) | NOR_DUMMY_CYCLES << 4;
    qspi_write_enable();
    QUADSPI_DLR = 2u - 1;
    QUADSPI_CCR = CCR_WRITE | CCR_IMODE_1 | CCR_DMODE_1 | NOR_WRITE_VCR;
    QUADSPI_DR8 = (uint8_t)vcr_bk1;
    QUADSPI_DR8 = (uint8_t)vcr_bk2;
    while (!(QUADSPI_SR & QSR_TCF)) {
    }
    QUADSPI_FCR = QFCR_CTCF;
    qspi_poll_status(NOR_SR_WIP, 0);

    /* Memory-mapped mode: every read of 0x90000000-0x97FFFFFF becomes 4-BYTE QUAD
     * I/O FAST READ, the instruction on 1 line, the 32-bit address (each die gets
     * half the offset) and the data on 4, 8 dummy cycles, no alternate (mode)
     * bytes: the BSP's MT25TL01G_EnableMemoryMappedModeSTR for its SPI_4IO mode.
     * The timeout counter stays off (CR.TCEN 0, as the BSP): nCS stays low after a
     * prefetch until the next access moves elsewhere. */
    qspi_wait_idle();
    QUADSPI_CCR = CCR_MAPPED | CCR_IMODE_1 | CCR_ADMODE_4 | CCR_ADSIZE_32 | NOR_DUMMY_CYCLES << 18 | CCR_DMODE_4 |
                  NOR_QUAD_IO_READ_4_BYTE;
    /* No MPU region: the default map makes 0x80000000-0x9FFFFFFF Normal memory
     * (Armv7-M B3.1, table B3-1: "External RAM", write-through cacheable,
     * executable), so reads there need nothing more; with the MPU on below,
     * PRIVDEFENA keeps that map for privileged code. The QUADSPI takes no writes
     * in memory-mapped mode: the region is read-only. */
    __asm__ volatile("dsb" ::: "memory");
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
    spin_us(100);
    fmc_command(CMD_PALL);
    fmc_command(CMD_AUTO_REFRESH | (8u - 1) << 5);
    fmc_command(CMD_LOAD_MODE | SDRAM_MODE << 9);
    FMC_SDRTR = REFRESH_COUNT << 1;

    /* The QSPI flash, memory-mapped at 0x90000000. */
    qspi_init();

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
