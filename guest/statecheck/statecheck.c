/* statecheck: a guest that proves its CPU state is its own. At start it must see the
 * architectural reset state and nothing the firmware or another guest left (XCR0 = 1, x87 init
 * configuration, MXCSR 0x1F80, XMM/YMM/ZMM/opmask/PKRU zero, DR0-DR3 0, DR6 0xFFFF0FF0,
 * DR7 0x400, CR2/CR8 and the guest-owned MSRs 0). Then, round after round until its deadline, it
 * fills every piece of state it can reach with a pattern derived from its guest index, yields,
 * is preempted several times inside a busy loop, and checks that all of it is intact and that
 * it never sees another guest's pattern. Last, the XCR0 lowering sequence (x87|SSE|AVX, dirty
 * the vector registers, yield, XCR0 = x87, yield, XCR0 back) while the other guests still run.
 *
 * Command line: run_ms=N (rounds until N ms of TSC time after start, default 4000), spin_ms=N
 * (each round's busy loop, default 30: several 10 ms slices), linger_ms=N (stay runnable that
 * long before and after the XCR0 sequence, default 300: guests whose measurements are over get
 * to report first, and the other statecheck guest's sequence has company).
 * Output: TAP lines and "N passed, M failed"; exit status 0 through port 0xF4 only if all passed. */
#include "boot.h"
#include "console.h"
#include "cpu.h"
#include "fault.h"
#include "gprs.h"
#include "hcall.h"
#include "sysregs.h"
#include "tap.h"
#include "xstate.h"

#define DEFAULT_RUN_MS    4000u
#define DEFAULT_SPIN_MS   30u
#define DEFAULT_LINGER_MS 300u
#define MAX_ROUNDS        1000u
#define ROUNDS_WITH_DETAIL 2u          /* rounds whose failures get diagnostic lines */

/* Everything compared in a round, and the totals over all rounds. */
enum { ITEM_GPR_YIELD = 0, ITEM_GPR_SPIN, ITEM_XSTATE, ITEM_SYSREG = ITEM_XSTATE + XG_COUNT,
       ITEM_COUNT = ITEM_SYSREG + SG_COUNT };

struct run {
    unsigned guest;
    struct xstate x;
    uint64_t khz;
    struct diff total[ITEM_COUNT];
    unsigned foreign_seen;            /* another guest's pattern, anywhere, any time */
};

static struct xstate_area image_now, image_want;

static uint64_t ms_to_ticks(const struct run *r, uint64_t ms) { return ms * r->khz; }

static bool group_present(const struct xstate *x, enum xstate_group g)
{
    switch (g) {
    case XG_YMM: return x->has_avx;
    case XG_AVX512: return x->has_avx512;
    case XG_PKRU: return x->has_pkru;
    default: return true;
    }
}

static const char *item_name(unsigned item)
{
    if (item == ITEM_GPR_YIELD)
        return "general registers across HC_YIELD";
    if (item == ITEM_GPR_SPIN)
        return "general registers across preemption";
    if (item < ITEM_SYSREG)
        return xstate_group_name[item - ITEM_XSTATE];
    return sysreg_group_name[item - ITEM_SYSREG];
}

static bool item_present(const struct run *r, unsigned item)
{
    if (item >= ITEM_SYSREG)
        return sysreg_group_present((enum sysreg_group)(item - ITEM_SYSREG));
    if (item >= ITEM_XSTATE)
        return group_present(&r->x, (enum xstate_group)(item - ITEM_XSTATE));
    return true;
}

