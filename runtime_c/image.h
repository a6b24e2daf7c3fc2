/* image.h - the weight image's address for reading (see image.c). */
#ifndef LLM_IMAGE_H
#define LLM_IMAGE_H

#include <stdint.h>

const uint8_t *image_base(void);

#endif
