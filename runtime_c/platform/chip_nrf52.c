/* platform/chip_nrf52.c - the nRF52840's start-up (nRF52840 Product Specification):
 * the core runs at 64 MHz from reset, so only two things are set. HFCLK, which
 * clocks the peripherals, from the 32 MHz crystal instead of the internal RC
 * oscillator (the CLOCK chapter; the UARTE's baud rate wants its accuracy); and the
 * flash's instruction cache (the NVMC chapter: ICACHECNF.CACHEEN), off at reset. */
#include <stdint.h>
#include "chip.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define CLOCK_TASKS_HFCLKSTART REG(0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED REG(0x40000100u)
#define NVMC_ICACHECNF REG(0x4001E540u)
enum { ICACHECNF_CACHEEN = 1u << 0 };

void chip_start(void) {
    CLOCK_EVENTS_HFCLKSTARTED = 0;
    CLOCK_TASKS_HFCLKSTART = 1;
    while (!CLOCK_EVENTS_HFCLKSTARTED) { /* set once the crystal runs */
    }
    NVMC_ICACHECNF = ICACHECNF_CACHEEN;
}
