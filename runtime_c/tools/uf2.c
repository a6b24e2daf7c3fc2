/* tools/uf2.c - host tool: a flat binary as a UF2 file, for the UF2 boot loaders
 * (the RP2040's and RP2350's boot ROMs: drop the file on their USB drive).
 *
 * uf2 IN.bin BASE FAMILY OUT.uf2 [E10_PAGE] writes IN.bin, which starts at address
 * BASE, as 512-byte blocks of 256 bytes of payload each, tagged with the family id
 * FAMILY (e.g. 0xe48bff56 for the RP2040, 0xe48bff59 for an RP2350 Arm Secure
 * image). The format: github.com/microsoft/uf2.
 *
 * E10_PAGE (RP2350): first a block of the "absolute" family (0xe48bff57) for the
 * flash page at that address, filled with 0xef, counted as block 0 of 2. The RP2350
 * datasheet's erratum RP2350-E10: the A2 boot ROM does not set the flash up before
 * it reads the partition table, so a drag-and-drop fails where flash holds one; a
 * first block of the absolute family, which is written regardless of partitions,
 * has it set up (picotool's elf2uf2 writes the same block, at the end of flash by
 * default). The A2 boot ROM writes that page, so the image must end before its
 * 4 KB sector.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 512, PAYLOAD = 256, SECTOR = 4096, FLAG_FAMILY_ID = 0x00002000 };
#define ABSOLUTE_FAMILY 0xe48bff57u

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* The block's header (all but its payload) and its final magic. */
static void header(unsigned char *block, uint32_t address, uint32_t number, uint32_t count, uint32_t family) {
    put32(block + 0, 0x0A324655);  /* first magic, "UF2\n" */
    put32(block + 4, 0x9E5D5157);  /* second magic */
    put32(block + 8, FLAG_FAMILY_ID);
    put32(block + 12, address);
    put32(block + 16, PAYLOAD);
    put32(block + 20, number);
    put32(block + 24, count);
    put32(block + 28, family);
    put32(block + BLOCK - 4, 0x0AB16F30);  /* final magic */
}

static int number(const char *text, uint32_t *value) {
    char *end;
    unsigned long v = strtoul(text, &end, 0);
    *value = (uint32_t)v;
    return *text != '\0' && *end == '\0' && v <= 0xffffffffu;
}

int main(int argc, char **argv) {
    uint32_t base, family, e10_page = 0;
    if ((argc != 5 && argc != 6) || !number(argv[2], &base) || !number(argv[3], &family) ||
        (argc == 6 && !number(argv[5], &e10_page))) {
        fprintf(stderr, "usage: uf2 IN.bin BASE FAMILY OUT.uf2 [E10_PAGE]\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (in == NULL) {
        perror(argv[1]);
        return 1;
    }
    long size = fseek(in, 0, SEEK_END) == 0 ? ftell(in) : -1;
    if (size <= 0 || fseek(in, 0, SEEK_SET) != 0) {
        fprintf(stderr, "error: %s: empty or unreadable\n", argv[1]);
        fclose(in);
        return 1;
    }
    if (e10_page != 0 && (uint64_t)base + (uint64_t)size > (e10_page & ~(uint32_t)(SECTOR - 1))) {
        fprintf(stderr, "error: %s reaches the flash sector of the RP2350-E10 block at 0x%08x\n", argv[1],
                (unsigned)e10_page);
        fclose(in);
        return 1;
    }
    FILE *out = fopen(argv[4], "wb");
    if (out == NULL) {
        perror(argv[4]);
        fclose(in);
        return 1;
    }
    int ok = 1;
    if (e10_page != 0) {
        unsigned char block[BLOCK] = {0};
        header(block, e10_page, 0, 2, ABSOLUTE_FAMILY);
        memset(block + 32, 0xef, PAYLOAD);
        ok = fwrite(block, 1, BLOCK, out) == BLOCK;
    }
    uint32_t blocks = (uint32_t)((size + PAYLOAD - 1) / PAYLOAD);
    for (uint32_t n = 0; n < blocks && ok; n++) {
        unsigned char block[BLOCK] = {0};
        header(block, base + n * PAYLOAD, n, blocks, family);
        size_t got = fread(block + 32, 1, PAYLOAD, in);  /* the last block's tail stays zero */
        ok = got > 0 && fwrite(block, 1, BLOCK, out) == BLOCK;
    }
    fclose(in);
    if (fclose(out) != 0 || !ok) {
        fprintf(stderr, "error: writing %s failed\n", argv[4]);
        return 1;
    }
    return 0;
}
