/* platform/image_def_rp2350_arm_secure.S - the IMAGE_DEF block the RP2350's boot
 * ROM must find in the first 4 KB of flash before it runs the image (RP2350
 * datasheet 5.9, block format; 5.9.5.1, the minimum Arm IMAGE_DEF): one block
 * with one item, the image type. With no VECTOR_TABLE item, the ROM takes the
 * vector table at the start of flash, where llm.ld puts it, with this block
 * right after it (and asserts that it ends within the first 4 KB). */
    .section .image_def, "a"
    .balign 4
    .global image_def
image_def:
    .word 0xffffded3       /* PICOBIN_BLOCK_MARKER_START */
    /* item IMAGE_TYPE (0x42: one-byte size), 1 word, flags 0x1021: image type EXE
     * (bits 3:0 = 1), security Secure (bits 5:4 = 2), CPU Arm (bits 10:8 = 0),
     * chip RP2350 (bits 14:12 = 1) */
    .byte 0x42, 0x01
    .hword 0x1021
    /* item LAST (0xff: two-byte size): the items before it fill 1 word */
    .byte 0xff
    .hword 0x0001
    .byte 0x00
    .word 0x00000000       /* link to the next block, relative: 0, a loop of this block alone */
    .word 0xab123579       /* PICOBIN_BLOCK_MARKER_END */
