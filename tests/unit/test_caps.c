/* Tests for vmx/caps.c: reading the capability MSRs without touching absent ones, naming the
 * first missing requirement, and computing controls that respect allowed-0/allowed-1. The MSR
 * values model Bochs' corei7_skylake_x (and real Skylake parts) closely. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmx/caps.h"
#include "vmx/vmcs_fields.h"

/* ---- a fake CPU: MSR number -> value, with "absent" MSRs that #GP ---- */

struct fake_msr {
    uint32_t msr;
    uint64_t value;
    bool present;
};

static struct fake_msr model[32];
static int model_len;
static uint32_t reads[64];
static int reads_len;

static void model_set(uint32_t msr, uint64_t value)
{
    for (int i = 0; i < model_len; i++)
        if (model[i].msr == msr) {
            model[i].value = value;
            model[i].present = true;
            return;
        }
    model[model_len++] = (struct fake_msr){ msr, value, true };
}

static void model_remove(uint32_t msr)
{
    for (int i = 0; i < model_len; i++)
        if (model[i].msr == msr)
            model[i].present = false;
}

static uint64_t model_get(uint32_t msr)
{
    for (int i = 0; i < model_len; i++)
        if (model[i].msr == msr && model[i].present)
            return model[i].value;
    return 0;
}

static uint64_t fake_rdmsr(uint32_t msr)
{
    if (reads_len < 64)
        reads[reads_len++] = msr;
    for (int i = 0; i < model_len; i++)
        if (model[i].msr == msr && model[i].present)
            return model[i].value;
    fail_msg("rdmsr(0x%x): this MSR does not exist on the modelled CPU (#GP)", msr);
    return 0;
}

static bool was_read(uint32_t msr)
{
    for (int i = 0; i < reads_len; i++)
        if (reads[i] == msr)
            return true;
    return false;
}

#define CTL(bit) ((uint64_t)(bit) << 32)

/* Bochs corei7_skylake_x-like values. */
static void model_skylake(void)
{
    model_len = 0;
    reads_len = 0;
    /* revision 4, 4096-byte VMCS, WB, INS/OUTS info, true controls */
    model_set(MSR_IA32_VMX_BASIC, 0x00D8100000000004ull);
    model_set(MSR_IA32_VMX_PINBASED_CTLS, 0x0000007f00000016ull);
    model_set(MSR_IA32_VMX_PROCBASED_CTLS, 0xfff9fffe0401e172ull);
    model_set(MSR_IA32_VMX_EXIT_CTLS, 0x01ffffff00036dffull);
    model_set(MSR_IA32_VMX_ENTRY_CTLS, 0x0003ffff000011ffull);
    /* timer shift 5, LMA stored on exit, HLT/shutdown/wait-for-SIPI, 4 CR3 targets */
    model_set(MSR_IA32_VMX_MISC, 0x00000000000401e5ull);
    model_set(MSR_IA32_VMX_CR0_FIXED0, 0x80000021ull);
    model_set(MSR_IA32_VMX_CR0_FIXED1, 0xffffffffull);
    model_set(MSR_IA32_VMX_CR4_FIXED0, 0x2000ull);
    model_set(MSR_IA32_VMX_CR4_FIXED1, 0x003727ffull);
    model_set(MSR_IA32_VMX_VMCS_ENUM, 0x2eull);
    model_set(MSR_IA32_VMX_PROCBASED_CTLS2, 0x00177fff00000000ull);
    model_set(MSR_IA32_VMX_EPT_VPID_CAP, 0x00000f0106734141ull);
    model_set(MSR_IA32_VMX_TRUE_PINBASED_CTLS, 0x0000007f00000016ull);
    model_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, 0xfff9fffe04006172ull);
    model_set(MSR_IA32_VMX_TRUE_EXIT_CTLS, 0x01ffffff00036dfbull);
    model_set(MSR_IA32_VMX_TRUE_ENTRY_CTLS, 0x0003ffff000011fbull);
}

/* Clear an allowed-1 bit in a control MSR (and its TRUE twin, which reports the same allowed-1). */
static void forbid(uint32_t msr, uint32_t true_msr, uint32_t bit)
{
    model_set(msr, model_get(msr) & ~CTL(bit));
    if (true_msr)
        model_set(true_msr, model_get(true_msr) & ~CTL(bit));
}

