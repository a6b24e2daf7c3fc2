/* platform/stm32_gpio.h - an STM32 pin to an alternate function, for the USART
 * drivers: the GPIO block's layout (MODER at 0x00, AFRL and AFRH at 0x20 and 0x24,
 * ports 0x400 apart) is the same on the F4 (RM0090 8.4) and the H7 (RM0433 11.4);
 * where the ports sit and which register clocks them differ. */
#ifndef LLM_STM32_GPIO_H
#define LLM_STM32_GPIO_H

#include <stdint.h>

/* Port `port` (0 = A) pin `pin` as alternate function `af`: the port's clock on
 * (bit `port` of `clock_enable`), MODER's two bits 0b10, then its AFR nibble. */
static inline void stm32_pin_alternate(volatile uint32_t *clock_enable, uint32_t gpio_a, uint32_t port,
                                       uint32_t pin, uint32_t af) {
    volatile uint32_t *gpio = (volatile uint32_t *)(gpio_a + 0x400u * port);
    *clock_enable |= 1u << port;
    (void)*clock_enable; /* read back: the port's clock is on before its registers are written */
    gpio[0] = (gpio[0] & ~(3u << (2 * pin))) | 2u << (2 * pin);
    gpio[8 + pin / 8] = (gpio[8 + pin / 8] & ~(0xFu << (4 * (pin % 8)))) | af << (4 * (pin % 8));
}

#endif
