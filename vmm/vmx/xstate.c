/* Extended-state switching (see xstate.h). Facts from the SDM, Vol. 1 chapter 13: XSAVE writes
 * XSTATE_BV only for the components it saves and never writes XCOMP_BV or the rest of the
 * header; the standard form of XRSTOR raises #GP when XSTATE_BV has a bit XCR0 lacks or when
 * header bytes 23:8 are not zero. So the area is always saved and restored with one fixed XCR0
 * that covers every component a guest can reach, never with the guest's own XCR0, which the
 * guest may lower between a save and the next restore. */
#include "vmx/xstate.h"
#include "lib/mem.h"
#include "x86.h"

#define XCR0_MPX (XCR0_BNDREG | XCR0_BNDCSR)
#define XCR0_AMX (XCR0_TILECFG | XCR0_TILEDATA)

/* x87 and SSE (legacy SSE instructions need only CR4.OSFXSR) and PKRU (WRPKRU needs only
 * CR4.PKE) are state a guest changes without enabling anything in XCR0. */
#define XCR0_ALWAYS_REACHABLE (XCR0_X87 | XCR0_SSE | XCR0_PKRU)

uint64_t xstate_switch_xcr0(uint64_t cpu_supported, uint64_t guest_allowed)
{
    uint64_t m = (cpu_supported & (guest_allowed | XCR0_ALWAYS_REACHABLE)) | XCR0_X87;
    /* The combinations XSETBV refuses (SDM Vol. 2 XSETBV): drop what cannot be enabled. */
    if (!(m & XCR0_SSE))
        m &= ~XCR0_AVX;
    if (!(m & XCR0_AVX) || (m & XCR0_AVX512) != XCR0_AVX512)
        m &= ~XCR0_AVX512;
    if ((m & XCR0_MPX) != XCR0_MPX)
        m &= ~XCR0_MPX;
    if ((m & XCR0_AMX) != XCR0_AMX)
        m &= ~XCR0_AMX;
    return m;
}

static void put16(uint8_t *a, size_t off, uint16_t v) { memcpy(a + off, &v, sizeof(v)); }
static void put32(uint8_t *a, size_t off, uint32_t v) { memcpy(a + off, &v, sizeof(v)); }
static void put64(uint8_t *a, size_t off, uint64_t v) { memcpy(a + off, &v, sizeof(v)); }

void xstate_reset_image(void *area, size_t size, bool xsave)
{
    uint8_t *a = area;
    /* The page may hold anything; the image starts from zero so no earlier value can leak. */
    memset(a, 0, size);
    put16(a, XSAVE_FCW_OFFSET, X87_FCW_RESET);
    put32(a, XSAVE_MXCSR_OFFSET, MXCSR_RESET);
    /* x87 and SSE are loaded from the image; XRSTOR puts every other component in its initial
     * configuration (XSTATE_BV bit clear), which is its reset state (zero; PKRU 0). */
    if (xsave && size >= XSAVE_MIN_SIZE)
        put64(a, XSAVE_XSTATE_BV_OFFSET, XCR0_X87 | XCR0_SSE);
}

void xstate_sanitize_header(void *area, uint64_t switch_xcr0)
{
    uint8_t *a = area;
    uint64_t xstate_bv;
    memcpy(&xstate_bv, a + XSAVE_XSTATE_BV_OFFSET, sizeof(xstate_bv));
    put64(a, XSAVE_XSTATE_BV_OFFSET, xstate_bv & switch_xcr0);
    memset(a + XSAVE_XCOMP_BV_OFFSET, 0, XSAVE_HEADER_SIZE - 8); /* XCOMP_BV 0: the standard form */
}

/* XCR0 := the switch mask, so that XSAVE and XRSTOR see every component. */
static void hold_switch_xcr0(struct xstate_cpu *cpu)
{
    if (cpu->xcr0 != cpu->switch_xcr0) {
        cpu->set_xcr0(cpu->switch_xcr0);
        cpu->xcr0 = cpu->switch_xcr0;
    }
}

void xstate_save_guest(struct xstate_cpu *cpu, void *area)
{
    if (!cpu->has_xsave) {
        cpu->save(area, 0);
        return;
    }
    hold_switch_xcr0(cpu);
    cpu->save(area, cpu->switch_xcr0);
}

void xstate_load_guest(struct xstate_cpu *cpu, void *area, uint64_t guest_xcr0)
{
    if (!cpu->has_xsave) {
        cpu->restore(area, 0);
        return;
    }
    hold_switch_xcr0(cpu);
    xstate_sanitize_header(area, cpu->switch_xcr0);
    cpu->restore(area, cpu->switch_xcr0);
    xstate_use_xcr0(cpu, guest_xcr0);
}
