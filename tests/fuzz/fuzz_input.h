/* Reading a libFuzzer input as a stream of little-endian fields: a harness takes the bytes it
 * needs for each step; past the end every field reads as zero, so any input is a valid run. */
#ifndef TESSERA_FUZZ_INPUT_H
#define TESSERA_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct cursor {
    const uint8_t *p;
    size_t left;
};

static inline uint64_t take(struct cursor *c, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n && c->left; i++, c->left--)
        v |= (uint64_t)*c->p++ << (8 * i);
    return v;
}

#endif
