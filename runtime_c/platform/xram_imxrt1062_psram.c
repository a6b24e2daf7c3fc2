/* platform/xram_imxrt1062_psram.c - external RAM of the Teensy 4.1: the optional
 * 8 MB APS6404L QSPI PSRAM soldered on the board's underside, on the i.MX RT1062's
 * FlexSPI2 port A chip select 0, mapped at 0x70000000 (FlexSPI2's AHB window).
 * One chip only: the Teensy 4.1 has room for a second PSRAM (or a flash) on chip
 * select 1 (GPIO_EMC_22), which this driver neither detects nor maps.
 * Sources: i.MX RT1060 Reference Manual (IMXRT1060RM) chapter FlexSPI (MCR0-2,
 * AHBCR, FLSHxCR0/1/2, IPCR0/1, IPCMD, INTR, STS0, LUTKEY/LUTCR, the LUT and its
 * instruction format, the IP command and AHB command flows), chapter CCM
 * (CBCMR.FLEXSPI2_CLK_SEL/FLEXSPI2_PODF, CCGR7 CG0 = flexspi2), chapter IOMUXC
 * (GPIO_EMC_22..29 ALT8 = FLEXSPI2_A_*, the FLEXSPI2_IPP_IND_*_SELECT_INPUT daisy
 * registers, the pad control fields); the APS6404L datasheet (QPI commands); the
 * facts of the wiring and clock as PJRC's Teensy 4 core (startup.c) states them:
 * EMC_24 CS0, EMC_23 DQS, EMC_25 SCLK, EMC_26-29 DATA0-3, 528 MHz / 6 = 88 MHz. */
#include <stdint.h>
#include "xram.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define CCM_CBCMR REG(0x400FC018u)
#define CCM_CCGR7 REG(0x400FC084u)
#define IOMUXC_MUX_EMC(n) REG(0x401F8014u + 4u * (n)) /* SW_MUX_CTL_PAD_GPIO_EMC_n */
#define IOMUXC_PAD_EMC(n) REG(0x401F8204u + 4u * (n)) /* SW_PAD_CTL_PAD_GPIO_EMC_n */
#define IOMUXC_FLEXSPI2_DQS_FA_SELECT REG(0x401F872Cu)
#define IOMUXC_FLEXSPI2_IO_FA_SELECT(bit) REG(0x401F8730u + 4u * (bit))
#define IOMUXC_FLEXSPI2_SCK_FA_SELECT REG(0x401F8750u)
#define FLEXSPI2_BASE 0x402A4000u
#define FLEXSPI_MCR0 REG(FLEXSPI2_BASE + 0x00u)
#define FLEXSPI_MCR1 REG(FLEXSPI2_BASE + 0x04u)
#define FLEXSPI_MCR2 REG(FLEXSPI2_BASE + 0x08u)
#define FLEXSPI_AHBCR REG(FLEXSPI2_BASE + 0x0Cu)
#define FLEXSPI_INTEN REG(FLEXSPI2_BASE + 0x10u)
#define FLEXSPI_INTR REG(FLEXSPI2_BASE + 0x14u)
#define FLEXSPI_LUTKEY REG(FLEXSPI2_BASE + 0x18u)
#define FLEXSPI_LUTCR REG(FLEXSPI2_BASE + 0x1Cu)
#define FLEXSPI_FLSHCR0(chip) REG(FLEXSPI2_BASE + 0x60u + 4u * (chip)) /* A1, A2, B1, B2 */
#define FLEXSPI_FLSHA1CR1 REG(FLEXSPI2_BASE + 0x70u)
#define FLEXSPI_FLSHA1CR2 REG(FLEXSPI2_BASE + 0x80u)
#define FLEXSPI_IPCR0 REG(FLEXSPI2_BASE + 0xA0u)
#define FLEXSPI_IPCR1 REG(FLEXSPI2_BASE + 0xA4u)
#define FLEXSPI_IPCMD REG(FLEXSPI2_BASE + 0xB0u)
#define FLEXSPI_IPRXFCR REG(FLEXSPI2_BASE + 0xB8u)
#define FLEXSPI_IPTXFCR REG(FLEXSPI2_BASE + 0xBCu)
#define FLEXSPI_STS0 REG(FLEXSPI2_BASE + 0xE0u)
#define FLEXSPI_LUT(word) REG(FLEXSPI2_BASE + 0x200u + 4u * (word))

