/* The loaded guest's vector registers as emulation reaches them. While a guest is loaded its
 * XMM/YMM state is live in the CPU (root mode never uses SSE: the hypervisor is built with
 * -mgeneral-regs-only), so these touch the registers themselves (simd_regs_hw.c); host tests
 * link a fake. n is 0-15. The YMM functions need XCR0 and CR4.OSXSAVE to enable AVX, which the
 * caller has checked for the guest (whose XCR0 the CPU holds while it is loaded). */
#ifndef TESSERA_EMU_SIMD_REGS_H
#define TESSERA_EMU_SIMD_REGS_H

#include <stdint.h>

#define SIMD_XMM_BYTES 16
#define SIMD_REG_COUNT 16

/* Bits 127:0 of register n. Writing keeps bits 255:128 (and above), as a legacy SSE load does. */
void simd_read_xmm(unsigned n, uint8_t out[SIMD_XMM_BYTES]);
void simd_write_xmm(unsigned n, const uint8_t in[SIMD_XMM_BYTES]);

/* Bits 255:128 of YMM register n. Writing zeroes the bits above 255 (ZMM state, where the CPU
 * has it), as every VEX-encoded load does. */
void simd_read_ymm_high(unsigned n, uint8_t out[SIMD_XMM_BYTES]);
void simd_write_ymm_high(unsigned n, const uint8_t in[SIMD_XMM_BYTES]);

#endif
