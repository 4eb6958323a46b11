/* Extended-state switching (vmx/xstate.c) against a model CPU that behaves as the SDM says
 * (Vol. 1 13.7-13.8): XSAVE writes XSTATE_BV only for the requested components, the standard
 * form of XRSTOR raises #GP when XSTATE_BV names a component XCR0 lacks or the header's
 * reserved bytes are not zero, legacy SSE instructions and WRPKRU work whatever XCR0 says.
 * A #GP in root mode halts the whole machine, so here it fails the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmx/xstate.h"
#include "x86.h"

#define AREA_SIZE 4096
#define COMPONENTS 10                    /* x87 .. PKRU */
#define FIRMWARE_JUNK 0xF1F1F1F1F1F1F1F1ull

/* ---- the model CPU: one 8-byte register per state component stands for the whole component ---- */

static struct {
    uint64_t supported;                  /* CPUID 0xD.0 EDX:EAX */
    uint64_t xcr0;
    uint64_t reg[COMPONENTS];            /* x87: ST0, SSE: XMM0, 2: YMM0[255:128], ..., 9: PKRU */
    uint16_t fcw;
    uint32_t mxcsr;
    uint64_t xinuse;
} cpu;

static size_t component_offset(unsigned i)
{
    if (i == 0)
        return 32;                       /* ST0 in the legacy region */
    if (i == 1)
        return XSAVE_XMM0_OFFSET;
    return XSAVE_MIN_SIZE + 64 * (i - 2); /* the model's extended region */
}

static uint64_t get64(const void *area, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)area + off, 8);
    return v;
}

static void put64(void *area, size_t off, uint64_t v) { memcpy((uint8_t *)area + off, &v, 8); }

static void model_reset(uint64_t supported)
{
    memset(&cpu, 0, sizeof(cpu));
    cpu.supported = supported;
    /* What the firmware left: values no guest may see. */
    for (unsigned i = 0; i < COMPONENTS; i++)
        cpu.reg[i] = FIRMWARE_JUNK;
    cpu.fcw = 0x027F;
    cpu.mxcsr = 0x9FC0;                  /* FTZ and DAZ set */
    cpu.xinuse = supported;
}

static bool valid_xcr0(uint64_t v)
{
    return (v & XCR0_X87) && !(v & ~cpu.supported) && (!(v & XCR0_AVX) || (v & XCR0_SSE)) &&
           ((v & XCR0_AVX512) == 0 || ((v & XCR0_AVX512) == XCR0_AVX512 && (v & XCR0_AVX)));
}

static void model_xsetbv(uint64_t v)
{
    if (!valid_xcr0(v))
        fail_msg("XSETBV 0x%llx in root mode: #GP, the machine halts", (unsigned long long)v);
    cpu.xcr0 = v;
}

static void model_xsave(void *area, uint64_t mask)
{
    uint64_t rfbm = mask & cpu.xcr0;
    uint64_t bv = get64(area, XSAVE_XSTATE_BV_OFFSET);
    for (unsigned i = 0; i < COMPONENTS; i++) {
        if (!(rfbm & (1ull << i)))
            continue;
        put64(area, component_offset(i), cpu.reg[i]);
        bv = (bv & ~(1ull << i)) | (cpu.xinuse & (1ull << i));
    }
    if (rfbm & XCR0_X87)
        memcpy((uint8_t *)area + XSAVE_FCW_OFFSET, &cpu.fcw, 2);
    if (rfbm & (XCR0_SSE | XCR0_AVX))
        memcpy((uint8_t *)area + XSAVE_MXCSR_OFFSET, &cpu.mxcsr, 4);
    put64(area, XSAVE_XSTATE_BV_OFFSET, bv);   /* XCOMP_BV and the rest of the header untouched */
}

