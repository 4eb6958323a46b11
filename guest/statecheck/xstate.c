/* The extended-state handling of xstate.h. Offsets of the legacy region and header are the
 * SDM's (Vol. 1 10.5.1, 13.4); those of the extended components come from CPUID leaf 0xD. */
#include "cpu.h"
#include "fault.h"
#include "pattern.h"
#include "xstate.h"

#define LEGACY_FCW        0
#define LEGACY_FSW        2
#define LEGACY_FTW        4        /* abridged tag word: 1 bit per register, 1 = valid */
#define LEGACY_MXCSR      24
#define LEGACY_MXCSR_MASK 28
#define LEGACY_ST         32       /* ST0-7, 16 bytes apart, 10 used */
#define LEGACY_XMM        160      /* XMM0-15, 16 bytes each */
#define HEADER_XSTATE_BV  512
#define X87_REGS          8
#define XMM_REGS          16

#define FCW_INIT           0x037F  /* what FNINIT and the XSAVE init configuration give */
#define MXCSR_INIT         0x1F80
#define MXCSR_MASK_DEFAULT 0xFFBF  /* what a zero MXCSR_MASK in the FXSAVE image means */
#define MXCSR_FZ           0x8000
#define FSW_C0 (1u << 8)
#define FSW_C1 (1u << 9)
#define FSW_C2 (1u << 10)
#define FSW_C3 (1u << 14)

enum { COMP_X87 = 0, COMP_SSE = 1, COMP_AVX = 2, COMP_OPMASK = 5, COMP_ZMM_HI256 = 6, COMP_HI16_ZMM = 7,
       COMP_PKRU = 9 };

const char *const xstate_group_name[XG_COUNT] = {
    [XG_X87] = "x87", [XG_MXCSR] = "MXCSR", [XG_XMM] = "XMM", [XG_YMM] = "YMM_H",
    [XG_AVX512] = "AVX-512", [XG_PKRU] = "PKRU",
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* The per-guest values of the fields too small for a pattern word. */
static uint64_t fcw_pattern(unsigned guest) { return FCW_INIT ^ (((guest % 3) + 1) << 10); }   /* rounding control */
static uint64_t fsw_pattern(unsigned guest)
{
    unsigned n = (guest % 15) + 1;
    return (n & 1 ? FSW_C0 : 0) | (n & 2 ? FSW_C1 : 0) | (n & 4 ? FSW_C2 : 0) | (n & 8 ? FSW_C3 : 0);
}
static uint64_t st_exponent_pattern(unsigned guest, unsigned reg)
{
    return 0x4000u | (guest & 0x3F) << 4 | reg;     /* sign 0, a finite exponent */
}
static uint64_t st_significand_pattern(unsigned guest, unsigned reg) { return pattern_word(guest, 0x100 + reg); }
static uint64_t mxcsr_pattern(unsigned guest)
{
    return MXCSR_INIT | ((guest % 3) + 1) << 13 | (guest & 1 ? MXCSR_FZ : 0);   /* rounding control, FZ */
}
static uint64_t word_pattern(unsigned guest, unsigned comp, unsigned word)
{
    return pattern_word(guest, (uint64_t)comp << 16 | word);
}
static uint64_t pkru_pattern(unsigned guest) { return 0x5A000000u | (guest & 0xFF) << 8 | 0x3C; }

/* The other guest whose pattern a small field holds, or -1. */
static int owner_of(uint64_t got, unsigned guest, uint64_t (*pattern)(unsigned))
{
    for (unsigned o = 0; o < PATTERN_MAX_GUESTS; o++) {
        if (o != guest && pattern(o) == got && pattern(guest) != got)
            return (int)o;
    }
    return -1;
}

static int owner_of_exponent(uint64_t got, unsigned guest, unsigned reg)
{
    for (unsigned o = 0; o < PATTERN_MAX_GUESTS; o++) {
        if (o != guest && st_exponent_pattern(o, reg) == got)
            return (int)o;
    }
    return -1;
}

static void zero_area(struct xstate_area *a)
{
    for (unsigned i = 0; i < sizeof(a->bytes); i++)
        a->bytes[i] = 0;
    a->mxcsr = a->pkru = 0;
}

static uint32_t read_mxcsr(void)
{
    uint32_t v;
    asm volatile("stmxcsr %0" : "=m"(v));
    return v;
}

int xstate_set_xcr0(uint64_t mask)
{
    return xsetbv_checked(0, mask);
}

const char *xstate_setup(struct xstate *x)
{
    *x = (struct xstate){ .xcr0_all = XCR0_X87 | XCR0_SSE };
    if (!cpuid1_edx(CPUID1_EDX_FXSR) || !cpuid1_edx(CPUID1_EDX_SSE2))
        return "the CPU has no FXSAVE or no SSE2";
    x->has_xsave = cpuid1_ecx(CPUID1_ECX_XSAVE);
    bool pku = cpuid7_ecx(CPUID7_ECX_PKU);
    uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT | (x->has_xsave ? CR4_OSXSAVE : 0) | (pku ? CR4_PKE : 0);
    int vector = write_cr4_checked(cr4);
    if (vector != FAULT_NONE)
        return "MOV to CR4 setting OSFXSR, OSXMMEXCPT, OSXSAVE and PKE (where offered) raised an exception";

    static struct xstate_area probe;
    zero_area(&probe);
    asm volatile("fxsave64 (%0)" :: "r"(probe.bytes) : "memory");
    x->mxcsr_mask = get32(probe.bytes + LEGACY_MXCSR_MASK);
    if (x->mxcsr_mask == 0)
        x->mxcsr_mask = MXCSR_MASK_DEFAULT;
    if (!x->has_xsave)
        return 0;

    struct cpuid_regs d = cpuid(0xD, 0);
    uint64_t supported = (uint64_t)d.edx << 32 | d.eax;
    x->has_avx = cpuid1_ecx(CPUID1_ECX_AVX) && (supported & XCR0_AVX);
    x->has_avx512 = x->has_avx && cpuid7_ebx(CPUID7_EBX_AVX512F) && (supported & XCR0_AVX512) == XCR0_AVX512;
    x->has_pkru = pku && (supported & XCR0_PKRU);
    x->xcr0_all |= (x->has_avx ? XCR0_AVX : 0) | (x->has_avx512 ? XCR0_AVX512 : 0) | (x->has_pkru ? XCR0_PKRU : 0);
    for (unsigned c = COMP_AVX; c < XSTATE_COMPONENTS; c++) {
        if (!(x->xcr0_all >> c & 1))
            continue;
        struct cpuid_regs info = cpuid(0xD, c);
        x->offset[c] = info.ebx;
        x->bytes[c] = info.eax;
        if (info.ebx < HEADER_XSTATE_BV + 64 || info.eax > XSTATE_AREA_MAX || info.ebx > XSTATE_AREA_MAX - info.eax)
            return "CPUID leaf 0xD places a state component outside a 4 KiB XSAVE area";
    }
    return 0;
}

void xstate_save(const struct xstate *x, struct xstate_area *a, uint64_t rfbm)
{
    zero_area(a);
    if (x->has_xsave)
        asm volatile("xsave64 (%0)" :: "r"(a->bytes), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32)) : "memory");
    else
        asm volatile("fxsave64 (%0)" :: "r"(a->bytes) : "memory");
    a->mxcsr = read_mxcsr();
    if (x->has_pkru)
        a->pkru = rdpkru();
}

