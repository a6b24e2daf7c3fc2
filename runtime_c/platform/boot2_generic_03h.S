/* platform/boot2_generic_03h.S - the RP2040's second-stage boot loader for any
 * flash that answers the standard 03h read command (W25Q080 and its kind).
 *
 * The boot ROM copies the first 256 bytes of flash to SRAM, checks the CRC-32 of
 * the first 252 against the last 4 and runs them. This code sets the XIP SSI up
 * so that every read of the flash window (0x10000000) becomes an 03h read (8
 * command bits, 24 address bits, 32 data bits, one data line), then enters the
 * image: its vector table at 0x10000100 goes to VTOR, its first word to MSP, and
 * it branches to its reset handler. The Makefile assembles it alone, and
 * runtime/tools/boot2_pad.c pads it to 252 bytes and appends the CRC-32. It must
 * be position-independent: it runs from SRAM at an address the ROM picks.
 */
#define XIP_BASE 0x10000000
#define XIP_SSI_BASE 0x18000000
#define SSI_CTRLR0 0x00
#define SSI_CTRLR1 0x04
#define SSI_SSIENR 0x08
#define SSI_BAUDR 0x14
#define SSI_SPI_CTRLR0 0xf4
#define M0PLUS_VTOR 0xe000ed08

/* CTRLR0: standard SPI frames (SPI_FRF 0), 32 clocks per data frame (DFS_32 31),
 * EEPROM read mode: send command and address, then receive (TMOD 3). */
#define CTRLR0_XIP ((31 << 16) | (3 << 8))
/* SPI_CTRLR0: command 03h (XIP_CMD), 8-bit instruction (INST_L 2), 24 address
 * bits (ADDR_L 6, in 4-bit units), command and address on one line (TRANS_TYPE 0). */
#define SPI_CTRLR0_XIP ((0x03 << 24) | (2 << 8) | (6 << 2))
/* the flash clock: clk_sys / 4 (the ring oscillator's 6 MHz or so at boot) */
#define CLKDIV 4

    .syntax unified
    .cpu cortex-m0plus
    .thumb
    .text
    .global boot2_entry
    .type boot2_entry, %function
    .thumb_func
boot2_entry:
    ldr r3, =XIP_SSI_BASE
    movs r1, #0
    str r1, [r3, #SSI_SSIENR]      /* the SSI takes its settings while disabled */
    movs r1, #CLKDIV
    str r1, [r3, #SSI_BAUDR]
    ldr r1, =CTRLR0_XIP
    str r1, [r3, #SSI_CTRLR0]
    ldr r0, =XIP_SSI_BASE + SSI_SPI_CTRLR0  /* beyond a str's 124-byte offset */
    ldr r1, =SPI_CTRLR0_XIP
    str r1, [r0]
    movs r1, #0
    str r1, [r3, #SSI_CTRLR1]      /* NDF 0: one 32-bit frame per read */
    movs r1, #1
    str r1, [r3, #SSI_SSIENR]
    ldr r0, =XIP_BASE + 0x100      /* the image's vector table */
    ldr r1, =M0PLUS_VTOR
    str r0, [r1]
    ldmia r0, {r0, r1}             /* initial stack pointer, reset handler */
    msr msp, r0
    bx r1
    .ltorg