static void read_model(struct vmx_caps *c)
{
    reads_len = 0;
    vmx_caps_read(c, fake_rdmsr);
}

/* ---- reading ---- */

static void test_read_skylake_reads_everything(void **state)
{
    (void)state;
    struct vmx_caps c;
    model_skylake();
    read_model(&c);
    assert_int_equal(c.basic, model_get(MSR_IA32_VMX_BASIC));
    assert_int_equal(c.proc2, model_get(MSR_IA32_VMX_PROCBASED_CTLS2));
    assert_int_equal(c.ept_vpid, model_get(MSR_IA32_VMX_EPT_VPID_CAP));
    assert_int_equal(c.true_proc, model_get(MSR_IA32_VMX_TRUE_PROCBASED_CTLS));
    assert_int_equal(c.true_entry, model_get(MSR_IA32_VMX_TRUE_ENTRY_CTLS));
    assert_int_equal(c.cr4_fixed1, 0x003727ff);
    assert_true(was_read(MSR_IA32_VMX_TRUE_EXIT_CTLS));
    assert_false(was_read(MSR_IA32_VMX_VMFUNC));
}

static void test_read_without_secondary_skips_48b_48c(void **state)
{
    (void)state;
    struct vmx_caps c;
    model_skylake();
    forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_ACTIVATE_SECONDARY);
    model_remove(MSR_IA32_VMX_PROCBASED_CTLS2);
    model_remove(MSR_IA32_VMX_EPT_VPID_CAP);
    read_model(&c);                                   /* fails the test if it touches them */
    assert_false(was_read(MSR_IA32_VMX_PROCBASED_CTLS2));
    assert_int_equal(c.proc2, 0);
    assert_int_equal(c.ept_vpid, 0);
}

static void test_read_without_ept_or_vpid_skips_48c(void **state)
{
    (void)state;
    struct vmx_caps c;
    model_skylake();
    model_set(MSR_IA32_VMX_PROCBASED_CTLS2, model_get(MSR_IA32_VMX_PROCBASED_CTLS2) &
                                                ~CTL(PROC2_ENABLE_EPT | PROC2_ENABLE_VPID));
    model_remove(MSR_IA32_VMX_EPT_VPID_CAP);
    read_model(&c);
    assert_true(was_read(MSR_IA32_VMX_PROCBASED_CTLS2));
    assert_int_equal(c.ept_vpid, 0);

    /* VPID alone is reason enough to read it */
    model_skylake();
    model_set(MSR_IA32_VMX_PROCBASED_CTLS2, model_get(MSR_IA32_VMX_PROCBASED_CTLS2) & ~CTL(PROC2_ENABLE_EPT));
    read_model(&c);
    assert_true(was_read(MSR_IA32_VMX_EPT_VPID_CAP));
}

static void test_read_without_true_controls(void **state)
{
    (void)state;
    struct vmx_caps c;
    model_skylake();
    model_set(MSR_IA32_VMX_BASIC, model_get(MSR_IA32_VMX_BASIC) & ~VMX_BASIC_TRUE_CONTROLS);
    for (uint32_t m = MSR_IA32_VMX_TRUE_PINBASED_CTLS; m <= MSR_IA32_VMX_TRUE_ENTRY_CTLS; m++)
        model_remove(m);
    read_model(&c);
    assert_int_equal(c.true_pin, 0);
    assert_int_equal(c.true_proc, 0);
    assert_int_equal(c.true_exit, 0);
    assert_int_equal(c.true_entry, 0);
    assert_int_equal(c.pin, model_get(MSR_IA32_VMX_PINBASED_CTLS));
}

/* ---- checking ---- */

static void test_check_accepts_skylake(void **state)
{
    (void)state;
    struct vmx_caps c;
    char why[160] = "untouched";
    model_skylake();
    read_model(&c);
    assert_true(vmx_caps_check(&c, why, sizeof(why)));
    assert_string_equal(why, "");
}

struct missing_case {
    const char *label;
    void (*breaks)(void);
    const char *expect;        /* substring of the reason */
};

