/* Re-runs the SDM's VM-entry checks (Vol. 3 26.2 and 26.3.1) on the current VMCS in software, in
 * the SDM's order, so a failed VMLAUNCH/VMRESUME can be reported as "this field, this value, this
 * rule" instead of a bare error number. */
#include <stdarg.h>
#include "x86.h"
#include "vmx/entry_check.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "vmx/vmcs.h"

#define EFER_ALLOWED  ((1ull << 0) | (1ull << 8) | (1ull << 10) | (1ull << 11))
#define RFLAGS_RESERVED (~0x3fffffull | (1ull << 15) | (1ull << 5) | (1ull << 3))
#define DEBUGCTL_RESERVED (~0xffffull | 0x3cull)
#define PENDING_DBG_BS (1ull << 14)
#define PENDING_DBG_RESERVED (~0x1ffffull | 0xff0ull | (1ull << 13) | (1ull << 15))
#define PHYS_RESERVED (~0x000fffffffffffffull)    /* above the widest physical address */
#define AR_RESERVED   (0xf00u | 0xfffe0000u)

#define PIN_POSTED_INTERRUPTS (1u << 7)
#define ENTRY_TO_SMM          (1u << 10)
#define ENTRY_DEACTIVATE_DUAL (1u << 11)

#define INTR_INFO_RESERVED    0x7ffff000u
#define INTR_TYPE(info)       (((info) >> 8) & 7)
#define INTR_VECTOR(info)     ((info) & 0xff)

#define EPT_CAP_MEMTYPE_UC    (1ull << 8)
#define EPT_CAP_WALK_LENGTH_5 (1ull << 7)
#define EPT_CAP_ACCESSED_DIRTY (1ull << 21)

#define MISC_ACTIVITY_HLT     (1ull << 6)
#define MISC_ACTIVITY_SHUTDOWN (1ull << 7)
#define MISC_ACTIVITY_SIPI    (1ull << 8)
#define MISC_ZERO_INSTR_LEN   (1ull << 30)

