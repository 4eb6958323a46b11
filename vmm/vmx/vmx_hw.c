/* Entering VMX root operation and creating VMCSs (see vmx_hw.h). */
#include "arch/cpu.h"
#include "hw/portio.h"
#include "lib/log.h"
#include "mem/page_alloc.h"
#include "vmx/vmcs.h"
#include "vmx/vmx_hw.h"

struct vmx_host vmx_host;

bool vmx_enable(char *why, size_t why_len)
{
    const struct vmx_caps *c = &vmx_host.caps;
    /* VMXON requires CR0/CR4 to honour the fixed bits (CR4.VMXE among them). */
    write_cr0((read_cr0() | c->cr0_fixed0) & c->cr0_fixed1);
    write_cr4((read_cr4() | c->cr4_fixed0 | (1u << 13)) & c->cr4_fixed1);
    uint32_t *region = page_alloc(1);
    if (!region) {
        fmt_snprintf(why, why_len, "out of memory for the VMXON region");
        return false;
    }
    region[0] = vmx_host.controls.vmcs_revision;
    int rc = vmxon((uint64_t)region);
    if (rc) {
        fmt_snprintf(why, why_len, "VMXON failed (%s)", rc == 2 ? "VMfailInvalid" : "VMfailValid");
        return false;
    }
    /* Nothing cached from before Tessera may be used for any guest. */
    if (c->ept_vpid & EPT_CAP_INVEPT_ALL)
        invept(2, 0);
    if (vmx_host.controls.has_vpid && (c->ept_vpid & VPID_CAP_INVVPID_ALL))
        invvpid(2, 0);
    return true;
}

bool vmx_vmcs_create(struct vcpu *v)
{
    uint32_t *vmcs = page_alloc(1);
    if (!vmcs)
        return false;
    vmcs[0] = vmx_host.controls.vmcs_revision;
    v->vmcs = vmcs;
    v->vmcs_pa = (uint64_t)vmcs;
    return vmclear(v->vmcs_pa) == 0 && vmptrld(v->vmcs_pa) == 0;
}
