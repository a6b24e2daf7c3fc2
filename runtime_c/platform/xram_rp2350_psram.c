/* platform/xram_rp2350_psram.c - external RAM of the Pimoroni Pico Plus 2: an
 * 8 MB APS6404L-class QSPI PSRAM on the RP2350B's QMI chip select 1 (CS1 on
 * GPIO47), mapped by the QMI's second window M1 at 0x11000000 (cached; 0x15000000
 * is the uncached alias), 8 MB of its 16 MB.
 * Sources: RP2350 datasheet 12.14 (QMI: 12.14.3 direct mode, 12.14.6 the
 * DIRECT_CSR, DIRECT_TX, M1_TIMING, M1_RFMT/RCMD/WFMT/WCMD registers), 4.4 (XIP,
 * XIP_CTRL.WRITABLE_M1), 9.4 (GPIO function table: GPIO47 F9 = XIP_CS1n), 9.11
 * (IO_BANK0 GPIOn_CTRL, PADS_BANK0 GPIOn), 7.5 (RESETS); APS6404L datasheet (QPI
 * commands and the 8 us CE# low limit); the order of the commands is the one the
 * pico-sdk, MicroPython and CircuitPython RP2350 ports send.
 *
 * The addresses are local rather than rp2_map.h's: that header needs llm_config.h
 * (it picks the chip from it), which this driver does without. */
#include <stdint.h>
#include "xram.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define SET_BITS(address) REG((address) + 0x2000u)   /* atomic set alias (2.1.3) */
#define CLEAR_BITS(address) REG((address) + 0x3000u) /* atomic clear alias */

#define RESETS_BASE 0x40020000u
#define IO_BANK0_BASE 0x40028000u
#define PADS_BANK0_BASE 0x40038000u
#define XIP_CTRL_BASE 0x400C8000u
#define XIP_QMI_BASE 0x400D0000u

#define PSRAM_CS_GPIO 47u
#define GPIO_CTRL(n) (IO_BANK0_BASE + 0x004u + 8u * (n)) /* GPIOn_CTRL */
#define PAD(n) (PADS_BANK0_BASE + 0x004u + 4u * (n))      /* PADS_BANK0 GPIOn */

#define QMI_DIRECT_CSR (XIP_QMI_BASE + 0x00u)
#define QMI_M1_TIMING REG(XIP_QMI_BASE + 0x20u)
#define QMI_M1_RFMT REG(XIP_QMI_BASE + 0x24u)
#define QMI_M1_RCMD REG(XIP_QMI_BASE + 0x28u)
#define QMI_M1_WFMT REG(XIP_QMI_BASE + 0x2Cu)
#define QMI_M1_WCMD REG(XIP_QMI_BASE + 0x30u)
#define XIP_CTRL (XIP_CTRL_BASE + 0x00u)

/* clk_sys when the driver runs: the board's clock_mhz (the Pico Plus 2 runs the
 * RP2350's 150 MHz). The PSRAM's timing below is derived from it. */
#ifndef XRAM_CLK_SYS_MHZ
#define XRAM_CLK_SYS_MHZ 150
#endif

enum {
    RESET_IO_BANK0 = 1u << 6, RESET_PADS_BANK0 = 1u << 9, /* RESETS bits (7.5) */
    FUNCSEL_XIP_CS1 = 9u,                                  /* GPIO47's F9 */
    /* pad: input enabled (IE, bit 6), 4 mA drive (DRIVE 1, bits 5:4), Schmitt
     * trigger (bit 1); no pull-up or pull-down, output not disabled (OD, bit 7,
     * 0) and ISO (bit 8) cleared, which releases the pad's isolation latch */
    PAD_CS = 1u << 6 | 1u << 4 | 1u << 1,
    /* DIRECT_CSR: EN (0), BUSY (1), ASSERT_CS1N (3), TXEMPTY (11), CLKDIV
     * (29:22); 30 gives 5 MHz at 150 MHz, slow enough for any state the PSRAM
     * is in (the SDK's and the boot ROM's direct-mode divider) */
    DIRECT_EN = 1u << 0, DIRECT_CLKDIV = 30u << 22,
    /* DIRECT_TX: the byte (7:0), IWIDTH (17:16, 2 = quad), OE (19: drive the
     * data lines in quad), NOPUSH (20: no RX FIFO entry to drain) */
    TX_QUAD = 2u << 16 | 1u << 19, TX_NOPUSH = 1u << 20,
    /* APS6404L commands: exit QPI (sent quad: the chip may be in QPI after a warm
     * reset), reset enable, reset, enter QPI (sent single: after the reset the
     * chip is in SPI mode) */
    CMD_EXIT_QPI = 0xF5u, CMD_RESET_ENABLE = 0x66u, CMD_RESET = 0x99u, CMD_ENTER_QPI = 0x35u,
    CMD_QUAD_READ = 0xEBu, CMD_QUAD_WRITE = 0x38u,
    XIP_CTRL_WRITABLE_M1 = 1u << 11,
};

