/* fuzz_image.c - libFuzzer harness for the weight image check (image_check.c): the
 * input is a mutated, cut or extended copy of a real project's llm_image.bin
 * (scripts/fuzz.sh seeds the corpus with it), checked as a weight image.
 *
 * Input: one control byte, then the image. Control bit 0 asks the harness to
 * write the CRC-32 of the bytes before it into the image's CRC slot first, so
 * that mutations get past the CRC to the checks after it (the header's shape, the
 * tokenizer tables). The image is copied into a buffer of exactly its size, so a
 * read past its end is an ASan report.
 *
 * When image_check accepts it, the runtime must be able to use it: the weights
 * are pointed at it (llm_weights_init), and a short encode (the planned buffers not
 * live while encoding poisoned, fuzz_arena.h), decode and forward pass run over
 * it, ids staying in the vocabulary; then the weights go back to the real image.
 * Checks beyond memory safety and undefined behaviour: the real image (control 0)
 * is accepted, and an image of another size never is. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "llm.h"
#include "model.h"
#include "image.h"
#include "crc32.h"
#include "fuzz_arena.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    check(llm_init() == LLM_OK, "llm_init succeeds");
    return 0;
}

static volatile float logit_sink;

/* Reads a decoded piece to its end (for ASan) and returns its length. */
static size_t piece_length(const char *piece) {
    check(piece != NULL, "an id in the vocabulary decodes");
    return strlen(piece);
}

static void use_image(const uint8_t *image) {
    llm_weights_init(image);
    /* short enough for the planned merge workspace of the context-8 project */
    static const char text[] = "Once upon a time \xe2\x80\x94 \xff cat!\n";
    int tokens[sizeof text + 2];
    poison_all_but_encode_buffers();
    int n = llm_encode(text, 1, 1, tokens, (int)(sizeof tokens / sizeof *tokens));
    unpoison_arena();
    check(n >= 2, "the text encodes, BOS and EOS around it");
    size_t decoded = 0;
    for (int i = 0; i < n; i++) {
        check(tokens[i] >= 0 && tokens[i] < LLM_VOCAB_SIZE, "ids in the vocabulary");
        if (i > 0) decoded += piece_length(llm_decode(tokens[i - 1], tokens[i]));
    }
    for (int id = 0; id < LLM_VOCAB_SIZE; id += 37) decoded += piece_length(llm_decode(LLM_BOS_ID, id));
    (void)decoded;
    llm_reset();
    for (int pos = 0; pos < 2 && pos < LLM_CONTEXT; pos++) {
        const float *logits = llm_forward(pos == 0 ? LLM_BOS_ID : (n > 1 ? tokens[1] : 0), pos);
        check(logits != NULL, "a forward pass of ids in range runs");
        float sum = 0.0f; /* every logit read, whatever its value */
        for (int i = 0; i < LLM_VOCAB_SIZE; i++) sum += logits[i];
        logit_sink = sum;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int fix_crc = data[0] & 1;
    const size_t bytes = size - 1;
    uint8_t *image = malloc(bytes > 0 ? bytes : 1);
    memcpy(image, data + 1, bytes);
    if (fix_crc && bytes >= LLM_IMAGE_CRC_OFFSET + 4) {
        uint32_t crc = crc32_update(0, image, LLM_IMAGE_CRC_OFFSET);
        memcpy(image + LLM_IMAGE_CRC_OFFSET, &crc, sizeof crc);
    }
    int rc = image_check(image, bytes);
    if (bytes != LLM_IMAGE_SIZE) check(rc == -LLM_ERR_IMAGE, "an image of another size is refused");
    if (bytes == LLM_IMAGE_SIZE && memcmp(image, llm_image, bytes) == 0) check(rc == LLM_OK, "the real image passes");
    if (rc == LLM_OK) {
        use_image(image);
        llm_weights_init(image_base()); /* the real image again */
        llm_reset();
    } else {
        check(rc == -LLM_ERR_IMAGE || rc == -LLM_ERR_CORRUPT, "a refused image is -LLM_ERR_IMAGE or _CORRUPT");
    }
    free(image);
    return 0;
}
