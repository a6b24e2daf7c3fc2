/* image_check.c - whether `bytes` bytes at `image` are a weight image this build
 * can run, reading nothing outside them.
 *
 * llm_init calls it on the image linked in, with the size the linker gave it (the
 * build already refuses an llm_image.bin of another size, llm_image.S; this holds
 * when that check is bypassed, and for images that will come from elsewhere). In
 * order: the header (magic, version, the size it records against `bytes` and
 * against the offsets compiled into llm_weights.c), the CRC-32, the header's shape
 * against llm_config.h, then the tokenizer tables the encoder and decoder index
 * with. The tables are covered by the CRC, but a CRC says only that the bytes are
 * the ones written: the table checks make sure that even a consistent-looking image
 * (the CRC fixed up after a change) cannot send the tokenizer outside the image or
 * its buffers. One pass over the vocabulary: O(vocab), beside the CRC's O(image). */
#include <string.h>
#include "llm.h"
#include "model.h"
#include "image.h"
#include "crc32.h"

_Static_assert(LLM_IMAGE_CRC_OFFSET + 4 <= LLM_IMAGE_SIZE, "the CRC-32 is inside the image");

/* The tables' indices stay inside them: each piece lies in the piece bytes, ends
 * with its NUL (llm_decode's callers read it as a C string) and fits the encoder's
 * pair buffer (str_buffer: two pieces of the tokenizer's longest); the sorted ids,
 * byte tokens, special tokens and extra merges' tokens are ids, the NFC tables' indices
 * stay within them; the scores order merges (no NaN: the merge needs a
 * total order to pick the same pair as llama2.c's rescan). */
static int vocab_check(const Vocab *v) {
    const uint32_t *offsets = v->piece_offsets;
    for (int i = 0; i < LLM_VOCAB_SIZE; i++) {
        uint32_t start = offsets[i], end = offsets[i + 1];
        if (end <= start || end > LLM_VOCAB_PIECE_BYTES || end - start - 1 > LLM_MAX_TOKEN_LENGTH ||
            v->piece_bytes[end - 1] != '\0') {
            return -LLM_ERR_IMAGE;
        }
        if (v->scores[i] != v->scores[i]) return -LLM_ERR_IMAGE;
        if (v->sorted_ids[i] < 0 || v->sorted_ids[i] >= LLM_VOCAB_SIZE) return -LLM_ERR_IMAGE;
    }
    for (int b = 0; b < 256; b++) {
        if (v->byte_ids[b] < 0 || v->byte_ids[b] >= LLM_VOCAB_SIZE) return -LLM_ERR_IMAGE;
    }
#if LLM_N_SPECIAL > 0
    for (int i = 0; i < LLM_N_SPECIAL; i++) {
        if (v->special_ids[i] < 0 || v->special_ids[i] >= LLM_VOCAB_SIZE) return -LLM_ERR_IMAGE;
    }
#endif
#if LLM_NFC
    /* the NFC tables' indices: a mapping's second part is one of the marks, a composite a mapping */
    for (int i = 0; i < LLM_NFC_MAPPINGS; i++) {
        if ((v->nfc_mappings[2 * i] >> 21 & 0x7Fu) > LLM_NFC_MARKS) return -LLM_ERR_IMAGE;
    }
    for (int i = 0; i < LLM_NFC_COMPOSITES; i++) {
        if (v->nfc_composites[i] >= LLM_NFC_MAPPINGS) return -LLM_ERR_IMAGE;
    }
#endif
#if LLM_EXTRA_MERGES > 0
    for (int i = 0; i < LLM_EXTRA_MERGES; i++) {
        int32_t token = v->extra_merges[2 * i];
        if (token < 0 || token >= LLM_VOCAB_SIZE || v->extra_scores[i] != v->extra_scores[i]) return -LLM_ERR_IMAGE;
    }
#endif
    return LLM_OK;
}

int image_check(const uint8_t *image, size_t bytes) {
    ImageHeader h;
    if (image == NULL || (uintptr_t)image % 4 != 0) return -LLM_ERR_ARG; /* tables are read as words */
    if (bytes < sizeof h) return -LLM_ERR_IMAGE;
    memcpy(&h, image, sizeof h);
    if (memcmp(h.magic, "LLMTOOL", 8) != 0 || h.version != LLM_IMAGE_VERSION || h.image_size != bytes ||
        bytes != LLM_IMAGE_SIZE) {
        return -LLM_ERR_IMAGE;
    }
    uint32_t stored;
    memcpy(&stored, image + LLM_IMAGE_CRC_OFFSET, sizeof stored); /* little-endian, like every board */
    if (crc32_update(0, image, LLM_IMAGE_CRC_OFFSET) != stored) {
        return -LLM_ERR_CORRUPT;
    }
    if (h.dim != LLM_DIM || h.hidden_dim != LLM_HIDDEN_DIM || h.n_layers != LLM_N_LAYERS ||
        h.n_heads != LLM_N_HEADS || h.n_kv_heads != LLM_N_KV_HEADS || h.vocab_size != LLM_VOCAB_SIZE ||
        h.context != LLM_CONTEXT || h.quant != LLM_QUANT_MODE || h.group_size != LLM_GROUP_SIZE ||
        h.kv != LLM_KV_MODE || h.tokenizer != LLM_TOKENIZER_KIND || h.arch != (uint32_t)LLM_ARCH_DIGEST) {
        return -LLM_ERR_IMAGE;
    }
    const Vocab vocab = llm_vocab_at(image);
    return vocab_check(&vocab);
}