/* The core clock, for the reset's recovery wait only (an upper bound). */
#ifndef XRAM_CPU_MHZ
#define XRAM_CPU_MHZ 600
#endif

enum {
    /* CCM: CCGR7 CG0 (1:0) 3 = FlexSPI2's clock on */
    CCGR7_FLEXSPI2 = 3u << 0,
    /* the pins: EMC_23 DQS, EMC_24 CS0, EMC_25 SCLK, EMC_26-29 DATA0-3, ALT8 with
     * SION (4: the input path on, which FlexSPI needs on DQS and the data lines) */
    EMC_DQS = 23, EMC_CS0 = 24, EMC_SCLK = 25, EMC_DATA0 = 26,
    MUX_FLEXSPI2 = 8u | 1u << 4,
    /* pad control: SRE (0) fast, DSE (5:3) 7 = R0/7, SPEED (7:6) 3 = 200 MHz, PKE
     * (12) keeper/pull on, PUE (13) 1 = pull, PUS (15:14) 1 = 47k up / 2 = 100k up,
     * HYS (16) */
    PAD_FAST = 1u << 0 | 7u << 3 | 3u << 6 | 1u << 16,
    PAD_SCLK = PAD_FAST,                                       /* no pull: driven */
    PAD_DQS = PAD_FAST | 1u << 12,                             /* keeper */
    PAD_CS = PAD_FAST | 1u << 12 | 1u << 13 | 2u << 14,        /* 100k up: deselected */
    PAD_DATA = PAD_FAST | 1u << 12 | 1u << 13 | 1u << 14,      /* 47k up */
    /* FlexSPI MCR0: SWRESET (0), MDIS (1), RXCLKSRC (5:4) 1 = the read strobe
     * looped back through the DQS pad, ARDFEN (6), ATDFEN (7), HSEN (11), DOZEEN
     * (12), COMBINATIONEN (13), SCKFREERUNEN (14) all off; IPGRANTWAIT (23:16)
     * 0xFF; AHBGRANTWAIT (31:24) keeps its reset value, 0xFF */
    MCR0_SWRESET = 1u << 0, MCR0_MDIS = 1u << 1,
    MCR0_CLEAR = 3u << 4 | 1u << 6 | 1u << 7 | 1u << 11 | 1u << 12 | 1u << 13 | 1u << 14 | 0xFFu << 16,
    MCR0_SET = 1u << 4 | 0xFFu << 16,
    /* MCR2: CLRAHBBUFOPT (11), CLRLEARNPHASE (14), SAMEDEVICEEN (15) 0: chips
     * configured one by one, SCKBDIFFOPT (19) 0, RESUMEWAIT (31:24) 0x20 */
    MCR2_CLEAR = 1u << 11 | 1u << 14 | 1u << 15 | 1u << 19,
    /* AHBCR: CACHABLEEN (3), BUFFERABLEEN (4), PREFETCHEN (5), READADDROPT (6), all
     * off as PJRC runs the PSRAM: writes complete before the bus answers */
    AHBCR_CLEAR = 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6,
    IPRXFCR_CLR = 1u << 0, IPTXFCR_CLR = 1u << 0,
    /* FLSHA1CR1: TCSS (4:0) 3 and TCSH (9:5) 3 serial clocks of CS setup and hold,
     * CSINTERVAL (31:16) 2: CS high at least 2 clocks (23 ns > tCPH) */
    FLSHCR1_PSRAM = 3u | 3u << 5 | 2u << 16,
    INTR_IPCMDDONE = 1u << 0, INTR_IPCMDERR = 1u << 3,
    STS0_IDLE = 1u << 0 | 1u << 1, /* SEQIDLE, ARBIDLE */
    LUTCR_LOCK = 1u << 0, LUTCR_UNLOCK = 1u << 1,
    IPCMD_TRG = 1u << 0,
    /* the LUT's sequences, four words each */
    SEQ_READ = 0, SEQ_WRITE = 1, SEQ_EXIT_QPI = 2, SEQ_RESET_ENABLE = 3, SEQ_RESET = 4, SEQ_ENTER_QPI = 5,
};
/* CCM CBCMR: FLEXSPI2_CLK_SEL (9:8) 3 = PLL2 (528 MHz), FLEXSPI2_PODF (31:29) 5 =
 * divide by 6: 88 MHz, the serial clock (SDR) */
