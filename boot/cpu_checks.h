/* The loader's direct CPU probes: CPUID for VMX and the IA32_FEATURE_CONTROL lock. The decision
 * (refuse, or enable VMX later) is separate from the single write that acts on it, so a refusal
 * leaves the machine exactly as the firmware left it. */
#ifndef TESSERA_BOOT_CPU_CHECKS_H
#define TESSERA_BOOT_CPU_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#define MSR_IA32_FEATURE_CONTROL       0x3A
#define FEATURE_CONTROL_LOCK           (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

enum feature_control_state {
    FEATURE_CONTROL_READY,        /* locked with VMX enabled: nothing to do */
    FEATURE_CONTROL_NEEDS_ENABLE, /* unlocked: the loader sets VMX and locks, once all checks pass */
    FEATURE_CONTROL_DISABLED,     /* locked without VMX: only the firmware setup can change it */
};

bool cpu_has_vmx(void);
uint64_t cpu_rdmsr(uint32_t msr);
enum feature_control_state cpu_feature_control_state(void);
/* Enable VMX outside SMX and lock IA32_FEATURE_CONTROL (only for FEATURE_CONTROL_NEEDS_ENABLE). */
void cpu_feature_control_enable(void);

#endif
