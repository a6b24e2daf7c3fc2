/* platform/baremetal.c - platform glue for Cortex-M boards without an OS.
 *
 * The vector table and reset handler (copy .data, zero .bss, enable the FPU),
 * and Arm semihosting for the host's stdout/stderr, clock, command line and exit
 * status: under QEMU (-semihosting-config enable=on) or a debugger the firmware
 * behaves like a command-line program. The symbols come from the generated llm.ld.
 */
#include <stdint.h>
#include <string.h>
#include "platform.h"
#include "model.h"

int main(int argc, char **argv);

enum {
    SYS_OPEN = 0x01,
    SYS_WRITE = 0x05,
    SYS_CLOCK = 0x10,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026
};

static long semihost(int op, void *arg) {
    register long r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* ":tt" opened for writing is the host's stdout; for appending, its stderr. */
static long open_console(int mode) {
    uintptr_t args[3] = {(uintptr_t)":tt", (uintptr_t)mode, 3};
    return semihost(SYS_OPEN, args);
}

static void write_handle(long *handle, int mode, const char *text, size_t len) {
    if (*handle <= 0) *handle = open_console(mode);
    uintptr_t args[3] = {(uintptr_t)*handle, (uintptr_t)text, len};
    semihost(SYS_WRITE, args);
}

static long out_handle, err_handle;

void platform_write_out(const char *text, size_t len) { write_handle(&out_handle, 4, text, len); }
void platform_write_err(const char *text, size_t len) { write_handle(&err_handle, 8, text, len); }

long long platform_now_us(void) {
    long centiseconds = semihost(SYS_CLOCK, NULL);
    return centiseconds < 0 ? 0 : centiseconds * 10000LL;
}

static void platform_exit(int status) {
    uintptr_t args[2] = {ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status};
    semihost(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}

/* The command line, split like a shell would: spaces separate arguments, double
 * quotes group them, a backslash escapes the next character. llmtool run quotes
 * each argument this way, since QEMU joins them with plain spaces. */
#define MAX_ARGS 16
static char *args[MAX_ARGS + 1];

/* The command line lands in a planned buffer (llm_state.cmdline), live only until
 * the prompt is encoded. */
static int split_cmdline(void) {
    char *cmdline = llm_state.cmdline;
    uintptr_t block[2] = {(uintptr_t)cmdline, LLM_CMDLINE_BYTES};
    if (semihost(SYS_GET_CMDLINE, block) != 0) return 0;
    int argc = 0;
    char *in = cmdline, *out = cmdline;
    while (*in != '\0' && argc < MAX_ARGS) {
        while (*in == ' ') in++;
        if (*in == '\0') break;
        args[argc++] = out;
        int quoted = 0;
        for (; *in != '\0' && (quoted || *in != ' '); in++) {
            if (*in == '"') {
                quoted = !quoted;
            } else {
                if (*in == '\\' && in[1] != '\0') in++;
                *out++ = *in;
            }
        }
        if (*in != '\0') in++;
        *out++ = '\0';
    }
    args[argc] = NULL;
    return argc;
}

/* SysTick counts down from 2^24 - 1 at the processor clock; each wrap is counted
 * in its interrupt. Under QEMU with -icount shift=0 one instruction takes 1 ns of
 * virtual time, so ticks * (1000 / clock MHz) counts instructions exactly. */
#define SYST_CSR (*(volatile uint32_t *)0xE000E010)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018)
static volatile uint32_t systick_wraps;

static void systick_handler(void) {
    systick_wraps++;
}

long long platform_ticks(void) {
    uint32_t wraps, now;
    do {
        wraps = systick_wraps;
        now = SYST_CVR;
    } while (wraps != systick_wraps);
    return ((long long)wraps << 24) + (0xFFFFFF - now);
}

int platform_cpus(void) {
    return 1;
}

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

void reset_handler(void) {
    memcpy(_sdata, _sidata, (size_t)((char *)_edata - (char *)_sdata));
    memset(_sbss, 0, (size_t)((char *)_ebss - (char *)_sbss));
#if defined(__ARM_FP)
    /* Grant full access to coprocessors 10 and 11, the FPU, before any float code. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, processor clock */
    int argc = split_cmdline();
    static char program[] = "llm";
    if (argc == 0) args[argc++] = program;
    platform_exit(main(argc, args));
}

static void fault_handler(void) {
    static const char message[] = "error: the processor faulted\n";
    platform_write_err(message, sizeof message - 1);
    platform_exit(3);
}

/* Cortex-M vector table: the initial stack pointer, then the exception handlers. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))_estack, reset_handler, fault_handler, fault_handler,
    fault_handler,           fault_handler, fault_handler, 0,
    0,                       0,             0,             fault_handler,
    fault_handler,           0,             fault_handler, systick_handler,
};
