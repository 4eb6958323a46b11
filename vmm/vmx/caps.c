/* Reads the VMX capability MSRs, decides whether Tessera can run on them, and derives the
 * VM-execution, VM-exit and VM-entry control values from what they allow (SDM Vol. 3 Appendix A). */
#include "vmx/caps.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vmx/vmcs_fields.h"

#define VMX_BASIC_MEMTYPE(b)     (((b) >> 50) & 0xf)
#define VMX_BASIC_VMCS_SIZE(b)   ((uint32_t)(((b) >> 32) & 0x1fff))
#define VMX_BASIC_REVISION(b)    ((uint32_t)((b) & 0x7fffffff))
#define MEMTYPE_WB               6
#define VMX_MISC_TIMER_SHIFT(m)  ((unsigned)((m) & 0x1f))

static uint32_t allowed1(uint64_t msr) { return (uint32_t)(msr >> 32); }
static uint32_t must_be_1(uint64_t msr) { return (uint32_t)msr; }

static bool has_true_controls(const struct vmx_caps *c)
{
    return (c->basic & VMX_BASIC_TRUE_CONTROLS) != 0;
}

/* The TRUE_* MSRs (when offered) are the authoritative ones: they may allow clearing some
 * "default1" bits that the legacy MSRs report as fixed to 1. */
static uint64_t pin_msr(const struct vmx_caps *c) { return has_true_controls(c) ? c->true_pin : c->pin; }
static uint64_t proc_msr(const struct vmx_caps *c) { return has_true_controls(c) ? c->true_proc : c->proc; }
static uint64_t exit_msr(const struct vmx_caps *c) { return has_true_controls(c) ? c->true_exit : c->exit; }
static uint64_t entry_msr(const struct vmx_caps *c) { return has_true_controls(c) ? c->true_entry : c->entry; }

/* Secondary controls exist only when "activate secondary controls" may be 1. */
static uint64_t proc2_msr(const struct vmx_caps *c)
{
    return (allowed1(c->proc) & PROC_ACTIVATE_SECONDARY) ? c->proc2 : 0;
}

void vmx_caps_read(struct vmx_caps *c, uint64_t (*rdmsr)(uint32_t msr))
{
    memset(c, 0, sizeof(*c));
    c->basic = rdmsr(MSR_IA32_VMX_BASIC);
    c->pin = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
    c->proc = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
    c->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
    c->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
    c->misc = rdmsr(MSR_IA32_VMX_MISC);
    c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    /* Each of the following MSRs #GPs on a CPU that does not have it: read only what the
     * lower-level MSRs say exists. */
    if (allowed1(c->proc) & PROC_ACTIVATE_SECONDARY) {
        c->proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
        if (allowed1(c->proc2) & (PROC2_ENABLE_EPT | PROC2_ENABLE_VPID))
            c->ept_vpid = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
    }
    if (c->basic & VMX_BASIC_TRUE_CONTROLS) {
        c->true_pin = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
        c->true_proc = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
        c->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
        c->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
    }
}

/* One requirement: a bit in a capability value that must be 1. */
struct requirement {
    enum { FROM_PIN, FROM_PROC, FROM_PROC2, FROM_EXIT, FROM_ENTRY, FROM_EPT_VPID } source;
    uint64_t bits;       /* all of these must be set... */
    uint64_t any_of;     /* ...and at least one of these, when nonzero */
    const char *text;    /* "<what> is not supported (<where>)" */
};

#define CTL(bit) ((uint64_t)(bit) << 32)   /* allowed-1 position of control bit in its MSR */

