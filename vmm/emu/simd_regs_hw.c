/* The guest's XMM/YMM registers, live in the CPU while it is loaded (see simd_regs.h): one
 * instruction per register, since the register number is part of the encoding. Only memory
 * operands are used, so the compiler never needs vector registers (-mgeneral-regs-only). */
#include "emu/simd_regs.h"

#define FOR_EACH_REG(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) \
                        X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15)

void simd_read_xmm(unsigned n, uint8_t out[SIMD_XMM_BYTES])
{
    switch (n) {
#define READ_XMM(k) case k: __asm__ volatile("movdqu %%xmm" #k ", (%0)" : : "r"(out) : "memory"); break;
    FOR_EACH_REG(READ_XMM)
#undef READ_XMM
    default: break;
    }
}

/* Legacy-SSE MOVDQU: bits 255:128 stay as they are. */
void simd_write_xmm(unsigned n, const uint8_t in[SIMD_XMM_BYTES])
{
    switch (n) {
#define WRITE_XMM(k) case k: __asm__ volatile("movdqu (%0), %%xmm" #k : : "r"(in) : "memory"); break;
    FOR_EACH_REG(WRITE_XMM)
#undef WRITE_XMM
    default: break;
    }
}

void simd_read_ymm_high(unsigned n, uint8_t out[SIMD_XMM_BYTES])
{
    switch (n) {
#define READ_YMM_HIGH(k) \
    case k: __asm__ volatile("vextractf128 $1, %%ymm" #k ", (%0)" : : "r"(out) : "memory"); break;
    FOR_EACH_REG(READ_YMM_HIGH)
#undef READ_YMM_HIGH
    default: break;
    }
}

/* VINSERTF128 is VEX.256: it also zeroes bits 511:256, as the VEX load being emulated does. */
void simd_write_ymm_high(unsigned n, const uint8_t in[SIMD_XMM_BYTES])
{
    switch (n) {
#define WRITE_YMM_HIGH(k) \
    case k: __asm__ volatile("vinsertf128 $1, (%0), %%ymm" #k ", %%ymm" #k : : "r"(in) : "memory"); break;
    FOR_EACH_REG(WRITE_YMM_HIGH)
#undef WRITE_YMM_HIGH
    default: break;
    }
}
