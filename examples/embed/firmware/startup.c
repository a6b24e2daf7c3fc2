/* startup.c - the firmware's own start-up on the MPS2 AN386 (Cortex-M4F): the vector
 * table, then the FPU on, .data copied, .bss cleared, semihosting's handles opened
 * (stdout reaches the debugger, or QEMU), main() and its status to exit(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];
int main(int argc, char **argv);
void initialise_monitor_handles(void);

/* what newlib's start-up files would define: nothing to run before main here */
void _init(void) {}
void _fini(void) {}

void reset_handler(void) {
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR: coprocessors 10 and 11, the FPU */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    memcpy(_sdata, _sidata, (size_t)((char *)_edata - (char *)_sdata));
    memset(_sbss, 0, (size_t)((char *)_ebss - (char *)_sbss));
    initialise_monitor_handles();
    static char name[] = "firmware";
    static char *argv[] = {name, NULL};
    exit(main(1, argv));
}

__attribute__((section(".vectors"), used)) static void (*const vectors[2])(void) = {
    (void (*)(void))_estack, reset_handler,
};
