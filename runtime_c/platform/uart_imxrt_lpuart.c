/* platform/uart_imxrt_lpuart.c - an NXP i.MX RT LPUART as the serial console's byte
 * device, polled: its clock root set to the 24 MHz crystal oscillator undivided (so
 * the clock LLM_UART_DIVISOR was computed for is known whatever the boot ROM left),
 * its clock gate opened, its pins switched to it, the LPUART reset, then 8N1 with
 * its FIFOs on. LLM_UART_BASE and LLM_UART_DIVISOR (the BAUD register's value:
 * OSR = oversampling - 1 in bits 28:24, SBR in bits 12:0, render.py's uart_divisor)
 * come from llm_config.h (the board file's [uart]); the chip from LLM_CHIP_*:
 *
 * LLM_CHIP_IMXRT1062 (Teensy 4.1): LPUART6 (0x40198000), the Teensy's pins 0 (RX,
 *   GPIO_AD_B0_03) and 1 (TX, GPIO_AD_B0_02), ALT2. i.MX RT1060 Reference Manual:
 *   CCM (0x400FC000) CSCDR1 0x24 (UART_CLK_PODF bits 5:0 divide by n + 1,
 *   UART_CLK_SEL bit 6: 0 pll3_80m, 1 osc_clk) and CCGR3 0x74 (CG3, bits 7:6:
 *   LPUART6); IOMUXC (0x401F8000) SW_MUX_CTL_PAD_GPIO_AD_B0_02/03 0x0C4/0x0C8,
 *   SW_PAD_CTL_PAD 0x2B4/0x2B8, LPUART6_RX_SELECT_INPUT 0x550 and
 *   LPUART6_TX_SELECT_INPUT 0x554 (daisy 1: the GPIO_AD_B0 pads).
 * LLM_CHIP_IMXRT1176 (Coral Dev Board Micro): LPUART6 (0x40090000), the debug
 *   console the Coral SDK gives the M7 (its board.h: instance 6), on GPIO_EMC_B1_40
 *   (TXD) and GPIO_EMC_B1_41 (RXD), ALT3, no daisy: header J9 pins 5 and 6.
 *   i.MX RT1170 Reference Manual: ANADIG_OSC OSC_24M_CTRL (0x40C84020: OSC_EN bit
 *   4, OSC_24M_STABLE bit 30); CCM (0x40CC0000) CLOCK_ROOT30 (LPUART6) CONTROL at
 *   0x80 x 30 (DIV bits 7:0 divide by n + 1, MUX bits 10:8: 1 = OSC_24M, OFF bit
 *   24) and its STATUS0 at + 0x20 (CHANGING bit 31), LPCG91 (LPUART6) DIRECT at
 *   0x6000 + 0x20 x 91 (ON bit 0) and its STATUS0 at + 0x10 (ON bit 0); IOMUXC
 *   (0x400E8000) SW_MUX_CTL_PAD_GPIO_EMC_B1_40/41 0x0B0/0x0B4, SW_PAD_CTL_PAD
 *   0x2F4/0x2F8.
 *
 * The LPUART (both Reference Manuals' LPUART chapter): GLOBAL 0x08 (RST bit 1),
 * BAUD 0x10 (BOTHEDGE bit 17, needed for oversampling 4 to 7), STAT 0x14 (OR bit
 * 19, write 1 to clear; RDRF bit 21; TDRE bit 23), CTRL 0x18 (RE bit 18, TE bit
 * 19), DATA 0x1C, FIFO 0x28 (RXFE bit 3, TXFE bit 7, RXFLUSH bit 14, TXFLUSH bit
 * 15). The watermarks stay 0: TDRE is set once the transmit FIFO is empty (the
 * shift register still holds a byte), RDRF once the receive FIFO holds one.
 * The manuals were not at hand: the values were checked against NXP's SDK headers
 * (the RT1176's fsl_iomuxc.h and fsl_clock.h), NuttX's and PJRC's (Teensy core)
 * register maps of both chips, and the Coral SDK's board.h and pin_mux.c. */
#include <stdint.h>

#include "llm_config.h"
#include "serial.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define UART_REG(offset) REG(LLM_UART_BASE + (offset))
enum { LPUART_GLOBAL = 0x08, LPUART_BAUD = 0x10, LPUART_STAT = 0x14, LPUART_CTRL = 0x18, LPUART_DATA = 0x1C,
       LPUART_FIFO = 0x28 };
