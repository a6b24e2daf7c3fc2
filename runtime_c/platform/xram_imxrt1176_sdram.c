/* platform/xram_imxrt1176_sdram.c - external RAM of an i.MX RT1176 board: 64 MB of
 * SDRAM on the SEMC's chip select 0, at 0x80000000.
 * Which board: the configuration is the MIMXRT1170-EVK's as NXP's SDK board files
 * and debugger scripts set it up (two 16-bit W9825G6KH-6 parts, 4 banks x 8192
 * rows x 512 columns each, side by side as one 32-bit bus: BR0 64 MB, SDRAMCR0
 * 32-bit, 9 column bits, CAS 3, burst 8). The Coral Dev Board Micro also has 64 MB
 * of SDRAM on its RT1176, but its schematic was not at hand: whether it uses the
 * same 32-bit pair or one 16-bit part (then SDRAMCR0.PS and the GPIO_EMC_B2 pins
 * differ) is unconfirmed, and this file is the EVK's.
 * Sources: i.MX RT1170 Reference Manual (IMXRT1170RM): chapter SEMC (the SDRAM
 * controller: MCR, BMCR0/1, BR0, SDRAMCR0-3, IPCR0-2, IPCMD, IPTXDAT, INTR and
 * the initialization by IP commands), chapter CCM (CLOCK_ROOT4 = SEMC, its MUX
 * and DIV), chapter IOMUXC (SW_MUX_CTL_PAD_GPIO_EMC_B1_00 at 0x400E8010,
 * SW_PAD_CTL_PAD_GPIO_EMC_B1_00 at 0x400E8254, ALT0 = SEMC on every EMC pad);
 * the W9825G6KH datasheet for the timings; Armv7-M ARM B3.1 (default memory map).
 *
 * Clock: the SEMC root from OSC_RC_400M / 3 = 133 MHz, a source that runs from
 * reset (no PLL to wait for). The RC oscillator is trimmed but not a crystal, so
 * the cycle counts below are taken at 140 MHz (7.14 ns), 5 % above, and the
 * refresh interval at 126 MHz, 5 % below; the -6 part is rated for 166 MHz. */
#include <stdint.h>
#include "xram.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define CCM_CLOCK_ROOT_SEMC REG(0x40CC0000u + 4u * 0x80u) /* CLOCK_ROOT4_CONTROL */
#define IOMUXC_MUX(n) REG(0x400E8010u + 4u * (n))        /* n: EMC_B1_00..41, then EMC_B2_00..20 */
#define IOMUXC_PAD(n) REG(0x400E8254u + 4u * (n))
#define SEMC_BASE 0x400D4000u
#define SEMC_MCR REG(SEMC_BASE + 0x00u)
#define SEMC_BMCR0 REG(SEMC_BASE + 0x08u)
#define SEMC_BMCR1 REG(SEMC_BASE + 0x0Cu)
#define SEMC_BR0 REG(SEMC_BASE + 0x10u)
#define SEMC_INTR REG(SEMC_BASE + 0x3Cu)
#define SEMC_SDRAMCR0 REG(SEMC_BASE + 0x40u)
#define SEMC_SDRAMCR1 REG(SEMC_BASE + 0x44u)
#define SEMC_SDRAMCR2 REG(SEMC_BASE + 0x48u)
#define SEMC_SDRAMCR3 REG(SEMC_BASE + 0x4Cu)
#define SEMC_IPCR0 REG(SEMC_BASE + 0x90u)
#define SEMC_IPCR1 REG(SEMC_BASE + 0x94u)
#define SEMC_IPCR2 REG(SEMC_BASE + 0x98u)
#define SEMC_IPCMD REG(SEMC_BASE + 0x9Cu)
#define SEMC_IPTXDAT REG(SEMC_BASE + 0xA0u)

#define SDRAM_BASE 0x80000000u

/* The core clock, for the power-up wait only (an upper bound: the RT1176's M7 runs
 * at most 1 GHz). */
#ifndef XRAM_CPU_MHZ
#define XRAM_CPU_MHZ 1000
#endif