void xstate_load(const struct xstate *x, const struct xstate_area *a, uint64_t rfbm)
{
    if (x->has_xsave)
        asm volatile("xrstor64 (%0)" :: "r"(a->bytes), "a"((uint32_t)rfbm), "d"((uint32_t)(rfbm >> 32)) : "memory");
    else
        asm volatile("fxrstor64 (%0)" :: "r"(a->bytes) : "memory");
    if (x->has_pkru && (rfbm & XCR0_PKRU))
        wrpkru(a->pkru);
}

void xstate_make_init(struct xstate_area *a)
{
    zero_area(a);
    put16(a->bytes + LEGACY_FCW, FCW_INIT);
    put32(a->bytes + LEGACY_MXCSR, MXCSR_INIT);
    a->mxcsr = MXCSR_INIT;
}

void xstate_make_pattern(const struct xstate *x, struct xstate_area *a, unsigned guest, uint64_t components)
{
    zero_area(a);
    components &= x->xcr0_all;
    uint8_t *b = a->bytes;
    put16(b + LEGACY_FCW, (uint16_t)fcw_pattern(guest));
    put16(b + LEGACY_FSW, (uint16_t)fsw_pattern(guest));
    b[LEGACY_FTW] = 0xFF;                               /* every register valid */
    for (unsigned r = 0; r < X87_REGS; r++) {
        put64(b + LEGACY_ST + 16 * r, st_significand_pattern(guest, r));
        put16(b + LEGACY_ST + 16 * r + 8, (uint16_t)st_exponent_pattern(guest, r));
    }
    uint32_t mxcsr = (uint32_t)mxcsr_pattern(guest) & x->mxcsr_mask;
    put32(b + LEGACY_MXCSR, mxcsr);
    a->mxcsr = mxcsr;
    for (unsigned w = 0; w < XMM_REGS * 2; w++)
        put64(b + LEGACY_XMM + 8 * w, word_pattern(guest, COMP_SSE, w));
    for (unsigned c = COMP_AVX; c < XSTATE_COMPONENTS; c++) {
        if (!(components >> c & 1))
            continue;
        if (c == COMP_PKRU) {
            a->pkru = (uint32_t)pkru_pattern(guest);
            put32(b + x->offset[c], a->pkru);
            continue;
        }
        for (unsigned w = 0; w < x->bytes[c] / 8; w++)
            put64(b + x->offset[c] + 8 * w, word_pattern(guest, c, w));
    }
    if (x->has_xsave)
        put64(b + HEADER_XSTATE_BV, components);
}

