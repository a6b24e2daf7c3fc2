/* platform/chip_stm32h7.c - the STM32H743's (rev V, RM0433) and H747's (RM0399) clock tree: the power
 * supply and the voltage scale the clock needs (section 6), the HSE into PLL1,
 * SYSCLK = HSE / M x N / P, the flash wait states (section 4, table 17), the bus
 * prescalers, then the switch to PLL1 (section 8). The settings are the board
 * file's [chip] (llm_config.h's LLM_CHIP_*); toolchain/chips.py checks that they
 * make clock_mhz. The order matters: the voltage before the clock rises, the wait
 * states and the prescalers before SYSCLK switches. */
#include <stdint.h>
#include "chip.h"
#include "model.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define PWR_CSR1 REG(0x58024804u)
#define PWR_CR3 REG(0x5802480Cu)
#define PWR_D3CR REG(0x58024818u)
#define SYSCFG_PWRCR REG(0x5800042Cu)
#define FLASH_ACR REG(0x52002000u)
#define RCC_CR REG(0x58024400u)
#define RCC_CFGR REG(0x58024410u)
#define RCC_D1CFGR REG(0x58024418u)
#define RCC_D2CFGR REG(0x5802441Cu)
#define RCC_D3CFGR REG(0x58024420u)
#define RCC_PLLCKSELR REG(0x58024428u)
#define RCC_PLLCFGR REG(0x5802442Cu)
#define RCC_PLL1DIVR REG(0x58024430u)
#define RCC_APB4ENR REG(0x580244F4u)

enum {
    CR3_BYPASS = 1u << 0, CR3_LDOEN = 1u << 1, CR3_SCUEN = 1u << 2, CR3_SMPSEN = 1u << 2, CSR1_ACTVOSRDY = 1u << 13,
    D3CR_VOS_SHIFT = 14, D3CR_VOS_MASK = 3u << 14, D3CR_VOSRDY = 1u << 13,
    PWRCR_ODEN = 1u << 0, APB4ENR_SYSCFGEN = 1u << 1,
    CR_HSEON = 1u << 16, CR_HSERDY = 1u << 17, CR_HSEBYP = 1u << 18, CR_PLL1ON = 1u << 24, CR_PLL1RDY = 1u << 25,
    PLLCKSELR_SRC_HSE = 2u, PLLCKSELR_DIVM1_SHIFT = 4,
    PLLCFGR_VCOSEL_MEDIUM = 1u << 1, PLLCFGR_RGE_SHIFT = 2, PLLCFGR_DIV_EN = 7u << 16, /* DIVP1EN, DIVQ1EN, DIVR1EN */
    CFGR_SW_PLL1 = 3u, CFGR_SWS_MASK = 7u << 3, CFGR_SWS_PLL1 = 3u << 3,
};

/* PLL1's input (HSE / M) range for PLLCFGR.PLL1RGE: 1-2, 2-4, 4-8, 8-16 MHz. */
#define PLL_INPUT_MHZ (LLM_CHIP_CRYSTAL_MHZ / LLM_CHIP_PLL_M)
#define PLL_RANGE (PLL_INPUT_MHZ < 2 ? 0u : PLL_INPUT_MHZ < 4 ? 1u : PLL_INPUT_MHZ < 8 ? 2u : 3u)
/* Its VCO: the wide range (VCOSEL 0) from 192 MHz, the medium one (150-420 MHz) below. */
#define PLL_VCOSEL (PLL_INPUT_MHZ * LLM_CHIP_PLL_N < 192 ? PLLCFGR_VCOSEL_MEDIUM : 0u)
/* Table 17: the programming delay WRHIGHFREQ goes with the wait states (0: 0, 1-2: 1, 3-4: 2). */
#define FLASH_WRHIGHFREQ (LLM_CHIP_FLASH_WAIT_STATES == 0 ? 0u : LLM_CHIP_FLASH_WAIT_STATES <= 2 ? 1u : 2u)

/* A prescaler's field for /div: 0 for /1, else the top bit set and log2(div) - 1 below
 * it (APB, 3 bits: /2 = 4 ... /16 = 7; HPRE, 4 bits: /2 = 8 ... /16 = 11). */
static uint32_t prescaler(uint32_t div, uint32_t top) {
    return div <= 1 ? 0u : top | ((uint32_t)__builtin_ctz(div) - 1);
}

/* Voltage scale 1 to 3 is PWR_D3CR.VOS 3 to 1; scale 0 (rev V, up to 480 MHz) is VOS 1
 * with the LDO's overdrive (SYSCFG_PWRCR.ODEN) on top, set only once in scale 1. */
