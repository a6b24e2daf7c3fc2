/* console.h - what a bare-metal console gives the start-up code (baremetal.c):
 * semihosting.c (the debugger's or QEMU's stdio and command line) or
 * serial_console.c (a UART or RTT, no command line). Each also implements
 * platform.h's output, line input and clock. */
#ifndef LLM_CONSOLE_H
#define LLM_CONSOLE_H

/* Starts the console; the command line's arguments into args (at most max_args),
 * their count, or 0 where there is none. */
int console_start(char **args, int max_args);

/* After main returns or a fault: semihosting ends the run with this status; a
 * serial console has nothing to return to, so the core sleeps. */
_Noreturn void console_exit(int status);

#endif
