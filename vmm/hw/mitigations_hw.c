/* Reads what the CPU says about its side-channel exposure and decides the mitigations once at
 * boot (see mitigations.h). Touches IA32_ARCH_CAPABILITIES only when CPUID advertises it: an
 * RDMSR of a missing MSR is a #GP in root mode, which halts the machine. */
#include "hw/mitigations.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "x86.h"

struct mitigations mitigations_active;

void mitigations_init(void)
{
    struct cpu_security_facts f = { 0 };
    uint32_t r[4];
    cpuid(0, 0, r);
    const uint32_t max_leaf = r[0];
    /* "GenuineIntel" in EBX, EDX, ECX */
    f.intel = r[1] == 0x756e6547 && r[3] == 0x49656e69 && r[2] == 0x6c65746e;
    if (max_leaf >= 7) {
        cpuid(7, 0, r);
        f.cpuid7_ebx = r[1];
        f.cpuid7_edx = r[3];
    }
    if (f.cpuid7_edx & CPUID7_EDX_ARCH_CAPABILITIES)
        f.arch_capabilities = rdmsr(MSR_IA32_ARCH_CAPABILITIES);
    mitigations_decide(&f, &mitigations_active);
    char line[400];
    mitigations_describe(&mitigations_active, line, sizeof(line));
    log_printf("tessera: side-channel mitigations: %s\n", line);
}