enum seg_index { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

static const char *const seg_names[SEG_COUNT] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

struct seg {
    uint16_t sel;
    uint64_t base;
    uint32_t limit, ar;
};

/* Everything the checks look at, read once. */
struct state {
    const struct vmx_caps *caps;       /* may be NULL: capability-based checks are skipped */
    char *buf;
    size_t n;
    uint32_t pin, proc, proc2, exit, entry;
    bool ug, ia32e;
    uint64_t cr0, cr3, cr4, dr7, rflags, rip, efer, pat, debugctl;
    struct seg seg[SEG_COUNT];
    uint32_t intr_info, interruptibility, activity;
};

static bool say(struct state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool say(struct state *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(s->buf, s->n, fmt, ap);
    va_end(ap);
    return true;
}

typedef unsigned long long ull;

static bool canonical(uint64_t v, bool la57)
{
    uint64_t top = la57 ? v >> 56 : v >> 47;
    return top == 0 || top == (la57 ? 0xffull : 0x1ffffull);
}

static unsigned lowest_bit(uint64_t v)
{
    return (unsigned)__builtin_ctzll(v);
}

static bool usable(const struct seg *g)
{
    return !(g->ar & AR_UNUSABLE);
}

static unsigned dpl(uint32_t ar)
{
    return (ar >> AR_DPL_SHIFT) & 3;
}

static void read_state(struct state *s)
{
    s->pin = (uint32_t)vmcs_read(VMCS_PIN_CONTROLS);
    s->proc = (uint32_t)vmcs_read(VMCS_PROC_CONTROLS);
    /* Without "activate secondary controls" the CPU treats the secondary controls as all 0. */
    s->proc2 = (s->proc & PROC_ACTIVATE_SECONDARY) ? (uint32_t)vmcs_read(VMCS_PROC_CONTROLS2) : 0;
    s->exit = (uint32_t)vmcs_read(VMCS_EXIT_CONTROLS);
    s->entry = (uint32_t)vmcs_read(VMCS_ENTRY_CONTROLS);
    s->ug = (s->proc2 & PROC2_UNRESTRICTED_GUEST) != 0;
    s->ia32e = (s->entry & ENTRY_IA32E_MODE_GUEST) != 0;
    s->cr0 = vmcs_read(VMCS_GUEST_CR0);
    s->cr3 = vmcs_read(VMCS_GUEST_CR3);
    s->cr4 = vmcs_read(VMCS_GUEST_CR4);
    s->dr7 = vmcs_read(VMCS_GUEST_DR7);
    s->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
    s->rip = vmcs_read(VMCS_GUEST_RIP);
    s->efer = vmcs_read(VMCS_GUEST_EFER);
    s->pat = vmcs_read(VMCS_GUEST_PAT);
    s->debugctl = vmcs_read(VMCS_GUEST_DEBUGCTL);
    static const uint32_t sel[SEG_COUNT] = { VMCS_GUEST_ES_SEL, VMCS_GUEST_CS_SEL, VMCS_GUEST_SS_SEL,
        VMCS_GUEST_DS_SEL, VMCS_GUEST_FS_SEL, VMCS_GUEST_GS_SEL, VMCS_GUEST_LDTR_SEL, VMCS_GUEST_TR_SEL };
    static const uint32_t base[SEG_COUNT] = { VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE,
        VMCS_GUEST_DS_BASE, VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE, VMCS_GUEST_LDTR_BASE, VMCS_GUEST_TR_BASE };
    static const uint32_t limit[SEG_COUNT] = { VMCS_GUEST_ES_LIMIT, VMCS_GUEST_CS_LIMIT, VMCS_GUEST_SS_LIMIT,
        VMCS_GUEST_DS_LIMIT, VMCS_GUEST_FS_LIMIT, VMCS_GUEST_GS_LIMIT, VMCS_GUEST_LDTR_LIMIT,
        VMCS_GUEST_TR_LIMIT };
    static const uint32_t ar[SEG_COUNT] = { VMCS_GUEST_ES_AR, VMCS_GUEST_CS_AR, VMCS_GUEST_SS_AR,
        VMCS_GUEST_DS_AR, VMCS_GUEST_FS_AR, VMCS_GUEST_GS_AR, VMCS_GUEST_LDTR_AR, VMCS_GUEST_TR_AR };
    for (int i = 0; i < SEG_COUNT; i++) {
        s->seg[i].sel = (uint16_t)vmcs_read(sel[i]);
        s->seg[i].base = vmcs_read(base[i]);
        s->seg[i].limit = (uint32_t)vmcs_read(limit[i]);
        s->seg[i].ar = (uint32_t)vmcs_read(ar[i]);
    }
    s->intr_info = (uint32_t)vmcs_read(VMCS_ENTRY_INTR_INFO);
    s->interruptibility = (uint32_t)vmcs_read(VMCS_GUEST_INTERRUPTIBILITY);
    s->activity = (uint32_t)vmcs_read(VMCS_GUEST_ACTIVITY_STATE);
}

/* ---- 26.2.1: VM-execution, VM-exit and VM-entry control fields ---- */

static bool control_vs_msr(struct state *s, const char *field, uint32_t value, const char *msr_name, uint64_t msr)
{
    uint32_t forced = (uint32_t)msr, may_be_1 = (uint32_t)(msr >> 32);
    if (forced & ~value)
        return say(s, "%s 0x%08x have bit %u clear; %s (0x%016llx) requires it to be 1", field, value,
                   lowest_bit(forced & ~value), msr_name, (ull)msr);
    if (value & ~may_be_1)
        return say(s, "%s 0x%08x have bit %u set; %s (0x%016llx) does not allow it to be 1", field, value,
                   lowest_bit(value & ~may_be_1), msr_name, (ull)msr);
    return false;
}

static bool check_controls_vs_caps(struct state *s)
{
    const struct vmx_caps *c = s->caps;
    if (!c)
        return false;
    bool tru = (c->basic & VMX_BASIC_TRUE_CONTROLS) != 0;
    return control_vs_msr(s, "pin-based VM-execution controls", s->pin,
                          tru ? "IA32_VMX_TRUE_PINBASED_CTLS" : "IA32_VMX_PINBASED_CTLS", tru ? c->true_pin : c->pin) ||
           control_vs_msr(s, "primary processor-based VM-execution controls", s->proc,
                          tru ? "IA32_VMX_TRUE_PROCBASED_CTLS" : "IA32_VMX_PROCBASED_CTLS",
                          tru ? c->true_proc : c->proc) ||
           ((s->proc & PROC_ACTIVATE_SECONDARY) &&
            control_vs_msr(s, "secondary processor-based VM-execution controls", s->proc2,
                           "IA32_VMX_PROCBASED_CTLS2", c->proc2)) ||
           control_vs_msr(s, "VM-exit controls", s->exit, tru ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS",
                          tru ? c->true_exit : c->exit) ||
           control_vs_msr(s, "VM-entry controls", s->entry, tru ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS",
                          tru ? c->true_entry : c->entry);
}

static bool check_eptp(struct state *s)
{
    uint64_t eptp = vmcs_read(VMCS_EPT_POINTER);
    uint64_t cap = s->caps ? s->caps->ept_vpid : ~0ull;
    unsigned memtype = eptp & 7, walk = (eptp >> 3) & 7;
    if (!((memtype == 0 && (cap & EPT_CAP_MEMTYPE_UC)) || (memtype == 6 && (cap & EPT_CAP_MEMTYPE_WB))))
        return say(s, "EPT pointer 0x%016llx has memory type %u; it must be 0 (UC) or 6 (WB) as IA32_VMX_EPT_VPID_CAP allows",
                   (ull)eptp, memtype);
    if (!(walk == 3 || (walk == 4 && (cap & EPT_CAP_WALK_LENGTH_5))))
        return say(s, "EPT pointer 0x%016llx has bits 5:3 = %u; they must be 3 (a 4-level walk)", (ull)eptp, walk);
    if ((eptp & (1ull << 6)) && !(cap & EPT_CAP_ACCESSED_DIRTY))
        return say(s, "EPT pointer 0x%016llx enables accessed/dirty flags (bit 6), which the CPU does not support",
                   (ull)eptp);
    if (eptp & (0xf80ull | PHYS_RESERVED))
        return say(s, "EPT pointer 0x%016llx has reserved bit %u set", (ull)eptp,
                   lowest_bit(eptp & (0xf80ull | PHYS_RESERVED)));
    return false;
}

static bool check_entry_event(struct state *s)
{
    uint32_t info = s->intr_info;
    if (!(info & INTR_INFO_VALID))
        return false;
    unsigned type = INTR_TYPE(info), vector = INTR_VECTOR(info);
    if (info & INTR_INFO_RESERVED)
        return say(s, "VM-entry interruption information 0x%08x has reserved bits 30:12 set", info);
    if (type == 1)
        return say(s, "VM-entry interruption information 0x%08x has reserved event type 1", info);
    if (type == 7 && !(s->caps && ((s->caps->proc >> 32) & PROC_MONITOR_TRAP_FLAG)))
        return say(s, "VM-entry interruption information 0x%08x injects event type 7 (other event), which needs monitor-trap-flag support",
                   info);
    if (type == 2 && vector != 2)
        return say(s, "VM-entry interruption information 0x%08x injects an NMI with vector %u; it must be 2", info, vector);
    if (type == 3 && vector > 31)
        return say(s, "VM-entry interruption information 0x%08x injects hardware exception vector %u; it must be at most 31",
                   info, vector);
    if (type == 7 && vector != 0)
        return say(s, "VM-entry interruption information 0x%08x injects event type 7 with vector %u; it must be 0", info,
                   vector);
    bool real_mode_ug = s->ug && !(s->cr0 & CR0_PE);
    bool takes_error = type == 3 && (vector == 8 || (vector >= 10 && vector <= 14) || vector == 17);
    bool may_take_error = takes_error || (type == 3 && vector == 21);   /* #CP, with CET */
    if (info & INTR_INFO_DELIVER_ERROR) {
        if (real_mode_ug)
            return say(s, "VM-entry interruption information 0x%08x delivers an error code to a real-mode guest (CR0=0x%016llx); real mode has no error codes",
                       info, (ull)s->cr0);
        if (!may_take_error)
            return say(s, "VM-entry interruption information 0x%08x delivers an error code with event type %u vector %u, which has none",
                       info, type, vector);
        uint32_t error = (uint32_t)vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR);
        if (error & 0xffff0000u)
            return say(s, "VM-entry exception error code 0x%08x has bits 31:16 set; they must be 0", error);
    } else if (takes_error && !real_mode_ug) {
        return say(s, "VM-entry interruption information 0x%08x injects exception %u without its error code (bit 11 must be 1 in protected mode)",
                   info, vector);
    }
    if (type == 4 || type == 5 || type == 6) {
        uint32_t len = (uint32_t)vmcs_read(VMCS_ENTRY_INSTR_LEN);
        bool zero_ok = s->caps && (s->caps->misc & MISC_ZERO_INSTR_LEN);
        if (len > 15 || (len == 0 && !zero_ok))
            return say(s, "VM-entry instruction length %u for a software event (interruption information 0x%08x); it must be 1-15",
                       len, info);
    }
    return false;
}

static bool check_controls(struct state *s)
{
    if (check_controls_vs_caps(s))
        return true;
    uint32_t targets = (uint32_t)vmcs_read(VMCS_CR3_TARGET_COUNT);
    unsigned max_targets = s->caps ? (unsigned)((s->caps->misc >> 16) & 0x1ff) : 4;
    if (targets > max_targets)
        return say(s, "CR3-target count is %u; the CPU supports at most %u (IA32_VMX_MISC bits 24:16)", targets,
                   max_targets);
    if (s->proc & PROC_USE_IO_BITMAPS) {
        uint64_t a = vmcs_read(VMCS_IO_BITMAP_A), b = vmcs_read(VMCS_IO_BITMAP_B);
        if ((a & 0xfff) || (a & PHYS_RESERVED))
            return say(s, "I/O bitmap A address 0x%016llx is not a 4 KiB-aligned physical address", (ull)a);
        if ((b & 0xfff) || (b & PHYS_RESERVED))
            return say(s, "I/O bitmap B address 0x%016llx is not a 4 KiB-aligned physical address", (ull)b);
    }
    if (s->proc & PROC_USE_MSR_BITMAPS) {
        uint64_t m = vmcs_read(VMCS_MSR_BITMAP);
        if ((m & 0xfff) || (m & PHYS_RESERVED))
            return say(s, "MSR bitmap address 0x%016llx is not a 4 KiB-aligned physical address", (ull)m);
    }
    if (!(s->pin & PIN_NMI_EXITING) && (s->pin & PIN_VIRTUAL_NMIS))
        return say(s, "pin-based controls 0x%08x set \"virtual NMIs\" without \"NMI exiting\"", s->pin);
    if (!(s->pin & PIN_VIRTUAL_NMIS) && (s->proc & PROC_NMI_WINDOW_EXITING))
        return say(s, "processor-based controls 0x%08x set \"NMI-window exiting\" without \"virtual NMIs\"", s->proc);
    if (!(s->proc & PROC_USE_TPR_SHADOW) && (s->proc2 & (PROC2_VIRTUALIZE_X2APIC | (3u << 8))))
        return say(s, "secondary controls 0x%08x virtualize the x2APIC or APIC registers without \"use TPR shadow\"",
                   s->proc2);
    if ((s->pin & PIN_POSTED_INTERRUPTS) && !(s->exit & EXIT_ACK_INTERRUPT_ON_EXIT))
        return say(s, "pin-based controls 0x%08x process posted interrupts without \"acknowledge interrupt on exit\"",
                   s->pin);
    if ((s->proc2 & PROC2_UNRESTRICTED_GUEST) && !(s->proc2 & PROC2_ENABLE_EPT))
        return say(s, "secondary controls 0x%08x set \"unrestricted guest\" without \"enable EPT\"", s->proc2);
    if ((s->proc2 & PROC2_ENABLE_EPT) && check_eptp(s))
        return true;
    if ((s->proc2 & PROC2_ENABLE_VPID) && (uint16_t)vmcs_read(VMCS_VPID) == 0)
        return say(s, "\"enable VPID\" is set but the VPID is 0; VPID 0 belongs to the host");
    if (!(s->pin & PIN_PREEMPTION_TIMER) && (s->exit & EXIT_SAVE_PREEMPTION_TIMER))
        return say(s, "VM-exit controls 0x%08x save the preemption timer, which is not activated", s->exit);
    static const struct { uint32_t count, addr; const char *name; } areas[] = {
        { VMCS_EXIT_MSR_STORE_COUNT, VMCS_EXIT_MSR_STORE_ADDR, "VM-exit MSR-store" },
        { VMCS_EXIT_MSR_LOAD_COUNT, VMCS_EXIT_MSR_LOAD_ADDR, "VM-exit MSR-load" },
        { VMCS_ENTRY_MSR_LOAD_COUNT, VMCS_ENTRY_MSR_LOAD_ADDR, "VM-entry MSR-load" },
    };
    for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
        uint64_t addr = vmcs_read(areas[i].addr);
        if (vmcs_read(areas[i].count) && ((addr & 15) || (addr & PHYS_RESERVED)))
            return say(s, "%s address 0x%016llx is not 16-byte aligned", areas[i].name, (ull)addr);
    }
    if (s->entry & (ENTRY_TO_SMM | ENTRY_DEACTIVATE_DUAL))
        return say(s, "VM-entry controls 0x%08x set \"entry to SMM\" or \"deactivate dual-monitor treatment\" outside SMM",
                   s->entry);
    return check_entry_event(s);
}