static void m_memtype(void) { model_set(MSR_IA32_VMX_BASIC, model_get(MSR_IA32_VMX_BASIC) & ~(0xfull << 50)); }
static void m_size(void) { model_set(MSR_IA32_VMX_BASIC, (model_get(MSR_IA32_VMX_BASIC) & ~(0x1fffull << 32)) | (0x1008ull << 32)); }
static void m_secondary(void)
{
    forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_ACTIVATE_SECONDARY);
    model_remove(MSR_IA32_VMX_PROCBASED_CTLS2);
    model_remove(MSR_IA32_VMX_EPT_VPID_CAP);
}
static void m_ept(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS2, 0, PROC2_ENABLE_EPT); }
static void m_ug(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS2, 0, PROC2_UNRESTRICTED_GUEST); }
static void m_walk4(void) { model_set(MSR_IA32_VMX_EPT_VPID_CAP, model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~EPT_CAP_WALK_LENGTH_4); }
static void m_ept_wb(void) { model_set(MSR_IA32_VMX_EPT_VPID_CAP, model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~EPT_CAP_MEMTYPE_WB); }
static void m_invept(void) { model_set(MSR_IA32_VMX_EPT_VPID_CAP, model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~EPT_CAP_INVEPT); }
static void m_invept_types(void)
{
    model_set(MSR_IA32_VMX_EPT_VPID_CAP,
              model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~(EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL));
}
static void m_timer(void) { forbid(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_PREEMPTION_TIMER); }
static void m_exit_load_efer(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_LOAD_EFER); }
static void m_exit_save_efer(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_SAVE_EFER); }
static void m_entry_load_efer(void) { forbid(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_LOAD_EFER); }
static void m_exit_load_pat(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_LOAD_PAT); }
static void m_exit_save_pat(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_SAVE_PAT); }
static void m_entry_load_pat(void) { forbid(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_LOAD_PAT); }
static void m_host64(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_HOST_ADDR_SPACE_SIZE); }
static void m_ia32e(void) { forbid(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_IA32E_MODE_GUEST); }
static void m_hlt(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_HLT_EXITING); }
static void m_uncond_io(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_UNCONDITIONAL_IO_EXITING); }
static void m_msr_bitmaps(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_USE_MSR_BITMAPS); }
static void m_cr8_load(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_CR8_LOAD_EXITING); }
static void m_cr8_store(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_CR8_STORE_EXITING); }
static void m_nmi(void) { forbid(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_NMI_EXITING); }
static void m_extint(void) { forbid(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_EXTERNAL_INTERRUPT_EXITING); }
static void m_rdpmc(void) { forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_RDPMC_EXITING); }
static void m_save_debug(void) { forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_SAVE_DEBUG_CONTROLS); }
static void m_load_debug(void) { forbid(MSR_IA32_VMX_ENTRY_CTLS, MSR_IA32_VMX_TRUE_ENTRY_CTLS, ENTRY_LOAD_DEBUG_CONTROLS); }

static const struct missing_case missing_cases[] = {
    { "VMCS memory type UC", m_memtype, "not write-back (IA32_VMX_BASIC bits 53:50" },
    { "VMCS larger than a page", m_size, "4104 bytes" },
    { "no secondary controls", m_secondary, "secondary processor-based controls" },
    { "no EPT", m_ept, "EPT is not supported" },
    { "no unrestricted guest", m_ug, "unrestricted guest" },
    { "no 4-level EPT walk", m_walk4, "page-walk length of 4" },
    { "no WB EPT structures", m_ept_wb, "write-back EPT" },
    { "no INVEPT", m_invept, "INVEPT" },
    { "INVEPT without single/all", m_invept_types, "INVEPT" },
    { "no preemption timer", m_timer, "preemption timer" },
    { "no exit load EFER", m_exit_load_efer, "\"load IA32_EFER\" VM-exit" },
    { "no exit save EFER", m_exit_save_efer, "\"save IA32_EFER\" VM-exit" },
    { "no entry load EFER", m_entry_load_efer, "\"load IA32_EFER\" VM-entry" },
    { "no exit load PAT", m_exit_load_pat, "\"load IA32_PAT\" VM-exit" },
    { "no exit save PAT", m_exit_save_pat, "\"save IA32_PAT\" VM-exit" },
    { "no entry load PAT", m_entry_load_pat, "\"load IA32_PAT\" VM-entry" },
    { "no host address-space size", m_host64, "host address-space size" },
    { "no IA-32e mode guest", m_ia32e, "IA-32e mode guest" },
    { "no HLT exiting", m_hlt, "HLT exiting" },
    { "no unconditional I/O exiting", m_uncond_io, "unconditional I/O exiting" },
    { "no MSR bitmaps", m_msr_bitmaps, "MSR bitmaps" },
    { "no CR8-load exiting", m_cr8_load, "CR8-load exiting" },
    { "no CR8-store exiting", m_cr8_store, "CR8-store exiting" },
    { "no NMI exiting", m_nmi, "NMI exiting" },
    { "no external-interrupt exiting", m_extint, "external-interrupt exiting" },
    { "no RDPMC exiting", m_rdpmc, "RDPMC exiting" },
    { "no save debug controls", m_save_debug, "\"save debug controls\" VM-exit" },
    { "no load debug controls", m_load_debug, "\"load debug controls\" VM-entry" },
};