enum {
    /* CLOCK_ROOT control: DIV (7:0, divide by DIV + 1), MUX (10:8), OFF (24). The
     * SEMC root's inputs: 0 OSC_RC_48M_DIV2, 1 OSC_24M, 2 OSC_RC_400M, 3
     * OSC_RC_16M, 4 SYS_PLL1_DIV5, 5 SYS_PLL2, 6 SYS_PLL2_PFD1, 7 SYS_PLL3_PFD0. */
    SEMC_ROOT = 2u << 8 | (3u - 1),
    /* The SEMC pads the SDRAM uses, all ALT0: EMC_B1_00..39 (data 0-15, DM0/1,
     * address, BA0/1, CAS, RAS, CLK, CKE, WE, CS0, DQS) and EMC_B2_00..18 (data
     * 16-31, DM2/3, DQS4). Not EMC_B1_40/41 (SEMC_RDY, SEMC_CSX00) nor
     * EMC_B2_19/20 (SEMC_CLKX00/01): SDRAM needs none of them, and boards use
     * those pads for other things (Ethernet MDC/MDIO, a UART). The mux and pad
     * registers run on from B1_41 to B2_00 without a gap, so B2_m is index 42 + m. */
    EMC_B1_USED = 40, EMC_B2_FIRST = 42, EMC_B2_USED = 19,
    EMC_DQS = 39, /* EMC_B1_39: SEMC_DQS */
    MUX_ALT0 = 0u, MUX_SION = 1u << 4,
    /* pad control of the EMC pads: PDRV (1) 0 = high drive, PULL (3:2) 2 = pull-
     * down, as NXP's EVK init writes it (0x08) */
    PAD_EMC = 2u << 2,
    /* MCR: SWRST (0), MDIS (1), DQSMD (2: read data sampled by the clock looped
     * back through the DQS pad, the SDK's choice for SDRAM), CTO (23:16) and BTO
     * (28:24) the longest command and bus timeouts */
    MCR_SWRST = 1u << 0, MCR_MDIS = 1u << 1, MCR_DQSMD = 1u << 2, MCR_TIMEOUTS = 0xFFu << 16 | 0x1Fu << 24,
    /* BMCR0/1: the AXI arbitration weights of the SDK's SEMC_GetDefaultConfig
     * (BMCR0: WQOS 5, WAGE 8, WSH 0x40, WRWS 0x10; BMCR1: WQOS 5, WAGE 8, WPH 0x60,
     * WRWS 0x24, WBR 0x40) */
    BMCR0_DEFAULT = 5u | 8u << 4 | 0x40u << 8 | 0x10u << 16,
    /* SDRAMCR0: PS (1:0) 2 = 32-bit, BL (6:4) 3 = 8, COL (9:8) 3 = 9 bits, CL
     * (11:10) 3 */
    SDRAMCR0_BOARD = 2u | 3u << 4 | 3u << 8 | 3u << 10,
    /* the SDRAM's mode register, sent by the mode-set command: burst length 8 (2:0
     * = 3, matching BL), sequential, CAS latency 3 (6:4 = 3) */
    SDRAM_MODE = 3u | 3u << 4,
    IP_MODE_SET = 0xAu, IP_AUTO_REFRESH = 0xCu, IP_PRECHARGE_ALL = 0xFu,
    INTR_IPCMDDONE = 1u << 0, INTR_IPCMDERR = 1u << 1,
    SDRAMCR3_REN = 1u << 0,
};
#define BMCR1_DEFAULT (5u | 8u << 4 | 0x60u << 8 | 0x24u << 16 | 0x40u << 24)
/* BR0: VLD (0), MS (5:1: 4 KB << MS; 14 = 64 MB), BA (31:12) */
#define BR0_SDRAM (SDRAM_BASE | 14u << 1 | 1u)
/* IPCMD: CMD (15:0), KEY (31:16) 0xA55A or the command is ignored */
#define IPCMD_KEY (0xA55Au << 16)

/* W9825G6KH-6 timings in cycles of 7.14 ns, rounded up. The SEMC's fields hold
 * the count less one; they are written here with the full count, one cycle of
 * margin on each.
 * SDRAMCR1: PRE2ACT (3:0) tRP 15 ns -> 3; ACT2RW (7:4) tRCD 15 ns -> 3; RFRC
 *   (12:8) tRFC 60 ns -> 9; WRC (15:13) tWR 2 cycles; CKEOFF (19:16) the
 *   shortest CKE-off, tRAS 42 ns -> 6; ACT2PRE (23:20) tRAS 42 ns -> 6.
 * SDRAMCR2: SRRC (7:0) self-refresh exit tXSR 72 ns -> 11; REF2REF (15:8) tRFC
 *   -> 9; ACT2ACT (23:16) tRRD 12 ns -> 2; ITO (31:24) 0: close idle pages after
 *   256 prescaler periods. */