/* ---- 26.2.2-26.2.4: host state ---- */

static bool check_fixed(struct state *s, const char *what, uint64_t value, uint64_t fixed0, uint64_t fixed1,
                        const char *fixed0_name, const char *fixed1_name)
{
    if (fixed0 & ~value)
        return say(s, "%s bit %u is clear (0x%016llx); %s requires it to be 1", what, lowest_bit(fixed0 & ~value),
                   (ull)value, fixed0_name);
    if (value & ~fixed1)
        return say(s, "%s bit %u is set (0x%016llx); %s requires it to be 0", what, lowest_bit(value & ~fixed1),
                   (ull)value, fixed1_name);
    return false;
}

static bool check_pat(struct state *s, const char *what, uint64_t pat)
{
    for (unsigned i = 0; i < 8; i++) {
        unsigned type = (pat >> (8 * i)) & 0xff;
        if (!(type == 0 || type == 1 || type == 4 || type == 5 || type == 6 || type == 7))
            return say(s, "%s 0x%016llx entry PA%u is 0x%02x; valid memory types are 0, 1, 4, 5, 6, 7", what, (ull)pat, i,
                       type);
    }
    return false;
}

static bool check_host(struct state *s)
{
    uint64_t cr0 = vmcs_read(VMCS_HOST_CR0), cr3 = vmcs_read(VMCS_HOST_CR3), cr4 = vmcs_read(VMCS_HOST_CR4);
    const struct vmx_caps *c = s->caps;
    if (c && (check_fixed(s, "host CR0", cr0, c->cr0_fixed0, c->cr0_fixed1, "IA32_VMX_CR0_FIXED0", "IA32_VMX_CR0_FIXED1") ||
              check_fixed(s, "host CR4", cr4, c->cr4_fixed0, c->cr4_fixed1, "IA32_VMX_CR4_FIXED0", "IA32_VMX_CR4_FIXED1")))
        return true;
    if (cr3 & PHYS_RESERVED)
        return say(s, "host CR3 0x%016llx has bits above the physical-address width set", (ull)cr3);
    static const struct { uint32_t field; const char *name; } canon[] = {
        { VMCS_HOST_SYSENTER_ESP, "host IA32_SYSENTER_ESP" }, { VMCS_HOST_SYSENTER_EIP, "host IA32_SYSENTER_EIP" },
        { VMCS_HOST_FS_BASE, "host FS base" }, { VMCS_HOST_GS_BASE, "host GS base" },
        { VMCS_HOST_GDTR_BASE, "host GDTR base" }, { VMCS_HOST_IDTR_BASE, "host IDTR base" },
        { VMCS_HOST_TR_BASE, "host TR base" },
    };
    for (size_t i = 0; i < 2; i++) {
        uint64_t v = vmcs_read(canon[i].field);
        if (!canonical(v, cr4 & CR4_LA57))
            return say(s, "%s 0x%016llx is not canonical", canon[i].name, (ull)v);
    }
    if (s->exit & EXIT_LOAD_PAT) {
        if (check_pat(s, "host IA32_PAT", vmcs_read(VMCS_HOST_PAT)))
            return true;
    }
    bool host64 = (s->exit & EXIT_HOST_ADDR_SPACE_SIZE) != 0;
    if (s->exit & EXIT_LOAD_EFER) {
        uint64_t efer = vmcs_read(VMCS_HOST_EFER);
        if (efer & ~EFER_ALLOWED)
            return say(s, "host IA32_EFER 0x%016llx has reserved bit %u set", (ull)efer, lowest_bit(efer & ~EFER_ALLOWED));
        if (!!(efer & EFER_LMA) != host64 || !!(efer & EFER_LME) != host64)
            return say(s, "host IA32_EFER 0x%016llx: LMA and LME must both equal \"host address-space size\" (%d)",
                       (ull)efer, host64);
    }
    static const struct { uint32_t field; const char *name; } sels[] = {
        { VMCS_HOST_ES_SEL, "ES" }, { VMCS_HOST_CS_SEL, "CS" }, { VMCS_HOST_SS_SEL, "SS" }, { VMCS_HOST_DS_SEL, "DS" },
        { VMCS_HOST_FS_SEL, "FS" }, { VMCS_HOST_GS_SEL, "GS" }, { VMCS_HOST_TR_SEL, "TR" },
    };
    for (size_t i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        uint16_t sel = (uint16_t)vmcs_read(sels[i].field);
        if (sel & 7)
            return say(s, "host %s selector 0x%04x has RPL or TI set; bits 2:0 must be 0", sels[i].name, sel);
    }
    if (vmcs_read(VMCS_HOST_CS_SEL) == 0)
        return say(s, "host CS selector is 0");
    if (vmcs_read(VMCS_HOST_TR_SEL) == 0)
        return say(s, "host TR selector is 0");
    for (size_t i = 2; i < sizeof(canon) / sizeof(canon[0]); i++) {
        uint64_t v = vmcs_read(canon[i].field);
        if (!canonical(v, cr4 & CR4_LA57))
            return say(s, "%s 0x%016llx is not canonical", canon[i].name, (ull)v);
    }
    /* Tessera runs in 64-bit mode, and VM exits must return it there. */
    if (!host64)
        return say(s, "VM-exit controls 0x%08x lack \"host address-space size\"; the host runs in 64-bit mode", s->exit);
    if (!(cr4 & CR4_PAE))
        return say(s, "host CR4 0x%016llx has PAE clear; a 64-bit host needs it", (ull)cr4);
    uint64_t rip = vmcs_read(VMCS_HOST_RIP);
    if (!canonical(rip, cr4 & CR4_LA57))
        return say(s, "host RIP 0x%016llx is not canonical", (ull)rip);
    return false;
}