static const struct requirement requirements[] = {
    { FROM_PROC2, CTL(PROC2_ENABLE_EPT), 0,
      "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 bit 33: secondary control bit 1)" },
    { FROM_PROC2, CTL(PROC2_UNRESTRICTED_GUEST), 0,
      "unrestricted guest is not supported (IA32_VMX_PROCBASED_CTLS2 bit 39: secondary control bit 7)" },
    { FROM_EPT_VPID, EPT_CAP_WALK_LENGTH_4, 0,
      "an EPT page-walk length of 4 is not supported (IA32_VMX_EPT_VPID_CAP bit 6)" },
    { FROM_EPT_VPID, EPT_CAP_MEMTYPE_WB, 0,
      "write-back EPT paging structures are not supported (IA32_VMX_EPT_VPID_CAP bit 14)" },
    { FROM_EPT_VPID, EPT_CAP_INVEPT, EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL,
      "INVEPT with single- or all-context invalidation is not supported (IA32_VMX_EPT_VPID_CAP bits 20, 25, 26)" },
    { FROM_PIN, CTL(PIN_PREEMPTION_TIMER), 0,
      "the VMX-preemption timer is not supported (IA32_VMX_PINBASED_CTLS bit 38: pin control bit 6)" },
    { FROM_EXIT, CTL(EXIT_LOAD_EFER), 0,
      "the \"load IA32_EFER\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 53)" },
    { FROM_EXIT, CTL(EXIT_SAVE_EFER), 0,
      "the \"save IA32_EFER\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 52)" },
    { FROM_ENTRY, CTL(ENTRY_LOAD_EFER), 0,
      "the \"load IA32_EFER\" VM-entry control is not supported (IA32_VMX_ENTRY_CTLS bit 47)" },
    { FROM_EXIT, CTL(EXIT_LOAD_PAT), 0,
      "the \"load IA32_PAT\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 51)" },
    { FROM_EXIT, CTL(EXIT_SAVE_PAT), 0,
      "the \"save IA32_PAT\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 50)" },
    { FROM_ENTRY, CTL(ENTRY_LOAD_PAT), 0,
      "the \"load IA32_PAT\" VM-entry control is not supported (IA32_VMX_ENTRY_CTLS bit 46)" },
    { FROM_EXIT, CTL(EXIT_HOST_ADDR_SPACE_SIZE), 0,
      "the \"host address-space size\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 41)" },
    { FROM_ENTRY, CTL(ENTRY_IA32E_MODE_GUEST), 0,
      "the \"IA-32e mode guest\" VM-entry control is not supported (IA32_VMX_ENTRY_CTLS bit 41)" },
    { FROM_PROC, CTL(PROC_HLT_EXITING), 0,
      "HLT exiting is not supported (IA32_VMX_PROCBASED_CTLS bit 39)" },
    { FROM_PROC, CTL(PROC_UNCONDITIONAL_IO_EXITING), 0,
      "unconditional I/O exiting is not supported (IA32_VMX_PROCBASED_CTLS bit 56)" },
    { FROM_PROC, CTL(PROC_USE_MSR_BITMAPS), 0,
      "MSR bitmaps are not supported (IA32_VMX_PROCBASED_CTLS bit 60)" },
    { FROM_PROC, CTL(PROC_CR8_LOAD_EXITING), 0,
      "CR8-load exiting is not supported (IA32_VMX_PROCBASED_CTLS bit 51)" },
    { FROM_PROC, CTL(PROC_CR8_STORE_EXITING), 0,
      "CR8-store exiting is not supported (IA32_VMX_PROCBASED_CTLS bit 52)" },
    { FROM_PIN, CTL(PIN_NMI_EXITING), 0,
      "NMI exiting is not supported (IA32_VMX_PINBASED_CTLS bit 35)" },
    { FROM_PIN, CTL(PIN_EXTERNAL_INTERRUPT_EXITING), 0,
      "external-interrupt exiting is not supported (IA32_VMX_PINBASED_CTLS bit 32)" },
    /* The performance counters are hidden from guests: RDPMC must exit so that it can #GP. */
    { FROM_PROC, CTL(PROC_RDPMC_EXITING), 0,
      "RDPMC exiting is not supported (IA32_VMX_PROCBASED_CTLS bit 43)" },
    /* Without these the guest's DR7 and IA32_DEBUGCTL are lost at every exit. */
    { FROM_EXIT, CTL(EXIT_SAVE_DEBUG_CONTROLS), 0,
      "the \"save debug controls\" VM-exit control is not supported (IA32_VMX_EXIT_CTLS bit 34)" },
    { FROM_ENTRY, CTL(ENTRY_LOAD_DEBUG_CONTROLS), 0,
      "the \"load debug controls\" VM-entry control is not supported (IA32_VMX_ENTRY_CTLS bit 34)" },
};

