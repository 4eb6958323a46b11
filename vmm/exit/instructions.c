/* Instructions a guest may not execute natively and that need no device model: cache
 * invalidation, RDPMC, and the VMX/SMX/MONITOR family, which Tessera hides from guests. */
#include "exit/handlers.h"

enum exit_result exit_handle_invd_wbinvd(struct vcpu *v)
{
    /* Guest RAM is write-back and coherent; INVD must not discard the host's dirty lines, and
     * WBINVD would stall every guest for a guest that has no non-coherent device. */
    (void)v;
    return EXIT_ADVANCE;
}

enum exit_result exit_handle_vmx_instruction(struct vcpu *v)
{
    /* CPUID says these do not exist, so they behave as on a CPU without them. */
    return vcpu_inject_exception(v, VEC_UD, false, 0);
}

enum exit_result exit_handle_pause(struct vcpu *v)
{
    /* PAUSE exits only while the VM has device work pending: a guest spinning in a polling loop
     * is waiting for that work, so the run loop gives it the rest of the slice. */
    v->waits_for_device = true;
    return EXIT_ADVANCE;
}

enum exit_result exit_handle_rdpmc(struct vcpu *v)
{
    /* CPUID leaf 0xA reports no performance counters, so every counter index is invalid: the
     * CPU raises #GP(0) for that, and for CPL > 0 with CR4.PCE clear, alike. The host's counters
     * would otherwise tell one guest about another's execution. */
    return vcpu_inject_exception(v, VEC_GP, true, 0);
}
