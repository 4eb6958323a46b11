/* The extended processor state statecheck reaches: x87, SSE (XMM0-15, MXCSR), AVX (YMM upper
 * halves), AVX-512 (opmask, ZMM upper halves, ZMM16-31) and PKRU, read and written through
 * XSAVE/XRSTOR in the standard format (SDM Vol. 1 13.4), or FXSAVE/FXRSTOR without XSAVE. */
#ifndef STATECHECK_XSTATE_H
#define STATECHECK_XSTATE_H

#include <stdbool.h>
#include <stdint.h>
#include "diff.h"

#define XSTATE_AREA_MAX 4096u
#define XSTATE_COMPONENTS 10u         /* components 0..9 (x87 .. PKRU) */

/* Comparison results, one per group of registers. */
enum xstate_group { XG_X87, XG_MXCSR, XG_XMM, XG_YMM, XG_AVX512, XG_PKRU, XG_COUNT };
extern const char *const xstate_group_name[XG_COUNT];

struct xstate {
    bool has_xsave, has_avx, has_avx512, has_pkru;
    uint64_t xcr0_all;                /* every component statecheck enables (x87|SSE at least) */
    uint32_t offset[XSTATE_COMPONENTS], bytes[XSTATE_COMPONENTS];
    uint32_t mxcsr_mask;
};

/* An XSAVE image, and MXCSR and PKRU as STMXCSR and RDPKRU read them when the image was taken
 * (XRSTOR loads the image's own fields; xstate_load also writes PKRU with WRPKRU). */
struct xstate_area {
    uint8_t bytes[XSTATE_AREA_MAX] __attribute__((aligned(64)));
    uint32_t mxcsr, pkru;
};

/* Sets CR4.OSFXSR/OSXMMEXCPT, CR4.OSXSAVE and CR4.PKE where the CPU offers them and learns the
 * layout. Returns NULL, or why the CPU state cannot be set up. XCR0 is left as it was. */
const char *xstate_setup(struct xstate *x);
/* XSETBV(0, mask); returns the vector raised or FAULT_NONE. */
int xstate_set_xcr0(uint64_t mask);

/* The current state of the components in rfbm (subset of XCR0) into a. */
void xstate_save(const struct xstate *x, struct xstate_area *a, uint64_t rfbm);
/* Loads the components in rfbm from a (XRSTOR; an image's missing components load as init). */
void xstate_load(const struct xstate *x, const struct xstate_area *a, uint64_t rfbm);
/* An image holding this guest's pattern in every component of `components`. */
void xstate_make_pattern(const struct xstate *x, struct xstate_area *a, unsigned guest, uint64_t components);
/* An image in the init configuration (FCW 0x37F, every register zero, all x87 tags empty). */
void xstate_make_init(struct xstate_area *a);

/* Compares `got` (an image xstate_save wrote; components absent from its XSTATE_BV count as
 * init) with `want` for the components given, register by register, into per-group diffs.
 * `guest` is the comparing guest (other guests' patterns are named as such). */
void xstate_compare(const struct xstate *x, const struct xstate_area *got, const struct xstate_area *want,
                    uint64_t components, unsigned guest, struct diff diffs[XG_COUNT]);


#endif