#define SDRAMCR1_BOARD (3u | 3u << 4 | 9u << 8 | 2u << 13 | 6u << 16 | 6u << 20)
#define SDRAMCR2_BOARD (11u | 9u << 8 | 2u << 16)

/* SDRAMCR3, the refresh: 8192 rows every 64 ms is one row per 7.8125 us. The
 * prescaler period is PRESCALE (15:8) x 16 cycles: 1 -> 16 cycles, 127 ns at the
 * slowest 126 MHz; the refresh timer RT (23:16) counts prescaler periods: 60 x
 * 127 ns = 7.6 us, inside 7.8125 us however slow the oscillator is within 5 %;
 * REBL (3:1) 0 = one row a refresh; UT (31:24) the urgent threshold, = RT as the
 * SDK sets it. REN (0) is set once the memory is initialized. */
#define SDRAMCR3_BOARD (0u << 1 | 1u << 8 | 60u << 16 | 60u << 24)

/* One IP command to the SDRAM at SDRAM_BASE, waiting for IPCMDDONE. An error
 * (IPCMDERR) leaves nothing to retry with: the driver goes on, and the memory
 * faults on first use. */
static void ip_command(uint32_t command) {
    SEMC_IPCR0 = SDRAM_BASE;
    SEMC_IPCMD = IPCMD_KEY | command;
    while (!(SEMC_INTR & INTR_IPCMDDONE)) {
    }
    SEMC_INTR = INTR_IPCMDDONE | INTR_IPCMDERR; /* write 1 to clear */
}

void xram_init(void) {
    /* The SEMC clock root: 400 MHz RC / 3. (Its LPCG gate is on from reset.) */
    CCM_CLOCK_ROOT_SEMC = SEMC_ROOT;

    /* The pads to SEMC, the DQS pad with SION so that the SEMC can take the read
     * clock back from it (MCR.DQSMD). */
    for (uint32_t n = 0; n < EMC_B2_FIRST + EMC_B2_USED; n++) {
        if (n >= EMC_B1_USED && n < EMC_B2_FIRST) continue; /* B1_40, B1_41 */
        IOMUXC_MUX(n) = MUX_ALT0 | (n == EMC_DQS ? MUX_SION : 0u);
        IOMUXC_PAD(n) = PAD_EMC;
    }

    /* The SEMC from a software reset, disabled while it is configured. */
    SEMC_MCR = MCR_SWRST;
    while (SEMC_MCR & MCR_SWRST) {
    }
    SEMC_MCR = MCR_MDIS | MCR_DQSMD | MCR_TIMEOUTS;
    SEMC_BMCR0 = BMCR0_DEFAULT;
    SEMC_BMCR1 = BMCR1_DEFAULT;
    SEMC_MCR &= ~MCR_MDIS;

    /* The device on CS0: where, how wide, how fast; refresh off until it is set up. */
    SEMC_BR0 = BR0_SDRAM;
    SEMC_SDRAMCR0 = SDRAMCR0_BOARD;
    SEMC_SDRAMCR1 = SDRAMCR1_BOARD;
    SEMC_SDRAMCR2 = SDRAMCR2_BOARD;
    SEMC_SDRAMCR3 = SDRAMCR3_BOARD;
    SEMC_IPCR1 = 2u; /* IP command data size: 2 bytes (the mode register value) */
    SEMC_IPCR2 = 0u; /* no byte masked */

    /* The JEDEC power-up: at least 100 us of stable clock with CKE high, then
     * precharge all, two auto-refreshes and the mode register; then the refresh. */
    for (volatile uint32_t n = 0; n < 100u * XRAM_CPU_MHZ; n++) {
        /* at least a cycle an iteration: >= 100 us */
    }
    ip_command(IP_PRECHARGE_ALL);
    ip_command(IP_AUTO_REFRESH);
    ip_command(IP_AUTO_REFRESH);
    SEMC_IPTXDAT = SDRAM_MODE;
    ip_command(IP_MODE_SET);
    SEMC_SDRAMCR3 |= SDRAMCR3_REN;

    /* No MPU region is needed: the Armv7-M default map (B3.1) makes 0x80000000-
     * 0x9FFFFFFF "External RAM", Normal write-through memory, where unaligned
     * accesses and caching work. */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