/* The state at entry, before this program changed any of it. */
static void check_reset_state(struct run *r)
{
    struct diff sys[SG_COUNT];
    sysregs_compare(true, r->guest, sys);    /* first: nothing below touches these */

    const char *problem = xstate_setup(&r->x);
    if (!tap_check(problem == 0, "setup: CR4.OSFXSR/OSXMMEXCPT/OSXSAVE/PKE set where CPUID offers them"))
        tap_bail_out("statecheck needs FXSAVE and SSE2", "%s", problem);
    console_printf("# statecheck: guest %u, XCR0 components 0x%lx (AVX %s, AVX-512 %s, PKRU %s), TSC %lu kHz\n",
                   r->guest, r->x.xcr0_all, r->x.has_avx ? "yes" : "no", r->x.has_avx512 ? "yes" : "no",
                   r->x.has_pkru ? "yes" : "no", r->khz);
    if (r->x.has_xsave) {
        uint64_t xcr0 = xgetbv(0);
        if (!tap_check(xcr0 == XCR0_X87, "reset: XCR0 is 0x1 (x87 only)"))
            tap_diag("XCR0 = 0x%lx", xcr0);
        int vector = xstate_set_xcr0(r->x.xcr0_all);
        if (!tap_check(vector == FAULT_NONE, "setup: XSETBV enables XCR0 = 0x%lx", r->x.xcr0_all))
            tap_bail_out("statecheck cannot reach its extended state", "XSETBV raised %s", fault_name(vector));
    }

    xstate_save(&r->x, &image_now, r->x.xcr0_all);
    xstate_make_init(&image_want);
    struct diff xd[XG_COUNT];
    xstate_compare(&r->x, &image_now, &image_want, r->x.xcr0_all, r->guest, xd);
    static const char *const what[XG_COUNT] = {
        [XG_X87] = "x87 in its init configuration (FCW 0x37F, FSW 0, every tag empty, ST0-7 zero)",
        [XG_MXCSR] = "MXCSR is 0x1F80", [XG_XMM] = "XMM0-15 are zero",
        [XG_YMM] = "YMM0-15 upper halves are zero",
        [XG_AVX512] = "opmask k0-k7, ZMM0-15 upper halves and ZMM16-31 are zero", [XG_PKRU] = "PKRU is 0",
    };
    for (unsigned g = 0; g < XG_COUNT; g++) {
        if (!group_present(&r->x, (enum xstate_group)g))
            continue;
        r->foreign_seen += xd[g].foreign;
        if (!tap_check(xd[g].wrong == 0, "reset: %s", what[g]))
            diff_report(&xd[g]);
    }
    for (unsigned g = 0; g < SG_COUNT; g++) {
        if (!sysreg_group_present((enum sysreg_group)g))
            continue;
        r->foreign_seen += sys[g].foreign;
        if (!tap_check(sys[g].wrong == 0, "reset: %s %s %s", sysreg_group_name[g],
                       g == SG_DR0_3 || g == SG_SEGMENT_BASES || g == SG_SYSCALL || g == SG_SYSENTER ? "are" : "is",
                       sysreg_group_reset_text[g]))
            diff_report(&sys[g]);
    }
}

/* One round: pattern in, yield, busy loop across slices, compare. Returns the slices that
 * passed meanwhile beyond the one the yield started. */
static uint64_t run_round(struct run *r, unsigned round, uint64_t spin_iterations)
{
    struct diff d[ITEM_COUNT] = { 0 };
    struct diff fill_faults[SG_COUNT];
    xstate_make_pattern(&r->x, &image_want, r->guest, r->x.xcr0_all);
    xstate_load(&r->x, &image_want, r->x.xcr0_all);
    sysregs_fill(r->guest, fill_faults);

    int64_t slices_before = hypercall(HC_SLICES, 0, 0, 0);
    int64_t yield_result;
    gprs_round(r->guest, spin_iterations, &d[ITEM_GPR_YIELD], &d[ITEM_GPR_SPIN], &yield_result);
    int64_t slices_after = hypercall(HC_SLICES, 0, 0, 0);
    diff_note(&d[ITEM_GPR_YIELD], "HC_YIELD result (RAX)", 0, (uint64_t)yield_result, 0, -1);

    xstate_save(&r->x, &image_now, r->x.xcr0_all);
    struct diff xd[XG_COUNT], sys[SG_COUNT];
    xstate_compare(&r->x, &image_now, &image_want, r->x.xcr0_all, r->guest, xd);
    sysregs_compare(false, r->guest, sys);
    for (unsigned g = 0; g < XG_COUNT; g++)
        d[ITEM_XSTATE + g] = xd[g];
    for (unsigned g = 0; g < SG_COUNT; g++) {
        d[ITEM_SYSREG + g] = fill_faults[g];
        diff_merge(&d[ITEM_SYSREG + g], &sys[g]);
    }

    unsigned wrong = 0, failing_items = 0;
    for (unsigned i = 0; i < ITEM_COUNT; i++) {
        if (!item_present(r, i))
            continue;
        wrong += d[i].wrong;
        failing_items += d[i].wrong != 0;
        r->foreign_seen += d[i].foreign;
        diff_merge(&r->total[i], &d[i]);
    }
    uint64_t passed = 0;
    if (slices_before >= 0 && slices_after > slices_before)
        passed = (uint64_t)(slices_after - slices_before - 1);
    if (!tap_check(wrong == 0, "round %u: all state kept this guest's pattern across a yield and %lu preemptions",
                   round, passed) && round <= ROUNDS_WITH_DETAIL) {
        for (unsigned i = 0; i < ITEM_COUNT; i++) {
            if (item_present(r, i) && d[i].wrong) {
                tap_diag("%s:", item_name(i));
                diff_report(&d[i]);
            }
        }
    } else if (wrong) {
        tap_diag("%u values wrong in %u groups (details in rounds 1-%u)", wrong, failing_items, ROUNDS_WITH_DETAIL);
    }
    return passed;
}

/* SDM Vol. 1 13.3: XCR0[1] only says whether XSAVE manages SSE state; SSE (and x87) registers
 * are architectural whatever XCR0 holds, so lowering XCR0 and raising it again keeps them. */
