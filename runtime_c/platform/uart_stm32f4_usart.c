/* platform/uart_stm32f4_usart.c - the STM32F4's USART as the serial console's byte
 * device: its clock enabled in RCC, its pins switched to it (GPIO alternate
 * function), 8N1 at BRR = APB clock / baud. The register addresses, divisor and
 * pins come from llm_config.h (the board file's [uart]). */
#include "model.h"
#include "serial.h"
#include "stm32_gpio.h"

#define UART_REG(offset) (*(volatile uint32_t *)(LLM_UART_BASE + (offset)))
enum { USART_SR = 0x00, USART_DR = 0x04, USART_BRR = 0x08, USART_CR1 = 0x0C };
enum { SR_RXNE = 1u << 5, SR_TXE = 1u << 7, CR1_RE = 1u << 2, CR1_TE = 1u << 3, CR1_UE = 1u << 13 };
#define RCC_AHB1ENR (*(volatile uint32_t *)0x40023830u)
#define RCC_APB2ENR (*(volatile uint32_t *)0x40023844u)
#define GPIOA_BASE 0x40020000u
enum { APB2ENR_USART1EN = 1u << 4 };

void serial_init(void) {
    RCC_APB2ENR |= APB2ENR_USART1EN;
#if defined(LLM_UART_PIN0)
    stm32_pin_alternate(&RCC_AHB1ENR, GPIOA_BASE, LLM_UART_PIN0);
#endif
#if defined(LLM_UART_PIN1)
    stm32_pin_alternate(&RCC_AHB1ENR, GPIOA_BASE, LLM_UART_PIN1);
#endif
    UART_REG(USART_BRR) = LLM_UART_DIVISOR;
    UART_REG(USART_CR1) = CR1_UE | CR1_TE | CR1_RE;
}
int serial_can_send(void) { return (UART_REG(USART_SR) & SR_TXE) != 0; }
int serial_has_byte(void) { return (UART_REG(USART_SR) & SR_RXNE) != 0; }
void serial_send(uint8_t byte) { UART_REG(USART_DR) = byte; }
uint8_t serial_receive(void) { return (uint8_t)UART_REG(USART_DR); }
