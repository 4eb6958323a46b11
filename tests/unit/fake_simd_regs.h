/* Host-test stand-in for the guest's vector registers (vmm/emu/simd_regs.h): plain arrays the
 * tests fill and inspect. zmm_high models bits 511:256, which a VEX write of YMM zeroes. */
#ifndef TESSERA_FAKE_SIMD_REGS_H
#define TESSERA_FAKE_SIMD_REGS_H

#include <stdint.h>
#include "emu/simd_regs.h"

struct fake_simd_regs {
    uint8_t xmm[SIMD_REG_COUNT][SIMD_XMM_BYTES];
    uint8_t ymm_high[SIMD_REG_COUNT][SIMD_XMM_BYTES];
    uint8_t zmm_high[SIMD_REG_COUNT][32];
    unsigned accesses;              /* calls of any simd_* function */
};

extern struct fake_simd_regs fake_simd;

#endif