/* M1_TIMING (12.14.6): CLKDIV (7:0), RXDELAY (10:8, in half clk_sys cycles),
 * MIN_DESELECT (16:12, clk_sys cycles), MAX_SELECT (22:17, units of 64 clk_sys
 * cycles), SELECT_HOLD (24:23), PAGEBREAK (29:28, 2 = 1024-byte pages), COOLDOWN
 * (31:30). The values follow the MicroPython/CircuitPython derivation:
 * - SCK = clk_sys / CLKDIV at most 133 MHz (the APS6404L's QPI limit), and never
 *   divider 1 above 100 MHz: 150 MHz / 2 = 75 MHz. Linear bursts across the
 *   PSRAM's 1 KB pages are limited to a lower clock, so PAGEBREAK splits them.
 * - RXDELAY = CLKDIV, one more when SCK is above 100 MHz: 2 here.
 * - MAX_SELECT: the PSRAM refreshes itself only while CE# is high and allows at
 *   most 8 us low (tCEM): floor(8 us x 150 MHz / 64) = 18.
 * - MIN_DESELECT: CE# high at least 18 ns (tCPH): ceil(18 ns x 150 MHz) = 3 (the
 *   ports subtract half a divider more; this keeps the full 3).
 * - COOLDOWN 1, SELECT_HOLD 0: as the ports. */
#define PSRAM_DIV ((XRAM_CLK_SYS_MHZ + 132) / 133 < 2 && XRAM_CLK_SYS_MHZ > 100 ? 2 : (XRAM_CLK_SYS_MHZ + 132) / 133)
#define PSRAM_RXDELAY (PSRAM_DIV + (XRAM_CLK_SYS_MHZ / PSRAM_DIV > 100 ? 1 : 0))
#define PSRAM_MAX_SELECT (8 * XRAM_CLK_SYS_MHZ / 64 > 63 ? 63 : 8 * XRAM_CLK_SYS_MHZ / 64)
#define PSRAM_MIN_DESELECT ((18 * XRAM_CLK_SYS_MHZ + 999) / 1000)
_Static_assert(PSRAM_DIV >= 1 && PSRAM_DIV <= 255 && PSRAM_MIN_DESELECT <= 31, "xram_rp2350_psram: clk_sys out of range");

/* M1_RFMT/WFMT: PREFIX_WIDTH (1:0), ADDR_WIDTH (3:2), SUFFIX_WIDTH (5:4),
 * DUMMY_WIDTH (7:6), DATA_WIDTH (9:8), each 2 = quad (the chip is in QPI: the
 * command goes out on four lines too); PREFIX_LEN (12, 1 = an 8-bit command);
 * DUMMY_LEN (18:16, in bits: 6 = 24 bits = 6 quad clocks, the APS6404L's wait
 * cycles for 0xEB in QPI mode). Writes (0x38) have no wait cycles. */
enum {
    FMT_ALL_QUAD = 2u << 0 | 2u << 2 | 2u << 4 | 2u << 6 | 2u << 8,
    FMT_PREFIX_8 = 1u << 12,
    FMT_DUMMY_24 = 6u << 16,
};

/* Direct mode turns every memory-mapped QMI access into a bus error (12.14.6,
 * DIRECT_CSR.EN), the flash this code runs from included. So the part that runs
 * with direct mode on is this position-independent routine, copied to the stack
 * and run from SRAM: no literal pool, no calls, only registers and the command
 * words (which the caller keeps on the stack too).
 *   r0 = QMI base, r1 = DIRECT_TX words, r2 = their count (>= 1), r3 = DIRECT_CSR
 *   enable value. Each word is one command, framed by CS1. */
