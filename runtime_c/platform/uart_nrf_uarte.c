/* platform/uart_nrf_uarte.c - the nRF52840's UARTE0 as the serial console's byte
 * device (nRF52840 Product Specification, UARTE chapter). The UARTE moves bytes
 * only by EasyDMA, which reads and writes RAM alone (never flash): each byte sent
 * is copied to a RAM byte and sent as a one-byte transfer, and reception is a
 * one-byte transfer into RAM, armed again after each byte is read. The TX pin is an
 * output at its idle level (high) and the RX pin an input before the UARTE takes
 * them. LLM_UART_BASE, LLM_UART_DIVISOR (the BAUDRATE register's value) and the
 * pins (port, pin) come from llm_config.h (the board file's [uart]). */
#include "model.h"
#include "serial.h"

#define UARTE_REG(offset) (*(volatile uint32_t *)(LLM_UART_BASE + (offset)))
enum {
    TASKS_STARTRX = 0x000, TASKS_STARTTX = 0x008, EVENTS_ENDRX = 0x110, EVENTS_ENDTX = 0x120,
    ENABLE = 0x500, PSEL_TXD = 0x50C, PSEL_RXD = 0x514, BAUDRATE = 0x524,
    RXD_PTR = 0x534, RXD_MAXCNT = 0x538, TXD_PTR = 0x544, TXD_MAXCNT = 0x548, CONFIG = 0x56C,
};
enum { ENABLE_UARTE = 8u, CONFIG_8N1 = 0u /* no parity, one stop bit, no flow control */ };
/* GPIO port n at 0x50000000 + 0x300 n: OUTSET, DIRSET, PIN_CNF[pin] */
#define GPIO_REG(port, offset) (*(volatile uint32_t *)(0x50000000u + 0x300u * (port) + (offset)))
enum { GPIO_OUTSET = 0x508, GPIO_DIRSET = 0x518, GPIO_PIN_CNF = 0x700 };
enum { PIN_CNF_INPUT = 0u }; /* DIR input, input buffer connected, no pull */

static volatile uint8_t tx_byte, rx_byte; /* in RAM, for EasyDMA */
static int tx_started;

static void receive_next(void) {
    UARTE_REG(EVENTS_ENDRX) = 0;
    UARTE_REG(RXD_PTR) = (uint32_t)&rx_byte;
    UARTE_REG(RXD_MAXCNT) = 1;
    UARTE_REG(TASKS_STARTRX) = 1;
}

static void pins(uint32_t tx_port, uint32_t tx_pin, uint32_t tx_function, uint32_t rx_port, uint32_t rx_pin,
                 uint32_t rx_function) {
    (void)tx_function, (void)rx_function; /* the UARTE takes any pin: PSEL, no function */
    GPIO_REG(tx_port, GPIO_OUTSET) = 1u << tx_pin;
    GPIO_REG(tx_port, GPIO_DIRSET) = 1u << tx_pin;
    GPIO_REG(rx_port, GPIO_PIN_CNF + 4 * rx_pin) = PIN_CNF_INPUT;
    UARTE_REG(PSEL_TXD) = tx_port << 5 | tx_pin; /* bit 31 (CONNECT) 0: connected */
    UARTE_REG(PSEL_RXD) = rx_port << 5 | rx_pin;
}

void serial_init(void) {
    pins(LLM_UART_PIN0, LLM_UART_PIN1);
    UARTE_REG(BAUDRATE) = LLM_UART_DIVISOR;
    UARTE_REG(CONFIG) = CONFIG_8N1;
    UARTE_REG(ENABLE) = ENABLE_UARTE;
    receive_next();
}
/* Free to send once the last transfer has ended (ENDTX), or before the first. */
int serial_can_send(void) { return !tx_started || UARTE_REG(EVENTS_ENDTX) != 0; }
void serial_send(uint8_t byte) {
    UARTE_REG(EVENTS_ENDTX) = 0;
    tx_byte = byte;
    UARTE_REG(TXD_PTR) = (uint32_t)&tx_byte;
    UARTE_REG(TXD_MAXCNT) = 1;
    UARTE_REG(TASKS_STARTTX) = 1;
    tx_started = 1;
}
/* ENDRX: the byte is in rx_byte. Bytes that come before reception is armed again
 * wait in the UARTE's receive FIFO (a few; more are lost, as on any polled UART). */
int serial_has_byte(void) { return UARTE_REG(EVENTS_ENDRX) != 0; }
uint8_t serial_receive(void) {
    uint8_t byte = rx_byte;
    receive_next();
    return byte;
}
