/* The fake vector registers behind vmm/emu/simd_regs.h in host tests (see fake_simd_regs.h).
 * A register number the CPU could not encode aborts the test. */
#include <stdlib.h>
#include <string.h>
#include "fake_simd_regs.h"

struct fake_simd_regs fake_simd;

static unsigned checked(unsigned n)
{
    if (n >= SIMD_REG_COUNT)
        abort();
    fake_simd.accesses++;
    return n;
}

void simd_read_xmm(unsigned n, uint8_t out[SIMD_XMM_BYTES])
{
    memcpy(out, fake_simd.xmm[checked(n)], SIMD_XMM_BYTES);
}

void simd_write_xmm(unsigned n, const uint8_t in[SIMD_XMM_BYTES])
{
    memcpy(fake_simd.xmm[checked(n)], in, SIMD_XMM_BYTES);
}

void simd_read_ymm_high(unsigned n, uint8_t out[SIMD_XMM_BYTES])
{
    memcpy(out, fake_simd.ymm_high[checked(n)], SIMD_XMM_BYTES);
}

void simd_write_ymm_high(unsigned n, const uint8_t in[SIMD_XMM_BYTES])
{
    memcpy(fake_simd.ymm_high[checked(n)], in, SIMD_XMM_BYTES);
    memset(fake_simd.zmm_high[n], 0, sizeof(fake_simd.zmm_high[n]));
}
