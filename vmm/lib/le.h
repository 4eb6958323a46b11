/* Little-endian fields read out of byte buffers (file images, device data structures) at any
 * alignment, without type punning. */
#ifndef TESSERA_LIB_LE_H
#define TESSERA_LIB_LE_H

#include <stdint.h>

static inline uint16_t read_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t read_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t read_le64(const uint8_t *p)
{
    return read_le32(p) | (uint64_t)read_le32(p + 4) << 32;
}

#endif
