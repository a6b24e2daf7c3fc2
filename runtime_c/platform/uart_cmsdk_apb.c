/* platform/uart_cmsdk_apb.c - Arm's CMSDK APB UART (MPS2, MPS3) as the serial
 * console's byte device: one byte each way, no FIFO. LLM_UART_BASE and
 * LLM_UART_DIVISOR (clock / baud, at least 16) come from llm_config.h. */
#include "model.h"
#include "serial.h"

#define UART_REG(offset) (*(volatile uint32_t *)(LLM_UART_BASE + (offset)))
enum { UART_DATA = 0x00, UART_STATE = 0x04, UART_CTRL = 0x08, UART_BAUDDIV = 0x10 };
enum { STATE_TX_FULL = 1u << 0, STATE_RX_FULL = 1u << 1, CTRL_TX_EN = 1u << 0, CTRL_RX_EN = 1u << 1 };

void serial_init(void) {
    UART_REG(UART_BAUDDIV) = LLM_UART_DIVISOR;
    UART_REG(UART_CTRL) = CTRL_TX_EN | CTRL_RX_EN;
}
int serial_can_send(void) { return !(UART_REG(UART_STATE) & STATE_TX_FULL); }
int serial_has_byte(void) { return (UART_REG(UART_STATE) & STATE_RX_FULL) != 0; }
void serial_send(uint8_t byte) { UART_REG(UART_DATA) = byte; }
uint8_t serial_receive(void) { return (uint8_t)UART_REG(UART_DATA); }
