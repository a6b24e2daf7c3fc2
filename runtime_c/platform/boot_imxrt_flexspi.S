/* platform/boot_imxrt_flexspi.S - what the i.MX RT boot ROM reads from the start of
 * FlexSPI NOR flash before it will run an image with no debugger attached (serial
 * NOR boot, BOOT_MODE = internal boot):
 *   .boot_fcb  the FlexSPI NOR Configuration Block, 512 bytes: how the ROM sets
 *              FlexSPI up to read the flash (clock, read sample clock, a LUT with
 *              the read command) and the flash's geometry;
 *   .boot_ivt  the Image Vector Table (32 bytes) and the boot data it points to:
 *              where the image starts, how long it is, and where to jump.
 * Where the linker script must put them (offsets from the flash base):
 *   i.MX RT1060/1062: FCB at 0x000, IVT at 0x1000, the vector table (.vectors)
 *     at 0x2000 by convention (the IVT's entry does not depend on it);
 *   i.MX RT1170/1176: FCB at 0x400 (the RT1170 ROM looks there, not at 0), IVT
 *     at 0x1000.
 * Symbols the link provides: __flash_start (the flash's base in the memory map:
 * 0x60000000 on the RT1060, 0x30000000 on the RT1170), __flash_size (bytes of
 * flash the image may use), boot_rom_entry (baremetal.c).
 * Sources: IMXRT1060RM chapter "System Boot" (9.6.3 Serial NOR flash boot via
 * FlexSPI, table "FlexSPI Configuration block"; 9.7.1 Image Vector Table and
 * Boot Data); AN12238 (i.MX RT flashloader use case, the FCB's fields); the
 * field layout of NXP's SDK flexspi_nor_config_t (fsl_flexspi_nor_boot.h /
 * evkmimxrt1060_flexspi_nor_config.h); IMXRT1170RM chapter "System Boot" for the
 * RT1170's differences (FCB offset 0x400, its serial clock codes). */

#include "llm_config.h" /* LLM_CHIP_IMXRT1176 */

#if defined(LLM_CHIP_IMXRT1176)
#define FCB_SERIAL_CLK_100MHZ 5 /* RT1170 codes: 1 30, 2 50, 3 60, 4 80, 5 100, 6 120, 7 133, 8 166, 9 200 MHz */
#else
#define FCB_SERIAL_CLK_100MHZ 6 /* RT1060 codes: 1 30, 2 50, 3 60, 4 75, 5 80, 6 100, 7 133, 8 166, 9 200 MHz */
#endif

/* A FlexSPI LUT instruction: opcode (15:10), pads (9:8: 0 = 1, 1 = 2, 2 = 4),
 * operand (7:0); two to a word, the first in the low half. */
#define INSTR(op, pads, operand) (((op) << 10) | ((pads) << 8) | (operand))
#define LUT_WORD(first, second) ((first) | ((second) << 16))
#define CMD_SDR 0x01
#define RADDR_SDR 0x02
#define READ_SDR 0x09
#define DUMMY_SDR 0x0C
#define PADS1 0
#define PADS4 2

    .syntax unified

/* ---- FlexSPI NOR Configuration Block (512 bytes) ---------------------------- */
    .section .boot_fcb, "a"
    .balign 4
    .global flexspi_nor_config