/* ---- 26.3.1.1: guest control registers, debug registers and MSRs ---- */

static bool check_guest_registers(struct state *s)
{
    const struct vmx_caps *c = s->caps;
    if (c) {
        /* Unrestricted guest lifts the PE and PG requirements (26.3.1.1). */
        uint64_t fixed0 = c->cr0_fixed0 & ~(s->ug ? (CR0_PE | CR0_PG) : 0);
        if (check_fixed(s, "guest CR0", s->cr0, fixed0, c->cr0_fixed1,
                        s->ug ? "IA32_VMX_CR0_FIXED0 (PE and PG excepted with unrestricted guest)" : "IA32_VMX_CR0_FIXED0",
                        "IA32_VMX_CR0_FIXED1"))
            return true;
    }
    if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
        return say(s, "guest CR0 0x%016llx sets PG without PE", (ull)s->cr0);
    if (c && check_fixed(s, "guest CR4", s->cr4, c->cr4_fixed0, c->cr4_fixed1, "IA32_VMX_CR4_FIXED0",
                         "IA32_VMX_CR4_FIXED1"))
        return true;
    if ((s->cr4 & (1ull << 23)) && !(s->cr0 & CR0_WP))
        return say(s, "guest CR4 0x%016llx sets CET without CR0.WP (CR0=0x%016llx)", (ull)s->cr4, (ull)s->cr0);
    if ((s->entry & ENTRY_LOAD_DEBUG_CONTROLS) && (s->debugctl & DEBUGCTL_RESERVED))
        return say(s, "guest IA32_DEBUGCTL 0x%016llx has reserved bit %u set", (ull)s->debugctl,
                   lowest_bit(s->debugctl & DEBUGCTL_RESERVED));
    if (s->ia32e && !(s->cr0 & CR0_PG))
        return say(s, "\"IA-32e mode guest\" is set but guest CR0 0x%016llx has PG clear", (ull)s->cr0);
    if (s->ia32e && !(s->cr4 & CR4_PAE))
        return say(s, "\"IA-32e mode guest\" is set but guest CR4 0x%016llx has PAE clear", (ull)s->cr4);
    if (!s->ia32e && (s->cr4 & CR4_PCIDE))
        return say(s, "guest CR4 0x%016llx sets PCIDE outside IA-32e mode", (ull)s->cr4);
    if (s->cr3 & PHYS_RESERVED)
        return say(s, "guest CR3 0x%016llx has bits above the physical-address width set", (ull)s->cr3);
    if ((s->entry & ENTRY_LOAD_DEBUG_CONTROLS) && (s->dr7 >> 32))
        return say(s, "guest DR7 0x%016llx has bits 63:32 set; they must be 0", (ull)s->dr7);
    uint64_t esp = vmcs_read(VMCS_GUEST_SYSENTER_ESP), eip = vmcs_read(VMCS_GUEST_SYSENTER_EIP);
    if (!canonical(esp, s->cr4 & CR4_LA57))
        return say(s, "guest IA32_SYSENTER_ESP 0x%016llx is not canonical", (ull)esp);
    if (!canonical(eip, s->cr4 & CR4_LA57))
        return say(s, "guest IA32_SYSENTER_EIP 0x%016llx is not canonical", (ull)eip);
    if ((s->entry & ENTRY_LOAD_PAT) && check_pat(s, "guest IA32_PAT", s->pat))
        return true;
    if (s->entry & ENTRY_LOAD_EFER) {
        if (s->efer & ~EFER_ALLOWED)
            return say(s, "guest IA32_EFER 0x%016llx has reserved bit %u set", (ull)s->efer,
                       lowest_bit(s->efer & ~EFER_ALLOWED));
        if (!!(s->efer & EFER_LMA) != s->ia32e)
            return say(s, "guest IA32_EFER 0x%016llx has LMA=%d but \"IA-32e mode guest\" is %d; they must match",
                       (ull)s->efer, !!(s->efer & EFER_LMA), s->ia32e);
        if ((s->cr0 & CR0_PG) && !!(s->efer & EFER_LMA) != !!(s->efer & EFER_LME))
            return say(s, "guest IA32_EFER 0x%016llx has LMA != LME while CR0.PG is set (CR0=0x%016llx)", (ull)s->efer,
                       (ull)s->cr0);
    }
    return false;
}