static void test_check_names_each_missing_requirement(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(missing_cases) / sizeof(missing_cases[0]); i++) {
        struct vmx_caps c;
        char why[200];
        model_skylake();
        missing_cases[i].breaks();
        read_model(&c);
        memset(why, 'x', sizeof(why));
        bool ok = vmx_caps_check(&c, why, sizeof(why));
        if (ok || !strstr(why, missing_cases[i].expect))
            fail_msg("%s: check returned %d, reason \"%s\", expected it to mention \"%s\"", missing_cases[i].label, ok,
                     ok ? "" : why, missing_cases[i].expect);
        assert_null(strchr(why, '\n'));        /* one line */
    }
}

static void test_check_truncates_reason_safely(void **state)
{
    (void)state;
    struct vmx_caps c;
    char why[9];
    model_skylake();
    m_ept();
    read_model(&c);
    assert_false(vmx_caps_check(&c, why, sizeof(why)));
    assert_int_equal(strlen(why), 8);
    assert_false(vmx_caps_check(&c, NULL, 0));
}

/* ---- computing controls ---- */

/* Every bit the MSR forces to 1 is 1, and no bit it forbids is 1. */
static void assert_respects(uint32_t value, uint64_t msr, const char *what)
{
    uint32_t forced = (uint32_t)msr, may_be_1 = (uint32_t)(msr >> 32);
    if ((value & forced) != forced || (value & ~may_be_1))
        fail_msg("%s 0x%08x violates MSR 0x%016llx", what, value, (unsigned long long)msr);
}

static void assert_controls_respect(const struct vmx_caps *c, const struct vmx_controls *k)
{
    bool tru = c->basic & VMX_BASIC_TRUE_CONTROLS;
    assert_respects(k->pin, tru ? c->true_pin : c->pin, "pin");
    assert_respects(k->proc, tru ? c->true_proc : c->proc, "proc");
    assert_respects(k->proc2, c->proc2, "proc2");
    assert_respects(k->exit, tru ? c->true_exit : c->exit, "exit");
    assert_respects(k->entry, tru ? c->true_entry : c->entry, "entry");
}