__asm__(".pushsection .text.xram_qmi_direct, \"ax\", %progbits\n"
        ".syntax unified\n"
        ".thumb\n"
        ".balign 4\n"
        "xram_qmi_direct_start:\n"
        "    push {r4, r5, r6}\n"
        "    str r3, [r0]\n"             /* DIRECT_CSR: divider, EN */
        "1:  ldr r4, [r0]\n"             /* a memory-mapped transfer may still be */
        "    tst r4, #2\n"               /* finishing: BUSY before touching CS */
        "    bne.n 1b\n"
        "2:  ldr r4, [r0]\n"
        "    orr r4, r4, #8\n"           /* ASSERT_CS1N */
        "    str r4, [r0]\n"
        "    ldr r5, [r1], #4\n"
        "    str r5, [r0, #4]\n"         /* DIRECT_TX */
        "3:  ldr r4, [r0]\n"             /* TXEMPTY: the FIFO has passed it on... */
        "    tst r4, #0x800\n"
        "    beq.n 3b\n"
        "4:  ldr r4, [r0]\n"             /* ...and not BUSY: it has been shifted out */
        "    tst r4, #2\n"
        "    bne.n 4b\n"
        "    bic r4, r4, #8\n"           /* CS1 high */
        "    str r4, [r0]\n"
        "    movw r6, #2048\n"           /* >= 40 us at 150 MHz between commands: */
        "5:  subs r6, r6, #1\n"          /* well over the reset's recovery and tCPH */
        "    bne.n 5b\n"
        "    subs r2, r2, #1\n"
        "    bne.n 2b\n"
        "    movs r4, #0\n"
        "    str r4, [r0]\n"             /* direct mode off: XIP works again */
        "    pop {r4, r5, r6}\n"
        "    bx lr\n"
        "xram_qmi_direct_end:\n"
        ".popsection\n");
extern const uint16_t xram_qmi_direct_start[], xram_qmi_direct_end[];

typedef void QmiDirect(uint32_t qmi, const uint32_t *words, uint32_t count, uint32_t csr);

void xram_init(void) {
    /* GPIO47 to the QMI's CS1: the pad and IO blocks out of reset (the UART driver
     * takes them out too; doing it twice is harmless), the function, then the pad
     * (which clears ISO last, as 9.11's note on pad isolation asks). */
    CLEAR_BITS(RESETS_BASE) = RESET_IO_BANK0 | RESET_PADS_BANK0;
    while ((REG(RESETS_BASE + 0x8u) & (RESET_IO_BANK0 | RESET_PADS_BANK0)) != (RESET_IO_BANK0 | RESET_PADS_BANK0)) {
    }
    REG(GPIO_CTRL(PSRAM_CS_GPIO)) = FUNCSEL_XIP_CS1;
    REG(PAD(PSRAM_CS_GPIO)) = PAD_CS;

    /* The reset sequence the ports use: leave QPI (if a warm reset found the chip
     * in it), reset enable and reset (back to SPI mode, its power-on state), then
     * enter QPI, in which the M1 window talks to it. */
    uint32_t words[4];
    words[0] = TX_NOPUSH | TX_QUAD | CMD_EXIT_QPI;
    words[1] = TX_NOPUSH | CMD_RESET_ENABLE;
    words[2] = TX_NOPUSH | CMD_RESET;
    words[3] = TX_NOPUSH | CMD_ENTER_QPI;
    enum { CODE_WORDS = 32 };
    uint32_t code[CODE_WORDS]; /* 128 bytes; the routine is about 70 (the test checks) */
    if (xram_qmi_direct_end - xram_qmi_direct_start > (long)sizeof code / 2) {
        for (;;) { /* cannot happen with the routine above; stop rather than overrun */
        }
    }
    volatile uint16_t *to = (volatile uint16_t *)code; /* volatile: no memcpy call */
    for (const uint16_t *from = xram_qmi_direct_start; from < xram_qmi_direct_end; from++) *to++ = *from;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    QmiDirect *direct = (QmiDirect *)((uintptr_t)code | 1u); /* Thumb */
    direct(XIP_QMI_BASE, words, 4, DIRECT_CLKDIV | DIRECT_EN);

    /* The M1 window: timing, then the quad read (0xEB, 6 wait cycles) and quad
     * write (0x38) the memory-mapped accesses send, all in QPI. */
    QMI_M1_TIMING = 1u << 30 | 2u << 28 | (uint32_t)PSRAM_MAX_SELECT << 17 | (uint32_t)PSRAM_MIN_DESELECT << 12 |
                    (uint32_t)PSRAM_RXDELAY << 8 | (uint32_t)PSRAM_DIV;
    QMI_M1_RFMT = FMT_ALL_QUAD | FMT_PREFIX_8 | FMT_DUMMY_24;
    QMI_M1_RCMD = CMD_QUAD_READ;
    QMI_M1_WFMT = FMT_ALL_QUAD | FMT_PREFIX_8;
    QMI_M1_WCMD = CMD_QUAD_WRITE;
    /* Writes through the window are downgraded to reads until WRITABLE_M1 is set
     * (4.4, XIP_CTRL). */
    SET_BITS(XIP_CTRL) = XIP_CTRL_WRITABLE_M1;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