/* ---- 26.3.1.2: guest segment registers ---- */

static bool check_limit_granularity(struct state *s, int i)
{
    const struct seg *g = &s->seg[i];
    if ((g->limit & 0xfff) != 0xfff && (g->ar & AR_G))
        return say(s, "guest %s limit 0x%08x has bits 11:0 not all 1 but G=1 (AR=0x%05x); G must be 0", seg_names[i],
                   g->limit, g->ar);
    if ((g->limit & 0xfff00000u) && !(g->ar & AR_G))
        return say(s, "guest %s limit 0x%08x has bits 31:20 set but G=0 (AR=0x%05x); G must be 1", seg_names[i],
                   g->limit, g->ar);
    return false;
}

static bool check_v8086_segments(struct state *s)
{
    static const int regs[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t k = 0; k < sizeof(regs) / sizeof(regs[0]); k++) {
        const struct seg *g = &s->seg[regs[k]];
        const char *name = seg_names[regs[k]];
        if (g->base != (uint64_t)g->sel << 4)
            return say(s, "guest %s base 0x%016llx is not selector 0x%04x << 4, as virtual-8086 mode requires", name,
                       (ull)g->base, g->sel);
        if (g->limit != 0xffff)
            return say(s, "guest %s limit 0x%08x is not 0xffff, as virtual-8086 mode requires", name, g->limit);
        if (g->ar != 0xf3)
            return say(s, "guest %s access rights 0x%05x are not 0xf3, as virtual-8086 mode requires", name, g->ar);
    }
    return false;
}

