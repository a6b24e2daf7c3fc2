/* serial.h - the byte device a serial console (serial_console.c) runs on: one of
 * the UART drivers (uart_<kind>.c, the board file's [uart]) or the RTT ring
 * buffers in RAM (rtt.c). Polled, one byte at a time, no interrupts. */
#ifndef LLM_SERIAL_H
#define LLM_SERIAL_H

#include <stdint.h>

void serial_init(void);
int serial_can_send(void);  /* whether serial_send would not lose the byte */
void serial_send(uint8_t byte);
int serial_has_byte(void);  /* whether serial_receive has one */
uint8_t serial_receive(void);

#endif
