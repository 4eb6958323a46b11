/* MSRs: what Tessera emulates (EFER, PAT, APIC base, MTRRcap) and what it refuses with #GP
 * (unknown MSRs, the VMX capability MSRs). */
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

#define MSR_UNKNOWN        0xC0DE0001u   /* no CPU defines it */
#define MSR_VMX_FIRST      0x480u
#define MSR_VMX_LAST       0x491u
#define APIC_BASE_EXPECTED 0xFEE00900ull  /* default base, BSP, enabled */
#define MTRR_CAP_EXPECTED  0x508ull       /* 8 variable ranges, fixed ranges, WC */
#define PAT_TYPE_WC        0x01
#define PAT_TYPE_RESERVED  0x02

static void check_refused_read(uint32_t msr, const char *what)
{
    uint64_t value = 0;
    int vector = rdmsr_checked(msr, &value);
    if (!tap_check(vector == VEC_GP, "msr: %s read (0x%x) raises #GP", what, msr))
        tap_diag("got %s, value 0x%lx", fault_name(vector), value);
}

static void check_pat(void)
{
    uint64_t pat = rdmsr(MSR_IA32_PAT);
    uint64_t with_wc = (pat & ~0xff00ull) | (uint64_t)PAT_TYPE_WC << 8;   /* entry 1 = WC */
    int vector = wrmsr_checked(MSR_IA32_PAT, with_wc);
    uint64_t read_back = rdmsr(MSR_IA32_PAT);
    wrmsr_checked(MSR_IA32_PAT, pat);
    if (!tap_check(vector == FAULT_NONE && read_back == with_wc, "msr: PAT valid write round-trips"))
        tap_diag("wrote 0x%lx (%s), read 0x%lx", with_wc, fault_name(vector), read_back);

    uint64_t invalid = (pat & ~0xffull) | PAT_TYPE_RESERVED;
    vector = wrmsr_checked(MSR_IA32_PAT, invalid);
    uint64_t kept = rdmsr(MSR_IA32_PAT);
    if (vector == FAULT_NONE)
        wrmsr_checked(MSR_IA32_PAT, pat);
    if (!tap_check(vector == VEC_GP && kept == pat, "msr: PAT with reserved memory type 2 raises #GP, PAT unchanged"))
        tap_diag("got %s, PAT was 0x%lx now 0x%lx", fault_name(vector), pat, kept);
}

static void check_efer_nxe(void)
{
    if (cpuid(0x80000000u, 0).eax < 0x80000001u || !(cpuid(0x80000001u, 0).edx & CPUID80000001_EDX_NX)) {
        tap_skip("msr: EFER.NXE round-trips", "CPU has no NX");
        return;
    }
    uint64_t efer = rdmsr(MSR_IA32_EFER);
    int set_vector = wrmsr_checked(MSR_IA32_EFER, efer | EFER_NXE);
    uint64_t with_nx = rdmsr(MSR_IA32_EFER);
    int clear_vector = wrmsr_checked(MSR_IA32_EFER, efer & ~EFER_NXE);
    uint64_t without_nx = rdmsr(MSR_IA32_EFER);
    wrmsr_checked(MSR_IA32_EFER, efer);
    bool ok = set_vector == FAULT_NONE && clear_vector == FAULT_NONE && (with_nx & EFER_NXE) &&
              !(without_nx & EFER_NXE) && (with_nx | EFER_NXE) == (without_nx | EFER_NXE);
    if (!tap_check(ok, "msr: EFER.NXE round-trips"))
        tap_diag("EFER 0x%lx, with NXE 0x%lx (%s), without 0x%lx (%s)", efer, with_nx,
                 fault_name(set_vector), without_nx, fault_name(clear_vector));
}

void suite_msrs(const struct suite_env *env)
{
    (void)env;
    check_refused_read(MSR_UNKNOWN, "unknown MSR");
    int vector = wrmsr_checked(MSR_UNKNOWN, 0x1234);
    if (!tap_check(vector == VEC_GP, "msr: unknown MSR write (0x%x) raises #GP", MSR_UNKNOWN))
        tap_diag("got %s", fault_name(vector));
    check_refused_read(MSR_VMX_FIRST, "IA32_VMX_BASIC");

    unsigned refused = 0;
    uint32_t accepted = 0;
    for (uint32_t msr = MSR_VMX_FIRST; msr <= MSR_VMX_LAST; msr++) {
        uint64_t value;
        if (rdmsr_checked(msr, &value) == VEC_GP)
            refused++;
        else
            accepted = msr;
    }
    if (!tap_check(refused == MSR_VMX_LAST - MSR_VMX_FIRST + 1, "msr: every VMX MSR 0x480-0x491 read raises #GP"))
        tap_diag("%u refused, 0x%x was readable", refused, accepted);

    check_efer_nxe();
    check_pat();

    uint64_t apic_base = 0;
    vector = rdmsr_checked(MSR_IA32_APIC_BASE, &apic_base);
    if (!tap_check(vector == FAULT_NONE && apic_base == APIC_BASE_EXPECTED, "msr: APIC base reads 0x%llx", APIC_BASE_EXPECTED))
        tap_diag("read 0x%lx (%s)", apic_base, fault_name(vector));

    uint64_t mtrr_cap = 0;
    vector = rdmsr_checked(MSR_IA32_MTRRCAP, &mtrr_cap);
    if (!tap_check(vector == FAULT_NONE && mtrr_cap == MTRR_CAP_EXPECTED, "msr: MTRRcap reads 0x%llx", MTRR_CAP_EXPECTED))
        tap_diag("read 0x%lx (%s)", mtrr_cap, fault_name(vector));
}
