/* platform/baremetal.c - start-up for Cortex-M boards without an OS: the vector
 * table and reset handler (copy .data, zero .bss, the FPU, the Cortex-M7's caches,
 * the chip's clock tree), the cycle counter behind platform_ticks, and a fault
 * handler that says what faulted. The console is semihosting.c's or
 * serial_console.c's (console.h). The symbols come from the generated llm.ld.
 */
#include <stdint.h>
#include <string.h>
#include "chip.h"
#include "cli.h"
#include "console.h"
#include "llm.h"
#include "model.h"
#include "platform.h"
#if defined(LLM_XRAM_INIT)
#include "xram.h"
#endif

int main(int argc, char **argv);

#define REG(address) (*(volatile uint32_t *)(address))
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)

/* Armv7-M and Armv8-M mainline cores (not the M0+ or M23) have the DWT cycle
 * counter and the configurable fault status registers. */
#if !defined(__ARM_ARCH_6M__) && !defined(__ARM_ARCH_8M_BASE__)
#define MAINLINE 1
#endif

/* The DWT cycle counter: 32 bits, extended in the SysTick interrupt, which comes
 * every 2^24 cycles, before it can wrap twice. QEMU does not count it: there (and on
 * a core without it) the ticks are SysTick's, which count the same processor clock. */
#if MAINLINE
#define DEMCR REG(0xE000EDFCu)
#define DWT_CTRL REG(0xE0001000u)
#define DWT_CYCCNT REG(0xE0001004u)
#define DWT_LAR REG(0xE0001FB0u)
enum { DEMCR_TRCENA = 1u << 24, DWT_CTRL_CYCCNTENA = 1u << 0, DWT_CTRL_NOCYCCNT = 1u << 25 };
static int dwt_counts;
static uint32_t dwt_last, dwt_high;

static void dwt_start(void) {
    DEMCR |= DEMCR_TRCENA;
    DWT_LAR = 0xC5ACCE55u; /* the Cortex-M7's software lock (ignored elsewhere) */
    if (DWT_CTRL & DWT_CTRL_NOCYCCNT) return;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;
    uint32_t before = DWT_CYCCNT;
    __asm__ volatile("nop\n\tnop\n\tnop\n\tnop");
    dwt_counts = DWT_CYCCNT != before;
}

/* The 64-bit count, with interrupts off so the SysTick handler cannot interleave. */
static long long dwt_ticks(void) {
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    uint32_t now = DWT_CYCCNT;
    if (now < dwt_last) dwt_high++;
    dwt_last = now;
    long long ticks = ((long long)dwt_high << 32) | now;
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    return ticks;
}
#endif

static volatile uint32_t systick_wraps;

static void systick_handler(void) {
    systick_wraps++;
#if MAINLINE
    if (dwt_counts) dwt_ticks();
#endif
}

/* Processor clock cycles since start-up. Under QEMU with -icount shift=0 one
 * instruction takes 1 ns of virtual time and SysTick counts the machine's clock,
 * so ticks * (1000 / clock MHz) counts instructions exactly. */
