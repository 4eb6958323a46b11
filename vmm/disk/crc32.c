/* CRC-32 (reflected 0xEDB88320) for GPT headers and partition arrays. Four bits at a time from
 * a 16-entry table computed on first use: small, and fast enough for a 16 KiB entry array. */
#include <stdbool.h>
#include "disk/crc32.h"

static uint32_t nibble_table[16];
static bool table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 16; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 4; bit++)
            c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        nibble_table[i] = c;
    }
    table_ready = true;
}

uint32_t crc32_update(uint32_t state, const void *data, size_t len)
{
    if (!table_ready)
        build_table();
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) {
        state ^= p[i];
        state = (state >> 4) ^ nibble_table[state & 15];
        state = (state >> 4) ^ nibble_table[state & 15];
    }
    return state;
}

uint32_t crc32(const void *data, size_t len)
{
    return crc32_end(crc32_update(crc32_begin(), data, len));
}