static bool check_segment_access_rights(struct state *s)
{
    const struct seg *cs = &s->seg[SEG_CS], *ss = &s->seg[SEG_SS];
    unsigned cs_type = cs->ar & AR_TYPE_MASK;
    bool cs_ok = cs_type == 9 || cs_type == 11 || cs_type == 13 || cs_type == 15 || (s->ug && cs_type == 3);
    if (!cs_ok)
        return say(s, "guest CS type is %u (AR=0x%05x); it must be 9, 11, 13 or 15%s", cs_type, cs->ar,
                   s->ug ? ", or 3 with unrestricted guest" : "");
    if (usable(ss) && (ss->ar & AR_TYPE_MASK) != 3 && (ss->ar & AR_TYPE_MASK) != 7)
        return say(s, "guest SS type is %u (AR=0x%05x); it must be 3 or 7 (read/write data)", ss->ar & AR_TYPE_MASK,
                   ss->ar);
    static const int data[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t k = 0; k < 4; k++) {
        const struct seg *g = &s->seg[data[k]];
        unsigned type = g->ar & AR_TYPE_MASK;
        if (!usable(g))
            continue;
        if (!(type & 1))
            return say(s, "guest %s type is %u (AR=0x%05x); the accessed bit (type bit 0) must be 1", seg_names[data[k]],
                       type, g->ar);
        if ((type & 8) && !(type & 2))
            return say(s, "guest %s type is %u (AR=0x%05x): an execute-only code segment; it must be readable",
                       seg_names[data[k]], type, g->ar);
    }
    static const int all[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t k = 0; k < 6; k++) {
        const struct seg *g = &s->seg[all[k]];
        if ((all[k] == SEG_CS || usable(g)) && !(g->ar & AR_S))
            return say(s, "guest %s access rights 0x%05x have S=0; it must be a code or data segment (S=1)",
                       seg_names[all[k]], g->ar);
    }
    if (cs_type == 3 && dpl(cs->ar) != 0)
        return say(s, "guest CS DPL is %u with type 3 (AR=0x%05x); it must be 0", dpl(cs->ar), cs->ar);
    if ((cs_type == 9 || cs_type == 11) && dpl(cs->ar) != dpl(ss->ar))
        return say(s, "guest CS DPL %u differs from SS DPL %u (CS AR=0x%05x, SS AR=0x%05x); a non-conforming CS needs them equal",
                   dpl(cs->ar), dpl(ss->ar), cs->ar, ss->ar);
    if ((cs_type == 13 || cs_type == 15) && dpl(cs->ar) > dpl(ss->ar))
        return say(s, "guest CS DPL %u exceeds SS DPL %u (CS AR=0x%05x); a conforming CS needs it at most SS DPL",
                   dpl(cs->ar), dpl(ss->ar), cs->ar);
    if (!s->ug && dpl(ss->ar) != (ss->sel & 3u))
        return say(s, "guest SS DPL %u differs from SS selector 0x%04x RPL %u", dpl(ss->ar), ss->sel, ss->sel & 3u);
    if ((cs_type == 3 || !(s->cr0 & CR0_PE)) && dpl(ss->ar) != 0)
        return say(s, "guest SS DPL is %u (AR=0x%05x); it must be 0 %s", dpl(ss->ar), ss->ar,
                   cs_type == 3 ? "when CS type is 3" : "in real mode (CR0.PE=0)");
    if (!s->ug) {
        for (size_t k = 0; k < 4; k++) {
            const struct seg *g = &s->seg[data[k]];
            if (usable(g) && (g->ar & AR_TYPE_MASK) <= 11 && dpl(g->ar) < (g->sel & 3u))
                return say(s, "guest %s DPL %u is below selector 0x%04x RPL %u", seg_names[data[k]], dpl(g->ar), g->sel,
                           g->sel & 3u);
        }
    }
    for (size_t k = 0; k < 6; k++) {
        const struct seg *g = &s->seg[all[k]];
        if ((all[k] == SEG_CS || usable(g)) && !(g->ar & AR_P))
            return say(s, "guest %s access rights 0x%05x have P=0; a usable segment must be present", seg_names[all[k]],
                       g->ar);
    }
    for (size_t k = 0; k < 6; k++) {
        const struct seg *g = &s->seg[all[k]];
        if ((all[k] == SEG_CS || usable(g)) && (g->ar & AR_RESERVED))
            return say(s, "guest %s access rights 0x%05x have reserved bits set (11:8 and 31:17 must be 0)",
                       seg_names[all[k]], g->ar);
    }
    if (s->ia32e && (cs->ar & AR_L) && (cs->ar & AR_DB))
        return say(s, "guest CS access rights 0x%05x set both L and D/B; a 64-bit code segment needs D/B=0", cs->ar);
    for (size_t k = 0; k < 6; k++)
        if ((all[k] == SEG_CS || usable(&s->seg[all[k]])) && check_limit_granularity(s, all[k]))
            return true;
    return false;
}

static bool check_system_segments(struct state *s)
{
    const struct seg *tr = &s->seg[SEG_TR], *ldtr = &s->seg[SEG_LDTR];
    unsigned tr_type = tr->ar & AR_TYPE_MASK;
    if (s->ia32e ? tr_type != 11 : (tr_type != 3 && tr_type != 11))
        return say(s, "guest TR type is %u (AR=0x%05x); it must be %s", tr_type, tr->ar,
                   s->ia32e ? "11 (busy 64-bit TSS) in IA-32e mode" : "3 or 11 (busy 16- or 32-bit TSS)");
    if (tr->ar & AR_S)
        return say(s, "guest TR access rights 0x%05x have S=1; TR must be a system segment", tr->ar);
    if (!(tr->ar & AR_P))
        return say(s, "guest TR access rights 0x%05x have P=0; TR must be present", tr->ar);
    if (tr->ar & AR_RESERVED)
        return say(s, "guest TR access rights 0x%05x have reserved bits set (11:8 and 31:17 must be 0)", tr->ar);
    if (check_limit_granularity(s, SEG_TR))
        return true;
    if (!usable(tr))
        return say(s, "guest TR access rights 0x%05x mark TR unusable; TR must be usable", tr->ar);
    if (!usable(ldtr))
        return false;
    if ((ldtr->ar & AR_TYPE_MASK) != 2)
        return say(s, "guest LDTR type is %u (AR=0x%05x); a usable LDTR must have type 2", ldtr->ar & AR_TYPE_MASK,
                   ldtr->ar);
    if (ldtr->ar & AR_S)
        return say(s, "guest LDTR access rights 0x%05x have S=1; LDTR must be a system segment", ldtr->ar);
    if (!(ldtr->ar & AR_P))
        return say(s, "guest LDTR access rights 0x%05x have P=0; a usable LDTR must be present", ldtr->ar);
    if (ldtr->ar & AR_RESERVED)
        return say(s, "guest LDTR access rights 0x%05x have reserved bits set (11:8 and 31:17 must be 0)", ldtr->ar);
    return check_limit_granularity(s, SEG_LDTR);
}

