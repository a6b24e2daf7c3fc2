"""The choices and defaults the command line offers, in a module that imports
nothing: `llmtool --help` (and every command's --help) reads them without loading
numpy, torch or the compiler. The modules that act on them re-export them."""
from pathlib import Path

# weight formats, in ImageHeader.quant order (model.h: LLM_FORMAT_*); auto: a format per matrix
QUANT_MODES = ("f32", "q8", "q4", "q5", "q6", "auto")
DEFAULT_GROUP_SIZE = {"f32": 64, "q8": 64, "q4": 256, "q5": 256, "q6": 256, "auto": 256}
KV_MODES = ("f32", "f16", "q8")  # KV cache storage, in ImageHeader.kv order
WEIGHTS_MODES = ("linked", "separate")  # the weight image in the firmware, or flashed (Linux: read) on its own
# the build glue a project carries beside its Makefile and CMakeLists.txt (compile --package)
PACKAGES = ("cmake", "zephyr", "esp-idf", "pico-sdk", "arduino", "platformio")

# A checkpoint's max_seq_len is a claim about its training, not a size to plan by: a
# compile without --context takes the largest context that fits the board, at most
# this many positions (llama.cpp's default context too), so that on a board with no
# RAM limit (host) a claim of 2^31 positions does not size the KV cache and RoPE
# tables. --context takes up to the model's max_seq_len and MAX_CONTEXT.
DEFAULT_CONTEXT_CAP = 4096
# the largest batch of prompt tokens compile plans for unless told (--batch)
DEFAULT_BATCH = 32
MAX_CONTEXT = 1 << 18

# `llmtool validate`: where the build runs, and the text it is teacher-forced with
VALIDATE_TARGETS = ("emulator", "board")
DEFAULT_TEXT = Path(__file__).parent / "data" / "stories.txt"  # children's stories written for llmtool
# The verdict's default thresholds by weight format: top-1 agreement with the f32
# reference (a fraction) and mean KL divergence (nats). stories260K reaches 98.1 % and
# 0.0013 nats in q8; 87.4 %, 93.5 % and 95.2 % in q4, q5 and q6, 0.070, 0.017 and
# 0.006 nats (a q8 KV cache costs under a point more); auto lies between q4 and q8.
DEFAULT_MIN_TOP1 = {"f32": 0.95, "q8": 0.95, "q4": 0.85, "q5": 0.90, "q6": 0.92, "auto": 0.85}
DEFAULT_MAX_KL = {"f32": 0.05, "q8": 0.05, "q4": 0.15, "q5": 0.05, "q6": 0.05, "auto": 0.15}

# `llmtool flash`: the probes (toolchain/target/flash.py); `llmtool monitor`'s speed
FLASH_PROBES = ("openocd", "pyocd", "st-flash", "picotool", "uf2")
DEFAULT_BAUD = 115200

# Bare-metal consoles: semihosting (through a debugger or QEMU: the command line, stdout,
# stderr, exit status), a serial port the firmware drives itself, or RTT ring buffers in
# RAM that a probe reads (runtime_c/platform/)
CONSOLES = ("semihosting", "uart", "rtt")
