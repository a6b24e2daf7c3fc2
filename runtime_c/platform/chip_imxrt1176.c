/* platform/chip_imxrt1176.c - the i.MX RT1176's start-up (Coral Dev Board Micro): its
 * watchdogs stopped (imxrt_watchdog.h: WDOG1 0x40030000, WDOG2 0x40034000, RTWDOG3
 * 0x40038000, RTWDOG4 0x40C10000, IMXRT1170RM memory map). The clock tree stays as
 * the boot ROM leaves it. */
#include "chip.h"
#include "imxrt_watchdog.h"

void chip_start(void) {
    wdog_stop(0x40030000u);
    wdog_stop(0x40034000u);
    rtwdog_stop(0x40038000u);
    rtwdog_stop(0x40C10000u);
}
