/* RDMSR/WRMSR: the MSR bitmap (what runs natively), the emulated MSRs (EFER, PAT, APIC base,
 * MTRRs, TSC, a few read-as-zero identification MSRs) and #GP(0) for everything else, so a
 * guest learns nothing about the host's MSRs and cannot change them.
 *
 * Guest MTRRs are stored and validated but change nothing: EPT entries (set by the lead) decide
 * the memory type. IA32_MISC_ENABLE behaves as on the CPU model the guest's CPUID describes (SDM
 * Vol. 4, Table 2-2): its read/write bits read back what was written, limit CPUID maxval and XD
 * disable change CPUID (vmm/exit/cpuid.c) and XD disable takes EFER.NXE away; it reads BTS and
 * PEBS as unavailable (bits 11, 12, matching the hidden DS) and performance monitoring as
 * unavailable (bit 7, matching the hidden leaf 0xA). */
#include "exit/handlers.h"
#include "x86.h"
#include "lib/mem.h"
#include "vmx/vmcs.h"

#define MSR_MTRR_PHYS_FIRST     0x200
#define MSR_MTRR_PHYS_LAST      (0x200 + 2 * MTRR_VAR_COUNT - 1)
#define MSR_MTRR_FIX_64K_00000  0x250
#define MSR_MTRR_FIX_16K_80000  0x258
#define MSR_MTRR_FIX_16K_A0000  0x259
#define MSR_MTRR_FIX_4K_C0000   0x268
#define MSR_MTRR_FIX_4K_F8000   0x26F
#define MSR_MTRR_DEF_TYPE       0x2FF


#define APIC_BASE_BSP      (1ull << 8)
#define APIC_BASE_ENABLE   (1ull << 11)
#define APIC_BASE_DEFAULT  (0xFEE00000ull | APIC_BASE_ENABLE | APIC_BASE_BSP)

#define MTRRCAP_VALUE  (MTRR_VAR_COUNT | (1u << 8) | (1u << 10))   /* VCNT=8, FIX, WC */
/* MONITOR FSM starts clear, as on a CPU whose CPUID reports no MONITOR. A guest may set it and
 * read it back, but MONITOR stays hidden and MONITOR/MWAIT keep raising #UD: Tessera has none. */
#define MISC_ENABLE_INIT  (MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)
/* Read/write bits. Bits 11 and 12 are read-only and a write that changes them faults, bit 7 is
 * read-only and a write to it is ignored (as KVM models the CPU); every other bit is reserved on
 * this model (turbo disable, bit 38, with leaf 6 hidden too) and a write setting one faults. */
#define MISC_ENABLE_WRITABLE  (MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_TCC | MISC_ENABLE_EIST | \
                               MISC_ENABLE_MONITOR_FSM | MISC_ENABLE_LIMIT_CPUID | \
                               MISC_ENABLE_XTPR_DISABLE | MISC_ENABLE_XD_DISABLE)
#define MISC_ENABLE_FIXED     (MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)
#define MISC_ENABLE_IGNORED   MISC_ENABLE_PERFMON_AVAIL

#define CPUID1_ECX_SSE3       (1u << 0)
#define CPUID_EXT1_EDX_NX     (1u << 20)
#define CPUID_EXT1_EDX_LM     (1u << 29)
#define CPUID_LIMITED_MAX     2u        /* what limit CPUID maxval leaves CPUID.0:EAX at */


void msr_vcpu_init(struct vcpu *v)
{
    v->apic_base = APIC_BASE_DEFAULT;
    v->mtrr_def_type = 0;
    memset(v->mtrr_fixed, 0, sizeof(v->mtrr_fixed));
    memset(v->mtrr_var, 0, sizeof(v->mtrr_var));
    v->misc_enable = MISC_ENABLE_INIT;
}

static void bitmap_pass_through(uint8_t *bitmap, uint32_t msr, int reads, int writes)
{
    unsigned half = (msr >= 0xC0000000u) ? 0x400 : 0;
    unsigned index = msr & 0x1FFF;
    uint8_t bit = (uint8_t)(1u << (index % 8));
    if (reads)
        bitmap[half + index / 8] &= (uint8_t)~bit;
    if (writes)
        bitmap[0x800 + half + index / 8] &= (uint8_t)~bit;
}

void msr_bitmap_init(uint8_t *bitmap)
{
    /* Guest values of these live in the VMCS guest area or are swapped by the lead per guest. */
    static const uint32_t native[] = {
        MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
        MSR_IA32_SYSENTER_EIP, MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR, MSR_IA32_FMASK, MSR_IA32_TSC_AUX,
    };
    memset(bitmap, 0xFF, 4096);
    for (unsigned i = 0; i < sizeof(native) / sizeof(native[0]); i++)
        bitmap_pass_through(bitmap, native[i], 1, 1);
    /* RDMSR of the TSC applies the TSC offset in hardware, like RDTSC. */
    bitmap_pass_through(bitmap, MSR_IA32_TSC, 1, 0);
}