enum {
    GLOBAL_RST = 1u << 1,
    BAUD_BOTHEDGE = 1u << 17,
    STAT_OR = 1u << 19, STAT_RDRF = 1u << 21, STAT_TDRE = 1u << 23,
    CTRL_RE = 1u << 18, CTRL_TE = 1u << 19,
    FIFO_RXFE = 1u << 3, FIFO_TXFE = 1u << 7, FIFO_RXFLUSH = 1u << 14, FIFO_TXFLUSH = 1u << 15,
};

/* The oversampling ratio (OSR + 1) and divisor (SBR) LLM_UART_DIVISOR holds: OSR
 * values 1 and 2 are reserved, an SBR of 0 disables the baud rate generator, and
 * oversampling 4 to 7 samples on both edges. */
#define LPUART_OVERSAMPLING ((((uint32_t)(LLM_UART_DIVISOR) >> 24) & 0x1Fu) + 1u)
#define LPUART_SBR ((uint32_t)(LLM_UART_DIVISOR) & 0x1FFFu)
_Static_assert(LPUART_OVERSAMPLING >= 4u, "LLM_UART_DIVISOR: the LPUART oversamples 4 to 32 times");
_Static_assert(LPUART_SBR != 0u, "LLM_UART_DIVISOR: an SBR of 0 turns the LPUART's baud rate generator off");
_Static_assert(((uint32_t)(LLM_UART_DIVISOR) & ~0x1F001FFFu) == 0u, "LLM_UART_DIVISOR: only BAUD's OSR and SBR");
#define LPUART_BAUD_VALUE ((uint32_t)(LLM_UART_DIVISOR) | (LPUART_OVERSAMPLING <= 7u ? (uint32_t)BAUD_BOTHEDGE : 0u))

#if defined(LLM_CHIP_IMXRT1062)
#define CCM_CSCDR1 REG(0x400FC024u)
#define CCM_CCGR3 REG(0x400FC074u)
#define IOMUXC_BASE 0x401F8000u
enum {
    CSCDR1_UART_CLK_PODF = 0x3Fu << 0, CSCDR1_UART_CLK_SEL_OSC = 1u << 6,
    CCGR3_CG3_LPUART6_ON = 3u << 6, /* 11: on in every mode but stop */
    MUX_TX = 0x0C4, MUX_RX = 0x0C8, PAD_TX = 0x2B4, PAD_RX = 0x2B8,
    SELECT_INPUT_RX = 0x550, SELECT_INPUT_TX = 0x554, DAISY_GPIO_AD_B0 = 1,
    MUX_ALT2 = 2,
    /* SW_PAD_CTL: keeper on (PKE bit 12), 100 MHz (SPEED 2, bits 7:6), drive R0/6
     * (DSE 6, bits 5:3), slow slew: NXP's i.MX RT1060 EVK pin settings for its UART */
    PAD_UART = 0x10B0,
};

static void clock_on(void) {
    /* osc_clk undivided; changed only while LPUART6's gate is still closed */
    uint32_t cscdr1 = (CCM_CSCDR1 & ~(uint32_t)(CSCDR1_UART_CLK_PODF | CSCDR1_UART_CLK_SEL_OSC)) |
                      CSCDR1_UART_CLK_SEL_OSC;
    if (CCM_CSCDR1 != cscdr1) {
        CCM_CSCDR1 = cscdr1;
    }
    CCM_CCGR3 |= CCGR3_CG3_LPUART6_ON;
    (void)CCM_CCGR3; /* read back: the clock is on before the LPUART is written */
}

static void pins_on(void) {
    REG(IOMUXC_BASE + PAD_TX) = PAD_UART;
    REG(IOMUXC_BASE + PAD_RX) = PAD_UART;
    REG(IOMUXC_BASE + MUX_TX) = MUX_ALT2;
    REG(IOMUXC_BASE + MUX_RX) = MUX_ALT2;
    REG(IOMUXC_BASE + SELECT_INPUT_RX) = DAISY_GPIO_AD_B0;
    REG(IOMUXC_BASE + SELECT_INPUT_TX) = DAISY_GPIO_AD_B0;
}