static bool check_guest_segments(struct state *s)
{
    const struct seg *cs = &s->seg[SEG_CS], *ss = &s->seg[SEG_SS];
    bool v8086 = (s->rflags & RFLAGS_VM) != 0;
    bool la57 = (s->cr4 & CR4_LA57) != 0;
    if (s->seg[SEG_TR].sel & 4)
        return say(s, "guest TR selector 0x%04x has TI set; TR must come from the GDT", s->seg[SEG_TR].sel);
    if (usable(&s->seg[SEG_LDTR]) && (s->seg[SEG_LDTR].sel & 4))
        return say(s, "guest LDTR selector 0x%04x has TI set; LDTR must come from the GDT", s->seg[SEG_LDTR].sel);
    if (!v8086 && !s->ug && (ss->sel & 3) != (cs->sel & 3))
        return say(s, "guest SS selector 0x%04x RPL differs from CS selector 0x%04x RPL", ss->sel, cs->sel);
    static const int wide[] = { SEG_TR, SEG_FS, SEG_GS, SEG_LDTR };
    for (size_t k = 0; k < 4; k++) {
        const struct seg *g = &s->seg[wide[k]];
        if ((wide[k] != SEG_LDTR || usable(g)) && !canonical(g->base, la57))
            return say(s, "guest %s base 0x%016llx is not canonical", seg_names[wide[k]], (ull)g->base);
    }
    static const int narrow[] = { SEG_CS, SEG_SS, SEG_DS, SEG_ES };
    for (size_t k = 0; k < 4; k++) {
        const struct seg *g = &s->seg[narrow[k]];
        if ((narrow[k] == SEG_CS || usable(g)) && (g->base >> 32))
            return say(s, "guest %s base 0x%016llx has bits 63:32 set; they must be 0", seg_names[narrow[k]],
                       (ull)g->base);
    }
    if (v8086 ? check_v8086_segments(s) : check_segment_access_rights(s))
        return true;
    return check_system_segments(s);
}

/* ---- 26.3.1.3: descriptor-table registers ---- */

static bool check_descriptor_tables(struct state *s)
{
    bool la57 = (s->cr4 & CR4_LA57) != 0;
    uint64_t gdt = vmcs_read(VMCS_GUEST_GDTR_BASE), idt = vmcs_read(VMCS_GUEST_IDTR_BASE);
    uint32_t gdt_limit = (uint32_t)vmcs_read(VMCS_GUEST_GDTR_LIMIT), idt_limit = (uint32_t)vmcs_read(VMCS_GUEST_IDTR_LIMIT);
    if (!canonical(gdt, la57))
        return say(s, "guest GDTR base 0x%016llx is not canonical", (ull)gdt);
    if (!canonical(idt, la57))
        return say(s, "guest IDTR base 0x%016llx is not canonical", (ull)idt);
    if (gdt_limit > 0xffff)
        return say(s, "guest GDTR limit 0x%08x exceeds 0xffff", gdt_limit);
    if (idt_limit > 0xffff)
        return say(s, "guest IDTR limit 0x%08x exceeds 0xffff", idt_limit);
    return false;
}

/* ---- 26.3.1.4: RIP and RFLAGS ---- */

/* Checked before the segments although the SDM lists it after them: RFLAGS.VM selects which
 * segment rules apply, so a wrong VM flag is the more useful thing to report. */
static bool check_rflags(struct state *s)
{
    if (s->rflags & RFLAGS_RESERVED)
        return say(s, "guest RFLAGS 0x%016llx has reserved bit %u set; it must be 0", (ull)s->rflags,
                   lowest_bit(s->rflags & RFLAGS_RESERVED));
    if (!(s->rflags & RFLAGS_FIXED1))
        return say(s, "guest RFLAGS bit 1 is clear (RFLAGS=0x%016llx); it must be 1", (ull)s->rflags);
    if ((s->rflags & RFLAGS_VM) && (s->ia32e || !(s->cr0 & CR0_PE)))
        return say(s, "guest RFLAGS 0x%016llx sets VM %s", (ull)s->rflags,
                   s->ia32e ? "with \"IA-32e mode guest\"" : "in real mode (CR0.PE=0)");
    if ((s->intr_info & INTR_INFO_VALID) && INTR_TYPE(s->intr_info) == 0 && !(s->rflags & RFLAGS_IF))
        return say(s, "an external interrupt is injected (0x%08x) but guest RFLAGS 0x%016llx has IF clear", s->intr_info,
                   (ull)s->rflags);
    return false;
}

static bool check_rip(struct state *s)
{
    bool long64 = s->ia32e && (s->seg[SEG_CS].ar & AR_L);
    if (!long64 && (s->rip >> 32))
        return say(s, "guest RIP 0x%016llx has bits 63:32 set outside 64-bit mode; they must be 0", (ull)s->rip);
    if (long64 && !canonical(s->rip, s->cr4 & CR4_LA57))
        return say(s, "guest RIP 0x%016llx is not canonical (64-bit CS)", (ull)s->rip);
    return false;
}

/* ---- 26.3.1.5: non-register state ---- */

