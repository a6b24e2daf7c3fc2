/* platform/chip_imxrt1062.c - the i.MX RT1062's start-up (Teensy 4.1): its watchdogs
 * stopped (imxrt_watchdog.h: WDOG1 0x400B8000, WDOG2 0x400D0000, RTWDOG 0x400BC000,
 * IMXRT1060RM memory map). The clock tree stays as the boot loader leaves it. */
#include "chip.h"
#include "imxrt_watchdog.h"

void chip_start(void) {
    wdog_stop(0x400B8000u);
    wdog_stop(0x400D0000u);
    rtwdog_stop(0x400BC000u);
}