static void test_compute_skylake(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    read_model(&c);
    assert_true(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_controls_respect(&c, &k);

    uint32_t pin_want = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER;
    assert_int_equal(k.pin & pin_want, pin_want);
    assert_int_equal(k.pin & (1u << 7), 0);           /* no posted interrupts */

    uint32_t proc_want = PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING | PROC_USE_MSR_BITMAPS |
                         PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_ACTIVATE_SECONDARY |
                         PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_USE_TSC_OFFSETTING |
                         PROC_RDPMC_EXITING; /* the performance counters are hidden */
    assert_int_equal(k.proc & proc_want, proc_want);
    assert_int_equal(k.proc & PROC_MOV_DR_EXITING, 0); /* debug registers are switched eagerly */
    uint32_t proc_native = PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING | PROC_RDTSC_EXITING;
    assert_int_equal(k.proc & proc_native, 0);        /* true controls let us clear them */
    assert_int_equal(k.proc & (PROC_USE_IO_BITMAPS | PROC_USE_TPR_SHADOW | PROC_INTERRUPT_WINDOW_EXITING), 0);

    uint32_t proc2_want = PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_VPID | PROC2_WBINVD_EXITING |
                          PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID; /* XSAVES stays off: CPUID hides it */
    assert_int_equal(k.proc2, proc2_want);

    uint32_t exit_want = EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT |
                         EXIT_LOAD_PAT | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER;
    assert_int_equal(k.exit & exit_want, exit_want);
    /* Default1 in the legacy MSRs only: with the TRUE MSRs they must be asked for, or the guest's
     * DR7 and IA32_DEBUGCTL are lost at every exit. */
    assert_true(k.exit & EXIT_SAVE_DEBUG_CONTROLS);

    assert_int_equal(k.entry & (ENTRY_LOAD_EFER | ENTRY_LOAD_PAT), ENTRY_LOAD_EFER | ENTRY_LOAD_PAT);
    assert_int_equal(k.entry & ENTRY_IA32E_MODE_GUEST, 0);
    assert_true(k.entry & ENTRY_LOAD_DEBUG_CONTROLS);

    assert_true(k.has_vpid);
    assert_true(k.has_2mb_pages);
    assert_true(k.save_preemption_timer);
    assert_int_equal(k.preemption_timer_shift, 5);
    assert_int_equal(k.vmcs_revision, 4);
    assert_int_equal(k.vmcs_size, 4096);
}

static void test_compute_legacy_msrs_keep_forced_bits(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    model_set(MSR_IA32_VMX_BASIC, model_get(MSR_IA32_VMX_BASIC) & ~VMX_BASIC_TRUE_CONTROLS);
    read_model(&c);
    /* Stale TRUE values must be ignored when bit 55 is clear. */
    c.true_proc = 0xffffffffffffffffull;
    assert_true(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_controls_respect(&c, &k);
    /* The legacy MSR forces CR3-load/store exiting and the debug-control defaults. */
    assert_int_equal(k.proc & (PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING),
                     PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING);
    assert_int_equal(k.proc & (PROC_INVLPG_EXITING | PROC_RDTSC_EXITING), 0);
    assert_true(k.exit & EXIT_SAVE_DEBUG_CONTROLS);
    assert_true(k.entry & ENTRY_LOAD_DEBUG_CONTROLS);
}

static void test_compute_refuses_unallowed_required_bit(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    m_exit_save_efer();
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "save IA32_EFER"));
    assert_non_null(strstr(why, "IA32_VMX_TRUE_EXIT_CTLS"));

    model_skylake();
    m_ug();
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "unrestricted guest"));

    model_skylake();
    m_secondary();
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "activate secondary controls"));
}

/* Without the debug controls the guest's DR7 and IA32_DEBUGCTL would be lost at every exit, and
 * without RDPMC exiting a guest could read the host's performance counters: refuse, by name. */
static void test_compute_refuses_without_debug_controls_or_rdpmc_exiting(void **state)
{
    (void)state;
    static const struct {
        void (*breaks)(void);
        const char *name, *msr;
    } cases[] = {
        { m_save_debug, "save debug controls", "IA32_VMX_TRUE_EXIT_CTLS" },
        { m_load_debug, "load debug controls", "IA32_VMX_TRUE_ENTRY_CTLS" },
        { m_rdpmc, "RDPMC exiting", "IA32_VMX_TRUE_PROCBASED_CTLS" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct vmx_caps c;
        struct vmx_controls k;
        char why[200];
        model_skylake();
        cases[i].breaks();
        read_model(&c);
        assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
        if (!strstr(why, cases[i].name) || !strstr(why, cases[i].msr) || !strstr(why, "required"))
            fail_msg("refusal \"%s\" should name \"%s\" and %s", why, cases[i].name, cases[i].msr);
    }
}

static void test_compute_refuses_forced_unwanted_bit(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    model_set(MSR_IA32_VMX_TRUE_ENTRY_CTLS, model_get(MSR_IA32_VMX_TRUE_ENTRY_CTLS) | ENTRY_IA32E_MODE_GUEST);
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "IA-32e mode guest"));
    assert_non_null(strstr(why, "forced"));

    model_skylake();
    model_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS, model_get(MSR_IA32_VMX_TRUE_PROCBASED_CTLS) | PROC_USE_IO_BITMAPS);
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "use I/O bitmaps"));
}