static uint64_t host_rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* CPUID.80000001H:EDX as the guest's CPUID reports it now (NX goes with XD disable), or as the
 * model has it. */
static uint32_t guest_ext_features_edx(struct vcpu *v, bool now)
{
    uint32_t r[4];
    cpuid_guest_view(v->vm->id, 0x80000000u, 0, r);
    if (r[0] < 0x80000001u)
        return 0;
    if (now)
        cpuid_guest_answer(v, 0x80000001u, 0, r);
    else
        cpuid_guest_view(v->vm->id, 0x80000001u, 0, r);
    return r[3];
}

static bool mtrr_type_valid(uint64_t type)
{
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

static bool pat_valid(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        uint8_t type = (uint8_t)(pat >> (8 * i));
        if (type == 2 || type == 3 || type > 7)
            return false;
    }
    return true;
}

/* Index into vcpu.mtrr_fixed for a fixed-range MTRR, or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX_64K_00000)
        return 0;
    if (msr == MSR_MTRR_FIX_16K_80000)
        return 1;
    if (msr == MSR_MTRR_FIX_16K_A0000)
        return 2;
    if (msr >= MSR_MTRR_FIX_4K_C0000 && msr <= MSR_MTRR_FIX_4K_F8000)
        return 3 + (int)(msr - MSR_MTRR_FIX_4K_C0000);
    return -1;
}

static int efer_write(struct vcpu *v, uint64_t value)
{
    uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
    uint32_t ext_edx = guest_ext_features_edx(v, true);
    uint64_t writable = EFER_SCE | EFER_LMA;          /* LMA: accepted, but the CPU owns it */
    if (ext_edx & CPUID_EXT1_EDX_LM)
        writable |= EFER_LME;
    if (ext_edx & CPUID_EXT1_EDX_NX)
        writable |= EFER_NXE;
    if (value & ~writable)
        return -1;
    uint64_t cr0_mask = vmcs_read(VMCS_CR0_GUEST_HOST_MASK);
    uint64_t cr0 = (vmcs_read(VMCS_GUEST_CR0) & ~cr0_mask) | (vmcs_read(VMCS_CR0_READ_SHADOW) & cr0_mask);
    if ((cr0 & CR0_PG) && ((value ^ efer) & EFER_LME))
        return -1;
    vmcs_write(VMCS_GUEST_EFER, (value & ~EFER_LMA) | (efer & EFER_LMA));
    return 0;
}

/* Where the SDM says a write "may generate #GP" (MONITOR FSM without SSE3, limit CPUID maxval
 * with no leaf above 2, XD disable without NX), the model refuses it. Setting XD disable clears
 * EFER.NXE, which a CPU without XD cannot have set (SDM Vol. 3A 4.1.4; ACRN does the same). */
static int misc_enable_write(struct vcpu *v, uint64_t value)
{
    uint64_t old = v->misc_enable;
    if (value & ~(MISC_ENABLE_WRITABLE | MISC_ENABLE_FIXED | MISC_ENABLE_IGNORED))
        return -1;
    if ((value ^ old) & MISC_ENABLE_FIXED)
        return -1;
    uint32_t l0[4], l1[4];
    cpuid_guest_view(v->vm->id, 0, 0, l0);
    cpuid_guest_view(v->vm->id, 1, 0, l1);
    if (((value ^ old) & MISC_ENABLE_MONITOR_FSM) && !(l1[2] & CPUID1_ECX_SSE3))
        return -1;
    if ((value & MISC_ENABLE_LIMIT_CPUID) && l0[0] <= CPUID_LIMITED_MAX)
        return -1;
    if ((value & MISC_ENABLE_XD_DISABLE) && !(guest_ext_features_edx(v, false) & CPUID_EXT1_EDX_NX))
        return -1;
    if (value & MISC_ENABLE_XD_DISABLE) {
        uint64_t efer = vmcs_read(VMCS_GUEST_EFER);
        if (efer & EFER_NXE)
            vmcs_write(VMCS_GUEST_EFER, efer & ~EFER_NXE);
    }
    v->misc_enable = (value & ~MISC_ENABLE_IGNORED) | (old & MISC_ENABLE_IGNORED);
    return 0;
}

static int apic_base_write(struct vcpu *v, uint64_t value)
{
    /* x2APIC enable (bit 10) is reserved here: CPUID hides x2APIC. */
    uint64_t valid = (~0ull >> (64 - cpuid_guest_maxphyaddr(v->vm->id)) & ~0xFFFull) | APIC_BASE_ENABLE | APIC_BASE_BSP;
    if (value & ~valid)
        return -1;
    /* BSP is a fact about the CPU, not a setting. */
    v->apic_base = (value & ~APIC_BASE_BSP) | (v->apic_base & APIC_BASE_BSP);
    return 0;
}

