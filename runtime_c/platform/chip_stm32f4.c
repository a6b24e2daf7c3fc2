/* platform/chip_stm32f4.c - the STM32F4's clock tree (RM0090, section 6): the crystal
 * (HSE) into the main PLL, SYSCLK = crystal / M x N / P, and before switching to it
 * the voltage scale and the flash wait states that clock needs, with the ART
 * accelerator's prefetch and caches on. The settings are the board file's [chip]
 * (llm_config.h's LLM_CHIP_*); toolchain/chips.py checks that they make clock_mhz. */
#include <stdint.h>
#include "chip.h"
#include "model.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define RCC_CR REG(0x40023800u)
#define RCC_PLLCFGR REG(0x40023804u)
#define RCC_CFGR REG(0x40023808u)
#define RCC_APB1ENR REG(0x40023840u)
#define PWR_CR REG(0x40007000u)
#define FLASH_ACR REG(0x40023C00u)

enum {
    CR_HSEON = 1u << 16, CR_HSERDY = 1u << 17, CR_PLLON = 1u << 24, CR_PLLRDY = 1u << 25,
    PLLCFGR_SRC_HSE = 1u << 22,
    CFGR_SW_PLL = 2u, CFGR_SWS_MASK = 3u << 2, CFGR_SWS_PLL = 2u << 2,
    APB1ENR_PWREN = 1u << 28,
    PWR_CR_VOS = 1u << 14, /* scale 1: up to 168 MHz */
    ACR_PRFTEN = 1u << 8, ACR_ICEN = 1u << 9, ACR_DCEN = 1u << 10,
};

/* An APB prescaler's field: 0 for /1, else 4 + log2(div) - 1 (/2 = 4 ... /16 = 7). */
static uint32_t apb_code(uint32_t div) {
    return div <= 1 ? 0u : 3u + (uint32_t)__builtin_ctz(div);
}

void chip_start(void) {
    RCC_CR |= CR_HSEON;
    while (!(RCC_CR & CR_HSERDY)) {
    }
    RCC_APB1ENR |= APB1ENR_PWREN;
    PWR_CR |= PWR_CR_VOS;
    /* more wait states before the clock rises, never after */
    FLASH_ACR = LLM_CHIP_FLASH_WAIT_STATES | ACR_PRFTEN | ACR_ICEN | ACR_DCEN;
    while ((FLASH_ACR & 0xFu) != LLM_CHIP_FLASH_WAIT_STATES) {
    }
    /* AHB at SYSCLK; the APB buses divided to their limits (42 and 84 MHz at 168) */
    RCC_CFGR = (RCC_CFGR & ~0xFCF0u) | apb_code(LLM_CHIP_APB1_DIV) << 10 | apb_code(LLM_CHIP_APB2_DIV) << 13;
    RCC_PLLCFGR = LLM_CHIP_PLL_M | LLM_CHIP_PLL_N << 6 | (LLM_CHIP_PLL_P / 2 - 1) << 16 | PLLCFGR_SRC_HSE |
                  (uint32_t)LLM_CHIP_PLL_Q << 24;
    RCC_CR |= CR_PLLON;
    while (!(RCC_CR & CR_PLLRDY)) {
    }
    RCC_CFGR = (RCC_CFGR & ~3u) | CFGR_SW_PLL;
    while ((RCC_CFGR & CFGR_SWS_MASK) != CFGR_SWS_PLL) {
    }
}
