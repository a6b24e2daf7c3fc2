/* platform/baremetal.c - platform glue for Cortex-M boards without an OS.
 *
 * The vector table and reset handler (copy .data, zero .bss, enable the FPU), and
 * one of two consoles:
 * - Arm semihosting (the default) for the host's stdout/stderr, clock, command line
 *   and exit status: under QEMU (-semihosting-config enable=on) or a debugger the
 *   firmware behaves like a command-line program;
 * - with LLM_CONSOLE_UART (a project compiled with --console uart), the board's UART,
 *   a few registers driven directly: no semihosting instruction is left in the
 *   image (one would stop a core with no debugger attached), so there is no command
 *   line, the clock is SysTick and exit stops the core.
 * The symbols come from the generated llm.ld; the UART's from llm_config.h.
 */
#include <stdint.h>
#include <string.h>
#include "platform.h"
#include "model.h"

int main(int argc, char **argv);
/* each console's: its start (the command line's arguments, if it has one) and exit */
static int console_start(char **argv, int max_args);
static void platform_exit(int status);

#if !defined(LLM_CONSOLE_UART)
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
 * each argument this way, since QEMU joins them with plain spaces.
 * The command line lands in a planned buffer (llm_state.cmdline), live only until
 * the prompt is encoded. */
static int console_start(char **args, int max_args) {
    char *cmdline = llm_state.cmdline;
    uintptr_t block[2] = {(uintptr_t)cmdline, LLM_CMDLINE_BYTES};
    if (semihost(SYS_GET_CMDLINE, block) != 0) return 0;
    int argc = 0;
    char *in = cmdline, *out = cmdline;
    while (*in != '\0' && argc < max_args) {
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
#endif

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

#if defined(LLM_CONSOLE_UART)
#define UART_REG(offset) (*(volatile uint32_t *)(LLM_UART_BASE + (offset)))

#if defined(LLM_UART_CMSDK_APB)
/* Arm's CMSDK APB UART (MPS2, MPS3): one byte each way, no FIFO. */
enum { UART_DATA = 0x00, UART_STATE = 0x04, UART_CTRL = 0x08, UART_BAUDDIV = 0x10 };
enum { STATE_TX_FULL = 1u << 0, STATE_RX_FULL = 1u << 1, CTRL_TX_EN = 1u << 0, CTRL_RX_EN = 1u << 1 };

static void uart_init(void) {
    UART_REG(UART_BAUDDIV) = LLM_UART_DIVISOR; /* clock / baud, at least 16 */
    UART_REG(UART_CTRL) = CTRL_TX_EN | CTRL_RX_EN;
}
static int uart_can_send(void) { return !(UART_REG(UART_STATE) & STATE_TX_FULL); }
static int uart_has_byte(void) { return (UART_REG(UART_STATE) & STATE_RX_FULL) != 0; }
static void uart_send(uint8_t byte) { UART_REG(UART_DATA) = byte; }
static uint8_t uart_receive(void) { return (uint8_t)UART_REG(UART_DATA); }

#elif defined(LLM_UART_STM32F4_USART)
/* The STM32F4's USART: its clock enabled in RCC, its pins switched to it (GPIO
 * alternate function), 8N1 at BRR = APB clock / baud. */
enum { USART_SR = 0x00, USART_DR = 0x04, USART_BRR = 0x08, USART_CR1 = 0x0C };
enum { SR_RXNE = 1u << 5, SR_TXE = 1u << 7, CR1_RE = 1u << 2, CR1_TE = 1u << 3, CR1_UE = 1u << 13 };
#define RCC_AHB1ENR (*(volatile uint32_t *)0x40023830u)
#define RCC_APB2ENR (*(volatile uint32_t *)0x40023844u)
enum { APB2ENR_USART1EN = 1u << 4 };

/* GPIOx (0 = A) pin as alternate function af: MODER 0b10, then AFRL/AFRH's nibble. */
static void gpio_alternate(uint32_t port, uint32_t pin, uint32_t af) {
    volatile uint32_t *gpio = (volatile uint32_t *)(0x40020000u + 0x400u * port);
    RCC_AHB1ENR |= 1u << port;
    gpio[0] = (gpio[0] & ~(3u << (2 * pin))) | 2u << (2 * pin);
    gpio[8 + pin / 8] = (gpio[8 + pin / 8] & ~(0xFu << (4 * (pin % 8)))) | af << (4 * (pin % 8));
}

static void uart_init(void) {
    RCC_APB2ENR |= APB2ENR_USART1EN;
#if defined(LLM_UART_PIN0)
    gpio_alternate(LLM_UART_PIN0);
#endif
#if defined(LLM_UART_PIN1)
    gpio_alternate(LLM_UART_PIN1);
#endif
    UART_REG(USART_BRR) = LLM_UART_DIVISOR;
    UART_REG(USART_CR1) = CR1_UE | CR1_TE | CR1_RE;
}
static int uart_can_send(void) { return (UART_REG(USART_SR) & SR_TXE) != 0; }
static int uart_has_byte(void) { return (UART_REG(USART_SR) & SR_RXNE) != 0; }
static void uart_send(uint8_t byte) { UART_REG(USART_DR) = byte; }
static uint8_t uart_receive(void) { return (uint8_t)UART_REG(USART_DR); }
#else
#error "LLM_CONSOLE_UART: llm_config.h names no UART kind this file drives"
#endif

/* stdout and stderr are the one port; a terminal wants "\r\n" for a new line. */
static void uart_write(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            while (!uart_can_send()) {
            }
            uart_send('\r');
        }
        while (!uart_can_send()) {
        }
        uart_send((uint8_t)text[i]);
    }
}

void platform_write_out(const char *text, size_t len) { uart_write(text, len); }
void platform_write_err(const char *text, size_t len) { uart_write(text, len); }

/* A line ends at "\n", "\r" or "\r\n" (terminals send "\r"). Too long for `size`:
 * the rest is read up to its end and dropped, and the line is -2. */
int platform_read_line(char *line, int size) {
    static int after_cr;
    int len = 0, too_long = 0;
    for (;;) {
        while (!uart_has_byte()) {
        }
        uint8_t c = uart_receive();
        int lf_of_crlf = c == '\n' && after_cr;
        after_cr = c == '\r';
        if (lf_of_crlf) continue;
        if (c == '\n' || c == '\r') break;
        if (len < size - 1) line[len++] = (char)c;
        else too_long = 1;
    }
    line[len] = '\0';
    return too_long ? -2 : len;
}

/* SysTick at the board's clock (LLM_CLOCK_MHZ, the board file's clock_mhz). */
long long platform_now_us(void) {
    return platform_ticks() / LLM_CLOCK_MHZ;
}

static int console_start(char **args, int max_args) {
    (void)args;
    (void)max_args;
    uart_init();
    return 0; /* no command line */
}

/* Nothing to return to: the core sleeps (SysTick still wakes it, to sleep again). */
static void platform_exit(int status) {
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
}
#endif

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
    enum { MAX_ARGS = 16 };
    static char *args[MAX_ARGS + 1];
    int argc = console_start(args, MAX_ARGS);
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
