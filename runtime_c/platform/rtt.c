/* platform/rtt.c - RTT (SEGGER's Real-Time Transfer layout) as the serial console's
 * byte device: two ring buffers in RAM that a debug probe reads and writes while the
 * core runs, so the console needs the probe's wires alone, no UART. The host finds
 * the control block by its symbol, _SEGGER_RTT, or by searching RAM for its ID
 * (J-Link, openocd's `rtt`, pyocd, llmtool monitor --gdb all can). Up: "Terminal",
 * what the firmware writes; down: what the host types. Each ring's writer moves
 * only its write offset and its reader only its read offset, so no locks. */
#include "model.h"
#include "serial.h"

/* The RAM plan counts these (toolchain/compile/plan.py, CONSOLE_STATIC_BYTES). */
enum { UP_BYTES = 1024, DOWN_BYTES = 512 };
enum { MODE_BLOCK_IF_FULL = 2 }; /* Flags: the host may not lose what the firmware sends */

typedef struct {
    const char *name;
    char *bytes;
    unsigned size;
    volatile unsigned write_at; /* WrOff: moved by the writer only */
    volatile unsigned read_at;  /* RdOff: moved by the reader only */
    unsigned flags;
} RttRing;

typedef struct {
    volatile char id[16]; /* "SEGGER RTT": written last, so a host never takes a half-made block */
    int up_count, down_count;
    RttRing up, down;
} RttControl;

/* The block and its rings in one area, which the name probes look for labels (a C
 * identifier may not start with _S: an asm label). */
typedef struct {
    RttControl control;
    char up[UP_BYTES], down[DOWN_BYTES];
} RttArea;

#if defined(LLM_CPU_CACHES)
/* A probe reads RAM behind the Cortex-M7's write-back data cache, so the area is an
 * MPU region of its own (a power of two, aligned to its size) that is not cached. */
enum { AREA_BYTES = 2048 };
_Static_assert(sizeof(RttArea) <= AREA_BYTES, "the RTT area outgrows its MPU region");
RttArea rtt_area __asm__("_SEGGER_RTT") __attribute__((aligned(AREA_BYTES)));
#else
RttArea rtt_area __asm__("_SEGGER_RTT");
#endif

/* Orders the ring's bytes before the offset that publishes them (and the reverse
 * for the reader): the host reads memory while the core runs. */
static inline void memory_barrier(void) { __asm__ volatile("dmb" ::: "memory"); }

#if defined(LLM_CPU_CACHES)
#define REG(address) (*(volatile uint32_t *)(address))
enum {
    MPU_CTRL = 0xE000ED94u, MPU_RNR = 0xE000ED98u, MPU_RBAR = 0xE000ED9Cu, MPU_RASR = 0xE000EDA0u,
    SCB_DCCIMVAC = 0xE000EF70u, /* clean and invalidate a data cache line by address */
    CTRL_ENABLE = 1u << 0, CTRL_PRIVDEFENA = 1u << 2, /* the default map elsewhere */
    /* execute never, full access, normal memory not cached (TEX 001, C 0, B 0), enabled */
    RASR_NOT_CACHED = 1u << 28 | 3u << 24 | 1u << 19 | 1u,
    CACHE_LINE = 32,
};

/* The area's lines out of the cache (written back: .bss was zeroed through it), then
 * MPU region 0 over it, not cached; everything else keeps the default memory map. */
static void area_not_cached(void) {
    for (uintptr_t line = (uintptr_t)&rtt_area; line < (uintptr_t)&rtt_area + AREA_BYTES; line += CACHE_LINE)
        REG(SCB_DCCIMVAC) = (uint32_t)line;
    __asm__ volatile("dsb" ::: "memory");
    REG(MPU_RNR) = 0;
    REG(MPU_RBAR) = (uint32_t)(uintptr_t)&rtt_area;
    REG(MPU_RASR) = RASR_NOT_CACHED | (uint32_t)(__builtin_ctz(AREA_BYTES) - 1) << 1;
    REG(MPU_CTRL) = CTRL_ENABLE | CTRL_PRIVDEFENA;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}
#endif

void serial_init(void) {
#if defined(LLM_CPU_CACHES)
    area_not_cached();
#endif
    rtt_area.control.up_count = 1;
    rtt_area.control.down_count = 1;
    rtt_area.control.up = (RttRing){.name = "Terminal", .bytes = rtt_area.up, .size = UP_BYTES, .flags = MODE_BLOCK_IF_FULL};
    rtt_area.control.down = (RttRing){.name = "Terminal", .bytes = rtt_area.down, .size = DOWN_BYTES};
    memory_barrier();
    /* The ID backwards, a byte at a time: the whole string is never in flash (a host
     * searching memory would find that copy), and its first byte is written last, so
     * it is whole in RAM only once the block behind it is. */
    static const char id_backwards[] = "TTR REGGES";
    enum { ID_BYTES = sizeof id_backwards - 1 };
    for (unsigned i = 1; i < ID_BYTES; i++) rtt_area.control.id[i] = id_backwards[ID_BYTES - 1 - i];
    memory_barrier();
    rtt_area.control.id[0] = id_backwards[ID_BYTES - 1];
}

static unsigned next(const RttRing *ring, unsigned at) { return at + 1 == ring->size ? 0 : at + 1; }

int serial_can_send(void) {
    return next(&rtt_area.control.up, rtt_area.control.up.write_at) != rtt_area.control.up.read_at;
}

void serial_send(uint8_t byte) {
    unsigned at = rtt_area.control.up.write_at;
    rtt_area.up[at] = (char)byte;
    memory_barrier();
    rtt_area.control.up.write_at = next(&rtt_area.control.up, at);
}

int serial_has_byte(void) { return rtt_area.control.down.write_at != rtt_area.control.down.read_at; }

uint8_t serial_receive(void) {
    unsigned at = rtt_area.control.down.read_at;
    memory_barrier(); /* the byte is read after the write offset that says it is there */
    uint8_t byte = (uint8_t)((volatile char *)rtt_area.down)[at];
    memory_barrier();
    rtt_area.control.down.read_at = next(&rtt_area.control.down, at);
    return byte;
}
