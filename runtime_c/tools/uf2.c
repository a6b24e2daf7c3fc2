/* tools/uf2.c - host tool: a flat binary as a UF2 file, for the UF2 boot loaders
 * (the RP2040's boot ROM: drop the file on its RPI-RP2 drive).
 *
 * uf2 IN.bin BASE FAMILY OUT.uf2 writes IN.bin, which starts at address BASE, as
 * 512-byte blocks of 256 bytes of payload each, tagged with the family id FAMILY
 * (e.g. 0xe48bff56 for the RP2040). The format: github.com/microsoft/uf2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BLOCK = 512, PAYLOAD = 256, FLAG_FAMILY_ID = 0x00002000 };

static void put32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int number(const char *text, uint32_t *value) {
    char *end;
    unsigned long v = strtoul(text, &end, 0);
    *value = (uint32_t)v;
    return *text != '\0' && *end == '\0' && v <= 0xffffffffu;
}

int main(int argc, char **argv) {
    uint32_t base, family;
    if (argc != 5 || !number(argv[2], &base) || !number(argv[3], &family)) {
        fprintf(stderr, "usage: uf2 IN.bin BASE FAMILY OUT.uf2\n");
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
    FILE *out = fopen(argv[4], "wb");
    if (out == NULL) {
        perror(argv[4]);
        fclose(in);
        return 1;
    }
    uint32_t blocks = (uint32_t)((size + PAYLOAD - 1) / PAYLOAD);
    int ok = 1;
    for (uint32_t n = 0; n < blocks && ok; n++) {
        unsigned char block[BLOCK] = {0};
        put32(block + 0, 0x0A324655);  /* first magic, "UF2\n" */
        put32(block + 4, 0x9E5D5157);  /* second magic */
        put32(block + 8, FLAG_FAMILY_ID);
        put32(block + 12, base + n * PAYLOAD);
        put32(block + 16, PAYLOAD);
        put32(block + 20, n);
        put32(block + 24, blocks);
        put32(block + 28, family);
        size_t got = fread(block + 32, 1, PAYLOAD, in);  /* the last block's tail stays zero */
        put32(block + BLOCK - 4, 0x0AB16F30);  /* final magic */
        ok = got > 0 && fwrite(block, 1, BLOCK, out) == BLOCK;
    }
    fclose(in);
    if (fclose(out) != 0 || !ok) {
        fprintf(stderr, "error: writing %s failed\n", argv[4]);
        return 1;
    }
    return 0;
}
