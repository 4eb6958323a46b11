/* How the guest image parsers (elf.c, multiboot.c, pvh.c, image.c) refuse a file: a one-line
 * reason for the caller's diagnostic, and -1. */
#ifndef TESSERA_GUEST_IMAGE_FAIL_H
#define TESSERA_GUEST_IMAGE_FAIL_H

#include <stddef.h>

/* Formats the reason into why (cut to why_len, always terminated; nothing is written when why
 * is NULL or why_len 0) and returns -1, so that a check reads `return image_fail(...)`. */
int image_fail(char *why, size_t why_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
