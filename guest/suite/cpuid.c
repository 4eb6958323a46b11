/* CPUID as Tessera presents it: a hypervisor, without VMX or SMX, with its own leaves. */
#include "cpu.h"
#include "hypercall.h"
#include "suite.h"
#include "tap.h"

#define CPUID1_ECX_VMX        (1u << 5)
#define CPUID1_ECX_SMX        (1u << 6)
#define REPEATS 64

static bool same(struct cpuid_regs a, struct cpuid_regs b)
{
    return a.eax == b.eax && a.ebx == b.ebx && a.ecx == b.ecx && a.edx == b.edx;
}

void suite_cpuid(const struct suite_env *env)
{
    struct cpuid_regs l1 = cpuid(1, 0);
    if (!tap_check(l1.ecx & CPUID1_ECX_HYPERVISOR, "cpuid: leaf 1 sets the hypervisor bit (ECX 31)"))
        tap_diag("ECX=0x%x", l1.ecx);
    if (!tap_check(!(l1.ecx & CPUID1_ECX_VMX), "cpuid: leaf 1 hides VMX (ECX 5)"))
        tap_diag("ECX=0x%x", l1.ecx);
    if (!tap_check(!(l1.ecx & CPUID1_ECX_SMX), "cpuid: leaf 1 hides SMX (ECX 6)"))
        tap_diag("ECX=0x%x", l1.ecx);

    struct cpuid_regs sig = cpuid(CPUID_LEAF_HV_SIGNATURE, 0);
    bool named = sig.ebx == CPUID_HV_SIGNATURE_EBX && sig.ecx == CPUID_HV_SIGNATURE_ECX &&
                 sig.edx == CPUID_HV_SIGNATURE_EDX;
    if (!tap_check(named, "cpuid: leaf 0x40000000 signature is \"TesseraVisor\""))
        tap_diag("EBX=0x%x ECX=0x%x EDX=0x%x", sig.ebx, sig.ecx, sig.edx);
    if (!tap_check(sig.eax >= CPUID_LEAF_HV_TIMING, "cpuid: leaf 0x40000000 max leaf >= 0x40000010"))
        tap_diag("EAX=0x%x", sig.eax);

    struct cpuid_regs info = cpuid(CPUID_LEAF_HV_INFO, 0);
    if (!tap_check(info.eax == HC_ABI_VERSION, "cpuid: leaf 0x40000001 EAX is ABI version %d", HC_ABI_VERSION))
        tap_diag("EAX=0x%x", info.eax);
    if (!tap_check(env->guest_id >= 0 && info.ebx == (uint64_t)env->guest_id,
                   "cpuid: leaf 0x40000001 EBX agrees with HC_GUEST_ID"))
        tap_diag("EBX=%u HC_GUEST_ID=%ld", info.ebx, env->guest_id);

    /* Leaf 1 EBX[31:24] is the initial APIC ID: constant for our one vCPU. */
    static const uint32_t leaves[] = { 0, 1, 7, 0x80000000u, 0x80000001u, CPUID_LEAF_HV_SIGNATURE, CPUID_LEAF_HV_INFO };
    unsigned differing = 0;
    uint32_t bad_leaf = 0;
    for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        struct cpuid_regs first = cpuid(leaves[i], 0);
        for (unsigned r = 0; r < REPEATS; r++) {
            if (!same(first, cpuid(leaves[i], 0))) {
                differing++;
                bad_leaf = leaves[i];
            }
        }
    }
    if (!tap_check(differing == 0, "cpuid: %d repeated queries of 7 leaves give the same answers", REPEATS))
        tap_diag("%u differing answers, last on leaf 0x%x", differing, bad_leaf);
}
