/* platform.h - what main.c and llm_test.c need from the board: output, a clock,
 * their arguments. One implementation per OS, picked by the Makefile (platform/linux.c
 * or platform/baremetal.c; a project carries its board's); cli.c builds on it. The
 * runtime itself (llm.h) needs none of this. */
#ifndef LLM_PLATFORM_H
#define LLM_PLATFORM_H

#include <stddef.h>

void platform_write_out(const char *text, size_t len); /* stdout */
void platform_write_err(const char *text, size_t len); /* stderr */
/* A line without its newline, its length: Linux's stdin (-1 at its end; a longer
 * line is cut), a bare-metal serial console's (-2 for a line that did not fit) */
int platform_read_line(char *line, int size);
long long platform_now_us(void);                       /* a monotonic clock, or 0 */
long long platform_ticks(void);  /* bare metal: SysTick ticks at the processor clock; else 0 */
int platform_cpus(void);         /* the cores this process may run on (bare metal: 1) */
/* Starts the model (llm_init, or llm_init_image on the weight image mapped from the
 * file at `path`, Linux's -w; NULL: the image linked in or, bare metal, flashed at its
 * address). LLM_OK, or -LLM_ERR_* after one error line on stderr that says why. */
int platform_init_model(const char *path);

#endif
