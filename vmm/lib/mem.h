/* The C library memory and string functions the freestanding hypervisor provides itself
 * (vmm/lib/string.c); in host tests the C library supplies the same names. */
#ifndef TESSERA_MEM_H
#define TESSERA_MEM_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* -ffreestanding turns off the compiler's knowledge of these, so even an 8-byte memcpy became a
 * call and a REP MOVSB. Through the builtins, small constant-size copies and fills compile to
 * plain moves; everything else still calls the functions above. */
#if !defined(TESSERA_HOST_TEST) && !defined(TESSERA_MEM_IMPLEMENTATION)
#define memcpy(dst, src, n) __builtin_memcpy((dst), (src), (n))
#define memset(dst, c, n)   __builtin_memset((dst), (c), (n))
#define memcmp(a, b, n)     __builtin_memcmp((a), (b), (n))
#endif

#endif