#elif defined(LLM_CHIP_IMXRT1176)
#define OSC_24M_CTRL REG(0x40C84020u)
#define CCM_BASE 0x40CC0000u
#define CLOCK_ROOT_CONTROL(n) REG(CCM_BASE + 0x80u * (n))
#define CLOCK_ROOT_STATUS0(n) REG(CCM_BASE + 0x80u * (n) + 0x20u)
#define LPCG_DIRECT(n) REG(CCM_BASE + 0x6000u + 0x20u * (n))
#define LPCG_STATUS0(n) REG(CCM_BASE + 0x6000u + 0x20u * (n) + 0x10u)
#define IOMUXC_BASE 0x400E8000u
enum {
    OSC_24M_EN = 1u << 4, OSC_24M_STABLE = 1u << 30,
    ROOT_LPUART6 = 30, LPCG_LPUART6 = 91,
    ROOT_MUX_OSC_24M = 1u << 8, ROOT_DIV_1 = 0u,
    LPCG_ON = 1u << 0,
    MUX_TX = 0x0B0, MUX_RX = 0x0B4, PAD_TX = 0x2F4, PAD_RX = 0x2F8,
    MUX_ALT3 = 3,
    PAD_UART = 0x0E, /* the Coral SDK's pin_mux.c setting of these two pads */
};
#define ROOT_STATUS0_CHANGING (1u << 31)

static void clock_on(void) {
    if (!(OSC_24M_CTRL & OSC_24M_EN)) {
        OSC_24M_CTRL |= OSC_24M_EN;
        while (!(OSC_24M_CTRL & OSC_24M_STABLE)) {
        }
    }
    /* OSC_24M undivided, the root on; changed only while LPUART6's gate is closed */
    LPCG_DIRECT(LPCG_LPUART6) = 0;
    while (LPCG_STATUS0(LPCG_LPUART6) & LPCG_ON) {
    }
    CLOCK_ROOT_CONTROL(ROOT_LPUART6) = ROOT_MUX_OSC_24M | ROOT_DIV_1;
    while (CLOCK_ROOT_STATUS0(ROOT_LPUART6) & ROOT_STATUS0_CHANGING) {
    }
    LPCG_DIRECT(LPCG_LPUART6) = LPCG_ON;
    while (!(LPCG_STATUS0(LPCG_LPUART6) & LPCG_ON)) {
    }
}

static void pins_on(void) {
    REG(IOMUXC_BASE + PAD_TX) = PAD_UART;
    REG(IOMUXC_BASE + PAD_RX) = PAD_UART;
    REG(IOMUXC_BASE + MUX_TX) = MUX_ALT3;
    REG(IOMUXC_BASE + MUX_RX) = MUX_ALT3;
}

#else
#error "uart_imxrt_lpuart.c: llm_config.h names neither LLM_CHIP_IMXRT1062 nor LLM_CHIP_IMXRT1176"
#endif

void serial_init(void) {
    clock_on();
    pins_on();
    /* whatever a boot loader left: every LPUART register to its reset value */
    UART_REG(LPUART_GLOBAL) = GLOBAL_RST;
    UART_REG(LPUART_GLOBAL) = 0;
    /* BAUD and the FIFO enables take writes only while TE and RE are 0: the
     * transmitter and receiver are enabled last, 8N1 (CTRL's M, PE 0) */
    UART_REG(LPUART_BAUD) = LPUART_BAUD_VALUE;
    UART_REG(LPUART_FIFO) = FIFO_TXFE | FIFO_RXFE;
    UART_REG(LPUART_FIFO) = FIFO_TXFE | FIFO_RXFE | FIFO_TXFLUSH | FIFO_RXFLUSH;
    UART_REG(LPUART_CTRL) = CTRL_TE | CTRL_RE;
}
int serial_can_send(void) { return (UART_REG(LPUART_STAT) & STAT_TDRE) != 0; }
int serial_has_byte(void) {
    uint32_t stat = UART_REG(LPUART_STAT);
    if (stat & STAT_OR) {
        UART_REG(LPUART_STAT) = STAT_OR; /* an overrun stores nothing more until cleared */
    }
    return (stat & STAT_RDRF) != 0;
}
void serial_send(uint8_t byte) { UART_REG(LPUART_DATA) = byte; }
uint8_t serial_receive(void) { return (uint8_t)UART_REG(LPUART_DATA); }
