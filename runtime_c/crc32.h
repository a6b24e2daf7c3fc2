#ifndef LLM_CRC32_H
#define LLM_CRC32_H

#include <stdint.h>

/* The CRC-32 of n more bytes, continuing from crc (0 to start), like zlib.crc32. */
uint32_t crc32_update(uint32_t crc, const uint8_t *data, long n);

#endif
