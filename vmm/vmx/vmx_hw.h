/* VMX on the machine: entering VMX root operation, creating VMCSs, running guests. */
#ifndef TESSERA_VMX_HW_H
#define TESSERA_VMX_HW_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/vm.h"
#include "vmx/caps.h"

struct vmx_host {
    struct vmx_caps caps;
    struct vmx_controls controls;
    uint64_t tsc_khz;
    uint64_t slice_tsc;          /* one time slice in TSC ticks */
    uint64_t msr_bitmap_pa;
    bool has_xsave, has_rdtscp;
    uint32_t xsave_size;         /* bytes of each guest's extended-state area */
    uint64_t host_xcr0;          /* XCR0 while switching: every component a guest can reach */
};

extern struct vmx_host vmx_host;

/* CR0/CR4 fixed bits, VMXON. Returns false with a reason. */
bool vmx_enable(char *why, size_t why_len);
/* Allocate, clear and load a VMCS for v. */
bool vmx_vmcs_create(struct vcpu *v);
/* Run every VM to its end, all their vCPUs round robin. */
void vmx_run_guests(struct vm *vms, unsigned count);

/* entry.S */
int vmx_enter(struct vcpu *v, int launched);
void vmx_exit(void);

#endif