static void test_compute_refuses_inconsistent_msr(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    /* bit 1 must be 1 but may not be 1: no valid setting exists */
    model_set(MSR_IA32_VMX_TRUE_PINBASED_CTLS, model_get(MSR_IA32_VMX_TRUE_PINBASED_CTLS) & ~CTL(1u << 1));
    read_model(&c);
    assert_false(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_non_null(strstr(why, "inconsistent"));
}

static void test_compute_optional_features_absent(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    forbid(MSR_IA32_VMX_PROCBASED_CTLS2, 0, PROC2_ENABLE_VPID | PROC2_ENABLE_XSAVES | PROC2_WBINVD_EXITING);
    forbid(MSR_IA32_VMX_PROCBASED_CTLS, MSR_IA32_VMX_TRUE_PROCBASED_CTLS, PROC_MWAIT_EXITING | PROC_USE_TSC_OFFSETTING);
    forbid(MSR_IA32_VMX_PINBASED_CTLS, MSR_IA32_VMX_TRUE_PINBASED_CTLS, PIN_VIRTUAL_NMIS);
    forbid(MSR_IA32_VMX_EXIT_CTLS, MSR_IA32_VMX_TRUE_EXIT_CTLS, EXIT_SAVE_PREEMPTION_TIMER | EXIT_ACK_INTERRUPT_ON_EXIT);
    model_set(MSR_IA32_VMX_EPT_VPID_CAP, model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~EPT_CAP_2MB_PAGES);
    read_model(&c);
    assert_true(vmx_caps_check(&c, why, sizeof(why)));
    assert_true(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_controls_respect(&c, &k);
    assert_false(k.has_vpid);
    assert_false(k.has_2mb_pages);
    assert_false(k.save_preemption_timer);
    assert_int_equal(k.proc2 & (PROC2_ENABLE_VPID | PROC2_ENABLE_XSAVES | PROC2_WBINVD_EXITING), 0);
    assert_int_equal(k.proc & (PROC_MWAIT_EXITING | PROC_USE_TSC_OFFSETTING), 0);
    assert_true(k.proc & PROC_MONITOR_EXITING);
    assert_int_equal(k.pin & PIN_VIRTUAL_NMIS, 0);
    assert_int_equal(k.exit & (EXIT_SAVE_PREEMPTION_TIMER | EXIT_ACK_INTERRUPT_ON_EXIT), 0);

    /* VPID allowed but INVVPID can flush neither one VPID nor all: not used */
    model_skylake();
    model_set(MSR_IA32_VMX_EPT_VPID_CAP,
              model_get(MSR_IA32_VMX_EPT_VPID_CAP) & ~(VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));
    read_model(&c);
    assert_true(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_false(k.has_vpid);
    assert_int_equal(k.proc2 & PROC2_ENABLE_VPID, 0);
}

static void test_compute_forced_native_exits_stay_set(void **state)
{
    (void)state;
    struct vmx_caps c;
    struct vmx_controls k;
    char why[200];
    model_skylake();
    /* A CPU that insists on RDTSC and MWAIT exiting: set them rather than fail. */
    model_set(MSR_IA32_VMX_TRUE_PROCBASED_CTLS,
              model_get(MSR_IA32_VMX_TRUE_PROCBASED_CTLS) | PROC_RDTSC_EXITING | PROC_INVLPG_EXITING);
    read_model(&c);
    assert_true(vmx_controls_compute(&c, &k, why, sizeof(why)));
    assert_controls_respect(&c, &k);
    assert_true(k.proc & PROC_RDTSC_EXITING);
    assert_true(k.proc & PROC_INVLPG_EXITING);
}

/* Property: for random but self-consistent MSRs that allow what Tessera requires, the controls
 * always satisfy allowed-0/allowed-1; when a required bit is missing, compute fails. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint64_t random_ctl(uint32_t must_allow, uint32_t must_not_force)
{
    uint32_t may_be_1 = (uint32_t)rng() | must_allow;
    uint32_t forced = (uint32_t)rng() & (uint32_t)rng() & may_be_1 & ~must_not_force;
    return ((uint64_t)may_be_1 << 32) | forced;
}

static void test_compute_random_msrs_respected(void **state)
{
    (void)state;
    uint32_t never_forced_proc = PROC_INTERRUPT_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING | PROC_USE_TPR_SHADOW |
                                 PROC_USE_IO_BITMAPS | PROC_MONITOR_TRAP_FLAG;
    uint32_t never_forced_proc2 = PROC2_VIRTUALIZE_APIC_ACCESSES | PROC2_VIRTUALIZE_X2APIC | (1u << 8) | (1u << 9) |
                                  PROC2_ENABLE_VMFUNC | (1u << 14) | (1u << 17) | (1u << 18);
    int ok_count = 0;
    for (int iter = 0; iter < 20000; iter++) {
        struct vmx_caps c;
        struct vmx_controls k;
        char why[200];
        memset(&c, 0, sizeof(c));
        bool tru = rng() & 1;
        c.basic = 0x0018100000000004ull | (tru ? VMX_BASIC_TRUE_CONTROLS : 0);
        uint64_t pin = random_ctl(PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_PREEMPTION_TIMER, 1u << 7);
        uint64_t proc = random_ctl(PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING | PROC_USE_MSR_BITMAPS |
                                       PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING | PROC_ACTIVATE_SECONDARY |
                                       PROC_RDPMC_EXITING,
                                   never_forced_proc);
        uint64_t exit = random_ctl(EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT |
                                       EXIT_LOAD_PAT | EXIT_SAVE_DEBUG_CONTROLS, 0);
        uint64_t entry = random_ctl(ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_IA32E_MODE_GUEST | ENTRY_LOAD_DEBUG_CONTROLS,
                                    ENTRY_IA32E_MODE_GUEST | (3u << 10));
        c.proc2 = random_ctl(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST, never_forced_proc2);
        c.ept_vpid = rng();
        /* Occasionally drop one required bit: compute must then refuse. */
        bool drop = (rng() % 8) == 0;
        if (drop)
            exit &= ~CTL(EXIT_LOAD_EFER);
        if (tru) {
            c.true_pin = pin; c.true_proc = proc; c.true_exit = exit; c.true_entry = entry;
            c.pin = pin | 0x16; c.proc = proc | 0x0401e172; c.exit = exit | 0x36dff; c.entry = entry | 0x11ff;
        } else {
            c.pin = pin; c.proc = proc; c.exit = exit; c.entry = entry;
        }
        bool ok = vmx_controls_compute(&c, &k, why, sizeof(why));
        assert_true(ok != drop);
        if (ok) {
            assert_controls_respect(&c, &k);
            assert_int_equal(k.has_vpid, (k.proc2 & PROC2_ENABLE_VPID) != 0);
            ok_count++;
        }
    }
    assert_true(ok_count > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_skylake_reads_everything),
        cmocka_unit_test(test_read_without_secondary_skips_48b_48c),
        cmocka_unit_test(test_read_without_ept_or_vpid_skips_48c),
        cmocka_unit_test(test_read_without_true_controls),
        cmocka_unit_test(test_check_accepts_skylake),
        cmocka_unit_test(test_check_names_each_missing_requirement),
        cmocka_unit_test(test_check_truncates_reason_safely),
        cmocka_unit_test(test_compute_skylake),
        cmocka_unit_test(test_compute_legacy_msrs_keep_forced_bits),
        cmocka_unit_test(test_compute_refuses_unallowed_required_bit),
        cmocka_unit_test(test_compute_refuses_without_debug_controls_or_rdpmc_exiting),
        cmocka_unit_test(test_compute_refuses_forced_unwanted_bit),
        cmocka_unit_test(test_compute_refuses_inconsistent_msr),
        cmocka_unit_test(test_compute_optional_features_absent),
        cmocka_unit_test(test_compute_forced_native_exits_stay_set),
        cmocka_unit_test(test_compute_random_msrs_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