static void model_xrstor(const void *area, uint64_t mask)
{
    uint64_t bv = get64(area, XSAVE_XSTATE_BV_OFFSET);
    const uint8_t *h = (const uint8_t *)area + XSAVE_LEGACY_SIZE;
    for (unsigned b = 8; b < 24; b++)
        if (h[b])
            fail_msg("XRSTOR: header byte %u is 0x%02x: #GP in root mode, the machine halts", b, h[b]);
    if (bv & ~cpu.xcr0)
        fail_msg("XRSTOR: XSTATE_BV 0x%llx has a bit XCR0 0x%llx lacks: #GP in root mode, the machine halts",
                 (unsigned long long)bv, (unsigned long long)cpu.xcr0);
    uint64_t rfbm = mask & cpu.xcr0;
    if (rfbm & (XCR0_SSE | XCR0_AVX)) {  /* the standard form loads MXCSR whatever XSTATE_BV says */
        uint32_t mxcsr;
        memcpy(&mxcsr, (const uint8_t *)area + XSAVE_MXCSR_OFFSET, 4);
        if (mxcsr & ~0xFFFFu)
            fail_msg("XRSTOR: MXCSR 0x%x has reserved bits: #GP", mxcsr);
        cpu.mxcsr = mxcsr;
    }
    for (unsigned i = 0; i < COMPONENTS; i++) {
        uint64_t bit = 1ull << i;
        if (!(rfbm & bit))
            continue;
        if (bv & bit) {
            cpu.reg[i] = get64(area, component_offset(i));
            if (i == 0)
                memcpy(&cpu.fcw, (const uint8_t *)area + XSAVE_FCW_OFFSET, 2);
            cpu.xinuse |= bit;
        } else {                         /* initial configuration */
            cpu.reg[i] = 0;
            if (i == 0)
                cpu.fcw = X87_FCW_RESET;
            cpu.xinuse &= ~bit;
        }
    }
}

static void model_fxsave(void *area, uint64_t mask)
{
    (void)mask;
    put64(area, component_offset(0), cpu.reg[0]);
    put64(area, component_offset(1), cpu.reg[1]);
    memcpy((uint8_t *)area + XSAVE_FCW_OFFSET, &cpu.fcw, 2);
    memcpy((uint8_t *)area + XSAVE_MXCSR_OFFSET, &cpu.mxcsr, 4);
}

static void model_fxrstor(const void *area, uint64_t mask)
{
    (void)mask;
    cpu.reg[0] = get64(area, component_offset(0));
    cpu.reg[1] = get64(area, component_offset(1));
    memcpy(&cpu.fcw, (const uint8_t *)area + XSAVE_FCW_OFFSET, 2);
    memcpy(&cpu.mxcsr, (const uint8_t *)area + XSAVE_MXCSR_OFFSET, 4);
}

/* ---- guests on the model ---- */

struct model_guest {
    uint64_t xcr0;
    _Alignas(64) uint8_t area[AREA_SIZE];
};

static struct model_guest guest_a, guest_b;
static struct xstate_cpu xs;
static struct model_guest *loaded;

/* A machine as the hypervisor sets it up: XCR0 holds the switch mask, each guest's area holds
 * the reset image (over whatever the page held before). */
static void boot(uint64_t supported, uint64_t guest_allowed, bool has_xsave)
{
    model_reset(supported);
    memset(&xs, 0, sizeof(xs));
    xs.has_xsave = has_xsave;
    if (has_xsave) {
        xs.switch_xcr0 = xstate_switch_xcr0(supported, guest_allowed);
        model_xsetbv(xs.switch_xcr0);
        xs.xcr0 = cpu.xcr0;
        xs.set_xcr0 = model_xsetbv;
        xs.save = model_xsave;
        xs.restore = model_xrstor;
    } else {
        xs.save = model_fxsave;
        xs.restore = model_fxrstor;
    }
    struct model_guest *gs[] = { &guest_a, &guest_b };
    for (unsigned i = 0; i < 2; i++) {
        memset(gs[i]->area, 0xA5, sizeof(gs[i]->area));
        xstate_reset_image(gs[i]->area, has_xsave ? AREA_SIZE : XSAVE_LEGACY_SIZE, has_xsave);
        gs[i]->xcr0 = XCR0_X87;
    }
    loaded = NULL;
}

