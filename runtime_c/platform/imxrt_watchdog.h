/* platform/imxrt_watchdog.h - the i.MX RT watchdogs, which can be running when the
 * boot ROM hands over (the RTWDOG is enabled out of reset, and WDOG1/2's power-down
 * counter resets the chip 16 s after reset unless cleared): a generation of
 * minutes, or the CRC of a 40 MB image, would be cut short. Stopped as NXP's SDK
 * SystemInit does. Sources: IMXRT1060RM / IMXRT1170RM, chapters WDOG (WCR 0x0 and
 * WMCR 0x8, 16-bit: WDE bit 2, PDE bit 0) and RTWDOG (CS 0x0, CNT 0x4, TOVAL 0x8:
 * EN bit 7, UPDATE bit 5, CMD32EN bit 13; unlocked by 0xD928C520 in CNT, or its two
 * halves in 16-bit mode). */
#ifndef LLM_IMXRT_WATCHDOG_H
#define LLM_IMXRT_WATCHDOG_H

#include <stdint.h>

#define IMX_REG16(address) (*(volatile uint16_t *)(address))
#define IMX_REG32(address) (*(volatile uint32_t *)(address))
enum { WDOG_WCR_WDE = 1u << 2, WDOG_WMCR_PDE = 1u << 0 };
enum { RTWDOG_CS_EN = 1u << 7, RTWDOG_CS_UPDATE = 1u << 5, RTWDOG_CS_CMD32EN = 1u << 13 };

static inline void wdog_stop(uintptr_t base) {
    IMX_REG16(base + 0x8) &= (uint16_t)~WDOG_WMCR_PDE;
    if (IMX_REG16(base) & WDOG_WCR_WDE) IMX_REG16(base) &= (uint16_t)~WDOG_WCR_WDE;
}

static inline void rtwdog_stop(uintptr_t base) {
    if (IMX_REG32(base) & RTWDOG_CS_CMD32EN) {
        IMX_REG32(base + 0x4) = 0xD928C520u;
    } else {
        IMX_REG32(base + 0x4) = 0xC520u;
        IMX_REG32(base + 0x4) = 0xD928u;
    }
    IMX_REG32(base + 0x8) = 0xFFFFu;
    IMX_REG32(base) = (IMX_REG32(base) & ~(uint32_t)RTWDOG_CS_EN) | RTWDOG_CS_UPDATE;
}

#endif