#define CBCMR_FLEXSPI2_MASK (7u << 29 | 3u << 8)
#define CBCMR_FLEXSPI2_88MHZ (5u << 29 | 3u << 8)
#define MCR2_RESUMEWAIT (0xFFu << 24)
#define MCR2_RESUMEWAIT_0x20 (0x20u << 24)
#define LUT_KEY 0x5AF05AF0u
#define PSRAM_SIZE_KB (8u * 1024u)

/* A LUT instruction (FlexSPI chapter, "Look Up Table"): OPCODE (15:10), NUM_PADS
 * (9:8: 0 = 1 pad, 2 = 4 pads), OPERAND (7:0); two per 32-bit word, the first in
 * the low half. STOP is opcode 0. */
enum { CMD_SDR = 0x01, RADDR_SDR = 0x02, WRITE_SDR = 0x08, READ_SDR = 0x09, DUMMY_SDR = 0x0C };
enum { PADS1 = 0, PADS4 = 2 };
#define INSTR(op, pads, operand) ((uint32_t)(op) << 10 | (uint32_t)(pads) << 8 | (uint32_t)(operand))
#define LUT_WORD(first, second) ((first) | (second) << 16)

/* Runs LUT sequence `seq` as an IP command on the chip at flash address 0 and
 * waits for IPCMDDONE. IPCMDERR is cleared with it: a start-up driver has no one
 * to report it to, and a missing chip shows on first use. */
static void ip_command(uint32_t seq) {
    FLEXSPI_IPCR0 = 0;
    FLEXSPI_IPCR1 = seq << 16; /* ISEQID (19:16), ISEQNUM 0, IDATSZ 0 */
    FLEXSPI_IPCMD = IPCMD_TRG;
    while (!(FLEXSPI_INTR & INTR_IPCMDDONE)) {
    }
    FLEXSPI_INTR = INTR_IPCMDDONE | INTR_IPCMDERR;
}