/* The run loop: switch to g if it is not loaded, then enter it with its own XCR0. */
static void run(struct model_guest *g)
{
    if (g != loaded) {
        if (loaded)
            xstate_save_guest(&xs, loaded->area);
        xstate_load_guest(&xs, g->area, g->xcr0);
        loaded = g;
    }
    xstate_use_xcr0(&xs, g->xcr0);
    if (xs.has_xsave)
        assert_int_equal(cpu.xcr0, g->xcr0);
}

/* What the guest does while it runs. */
static void guest_xsetbv(struct model_guest *g, uint64_t v)
{
    assert_true(valid_xcr0(v));          /* the XSETBV handler has validated it */
    g->xcr0 = v;
    xstate_use_xcr0(&xs, v);
}
static void guest_write(unsigned component, uint64_t v)
{
    if (component >= 2 && component != 9 && !(cpu.xcr0 & (1ull << component)))
        fail_msg("the guest cannot reach component %u with XCR0 0x%llx", component, (unsigned long long)cpu.xcr0);
    cpu.reg[component] = v;
    cpu.xinuse |= 1ull << component;
}

#define BOCHS_LIKE (XCR0_X87 | XCR0_SSE | XCR0_AVX)
#define SERVER     (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_BNDREG | XCR0_BNDCSR | XCR0_AVX512 | XCR0_PKRU)
#define SERVER_GUEST_ALLOWED (SERVER & ~(XCR0_BNDREG | XCR0_BNDCSR))   /* the CPUID policy hides MPX */

/* ---- the sequences ---- */

static void first_guest_starts_from_reset_state_not_firmware_state(void **state)
{
    (void)state;
    boot(SERVER, SERVER_GUEST_ALLOWED, true);
    run(&guest_a);
    assert_int_equal(cpu.fcw, X87_FCW_RESET);
    assert_int_equal(cpu.mxcsr, MXCSR_RESET);
    for (unsigned i = 0; i < COMPONENTS; i++)
        if (SERVER_GUEST_ALLOWED & (1ull << i))
            if (cpu.reg[i] != 0)
                fail_msg("component %u holds 0x%llx after the first load", i, (unsigned long long)cpu.reg[i]);
}

static void lowering_xcr0_between_yields_does_not_fault(void **state)
{
    (void)state;
    static const uint64_t sequences[][2] = {
        { XCR0_X87 | XCR0_SSE, XCR0_X87 },                        /* 3 then 1 */
        { XCR0_X87 | XCR0_SSE | XCR0_AVX, XCR0_X87 | XCR0_SSE },  /* 7 then 3 */
    };
    for (unsigned s = 0; s < 2; s++) {
        boot(BOCHS_LIKE, BOCHS_LIKE, true);
        run(&guest_a);
        guest_xsetbv(&guest_a, sequences[s][0]);
        guest_write(1, 0xAAAA);                                   /* dirty XMM0 */
        if (sequences[s][0] & XCR0_AVX)
            guest_write(2, 0xA2A2);
        run(&guest_b);                                            /* yield; another guest runs */
        guest_write(1, 0xBBBB);
        run(&guest_a);
        assert_int_equal(cpu.reg[1], 0xAAAA);
        guest_xsetbv(&guest_a, sequences[s][1]);                  /* lower XCR0 */
        run(&guest_b);                                            /* yield again */
        run(&guest_a);                                            /* must not #GP */
        assert_int_equal(cpu.reg[1], 0xAAAA);                     /* legacy SSE still sees XMM0 */
        run(&guest_b);
        assert_int_equal(cpu.reg[1], 0xBBBB);
        run(&guest_a);
        guest_xsetbv(&guest_a, sequences[s][0]);                  /* raise it again */
        if (sequences[s][0] & XCR0_AVX)
            assert_int_equal(cpu.reg[2], 0xA2A2);                 /* its upper halves came back */
    }
}