/* The bytes component `comp` of `got` holds: its own, or the init values when XSTATE_BV says
 * the component is in its init configuration (and so was not necessarily written). */
static const uint8_t *component_bytes(const struct xstate *x, const struct xstate_area *got, unsigned comp)
{
    static struct xstate_area init;
    static bool init_made;
    if (!init_made) {
        xstate_make_init(&init);
        init_made = true;
    }
    uint64_t bv = x->has_xsave ? get64(got->bytes + HEADER_XSTATE_BV) : (XCR0_X87 | XCR0_SSE);
    return (bv >> comp & 1) ? got->bytes : init.bytes;
}

static int word_owner(uint64_t v, unsigned guest)
{
    int o = pattern_word_owner(v);
    return o == (int)guest ? -1 : o;
}

static void compare_x87(const struct xstate *x, const struct xstate_area *got, const struct xstate_area *want,
                        unsigned guest, struct diff *d)
{
    const uint8_t *g = component_bytes(x, got, COMP_X87), *w = want->bytes;
    uint64_t v = get16(g + LEGACY_FCW);
    diff_note(d, "FCW", 0, v, get16(w + LEGACY_FCW), owner_of(v, guest, fcw_pattern));
    v = get16(g + LEGACY_FSW);
    diff_note(d, "FSW", 0, v, get16(w + LEGACY_FSW), owner_of(v, guest, fsw_pattern));
    diff_note(d, "FTW (abridged)", 0, g[LEGACY_FTW], w[LEGACY_FTW], -1);
    for (unsigned r = 0; r < X87_REGS; r++) {
        v = get64(g + LEGACY_ST + 16 * r);
        diff_note(d, "ST significand", r, v, get64(w + LEGACY_ST + 16 * r), word_owner(v, guest));
        v = get16(g + LEGACY_ST + 16 * r + 8);
        diff_note(d, "ST exponent", r, v, get16(w + LEGACY_ST + 16 * r + 8), owner_of_exponent(v, guest, r));
    }
}

static void compare_words(const char *what, const uint8_t *g, const uint8_t *w, unsigned words, unsigned guest,
                          struct diff *d)
{
    for (unsigned i = 0; i < words; i++) {
        uint64_t v = get64(g + 8 * i);
        diff_note(d, what, i, v, get64(w + 8 * i), word_owner(v, guest));
    }
}

void xstate_compare(const struct xstate *x, const struct xstate_area *got, const struct xstate_area *want,
                    uint64_t components, unsigned guest, struct diff diffs[XG_COUNT])
{
    components &= x->xcr0_all;
    for (unsigned i = 0; i < XG_COUNT; i++)
        diffs[i] = (struct diff){ 0 };
    compare_x87(x, got, want, guest, &diffs[XG_X87]);
    diff_note(&diffs[XG_MXCSR], "MXCSR", 0, got->mxcsr, want->mxcsr, owner_of(got->mxcsr, guest, mxcsr_pattern));
    compare_words("XMM word", component_bytes(x, got, COMP_SSE) + LEGACY_XMM, want->bytes + LEGACY_XMM,
                  XMM_REGS * 2, guest, &diffs[XG_XMM]);
    static const char *const names[XSTATE_COMPONENTS] = {
        [COMP_AVX] = "YMM_H word", [COMP_OPMASK] = "opmask", [COMP_ZMM_HI256] = "ZMM_H word",
        [COMP_HI16_ZMM] = "ZMM16-31 word",
    };
    for (unsigned c = COMP_AVX; c < XSTATE_COMPONENTS; c++) {
        if (!(components >> c & 1))
            continue;
        const uint8_t *g = component_bytes(x, got, c) + x->offset[c], *w = want->bytes + x->offset[c];
        if (c == COMP_PKRU) {
            uint64_t v = get32(g);
            diff_note(&diffs[XG_PKRU], "PKRU (XSAVE)", 0, v, get32(w), owner_of(v, guest, pkru_pattern));
            diff_note(&diffs[XG_PKRU], "PKRU (RDPKRU)", 0, got->pkru, get32(w), owner_of(got->pkru, guest, pkru_pattern));
            continue;
        }
        compare_words(names[c], g, w, x->bytes[c] / 8, guest, &diffs[c == COMP_AVX ? XG_YMM : XG_AVX512]);
    }
}