void xram_init(void) {
    /* The pins: FlexSPI2 port A on GPIO_EMC_23..29, and the daisy chain of each
     * input (DQS, SCLK, DATA0-3) set to the EMC pad (select input 1) rather than
     * the other pads FlexSPI2 can come in on. */
    IOMUXC_PAD_EMC(EMC_DQS) = PAD_DQS;
    IOMUXC_PAD_EMC(EMC_CS0) = PAD_CS;
    IOMUXC_PAD_EMC(EMC_SCLK) = PAD_SCLK;
    for (uint32_t bit = 0; bit < 4; bit++) IOMUXC_PAD_EMC(EMC_DATA0 + bit) = PAD_DATA;
    for (uint32_t pad = EMC_DQS; pad <= EMC_DATA0 + 3; pad++) IOMUXC_MUX_EMC(pad) = MUX_FLEXSPI2;
    IOMUXC_FLEXSPI2_DQS_FA_SELECT = 1u;
    for (uint32_t bit = 0; bit < 4; bit++) IOMUXC_FLEXSPI2_IO_FA_SELECT(bit) = 1u;
    IOMUXC_FLEXSPI2_SCK_FA_SELECT = 1u;

    /* The clock: gated off while its source and divider change, then on. */
    CCM_CCGR7 &= ~CCGR7_FLEXSPI2;
    CCM_CBCMR = (CCM_CBCMR & ~CBCMR_FLEXSPI2_MASK) | CBCMR_FLEXSPI2_88MHZ;
    CCM_CCGR7 |= CCGR7_FLEXSPI2;

    /* The module, disabled (MDIS) while it is configured (FlexSPI chapter,
     * initialization): read strobe from the DQS pad, the longest waits, no AHB
     * caching or prefetch. The AHB RX buffers keep their reset split (buffer 0 for
     * the core's master ID 0, prefetch on). */
    FLEXSPI_MCR0 |= MCR0_MDIS;
    FLEXSPI_MCR0 = (FLEXSPI_MCR0 & ~MCR0_CLEAR) | MCR0_SET | MCR0_MDIS;
    FLEXSPI_MCR1 = 0xFFFFu << 16 | 0xFFFFu; /* SEQWAIT, AHBBUSWAIT: the longest */
    FLEXSPI_MCR2 = (FLEXSPI_MCR2 & ~(MCR2_CLEAR | MCR2_RESUMEWAIT)) | MCR2_RESUMEWAIT_0x20;
    FLEXSPI_AHBCR &= ~AHBCR_CLEAR;
    FLEXSPI_IPRXFCR = IPRXFCR_CLR;
    FLEXSPI_IPTXFCR = IPTXFCR_CLR;
    FLEXSPI_INTEN = 0;
    /* Only A1 holds memory: 8 MB (FLSHxCR0 counts KB), the others none, so the AHB
     * window is 0x70000000-0x707FFFFF. AHB reads run sequence SEQ_READ, writes
     * SEQ_WRITE (FLSHA1CR2: ARDSEQID 3:0, AWRSEQID 11:8, each one sequence long). */
    FLEXSPI_FLSHCR0(0) = PSRAM_SIZE_KB;
    FLEXSPI_FLSHCR0(1) = 0;
    FLEXSPI_FLSHCR0(2) = 0;
    FLEXSPI_FLSHCR0(3) = 0;
    FLEXSPI_FLSHA1CR1 = FLSHCR1_PSRAM;
    FLEXSPI_FLSHA1CR2 = SEQ_READ | SEQ_WRITE << 8;
    FLEXSPI_MCR0 &= ~MCR0_MDIS;
    FLEXSPI_MCR0 |= MCR0_SWRESET; /* the state machines and FIFOs from clean */
    while (FLEXSPI_MCR0 & MCR0_SWRESET) {
    }
    while ((FLEXSPI_STS0 & STS0_IDLE) != STS0_IDLE) {
    }

    /* The LUT, unlocked by the key, written, locked again:
     *   read: 0xEB, 24-bit address, 6 wait cycles, data, all on 4 lines (QPI);
     *   write: 0x38, 24-bit address, data, on 4 lines;
     *   exit QPI 0xF5 (4 lines), reset enable 0x66, reset 0x99, enter QPI 0x35 (1). */
    FLEXSPI_LUTKEY = LUT_KEY;
    FLEXSPI_LUTCR = LUTCR_UNLOCK;
    for (uint32_t word = 0; word < 64; word++) FLEXSPI_LUT(word) = 0;
    FLEXSPI_LUT(4 * SEQ_READ + 0) = LUT_WORD(INSTR(CMD_SDR, PADS4, 0xEB), INSTR(RADDR_SDR, PADS4, 24));
    FLEXSPI_LUT(4 * SEQ_READ + 1) = LUT_WORD(INSTR(DUMMY_SDR, PADS4, 6), INSTR(READ_SDR, PADS4, 1));
    FLEXSPI_LUT(4 * SEQ_WRITE + 0) = LUT_WORD(INSTR(CMD_SDR, PADS4, 0x38), INSTR(RADDR_SDR, PADS4, 24));
    FLEXSPI_LUT(4 * SEQ_WRITE + 1) = INSTR(WRITE_SDR, PADS4, 1);
    FLEXSPI_LUT(4 * SEQ_EXIT_QPI) = INSTR(CMD_SDR, PADS4, 0xF5);
    FLEXSPI_LUT(4 * SEQ_RESET_ENABLE) = INSTR(CMD_SDR, PADS1, 0x66);
    FLEXSPI_LUT(4 * SEQ_RESET) = INSTR(CMD_SDR, PADS1, 0x99);
    FLEXSPI_LUT(4 * SEQ_ENTER_QPI) = INSTR(CMD_SDR, PADS1, 0x35);
    FLEXSPI_LUTKEY = LUT_KEY;
    FLEXSPI_LUTCR = LUTCR_LOCK;

    /* The chip into QPI from whatever state it is in: leave QPI (after a warm
     * reset it may be in it), reset (back to SPI, its power-on state), a wait for
     * the reset to finish, enter QPI, which the read and write sequences assume. */
    ip_command(SEQ_EXIT_QPI);
    ip_command(SEQ_RESET_ENABLE);
    ip_command(SEQ_RESET);
    for (volatile uint32_t n = 0; n < 100u * XRAM_CPU_MHZ; n++) {
        /* >= 100 us: far more than the reset's recovery */
    }
    ip_command(SEQ_ENTER_QPI);

    /* No MPU region is needed: the Armv7-M default map (B3.1) makes 0x60000000-
     * 0x7FFFFFFF Normal write-back memory. */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