long long platform_ticks(void) {
#if MAINLINE
    if (dwt_counts) return dwt_ticks();
#endif
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

/* No files: the image linked in, or a separate one where the board has it flashed. */
int platform_init_model(const char *path) {
    (void)path;
    int rc = llm_init();
    if (rc == LLM_OK) return rc;
    CliLine l = {.len = 0};
    cli_add(&l, "error: ");
#if LLM_WEIGHTS_SEPARATE
    cli_add(&l, "the weight image at ");
    cli_add_hex(&l, LLM_WEIGHTS_ADDRESS);
    cli_add(&l, ": ");
#endif
    cli_add(&l, llm_strerror(rc));
#if LLM_WEIGHTS_SEPARATE
    cli_add(&l, ": flash build/llm_weights.img there");
#endif
    cli_add(&l, "\n");
    platform_write_err(l.buf, l.len);
    return rc;
}

#if defined(LLM_CPU_CACHES)
/* The Cortex-M7's L1 caches: invalidated (their contents are undefined at reset),
 * then on. Data is never written by DMA here, so write-back needs no maintenance. */
#define SCB_CCR REG(0xE000ED14u)
#define SCB_CCSIDR REG(0xE000ED80u)
#define SCB_CSSELR REG(0xE000ED84u)
#define SCB_ICIALLU REG(0xE000EF50u)
#define SCB_DCISW REG(0xE000EF60u)
enum { CCR_DC = 1u << 16, CCR_IC = 1u << 17 };

static void caches_on(void) {
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_ICIALLU = 0;
    SCB_CSSELR = 0; /* level 1 data cache */
    __asm__ volatile("dsb" ::: "memory");
    uint32_t ccsidr = SCB_CCSIDR;
    uint32_t sets = ((ccsidr >> 13) & 0x7FFFu) + 1, ways = ((ccsidr >> 3) & 0x3FFu) + 1;
    uint32_t set_shift = (ccsidr & 7u) + 4, way_shift = ways > 1 ? (uint32_t)__builtin_clz(ways - 1) : 0;
    for (uint32_t set = 0; set < sets; set++)
        for (uint32_t way = 0; way < ways; way++) SCB_DCISW = set << set_shift | way << way_shift;
    __asm__ volatile("dsb" ::: "memory");
    SCB_CCR |= CCR_IC | CCR_DC;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
#endif

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

void reset_handler(void) {
#if defined(__ARM_FP)
    /* Grant full access to coprocessors 10 and 11, the FPU, before any float code. */
    REG(0xE000ED88u) |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
#if defined(LLM_CHIP_START) && !defined(LLM_EMULATED)
    chip_start();
#endif
#if defined(LLM_XRAM_INIT) && !defined(LLM_EMULATED)
    xram_init(); /* external RAM, before anything is placed in it (QEMU's is plain memory) */
#endif
#if defined(LLM_CPU_CACHES)
    caches_on();
#endif
#if defined(LLM_WEIGHTS_COPY)
    /* the weight image, from the flash it is stored in to the RAM that reads faster
     * (llm.ld: where it is flashed, _llm_image_load; llm_init checks the copy) */
    extern const uint8_t _llm_image_load[];
    memcpy((void *)(uintptr_t)llm_image, _llm_image_load, (size_t)(llm_image_end - llm_image));
#endif
    memcpy(_sdata, _sidata, (size_t)((char *)_edata - (char *)_sdata));
    memset(_sbss, 0, (size_t)((char *)_ebss - (char *)_sbss));
#if MAINLINE
    dwt_start();
#endif
    SYST_RVR = 0xFFFFFF;
    SYST_CVR = 0;
    SYST_CSR = 7; /* enable, interrupt on wrap, processor clock */
    enum { MAX_ARGS = 16 };
    static char *args[MAX_ARGS + 1];
    int argc = console_start(args, MAX_ARGS);
    static char program[] = "llm";
    if (argc == 0) args[argc++] = program;
    console_exit(main(argc, args));
}

#if defined(LLM_BOOT_ROM_ENTRY)
/* Where a boot ROM that calls the image rather than resetting into it (the i.MX
 * RT's, through the image vector table: boot_imxrt_flexspi.S) enters: on the ROM's
 * stack, with VTOR at the ROM's vectors. Both are set as a reset would set them. */
__attribute__((naked, used)) void boot_rom_entry(void) {
    __asm__ volatile("ldr r0, =vectors\n\t"
                     "ldr r1, =0xE000ED08\n\t" /* VTOR */
                     "str r0, [r1]\n\t"
                     "ldr r1, [r0]\n\t"
                     "mov sp, r1\n\t"
                     "dsb\n\t"
                     "isb\n\t"
                     "b reset_handler\n\t"
                     ".ltorg");
}
#endif

static void add_register(CliLine *l, const char *name, uint32_t value) {
    cli_add(l, name);
    cli_add_hex(l, value);
}

/* One line on the console with what faulted and where (the stacked pc and lr;
 * Armv7-M and later: the fault status and address registers), then the console's
 * exit: QEMU's run ends with status 3, a board stops until it is reset. */
__attribute__((used)) static void fault_report(const uint32_t *frame) {
    static const char *const names[] = {"NMI", "HardFault", "MemManage", "BusFault", "UsageFault", "SecureFault"};
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    CliLine l = {.len = 0};
    cli_add(&l, "error: the processor faulted (");
    cli_add(&l, ipsr >= 2 && ipsr <= 7 ? names[ipsr - 2] : "exception ");
    if (ipsr < 2 || ipsr > 7) cli_add_int(&l, ipsr);
    add_register(&l, "): pc ", frame[6]);
    add_register(&l, " lr ", frame[5]);
#if MAINLINE
    add_register(&l, " cfsr ", REG(0xE000ED28u));
    add_register(&l, " hfsr ", REG(0xE000ED2Cu));
    add_register(&l, " mmfar ", REG(0xE000ED34u));
    add_register(&l, " bfar ", REG(0xE000ED38u));
#endif
    cli_add(&l, "\n");
    platform_write_err(l.buf, l.len);
    console_exit(3);
}

/* The exception frame the core pushed is at the stack pointer (always the main
 * stack here: nothing switches to the process stack). */
__attribute__((naked)) static void fault_handler(void) {
    __asm__ volatile("mov r0, sp\n\t"
                     "ldr r1, =fault_report\n\t"
                     "bx r1\n\t"
                     ".ltorg");
}

/* Cortex-M vector table: the initial stack pointer, then the exception handlers. */
__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))_estack, reset_handler, fault_handler, fault_handler,
    fault_handler,           fault_handler, fault_handler, fault_handler,
    0,                       0,             0,             fault_handler,
    fault_handler,           0,             fault_handler, systick_handler,
};
