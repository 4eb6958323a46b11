/* CRC-32 as GPT (and Ethernet, zlib) uses it: reflected polynomial 0xEDB88320, initial value
 * and final XOR 0xFFFFFFFF. */
#ifndef TESSERA_CRC32_H
#define TESSERA_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* CRC of len bytes. */
uint32_t crc32(const void *data, size_t len);

/* Incremental form: state = crc32_begin(); state = crc32_update(state, ...)...;
 * crc = crc32_end(state). */
static inline uint32_t crc32_begin(void) { return 0xFFFFFFFFu; }
uint32_t crc32_update(uint32_t state, const void *data, size_t len);
static inline uint32_t crc32_end(uint32_t state) { return state ^ 0xFFFFFFFFu; }

#endif
