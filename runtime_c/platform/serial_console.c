/* platform/serial_console.c - the bare-metal console over a byte device (serial.h:
 * the board's UART, or RTT): what a firmware with no debugger attached talks
 * through. There is no command line (main.c's serial_console reads a prompt per
 * line), the clock is the processor's cycle count, and exit stops the core. */
#include "console.h"
#include "model.h"
#include "platform.h"
#include "serial.h"

/* stdout and stderr are the one port; a terminal wants "\r\n" for a new line. */
static void serial_write(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n') {
            while (!serial_can_send()) {
            }
            serial_send('\r');
        }
        while (!serial_can_send()) {
        }
        serial_send((uint8_t)text[i]);
    }
}

void platform_write_out(const char *text, size_t len) { serial_write(text, len); }
void platform_write_err(const char *text, size_t len) { serial_write(text, len); }

/* A line ends at "\n", "\r" or "\r\n" (terminals send "\r"). Too long for `size`:
 * the rest is read up to its end and dropped, and the line is -2. */
int platform_read_line(char *line, int size) {
    static int after_cr;
    int len = 0, too_long = 0;
    for (;;) {
        while (!serial_has_byte()) {
        }
        uint8_t c = serial_receive();
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

/* Cycles at the board's clock (LLM_CLOCK_MHZ, the board file's clock_mhz). */
long long platform_now_us(void) {
    return platform_ticks() / LLM_CLOCK_MHZ;
}

int console_start(char **args, int max_args) {
    (void)args;
    (void)max_args;
    serial_init();
    return 0; /* no command line */
}

/* Nothing to return to: the core sleeps (SysTick still wakes it, to sleep again). */
_Noreturn void console_exit(int status) {
    (void)status;
    for (;;) {
        __asm__ volatile("wfi");
    }
}
