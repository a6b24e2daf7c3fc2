/* platform/semihosting.c - the bare-metal console through Arm semihosting: under
 * QEMU (-semihosting-config enable=on) or a debugger the firmware behaves like a
 * command-line program, with the host's stdout and stderr, clock, command line
 * and exit status. On a core with no debugger attached the first semihosting
 * instruction (BKPT 0xAB) stops it: real boards use serial_console.c. The test
 * program (llm_test.c) always runs this way. */
#include <stdint.h>
#include "console.h"
#include "model.h"
#include "platform.h"

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

_Noreturn void console_exit(int status) {
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
int console_start(char **args, int max_args) {
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
