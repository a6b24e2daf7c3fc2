/* tools/boot2_pad.c - host tool: the RP2040's boot2 as the boot ROM wants it.
 *
 * boot2_pad BOOT2.bin OUT.S reads the assembled second-stage boot loader (at most
 * 252 bytes), pads it with zeros to 252 bytes, appends the CRC-32 the boot ROM
 * checks (polynomial 0x04c11db7, initial value 0xffffffff, bits taken most
 * significant first, no final xor) little-endian, and writes the 256 bytes as an
 * assembler file whose section .boot2 the linker script puts at the start of flash.
 */
#include <stdint.h>
#include <stdio.h>

enum { BOOT2_BYTES = 256, CODE_BYTES = BOOT2_BYTES - 4 };

static uint32_t crc32_msb_first(const unsigned char *data, size_t len) {
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)data[i] << 24;
        for (int bit = 0; bit < 8; bit++) crc = (crc & 0x80000000u) ? (crc << 1) ^ 0x04c11db7u : crc << 1;
    }
    return crc;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: boot2_pad BOOT2.bin OUT.S\n");
        return 2;
    }
    unsigned char boot2[BOOT2_BYTES] = {0};
    FILE *in = fopen(argv[1], "rb");
    if (in == NULL) {
        perror(argv[1]);
        return 1;
    }
    size_t len = fread(boot2, 1, CODE_BYTES + 1, in);
    fclose(in);
    if (len == 0 || len > CODE_BYTES) {
        fprintf(stderr, "error: %s: boot2 must be 1 to %d bytes\n", argv[1], CODE_BYTES);
        return 1;
    }
    uint32_t crc = crc32_msb_first(boot2, CODE_BYTES);
    for (int i = 0; i < 4; i++) boot2[CODE_BYTES + i] = (unsigned char)(crc >> (8 * i));
    FILE *out = fopen(argv[2], "w");
    if (out == NULL) {
        perror(argv[2]);
        return 1;
    }
    fprintf(out, "/* %s: boot2, padded to %d bytes, and its CRC-32 0x%08x (written by boot2_pad) */\n",
            argv[1], CODE_BYTES, (unsigned)crc);
    fprintf(out, "    .file \"boot2.S\" /* not the assembler's random temporary name: builds are reproducible */\n");
    fprintf(out, "    .section .boot2, \"ax\"\n");
    for (int i = 0; i < BOOT2_BYTES; i++)
        fprintf(out, "%s0x%02x%s", i % 16 == 0 ? "    .byte " : "", boot2[i], i % 16 == 15 ? "\n" : ", ");
    return fclose(out) == 0 ? 0 : 1;
}