flexspi_nor_config:
    /* 0x000 tag: 'FCFB' as a little-endian word */
    .word 0x42464346
    /* 0x004 version: 'V' 1.4.0 (0x56, major, minor, bugfix), the SDK's */
    .word 0x56010400
    .word 0                 /* 0x008 reserved */
    /* 0x00C readSampleClkSrc 1: read data sampled with the clock looped back
     * through the DQS pad (the SDK's and PJRC's choice for quad SDR flash);
     * 0x00D csHoldTime 3 and 0x00E csSetupTime 3 serial clocks; 0x00F
     * columnAddressWidth 0 (serial NOR: no column address) */
    .byte 1, 3, 3, 0
    /* 0x010 deviceModeCfgEnable 0, 0x011 deviceModeType 0, 0x012
     * waitTimeCfgCommands 0: the flash needs no mode change (its quad enable bit
     * is set in the part, as on the Teensy's W25Q..JV-IQ and the EVK's parts) */
    .byte 0, 0
    .hword 0
    .word 0                 /* 0x014 deviceModeSeq */
    .word 0                 /* 0x018 deviceModeArg */
    .byte 0, 0, 0, 0        /* 0x01C configCmdEnable, configModeType[3] */
    .word 0, 0, 0           /* 0x020 configCmdSeqs[3] */
    .word 0                 /* 0x02C reserved */
    .word 0, 0, 0           /* 0x030 configCmdArgs[3] */
    .word 0                 /* 0x03C reserved */
    .word 0                 /* 0x040 controllerMiscOption: none (no DDR, no differential clock) */
    /* 0x044 deviceType 1 = serial NOR; 0x045 sflashPadType 4 = quad; 0x046
     * serialClkFreq: 100 MHz (the chip's code); 0x047 lutCustomSeqEnable 0 */
    .byte 1, 4, FCB_SERIAL_CLK_100MHZ, 0
    .word 0, 0              /* 0x048 reserved */
    .word __flash_size      /* 0x050 sflashA1Size: bytes of flash on port A, chip 1 */
    .word 0, 0, 0           /* 0x054 sflashA2Size, sflashB1Size, sflashB2Size */
    .word 0, 0, 0, 0        /* 0x060 cs/sclk/data/dqs pad setting overrides: none */
    .word 0                 /* 0x070 timeoutInMs */
    .word 0                 /* 0x074 commandInterval */
    .hword 0, 0             /* 0x078 dataValidTime[2] */
    .hword 0                /* 0x07C busyOffset */
    .hword 0                /* 0x07E busyBitPolarity */
    /* 0x080 lookupTable[64], 16 sequences of 4 words. The ROM reads with sequence
     * 0; the others are the SDK's indices for the flashloader's use. */
    .org 0x080
    /* sequence 0, read: Fast Read Quad I/O 0xEB (command on 1 line), 24-bit
     * address on 4, 6 dummy cycles on 4 (4 for the mode byte + 2, the usual
     * W25Q/IS25 figure for 0xEB), data on 4 */
    .word LUT_WORD(INSTR(CMD_SDR, PADS1, 0xEB), INSTR(RADDR_SDR, PADS4, 24))
    .word LUT_WORD(INSTR(DUMMY_SDR, PADS4, 6), INSTR(READ_SDR, PADS4, 4))
    .word 0, 0
    /* sequence 1, read status register 0x05, one byte on 1 line */
    .word LUT_WORD(INSTR(CMD_SDR, PADS1, 0x05), INSTR(READ_SDR, PADS1, 4))
    .word 0, 0, 0
    .word 0, 0, 0, 0        /* sequence 2 */
    /* sequence 3, write enable 0x06 */
    .word INSTR(CMD_SDR, PADS1, 0x06)
    .word 0, 0, 0
    .org 0x180
    .fill 12, 4, 0          /* 0x180 lutCustomSeq[12]: unused (lutCustomSeqEnable 0) */
    .word 0, 0, 0, 0        /* 0x1B0 reserved */
    /* the serial NOR part (0x1C0 on) */
    .org 0x1C0
    .word 256               /* 0x1C0 pageSize */
    .word 4096              /* 0x1C4 sectorSize */
    /* 0x1C8 ipcmdSerialClkFreq 1 (30 MHz, for IP commands, valid on both chips);
     * 0x1C9 isUniformBlockSize 0; 0x1CA reserved[2] */
    .byte 1, 0, 0, 0
    /* 0x1CC serialNorType 0, needExitNoCmdMode 0, halfClkForNonReadCmd 0,
     * needRestoreNoCmdMode 0 */
    .byte 0, 0, 0, 0
    .word 0x10000           /* 0x1D0 blockSize: 64 KB */
    .org 0x200              /* 0x1D4 reserved to the end: 512 bytes in all */

/* ---- Image Vector Table (32 bytes) and boot data ----------------------------- */
    .section .boot_ivt, "a"
    .balign 4
    .global image_vector_table
image_vector_table:
    /* header: tag 0xD1, length 0x0020 (big-endian, bytes 1-2), version 0x41 (the
     * SDK's IVT version for both the RT1060 and the RT1170) */
    .word 0x412000D1
    /* entry: the first instruction the ROM runs (a Thumb function: the linker
     * sets bit 0). The ROM calls it on the ROM's own stack (in OCRAM) and with VTOR
     * still at the ROM's table: unlike a hardware reset, nothing loads SP from
     * .vectors. So it is baremetal.c's boot_rom_entry, which sets both (SP =
     * vectors[0], VTOR = .vectors) before the reset handler runs. */
    .word boot_rom_entry
    .word 0                 /* reserved1 */
    .word 0                 /* dcd: no Device Configuration Data */
    .word boot_data         /* boot_data: absolute address of the boot data below */
    .word image_vector_table /* self: the IVT's own absolute address */
    .word 0                 /* csf: no signature (unsecured boot) */
    .word 0                 /* reserved2 */
    .global boot_data
boot_data:
    .word __flash_start     /* start: absolute address of the image, the flash base */
    .word __flash_size      /* size: bytes the ROM considers the image */
    .word 0                 /* plugin: 0, a normal image */
    .word 0xFFFFFFFF        /* placeholder, as the SDK pads it */
