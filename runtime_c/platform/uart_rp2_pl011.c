/* platform/uart_rp2_pl011.c - UART0 of the RP2040 or RP2350, an Arm PL011, as the
 * serial console's byte device: IO_BANK0, PADS_BANK0 and UART0 out of reset, the
 * TX and RX pins switched to the UART, 8N1 with the FIFOs on. The chip's addresses
 * are rp2_map.h's; LLM_UART_BASE, LLM_UART_DIVISOR (clk_peri x 4 / baud: the baud
 * divisor in 64ths) and the pins come from llm_config.h (the board file's [uart]).
 * Sources: PL011 TRM 3.3 (registers); RP2040 datasheet 2.19 (GPIO), 4.2 (UART);
 * RP2350 datasheet chapter 9 (function select, pads), 12.1 (UART). */
#include "model.h"
#include "rp2_map.h"
#include "serial.h"

#define UART_REG(offset) REG(LLM_UART_BASE + (offset))
enum { UARTDR = 0x000, UARTFR = 0x018, UARTIBRD = 0x024, UARTFBRD = 0x028, UARTLCR_H = 0x02C, UARTCR = 0x030 };
enum {
    FR_RXFE = 1u << 4, FR_TXFF = 1u << 5,          /* receive FIFO empty, transmit FIFO full */
    LCR_H_FEN = 1u << 4, LCR_H_WLEN_8 = 3u << 5,   /* FIFOs on, 8 data bits (no parity, 1 stop) */
    CR_UARTEN = 1u << 0, CR_TXE = 1u << 8, CR_RXE = 1u << 9,
    PAD_IE = 1u << 6, PAD_OD = 1u << 7,            /* a pad's input enable, output disable */
};

/* A bank 0 GPIO to `function` (FUNCSEL, GPIOn_CTRL bits 4:0; the other fields 0: no
 * overrides): its pad's input on and output not disabled first, its isolation (the
 * RP2350's) released last, once the function drives it. */
static void pin_function(uint32_t bank, uint32_t pin, uint32_t function) {
    (void)bank; /* the UART pins are all in bank 0 */
    uint32_t pad = PADS_BANK0_BASE + 0x4u + 0x4u * pin;
    REG(pad) = (REG(pad) & ~PAD_OD) | PAD_IE;
    REG(IO_BANK0_BASE + 0x4u + 0x8u * pin) = function;
    CLEAR_BITS(pad) = PAD_ISO;
}

void serial_init(void) {
    rp2_unreset(RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0);
    pin_function(LLM_UART_PIN0);
    pin_function(LLM_UART_PIN1);
    UART_REG(UARTIBRD) = LLM_UART_DIVISOR >> 6;
    UART_REG(UARTFBRD) = LLM_UART_DIVISOR & 63u;
    UART_REG(UARTLCR_H) = LCR_H_WLEN_8 | LCR_H_FEN; /* this write also latches IBRD and FBRD */
    UART_REG(UARTCR) = CR_UARTEN | CR_TXE | CR_RXE;
}
int serial_can_send(void) { return !(UART_REG(UARTFR) & FR_TXFF); }
int serial_has_byte(void) { return !(UART_REG(UARTFR) & FR_RXFE); }
void serial_send(uint8_t byte) { UART_REG(UARTDR) = byte; }
uint8_t serial_receive(void) { return (uint8_t)UART_REG(UARTDR); }