static void xcr0_lowering_sequence(struct run *r)
{
    if (!r->x.has_xsave) {
        tap_skip("xcr0: lowering sequence keeps x87, MXCSR and XMM0-15", "no XSAVE");
        return;
    }
    uint64_t vector_set = XCR0_X87 | XCR0_SSE | (r->x.has_avx ? XCR0_AVX : 0);
    int v1 = xstate_set_xcr0(vector_set);
    xstate_make_pattern(&r->x, &image_want, r->guest ^ 0x80, vector_set);   /* a fresh value set, still ours */
    if (v1 == FAULT_NONE)
        xstate_load(&r->x, &image_want, vector_set);
    int64_t y1 = hypercall(HC_YIELD, 0, 0, 0);
    int v2 = xstate_set_xcr0(XCR0_X87);
    int64_t y2 = hypercall(HC_YIELD, 0, 0, 0);
    int v3 = xstate_set_xcr0(r->x.xcr0_all);
    xstate_save(&r->x, &image_now, XCR0_X87 | XCR0_SSE);
    struct diff xd[XG_COUNT];
    xstate_compare(&r->x, &image_now, &image_want, XCR0_X87 | XCR0_SSE, r->guest ^ 0x80, xd);
    unsigned wrong = xd[XG_X87].wrong + xd[XG_MXCSR].wrong + xd[XG_XMM].wrong;
    bool ok = v1 == FAULT_NONE && v2 == FAULT_NONE && v3 == FAULT_NONE && y1 == 0 && y2 == 0 && wrong == 0;
    if (!tap_check(ok, "xcr0: 0x%lx, vector registers dirtied, yield, XCR0 = 0x1, yield, XCR0 = 0x%lx: "
                   "x87, MXCSR and XMM0-15 kept", vector_set, r->x.xcr0_all)) {
        tap_diag("XSETBV: %s, %s, %s; HC_YIELD: %ld, %ld", fault_name(v1), fault_name(v2), fault_name(v3), y1, y2);
        diff_report(&xd[XG_X87]);
        diff_report(&xd[XG_MXCSR]);
        diff_report(&xd[XG_XMM]);
    }
}

static void report_totals(struct run *r, unsigned rounds, uint64_t preemptions, uint64_t spin_ms)
{
    if (!tap_check(rounds >= 3, "rounds: %u rounds ran before the deadline", rounds))
        tap_diag("too few rounds to say anything; is the guest getting the CPU?");
    if (!tap_check(preemptions >= rounds, "rounds: preempted %lu times inside %u busy loops of %lu ms", preemptions,
                   rounds, spin_ms))
        tap_diag("a busy loop should outlast a time slice; HC_SLICES says it did not");
    for (unsigned i = 0; i < ITEM_COUNT; i++) {
        if (!item_present(r, i))
            continue;
        if (!tap_check(r->total[i].wrong == 0, "%s: this guest's pattern intact in all %u rounds", item_name(i),
                       rounds))
            diff_report(&r->total[i]);
    }
    if (!tap_check(r->foreign_seen == 0, "isolation: never saw another guest's pattern"))
        tap_diag("%u values carried another guest's pattern (see the lines above)", r->foreign_seen);
}

/* Stays runnable without yielding. */
static void linger(const struct run *r, uint64_t ms)
{
    for (uint64_t until = rdtsc() + ms_to_ticks(r, ms); rdtsc() < until;)
        asm volatile("pause");
}

void guest_main(const struct boot_info *boot)
{
    static struct run r;
    uint64_t start = rdtsc();
    int64_t id = hypercall(HC_GUEST_ID, 0, 0, 0);
    r.khz = hv_tsc_khz();
    if (id < 0 || r.khz == 0)
        tap_bail_out("statecheck runs under Tessera", "HC_GUEST_ID %ld, TSC %lu kHz", id, r.khz);
    r.guest = (unsigned)id;
    uint64_t run_ms = cmdline_number(boot, "run_ms", DEFAULT_RUN_MS);
    uint64_t spin_ms = cmdline_number(boot, "spin_ms", DEFAULT_SPIN_MS);
    uint64_t linger_ms = cmdline_number(boot, "linger_ms", DEFAULT_LINGER_MS);

    check_reset_state(&r);

    uint64_t spin_iterations = gprs_busy_iterations(ms_to_ticks(&r, spin_ms));
    uint64_t deadline = start + ms_to_ticks(&r, run_ms);
    console_printf("# statecheck: rounds until %lu ms, busy loops of %lu ms (%lu iterations)\n", run_ms, spin_ms,
                   spin_iterations);
    unsigned rounds = 0;
    uint64_t preemptions = 0;
    while (rdtsc() < deadline && rounds < MAX_ROUNDS)
        preemptions += run_round(&r, ++rounds, spin_iterations);
    sysregs_disarm();
    report_totals(&r, rounds, preemptions, spin_ms);

    linger(&r, linger_ms);
    xcr0_lowering_sequence(&r);
    linger(&r, linger_ms);
    tap_finish();
}
