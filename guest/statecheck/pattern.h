/* The values statecheck writes into the CPU state, derived from its guest index so that each
 * guest's pattern is its own and a value seen by one guest can be traced to the guest that
 * wrote it. */
#ifndef STATECHECK_PATTERN_H
#define STATECHECK_PATTERN_H

#include <stdint.h>

#define PATTERN_MAX_GUESTS 64u      /* indexes a foreign value is traced back to */

/* A 64-bit data word: tag in bits 63:56, guest in 55:48, where it lives in 47:0. Bit 63 is set,
 * so as an x87 significand it is normalised (explicit integer bit). */
#define PATTERN_WORD_TAG 0xD5ull
static inline uint64_t pattern_word(unsigned guest, uint64_t where)
{
    return PATTERN_WORD_TAG << 56 | (uint64_t)(guest & 0xFF) << 48 | (where & 0xFFFFFFFFFFFFull);
}

/* The guest a data word came from, or -1 when it is no pattern word. */
static inline int pattern_word_owner(uint64_t v)
{
    return (v >> 56) == PATTERN_WORD_TAG ? (int)((v >> 48) & 0xFF) : -1;
}

/* A canonical, page-aligned linear address (bits 63:47 clear) for registers that must hold one
 * (MSRs checked for canonical form, breakpoint addresses). Nothing maps it: guest programs
 * map 0..8 GiB. */
static inline uint64_t pattern_address(unsigned guest, unsigned slot)
{
    return 0x00007C0000000000ull | (uint64_t)(guest & 0xFF) << 32 | (uint64_t)(slot & 0xFFFFF) << 12;
}

#endif
