/* The sector pattern diskfill.elf writes across its whole minidisk, shared (header-only, pure C)
 * with the host-side checker tests/integration/diskimage_check.c.
 *
 * Every 512-byte sector s (0-based sector number inside the minidisk) of the guest named NAME:
 *   bytes   0..31   NAME, cut to 32 bytes, NUL-padded to 32 bytes (no terminator when 32 long)
 *   bytes  32..39   s as an unsigned 64-bit little-endian number
 *   bytes 40..511   filler: byte i = ((k >> (8 * (i % 4))) & 0xFF) XOR (i & 0xFF), where
 *                     k    = seed XOR (low32(s) * 0x9E3779B1 mod 2^32) XOR high32(s)
 *                     seed = 32-bit FNV-1a of the name bytes as stored (the cut name without
 *                            padding): h = 0x811C9DC5; for each byte b: h = (h XOR b) * 0x01000193
 *                            mod 2^32
 * NAME comes from the guest's command line (`name=...`), else "guest<ID>" with ID from
 * HC_GUEST_ID in decimal, else "guest" (see diskpattern_guest_name in diskfill.c).
 *
 * The persistence marker of the suite (sector 1, `persist=write|check`) is different: the ASCII
 * text "tessera-persist NAME NUMBER\n" followed by NUL bytes up to 512. */
#ifndef GUEST_DISKPATTERN_H
#define GUEST_DISKPATTERN_H

#include <stddef.h>
#include <stdint.h>

#define DISKPATTERN_SECTOR     512u
#define DISKPATTERN_NAME_BYTES 32u
#define DISKPATTERN_FILLER_AT  40u

/* Length of the name as stored in the pattern (up to the first NUL, at most 32). */
static inline size_t diskpattern_name_len(const char *name)
{
    size_t n = 0;
    while (n < DISKPATTERN_NAME_BYTES && name[n] != '\0')
        n++;
    return n;
}

static inline uint32_t diskpattern_seed(const char *name)
{
    uint32_t h = 0x811C9DC5u;
    size_t n = diskpattern_name_len(name);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)name[i]) * 0x01000193u;
    return h;
}

static inline void diskpattern_sector(uint8_t out[DISKPATTERN_SECTOR], const char *name, uint32_t seed,
                                      uint64_t sector)
{
    size_t n = diskpattern_name_len(name);
    for (size_t i = 0; i < DISKPATTERN_NAME_BYTES; i++)
        out[i] = i < n ? (uint8_t)name[i] : 0;
    for (unsigned i = 0; i < 8; i++)
        out[DISKPATTERN_NAME_BYTES + i] = (uint8_t)(sector >> (8 * i));
    uint32_t k = seed ^ ((uint32_t)sector * 0x9E3779B1u) ^ (uint32_t)(sector >> 32);
    for (unsigned i = DISKPATTERN_FILLER_AT; i < DISKPATTERN_SECTOR; i++)
        out[i] = (uint8_t)((k >> (8 * (i % 4))) & 0xFF) ^ (uint8_t)(i & 0xFF);
}

#endif