static void voltage_scale(void) {
    uint32_t vos = LLM_CHIP_VOLTAGE_SCALE == 0 ? 3u : 4u - LLM_CHIP_VOLTAGE_SCALE;
    PWR_D3CR = (PWR_D3CR & ~D3CR_VOS_MASK) | vos << D3CR_VOS_SHIFT;
    while (!(PWR_D3CR & D3CR_VOSRDY)) {
    }
    if (LLM_CHIP_VOLTAGE_SCALE == 0) {
        RCC_APB4ENR |= APB4ENR_SYSCFGEN;
        (void)RCC_APB4ENR; /* read back: SYSCFG's clock is on before it is written */
        SYSCFG_PWRCR |= PWRCR_ODEN;
        while (!(PWR_D3CR & D3CR_VOSRDY)) {
        }
    }
}

void chip_start(void) {
#if LLM_CHIP_SMPS_SUPPLY
    /* The supply: the SMPS feeding the core directly (the dual-core STM32H747's
     * PWR_CR3, RM0399 section 7: bit 2 is SMPSEN there, not SCUEN; the H747I-DISCO is
     * wired so). A write that differs from the board's wiring locks the chip until the
     * next power-on, so this must match the board. Scale 0 needs the LDO: at most
     * scale 1 (400 MHz) here. */
    PWR_CR3 = (PWR_CR3 & ~(CR3_BYPASS | CR3_LDOEN)) | CR3_SMPSEN;
#else
    /* The supply: the LDO alone (no bypass), and SCUEN cleared, which locks it until
     * the next power-on; the voltage scale may change once ACTVOSRDY says it holds. */
    PWR_CR3 = (PWR_CR3 & ~(CR3_BYPASS | CR3_SCUEN)) | CR3_LDOEN;
#endif
    while (!(PWR_CSR1 & CSR1_ACTVOSRDY)) {
    }
    voltage_scale();
    /* HSE: the ST-LINK's clock on the Nucleo boards (bypass: no crystal to drive) */
    RCC_CR |= LLM_CHIP_HSE_BYPASS ? CR_HSEBYP : 0u;
    RCC_CR |= CR_HSEON;
    while (!(RCC_CR & CR_HSERDY)) {
    }
    /* PLL1 from HSE: DIVM1, its input range and VCO, DIVN1 and the P, Q, R dividers
     * (each register field holds the divider minus one), its outputs on */
    RCC_PLLCKSELR = PLLCKSELR_SRC_HSE | (uint32_t)LLM_CHIP_PLL_M << PLLCKSELR_DIVM1_SHIFT;
    RCC_PLLCFGR = (RCC_PLLCFGR & ~0xFu) | PLL_RANGE << PLLCFGR_RGE_SHIFT | PLL_VCOSEL | PLLCFGR_DIV_EN;
    RCC_PLL1DIVR = (uint32_t)(LLM_CHIP_PLL_N - 1) | (uint32_t)(LLM_CHIP_PLL_P - 1) << 9 |
                   (uint32_t)(LLM_CHIP_PLL_Q - 1) << 16 | (uint32_t)(LLM_CHIP_PLL_R - 1) << 24;
    RCC_CR |= CR_PLL1ON;
    while (!(RCC_CR & CR_PLL1RDY)) {
    }
    /* more wait states before the clock rises, never after */
    FLASH_ACR = LLM_CHIP_FLASH_WAIT_STATES | FLASH_WRHIGHFREQ << 4;
    while (FLASH_ACR != (LLM_CHIP_FLASH_WAIT_STATES | FLASH_WRHIGHFREQ << 4)) {
    }
    /* the core at SYSCLK; AXI/AHB at SYSCLK / HPRE; every APB bus (APB3 in D1, APB1
     * and APB2 in D2, APB4 in D3) at that / the APB divider */
    uint32_t apb = prescaler(LLM_CHIP_APB_DIV, 4u);
    RCC_D1CFGR = prescaler(LLM_CHIP_HPRE_DIV, 8u) | apb << 4; /* HPRE, D1PPRE; D1CPRE 0: /1 */
    RCC_D2CFGR = apb << 4 | apb << 8;                         /* D2PPRE1, D2PPRE2 */
    RCC_D3CFGR = apb << 4;                                    /* D3PPRE */
    RCC_CFGR = (RCC_CFGR & ~7u) | CFGR_SW_PLL1;
    while ((RCC_CFGR & CFGR_SWS_MASK) != CFGR_SWS_PLL1) {
    }
}
