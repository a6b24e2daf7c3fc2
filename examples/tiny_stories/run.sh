#!/usr/bin/env bash
# The tiny_stories example end to end: generated children's stories -> a 512-token
# SentencePiece tokenizer -> a ~1M-parameter llama trained on this CPU -> compiled for
# the host (emulated) and for a Raspberry Pi 4 (run under QEMU).
# Usage: examples/tiny_stories/run.sh [WORKDIR]      (default: ./tiny_stories_work)
set -euo pipefail
WORK=${1:-tiny_stories_work}
PROMPT="Once upon a time"

# 1-3. 20,000 stories (model/corpus.txt), a tokenizer trained on them
# (model/tokenizer.model and .bin), and the model (model/ckpt.pt): dim 128, 5 layers,
# 4 heads, context 256. Skipped when a checkpoint is there (an interrupted run goes
# on with `llmtool train -o WORK/model --resume`).
if [ ! -f "$WORK/model/ckpt.pt" ]; then
    llmtool train -o "$WORK/model"
fi

# 4. compile for this machine and generate through the host emulator, then compare the
#    int8 build with the float32 checkpoint on held-out stories (the corpus's last lines
#    are in the split training never saw)
llmtool compile "$WORK/model/ckpt.pt" --tokenizer "$WORK/model/tokenizer.bin" --board host \
    --force -o "$WORK/host"
llmtool emulate "$WORK/host" --prompt "$PROMPT" --temperature 0 --steps 256
tail -n 5 "$WORK/model/corpus.txt" > "$WORK/heldout.txt"
llmtool validate "$WORK/host" --text "$WORK/heldout.txt"

# 5. compile for a Raspberry Pi 4, cross-build, and run the aarch64 binary under QEMU
llmtool compile "$WORK/model/ckpt.pt" --tokenizer "$WORK/model/tokenizer.bin" --board rpi4 \
    --force -o "$WORK/rpi4"
llmtool build "$WORK/rpi4"
llmtool run "$WORK/rpi4" --prompt "$PROMPT" --temperature 0 --steps 256
