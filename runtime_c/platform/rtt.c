/* platform/rtt.c - RTT (SEGGER's Real-Time Transfer layout) as the serial console's
 * byte device: two ring buffers in RAM that a debug probe reads and writes while the
 * core runs, so the console needs the probe's wires alone, no UART. The host finds
 * the control block by its symbol, _SEGGER_RTT, or by searching RAM for its ID
 * (J-Link, openocd's `rtt`, pyocd, llmtool monitor --gdb all can). Up: "Terminal",
 * what the firmware writes; down: what the host types. Each ring's writer moves
 * only its write offset and its reader only its read offset, so no locks. */
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

/* The name probes look for (a C identifier may not start with _S: an asm label). */
RttControl rtt_control __asm__("_SEGGER_RTT");
static char up_bytes[UP_BYTES], down_bytes[DOWN_BYTES];

/* Orders the ring's bytes before the offset that publishes them (and the reverse
 * for the reader): the host reads memory while the core runs. */
static inline void memory_barrier(void) { __asm__ volatile("dmb" ::: "memory"); }

void serial_init(void) {
    rtt_control.up_count = 1;
    rtt_control.down_count = 1;
    rtt_control.up = (RttRing){.name = "Terminal", .bytes = up_bytes, .size = UP_BYTES, .flags = MODE_BLOCK_IF_FULL};
    rtt_control.down = (RttRing){.name = "Terminal", .bytes = down_bytes, .size = DOWN_BYTES};
    memory_barrier();
    /* The ID backwards, a byte at a time: the whole string is never in flash (a host
     * searching memory would find that copy), and its first byte is written last, so
     * it is whole in RAM only once the block behind it is. */
    static const char id_backwards[] = "TTR REGGES";
    enum { ID_BYTES = sizeof id_backwards - 1 };
    for (unsigned i = 1; i < ID_BYTES; i++) rtt_control.id[i] = id_backwards[ID_BYTES - 1 - i];
    memory_barrier();
    rtt_control.id[0] = id_backwards[ID_BYTES - 1];
}

static unsigned next(const RttRing *ring, unsigned at) { return at + 1 == ring->size ? 0 : at + 1; }

int serial_can_send(void) {
    return next(&rtt_control.up, rtt_control.up.write_at) != rtt_control.up.read_at;
}

void serial_send(uint8_t byte) {
    unsigned at = rtt_control.up.write_at;
    up_bytes[at] = (char)byte;
    memory_barrier();
    rtt_control.up.write_at = next(&rtt_control.up, at);
}

int serial_has_byte(void) { return rtt_control.down.write_at != rtt_control.down.read_at; }

uint8_t serial_receive(void) {
    unsigned at = rtt_control.down.read_at;
    memory_barrier(); /* the byte is read after the write offset that says it is there */
    uint8_t byte = (uint8_t)((volatile char *)down_bytes)[at];
    memory_barrier();
    rtt_control.down.read_at = next(&rtt_control.down, at);
    return byte;
}