static uint64_t requirement_source(const struct vmx_caps *c, unsigned source)
{
    switch (source) {
    case FROM_PIN: return pin_msr(c);
    case FROM_PROC: return proc_msr(c);
    case FROM_PROC2: return proc2_msr(c);
    case FROM_EXIT: return exit_msr(c);
    case FROM_ENTRY: return entry_msr(c);
    default: return proc2_msr(c) ? c->ept_vpid : 0;
    }
}

bool vmx_caps_check(const struct vmx_caps *c, char *why, size_t why_len)
{
    unsigned memtype = (unsigned)VMX_BASIC_MEMTYPE(c->basic);
    if (memtype != MEMTYPE_WB) {
        fmt_snprintf(why, why_len, "the VMCS memory type is %u, not write-back (IA32_VMX_BASIC bits 53:50 must be 6)",
                     memtype);
        return false;
    }
    uint32_t size = VMX_BASIC_VMCS_SIZE(c->basic);
    if (size > 4096) {
        fmt_snprintf(why, why_len, "the VMCS region is %u bytes, more than one 4 KiB page (IA32_VMX_BASIC bits 44:32)",
                     size);
        return false;
    }
    if (!(allowed1(c->proc) & PROC_ACTIVATE_SECONDARY)) {
        fmt_snprintf(why, why_len, "secondary processor-based controls are not supported (IA32_VMX_PROCBASED_CTLS bit 63)");
        return false;
    }
    for (size_t i = 0; i < sizeof(requirements) / sizeof(requirements[0]); i++) {
        const struct requirement *r = &requirements[i];
        uint64_t v = requirement_source(c, r->source);
        if ((v & r->bits) != r->bits || (r->any_of && !(v & r->any_of))) {
            fmt_snprintf(why, why_len, "%s", r->text);
            return false;
        }
    }
    if (why_len)
        why[0] = 0;
    return true;
}

/* Names of the control bits Tessera asks for, so a refusal says which one in words. */
struct bit_name {
    uint32_t bit;
    const char *name;
};

