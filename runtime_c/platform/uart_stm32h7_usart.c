/* platform/uart_stm32h7_usart.c - the STM32H7's USART3 (the Nucleo-H743ZI's ST-LINK
 * virtual COM port) or USART1 (the STM32H747I-DISCO's) as the serial console's byte
 * device: its kernel clock (APB1 or APB2, the reset choice of D2CCIP2R) and GPIO
 * port enabled in RCC, its pins switched to
 * it, 8N1 with its FIFOs at BRR = APB1 clock / baud (16x oversampling). The
 * address, divisor and pins come from llm_config.h (the board file's [uart]).
 * Source: RM0433's register maps of RCC (AHB4ENR 0xE0, APB1LENR 0xE8, APB2ENR 0xF0), GPIO
 * (ports from 0x58020000) and USART (CR1, BRR, ISR, RDR, TDR). */
#include "model.h"
#include "serial.h"
#include "stm32_gpio.h"

#define UART_REG(offset) (*(volatile uint32_t *)(LLM_UART_BASE + (offset)))
enum { USART_CR1 = 0x00, USART_BRR = 0x0C, USART_ISR = 0x1C, USART_RDR = 0x24, USART_TDR = 0x28 };
enum {
    CR1_UE = 1u << 0, CR1_RE = 1u << 2, CR1_TE = 1u << 3, CR1_FIFOEN = 1u << 29,
    /* with the FIFOs on: RXFNE (receive FIFO not empty), TXFNF (transmit FIFO not full) */
    ISR_RXFNE = 1u << 5, ISR_TXFNF = 1u << 7,
};
#define RCC_AHB4ENR (*(volatile uint32_t *)0x580244E0u)
#define GPIOA_BASE 0x58020000u
#if LLM_UART_BASE == 0x40011000u /* USART1, on APB2 (RCC_APB2ENR 0xF0, bit 4) */
#define RCC_UART_ENR (*(volatile uint32_t *)0x580244F0u)
enum { UART_EN = 1u << 4 };
#else /* USART3, on APB1 (RCC_APB1LENR 0xE8, bit 18) */
#define RCC_UART_ENR (*(volatile uint32_t *)0x580244E8u)
enum { UART_EN = 1u << 18 };
#endif

void serial_init(void) {
    RCC_UART_ENR |= UART_EN;
    (void)RCC_UART_ENR; /* read back: the clock is on before the USART is written */
    stm32_pin_alternate(&RCC_AHB4ENR, GPIOA_BASE, LLM_UART_PIN0);
    stm32_pin_alternate(&RCC_AHB4ENR, GPIOA_BASE, LLM_UART_PIN1);
    /* BRR and FIFOEN take writes only while UE is 0: the USART is enabled last */
    UART_REG(USART_BRR) = LLM_UART_DIVISOR;
    UART_REG(USART_CR1) = CR1_FIFOEN | CR1_TE | CR1_RE;
    UART_REG(USART_CR1) |= CR1_UE;
}
int serial_can_send(void) { return (UART_REG(USART_ISR) & ISR_TXFNF) != 0; }
int serial_has_byte(void) { return (UART_REG(USART_ISR) & ISR_RXFNE) != 0; }
void serial_send(uint8_t byte) { UART_REG(USART_TDR) = byte; }
uint8_t serial_receive(void) { return (uint8_t)UART_REG(USART_RDR); }