static bool check_activity(struct state *s)
{
    static const uint64_t supported[] = { 0, MISC_ACTIVITY_HLT, MISC_ACTIVITY_SHUTDOWN, MISC_ACTIVITY_SIPI };
    static const char *const names[] = { "active", "HLT", "shutdown", "wait-for-SIPI" };
    uint32_t a = s->activity;
    if (a > 3)
        return say(s, "guest activity state is %u; valid states are 0-3", a);
    if (a && s->caps && !(s->caps->misc & supported[a]))
        return say(s, "guest activity state %u (%s) is not supported (IA32_VMX_MISC bits 8:6)", a, names[a]);
    if (a == ACTIVITY_HLT && dpl(s->seg[SEG_SS].ar) != 0)
        return say(s, "guest activity state is HLT but SS DPL is %u (AR=0x%05x); it must be 0", dpl(s->seg[SEG_SS].ar),
                   s->seg[SEG_SS].ar);
    if (a && (s->interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
        return say(s, "guest activity state is %s but interruptibility state 0x%08x blocks by STI or MOV SS; it must be active",
                   names[a], s->interruptibility);
    if (a && (s->intr_info & INTR_INFO_VALID)) {
        unsigned type = INTR_TYPE(s->intr_info), vector = INTR_VECTOR(s->intr_info);
        bool allowed;
        if (a == ACTIVITY_HLT)
            allowed = type == 0 || type == 2 || (type == 3 && (vector == 1 || vector == 18)) || (type == 7 && vector == 0);
        else if (a == 2)
            allowed = type == 2 || (type == 3 && vector == 18);
        else
            allowed = false;
        if (!allowed)
            return say(s, "injected event 0x%08x cannot be delivered in activity state %s", s->intr_info, names[a]);
    }
    return false;
}

static bool check_interruptibility(struct state *s)
{
    uint32_t i = s->interruptibility;
    bool inject = (s->intr_info & INTR_INFO_VALID) != 0;
    unsigned type = INTR_TYPE(s->intr_info);
    if (i & ~0x1fu)
        return say(s, "guest interruptibility state 0x%08x has reserved bits 31:5 set", i);
    if ((i & INTERRUPTIBILITY_STI) && (i & INTERRUPTIBILITY_MOV_SS))
        return say(s, "guest interruptibility state 0x%08x sets both blocking by STI and blocking by MOV SS", i);
    if ((i & INTERRUPTIBILITY_STI) && !(s->rflags & RFLAGS_IF))
        return say(s, "guest interruptibility state 0x%08x blocks by STI but RFLAGS 0x%016llx has IF clear", i,
                   (ull)s->rflags);
    if (inject && type == 0 && (i & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)))
        return say(s, "an external interrupt is injected while interruptibility state 0x%08x blocks by STI or MOV SS", i);
    if (inject && type == 2 && (i & INTERRUPTIBILITY_MOV_SS))
        return say(s, "an NMI is injected while interruptibility state 0x%08x blocks by MOV SS", i);
    if ((i & (1u << 2)) && !(s->entry & ENTRY_TO_SMM))
        return say(s, "guest interruptibility state 0x%08x blocks by SMI outside SMM", i);
    if (inject && type == 2 && (s->pin & PIN_VIRTUAL_NMIS) && (i & (1u << 3)))
        return say(s, "a virtual NMI is injected while interruptibility state 0x%08x blocks by NMI", i);
    return false;
}

static bool check_pending_debug(struct state *s)
{
    uint64_t p = vmcs_read(VMCS_GUEST_PENDING_DBG);
    if (p & PENDING_DBG_RESERVED)
        return say(s, "guest pending debug exceptions 0x%016llx have reserved bit %u set", (ull)p,
                   lowest_bit(p & PENDING_DBG_RESERVED));
    bool blocked = (s->interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) ||
                   s->activity == ACTIVITY_HLT;
    if (blocked) {
        /* A single-step trap held back by the blocking must be recorded in BS, and only then. */
        bool single_step = (s->rflags & RFLAGS_TF) && !(s->debugctl & DEBUGCTL_BTF);
        if (single_step && !(p & PENDING_DBG_BS))
            return say(s, "guest pending debug exceptions 0x%016llx lack BS (bit 14) though RFLAGS.TF=1 with blocking or HLT",
                       (ull)p);
        if (!single_step && (p & PENDING_DBG_BS))
            return say(s, "guest pending debug exceptions 0x%016llx set BS (bit 14) though no single-step is pending (RFLAGS=0x%016llx)",
                       (ull)p, (ull)s->rflags);
    }
    return false;
}

static bool check_non_register_state(struct state *s)
{
    if (check_activity(s) || check_interruptibility(s) || check_pending_debug(s))
        return true;
    /* Tessera uses no VMCS shadowing, so the link pointer must say "none". */
    uint64_t link = vmcs_read(VMCS_LINK_POINTER);
    if (link != ~0ull)
        return say(s, "VMCS link pointer is 0x%016llx; it must be 0xffffffffffffffff (no shadow VMCS)", (ull)link);
    return false;
}

/* ---- 26.3.1.6: PDPTEs, loaded from the VMCS under EPT with PAE paging ---- */

static bool check_pdptes(struct state *s)
{
    if (!(s->proc2 & PROC2_ENABLE_EPT) || !(s->cr0 & CR0_PG) || !(s->cr4 & CR4_PAE) || s->ia32e)
        return false;
    static const uint32_t fields[] = { VMCS_GUEST_PDPTE0, VMCS_GUEST_PDPTE1, VMCS_GUEST_PDPTE2, VMCS_GUEST_PDPTE3 };
    for (unsigned k = 0; k < 4; k++) {
        uint64_t e = vmcs_read(fields[k]);
        uint64_t reserved = 0x1e6ull | PHYS_RESERVED;   /* bits 2:1, 8:5 and above the address width */
        if ((e & 1) && (e & reserved))
            return say(s, "guest PDPTE%u 0x%016llx is present with reserved bit %u set", k, (ull)e, lowest_bit(e & reserved));
    }
    return false;
}

bool vmx_explain_entry_failure(const struct vmx_caps *c, char *buf, size_t n)
{
    struct state s;
    memset(&s, 0, sizeof(s));
    s.caps = c;
    s.buf = buf;
    s.n = n;
    if (n)
        buf[0] = 0;
    read_state(&s);
    return check_controls(&s) || check_host(&s) || check_guest_registers(&s) || check_rflags(&s) ||
           check_guest_segments(&s) || check_descriptor_tables(&s) || check_rip(&s) || check_non_register_state(&s) ||
           check_pdptes(&s);
}