static const struct bit_name pin_names[] = {
    { PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting" }, { PIN_NMI_EXITING, "NMI exiting" },
    { PIN_VIRTUAL_NMIS, "virtual NMIs" }, { PIN_PREEMPTION_TIMER, "activate VMX-preemption timer" },
    { 1u << 7, "process posted interrupts" }, { 0, 0 },
};
static const struct bit_name proc_names[] = {
    { PROC_INTERRUPT_WINDOW_EXITING, "interrupt-window exiting" }, { PROC_HLT_EXITING, "HLT exiting" },
    { PROC_MWAIT_EXITING, "MWAIT exiting" }, { PROC_RDPMC_EXITING, "RDPMC exiting" },
    { PROC_MOV_DR_EXITING, "MOV-DR exiting" }, { PROC_CR8_LOAD_EXITING, "CR8-load exiting" },
    { PROC_CR8_STORE_EXITING, "CR8-store exiting" }, { PROC_USE_TPR_SHADOW, "use TPR shadow" },
    { PROC_NMI_WINDOW_EXITING, "NMI-window exiting" },
    { PROC_UNCONDITIONAL_IO_EXITING, "unconditional I/O exiting" }, { PROC_USE_IO_BITMAPS, "use I/O bitmaps" },
    { PROC_MONITOR_TRAP_FLAG, "monitor trap flag" }, { PROC_USE_MSR_BITMAPS, "use MSR bitmaps" },
    { PROC_MONITOR_EXITING, "MONITOR exiting" }, { PROC_ACTIVATE_SECONDARY, "activate secondary controls" },
    { 0, 0 },
};
static const struct bit_name proc2_names[] = {
    { PROC2_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses" }, { PROC2_ENABLE_EPT, "enable EPT" },
    { PROC2_VIRTUALIZE_X2APIC, "virtualize x2APIC mode" }, { PROC2_UNRESTRICTED_GUEST, "unrestricted guest" },
    { 1u << 8, "APIC-register virtualization" }, { 1u << 9, "virtual-interrupt delivery" },
    { PROC2_ENABLE_VMFUNC, "enable VM functions" }, { 1u << 14, "VMCS shadowing" },
    { 1u << 17, "enable PML" }, { 1u << 18, "EPT-violation #VE" }, { 0, 0 },
};
static const struct bit_name exit_names[] = {
    { EXIT_SAVE_DEBUG_CONTROLS, "save debug controls" }, { EXIT_HOST_ADDR_SPACE_SIZE, "host address-space size" },
    { EXIT_SAVE_PAT, "save IA32_PAT" }, { EXIT_LOAD_PAT, "load IA32_PAT" }, { EXIT_SAVE_EFER, "save IA32_EFER" }, { EXIT_LOAD_EFER, "load IA32_EFER" },
    { 0, 0 },
};
static const struct bit_name entry_names[] = {
    { ENTRY_LOAD_DEBUG_CONTROLS, "load debug controls" }, { ENTRY_IA32E_MODE_GUEST, "IA-32e mode guest" },
    { 1u << 10, "entry to SMM" }, { 1u << 11, "deactivate dual-monitor treatment" }, { ENTRY_LOAD_PAT, "load IA32_PAT" },
    { ENTRY_LOAD_EFER, "load IA32_EFER" }, { 0, 0 },
};

static const char *bit_name(const struct bit_name *names, uint32_t bit)
{
    for (; names->bit; names++)
        if (names->bit == bit)
            return names->name;
    return "unnamed control";
}

static unsigned lowest_bit(uint32_t v)
{
    return (unsigned)__builtin_ctz(v);
}

/* One control field to settle against its capability MSR. */
struct control_choice {
    const char *field;          /* "pin-based VM-execution controls" */
    const char *msr_name;
    uint64_t msr;
    uint32_t required;          /* fail when not allowed-1 */
    uint32_t optional;          /* set when allowed-1 */
    uint32_t unwanted;          /* clear when allowed-0 ... */
    uint32_t refused;           /* ...and fail when the CPU forces one of these to 1 */
    const struct bit_name *names;
};

static bool settle(const struct control_choice *k, uint32_t *out, char *why, size_t why_len)
{
    uint32_t may_be_1 = allowed1(k->msr), forced = must_be_1(k->msr);
    if (forced & ~may_be_1) {
        fmt_snprintf(why, why_len, "%s 0x%016llx is inconsistent: bit %u must be 1 but may not be 1",
                     k->msr_name, (unsigned long long)k->msr, lowest_bit(forced & ~may_be_1));
        return false;
    }
    uint32_t missing = k->required & ~may_be_1;
    if (missing) {
        uint32_t bit = 1u << lowest_bit(missing);
        fmt_snprintf(why, why_len, "%s: \"%s\" (bit %u) is required but %s (0x%016llx) does not allow it",
                     k->field, bit_name(k->names, bit), lowest_bit(bit), k->msr_name, (unsigned long long)k->msr);
        return false;
    }
    uint32_t value = k->required | (k->optional & may_be_1);
    value = (value & ~k->unwanted) | forced;
    uint32_t bad = value & k->refused;
    if (bad) {
        uint32_t bit = 1u << lowest_bit(bad);
        fmt_snprintf(why, why_len, "%s: \"%s\" (bit %u) is forced to 1 by %s (0x%016llx); Tessera cannot run with it",
                     k->field, bit_name(k->names, bit), lowest_bit(bit), k->msr_name, (unsigned long long)k->msr);
        return false;
    }
    *out = value;
    return true;
}

bool vmx_controls_compute(const struct vmx_caps *c, struct vmx_controls *out, char *why, size_t why_len)
{
    bool tru = has_true_controls(c);
    memset(out, 0, sizeof(*out));

    /* VPID is worth having only with an INVVPID that can flush a whole VPID or all of them. */
    bool vpid_usable = (allowed1(proc2_msr(c)) & PROC2_ENABLE_VPID) && (c->ept_vpid & VPID_CAP_INVVPID) &&
                       (c->ept_vpid & (VPID_CAP_INVVPID_SINGLE | VPID_CAP_INVVPID_ALL));

    const struct control_choice choices[] = {
        { "pin-based VM-execution controls", tru ? "IA32_VMX_TRUE_PINBASED_CTLS" : "IA32_VMX_PINBASED_CTLS",
          pin_msr(c),
          PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_PREEMPTION_TIMER,
          PIN_VIRTUAL_NMIS,
          0,
          1u << 7 /* posted interrupts would need a descriptor and vector */, pin_names },
        { "primary processor-based controls", tru ? "IA32_VMX_TRUE_PROCBASED_CTLS" : "IA32_VMX_PROCBASED_CTLS",
          proc_msr(c),
          /* RDPMC exits so that it can #GP: the performance counters are hidden from guests. */
          PROC_HLT_EXITING | PROC_UNCONDITIONAL_IO_EXITING | PROC_USE_MSR_BITMAPS | PROC_CR8_LOAD_EXITING |
              PROC_CR8_STORE_EXITING | PROC_ACTIVATE_SECONDARY | PROC_RDPMC_EXITING,
          /* MWAIT/MONITOR must exit when they can: a guest's MWAIT would otherwise put the physical
           * CPU into a C-state where the preemption timer stops, with every interrupt masked. */
          PROC_MWAIT_EXITING | PROC_MONITOR_EXITING | PROC_USE_TSC_OFFSETTING,
          /* With EPT the guest runs these natively; exiting on them only costs time. The run loop
           * switches DR0-DR3/DR6 with the guest, so MOV DR runs natively too. */
          PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING | PROC_INVLPG_EXITING | PROC_RDTSC_EXITING |
              PROC_MOV_DR_EXITING,
          /* These need state Tessera does not set up (virtual-APIC page, I/O bitmaps that would
           * override unconditional I/O exiting) or would exit on every instruction. */
          PROC_INTERRUPT_WINDOW_EXITING | PROC_NMI_WINDOW_EXITING | PROC_USE_TPR_SHADOW | PROC_USE_IO_BITMAPS |
              PROC_MONITOR_TRAP_FLAG,
          proc_names },
        { "secondary processor-based controls", "IA32_VMX_PROCBASED_CTLS2", proc2_msr(c),
          PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | (vpid_usable ? PROC2_ENABLE_VPID : 0),
          /* RDTSCP/INVPCID #UD in the guest unless enabled, though CPUID advertises them. */
          PROC2_WBINVD_EXITING | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID,
          /* CPUID hides XSAVES (IA32_XSS is not switched per guest): it must #UD. */
          PROC2_ENABLE_XSAVES,
          PROC2_VIRTUALIZE_APIC_ACCESSES | PROC2_VIRTUALIZE_X2APIC | (1u << 8) | (1u << 9) | PROC2_ENABLE_VMFUNC |
              (1u << 14) | (1u << 17) | (1u << 18),
          proc2_names },
        /* Save/load debug controls: the VMCS holds the guest's DR7 and IA32_DEBUGCTL across exits
         * (the TRUE MSRs let them be 0, and then both would be lost at every exit). */
        { "VM-exit controls", tru ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS", exit_msr(c),
          EXIT_HOST_ADDR_SPACE_SIZE | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
              EXIT_SAVE_DEBUG_CONTROLS,
          EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_PREEMPTION_TIMER,
          0, 0, exit_names },
        { "VM-entry controls", tru ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS", entry_msr(c),
          ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG_CONTROLS,
          0,
          0,
          /* IA-32e mode guest is chosen per guest; SMM bits are invalid outside SMM. */
          ENTRY_IA32E_MODE_GUEST | (1u << 10) | (1u << 11), entry_names },
    };
    uint32_t *dest[] = { &out->pin, &out->proc, &out->proc2, &out->exit, &out->entry };
    for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
        if (!settle(&choices[i], dest[i], why, why_len))
            return false;

    out->has_vpid = (out->proc2 & PROC2_ENABLE_VPID) != 0;
    out->has_pause_exiting = (allowed1(proc_msr(c)) & PROC_PAUSE_EXITING) != 0;
    out->has_2mb_pages = (c->ept_vpid & EPT_CAP_2MB_PAGES) != 0;
    out->save_preemption_timer = (out->exit & EXIT_SAVE_PREEMPTION_TIMER) != 0;
    out->preemption_timer_shift = VMX_MISC_TIMER_SHIFT(c->misc);
    out->vmcs_revision = VMX_BASIC_REVISION(c->basic);
    out->vmcs_size = VMX_BASIC_VMCS_SIZE(c->basic);
    if (why_len)
        why[0] = 0;
    return true;
}
