/* Fills a fresh VMCS: controls, host state and the initial guest state both boot protocols
 * specify (32-bit protected mode, paging off, flat segments). Pure: only vmcs_write. */
#ifndef TESSERA_VMCS_INIT_H
#define TESSERA_VMCS_INIT_H

#include <stdint.h>
#include "vmx/caps.h"

struct host_state {
    uint64_t cr0, cr3, cr4;
    uint64_t gdtr_base, idtr_base, tr_base;
    uint64_t efer, pat;
    uint64_t rip;                /* vmx_exit */
    uint16_t cs_sel, ds_sel, tr_sel;
};

struct guest_vmcs_params {
    const struct vmx_controls *controls;
    uint16_t vpid;               /* 0 = VPID not used */
    uint64_t eptp;
    uint64_t msr_bitmap_pa;
    uint32_t eip, eax, ebx;      /* protocol entry state */
};

void vmcs_init_host(const struct host_state *h);
void vmcs_init_guest(const struct guest_vmcs_params *p);

#endif