static void sse_state_is_per_guest_without_any_xsetbv(void **state)
{
    (void)state;
    boot(BOCHS_LIKE, BOCHS_LIKE, true);
    run(&guest_a);                                                /* XCR0 = 1, as every guest starts */
    guest_write(1, 0x5EC2E7A);
    cpu.mxcsr = 0x9FC0;
    run(&guest_b);
    assert_int_equal(cpu.reg[1], 0);                              /* not A's XMM0 */
    assert_int_equal(cpu.mxcsr, MXCSR_RESET);                     /* nor A's MXCSR */
    guest_write(1, 0xB0B);
    run(&guest_a);
    assert_int_equal(cpu.reg[1], 0x5EC2E7A);
    assert_int_equal(cpu.mxcsr, 0x9FC0);
    run(&guest_b);
    assert_int_equal(cpu.reg[1], 0xB0B);
    assert_int_equal(cpu.mxcsr, MXCSR_RESET);
}

static void upper_ymm_and_pkru_are_per_guest(void **state)
{
    (void)state;
    boot(SERVER, SERVER_GUEST_ALLOWED, true);
    run(&guest_a);
    guest_write(9, 0x55555554);                                   /* WRPKRU needs only CR4.PKE */
    guest_xsetbv(&guest_a, XCR0_X87 | XCR0_SSE | XCR0_AVX);
    guest_write(2, 0xA11A);
    guest_xsetbv(&guest_a, XCR0_X87 | XCR0_SSE);                  /* A hides its YMM state again */
    run(&guest_b);
    assert_int_equal(cpu.reg[9], 0);
    guest_xsetbv(&guest_b, XCR0_X87 | XCR0_SSE | XCR0_AVX);
    assert_int_equal(cpu.reg[2], 0);                              /* B's own, not A's */
    guest_write(2, 0xB22B);
    run(&guest_a);
    assert_int_equal(cpu.reg[9], 0x55555554);
    guest_xsetbv(&guest_a, XCR0_X87 | XCR0_SSE | XCR0_AVX);
    assert_int_equal(cpu.reg[2], 0xA11A);
}

static void fxsave_path_keeps_sse_per_guest(void **state)
{
    (void)state;
    boot(0, 0, false);
    run(&guest_a);
    assert_int_equal(cpu.fcw, X87_FCW_RESET);
    assert_int_equal(cpu.mxcsr, MXCSR_RESET);
    assert_int_equal(cpu.reg[1], 0);
    assert_int_equal(cpu.reg[0], 0);
    guest_write(1, 0xF0F0);
    run(&guest_b);
    assert_int_equal(cpu.reg[1], 0);
    guest_write(1, 0x0B0B);
    run(&guest_a);
    assert_int_equal(cpu.reg[1], 0xF0F0);
}

/* ---- the pure parts one by one ---- */

static void switch_xcr0_covers_what_guests_can_touch(void **state)
{
    (void)state;
    /* Everything the policy lets guests enable, MPX (hidden) left out. */
    assert_int_equal(xstate_switch_xcr0(SERVER, SERVER_GUEST_ALLOWED), SERVER_GUEST_ALLOWED);
    assert_int_equal(xstate_switch_xcr0(BOCHS_LIKE, BOCHS_LIKE), BOCHS_LIKE);
    /* x87, SSE and PKRU are usable whatever XCR0 says, even when the policy offers no XSETBV. */
    assert_int_equal(xstate_switch_xcr0(SERVER, 0), XCR0_X87 | XCR0_SSE | XCR0_PKRU);
    assert_int_equal(xstate_switch_xcr0(BOCHS_LIKE, XCR0_X87), XCR0_X87 | XCR0_SSE);
    /* Never a bit the CPU lacks: XSETBV would #GP in root mode. */
    assert_int_equal(xstate_switch_xcr0(BOCHS_LIKE, SERVER), BOCHS_LIKE);
    /* Always a value XSETBV accepts. */
    assert_int_equal(xstate_switch_xcr0(SERVER, XCR0_X87 | XCR0_SSE | (1ull << 5)),
                     XCR0_X87 | XCR0_SSE | XCR0_PKRU);                       /* part of AVX-512 */
    assert_int_equal(xstate_switch_xcr0(SERVER, XCR0_X87 | XCR0_AVX512),
                     XCR0_X87 | XCR0_SSE | XCR0_PKRU);                       /* AVX-512 without AVX */
    uint64_t amx_cpu = BOCHS_LIKE | XCR0_TILECFG | XCR0_TILEDATA;
    assert_int_equal(xstate_switch_xcr0(amx_cpu, BOCHS_LIKE | XCR0_TILECFG), BOCHS_LIKE);
    assert_int_equal(xstate_switch_xcr0(amx_cpu, amx_cpu), amx_cpu);
    uint64_t mpx_half = XCR0_X87 | XCR0_SSE | XCR0_BNDREG;
    assert_int_equal(xstate_switch_xcr0(SERVER, mpx_half), XCR0_X87 | XCR0_SSE | XCR0_PKRU);
}