static int mtrr_var_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    uint64_t addr_bits = ~0ull >> (64 - cpuid_guest_maxphyaddr(v->vm->id)) & ~0xFFFull;
    unsigned index = msr - MSR_MTRR_PHYS_FIRST;
    if (index % 2 == 0) {   /* PHYSBASE: type in 7:0 */
        if ((value & ~(addr_bits | 0xFF)) || !mtrr_type_valid(value & 0xFF))
            return -1;
    } else {                /* PHYSMASK: valid in bit 11 */
        if (value & ~(addr_bits | (1ull << 11)))
            return -1;
    }
    v->mtrr_var[index] = value;
    return 0;
}

/* Returns 0 and *value, or -1 for #GP. */
static int msr_read(struct vcpu *v, uint32_t msr, uint64_t *value)
{
    int fixed = mtrr_fixed_index(msr);
    if (fixed >= 0) {
        *value = v->mtrr_fixed[fixed];
        return 0;
    }
    switch (msr) {
    case MSR_IA32_EFER:              *value = vmcs_read(VMCS_GUEST_EFER); return 0;
    case MSR_IA32_PAT:          *value = vmcs_read(VMCS_GUEST_PAT); return 0;
    case MSR_IA32_APIC_BASE:    *value = v->apic_base; return 0;
    case MSR_IA32_MTRRCAP:      *value = MTRRCAP_VALUE; return 0;
    case MSR_MTRR_DEF_TYPE:     *value = v->mtrr_def_type; return 0;
    case MSR_MTRR_PHYS_FIRST ... MSR_MTRR_PHYS_LAST:
        *value = v->mtrr_var[msr - MSR_MTRR_PHYS_FIRST];
        return 0;
    case MSR_IA32_MISC_ENABLE:  *value = v->misc_enable; return 0;
    case MSR_IA32_TSC:          *value = host_rdtsc() + vmcs_read(VMCS_TSC_OFFSET); return 0;
    case MSR_IA32_FEATURE_CONTROL: *value = FEATURE_CONTROL_LOCKED; return 0; /* locked, VMX off */
    case MSR_IA32_BIOS_SIGN_ID:
    case MSR_IA32_PLATFORM_ID:
    case MSR_IA32_MCG_CAP:
    case MSR_IA32_MCG_STATUS:
        *value = 0;
        return 0;
    default:
        return -1;      /* incl. IA32_VMX_* (0x480-0x491): VMX is hidden */
    }
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t value)
{
    int fixed = mtrr_fixed_index(msr);
    if (fixed >= 0) {
        for (int i = 0; i < 8; i++)
            if (!mtrr_type_valid((value >> (8 * i)) & 0xFF))
                return -1;
        v->mtrr_fixed[fixed] = value;
        return 0;
    }
    switch (msr) {
    case MSR_IA32_EFER:
        return efer_write(v, value);
    case MSR_IA32_PAT:
        if (!pat_valid(value))
            return -1;
        vmcs_write(VMCS_GUEST_PAT, value);
        return 0;
    case MSR_IA32_APIC_BASE:
        return apic_base_write(v, value);
    case MSR_MTRR_DEF_TYPE:
        if ((value & ~0xCFFull) || !mtrr_type_valid(value & 0xFF))
            return -1;
        v->mtrr_def_type = value;
        return 0;
    case MSR_MTRR_PHYS_FIRST ... MSR_MTRR_PHYS_LAST:
        return mtrr_var_write(v, msr, value);
    case MSR_IA32_MISC_ENABLE:
        return misc_enable_write(v, value);
    case MSR_IA32_TSC:
        /* The guest reads back what it wrote, then counts on from there. */
        vmcs_write(VMCS_TSC_OFFSET, value - host_rdtsc());
        return 0;
    case MSR_IA32_BIOS_SIGN_ID:
        return 0;       /* the "clear, CPUID, read" microcode idiom: ignored */
    case MSR_IA32_MCG_CAP:
    case MSR_IA32_MCG_STATUS:
        return value == 0 ? 0 : -1;
    default:
        return -1;      /* MTRRcap, PLATFORM_ID, FEATURE_CONTROL, IA32_VMX_*, unknown */
    }
}

enum exit_result exit_handle_rdmsr(struct vcpu *v)
{
    uint64_t value;
    if (msr_read(v, (uint32_t)v->gpr[REG_RCX], &value) < 0)
        return vcpu_inject_exception(v, VEC_GP, true, 0);
    v->gpr[REG_RAX] = (uint32_t)value;
    v->gpr[REG_RDX] = value >> 32;
    return EXIT_ADVANCE;
}

enum exit_result exit_handle_wrmsr(struct vcpu *v)
{
    uint64_t value = (v->gpr[REG_RDX] << 32) | (uint32_t)v->gpr[REG_RAX];
    if (msr_write(v, (uint32_t)v->gpr[REG_RCX], value) < 0)
        return vcpu_inject_exception(v, VEC_GP, true, 0);
    return EXIT_ADVANCE;
}