static void reset_image_is_the_architectural_reset_state(void **state)
{
    (void)state;
    _Alignas(64) uint8_t area[1024];
    memset(area, 0xCC, sizeof(area));
    xstate_reset_image(area, sizeof(area), true);
    uint16_t fcw;
    uint32_t mxcsr;
    memcpy(&fcw, area + XSAVE_FCW_OFFSET, 2);
    memcpy(&mxcsr, area + XSAVE_MXCSR_OFFSET, 4);
    assert_int_equal(fcw, X87_FCW_RESET);
    assert_int_equal(mxcsr, MXCSR_RESET);
    assert_int_equal(get64(area, XSAVE_XSTATE_BV_OFFSET), XCR0_X87 | XCR0_SSE);
    assert_int_equal(get64(area, XSAVE_XCOMP_BV_OFFSET), 0);
    for (size_t i = 0; i < sizeof(area); i++) {
        if (i == XSAVE_FCW_OFFSET || i == XSAVE_FCW_OFFSET + 1 || i == XSAVE_MXCSR_OFFSET ||
            i == XSAVE_MXCSR_OFFSET + 1 || i == XSAVE_XSTATE_BV_OFFSET)
            continue;
        if (area[i])
            fail_msg("byte %zu of the reset image is 0x%02x", i, area[i]);
    }

    /* FXSAVE image: 512 bytes, nothing written past them. */
    uint8_t fx[XSAVE_LEGACY_SIZE + 64];
    memset(fx, 0xCC, sizeof(fx));
    xstate_reset_image(fx, XSAVE_LEGACY_SIZE, false);
    memcpy(&fcw, fx + XSAVE_FCW_OFFSET, 2);
    memcpy(&mxcsr, fx + XSAVE_MXCSR_OFFSET, 4);
    assert_int_equal(fcw, X87_FCW_RESET);
    assert_int_equal(mxcsr, MXCSR_RESET);
    assert_int_equal(fx[XSAVE_XMM0_OFFSET], 0);
    assert_int_equal(fx[XSAVE_LEGACY_SIZE], 0xCC);
}

static void sanitized_header_is_accepted_by_xrstor(void **state)
{
    (void)state;
    _Alignas(64) uint8_t area[XSAVE_MIN_SIZE];
    memset(area, 0x77, sizeof(area));
    put64(area, XSAVE_XSTATE_BV_OFFSET, ~0ull);
    put64(area, XSAVE_XCOMP_BV_OFFSET, (1ull << 63) | 3);
    xstate_sanitize_header(area, BOCHS_LIKE);
    assert_int_equal(get64(area, XSAVE_XSTATE_BV_OFFSET), BOCHS_LIKE);
    for (size_t i = XSAVE_XCOMP_BV_OFFSET; i < XSAVE_MIN_SIZE; i++)
        assert_int_equal(area[i], 0);
    assert_int_equal(area[100], 0x77);                            /* the register image is left alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_guest_starts_from_reset_state_not_firmware_state),
        cmocka_unit_test(lowering_xcr0_between_yields_does_not_fault),
        cmocka_unit_test(sse_state_is_per_guest_without_any_xsetbv),
        cmocka_unit_test(upper_ymm_and_pkru_are_per_guest),
        cmocka_unit_test(fxsave_path_keeps_sse_per_guest),
        cmocka_unit_test(switch_xcr0_covers_what_guests_can_touch),
        cmocka_unit_test(reset_image_is_the_architectural_reset_state),
        cmocka_unit_test(sanitized_header_is_accepted_by_xrstor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
