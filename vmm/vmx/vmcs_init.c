/* Initial VMCS contents (see vmcs_init.h). The values follow SDM 26.3 so that the first VM
 * entry passes every guest-state check; tests/unit/test_vmcs_init.c runs the entry checker on them. */
#include "exit/handlers.h"
#include "x86.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_init.h"

#define FLAT_CODE32_AR (AR_G | AR_DB | AR_P | AR_S | 0xB)   /* 0xC09B */
#define FLAT_DATA_AR   (AR_G | AR_DB | AR_P | AR_S | 0x3)   /* 0xC093 */
#define TSS32_BUSY_AR  (AR_P | 0xB)                         /* 0x008B */

void vmcs_init_host(const struct host_state *h)
{
    vmcs_write(VMCS_HOST_CR0, h->cr0);
    vmcs_write(VMCS_HOST_CR3, h->cr3);
    vmcs_write(VMCS_HOST_CR4, h->cr4);
    vmcs_write(VMCS_HOST_CS_SEL, h->cs_sel);
    vmcs_write(VMCS_HOST_SS_SEL, h->ds_sel);
    vmcs_write(VMCS_HOST_DS_SEL, h->ds_sel);
    vmcs_write(VMCS_HOST_ES_SEL, h->ds_sel);
    vmcs_write(VMCS_HOST_FS_SEL, h->ds_sel);
    vmcs_write(VMCS_HOST_GS_SEL, h->ds_sel);
    vmcs_write(VMCS_HOST_TR_SEL, h->tr_sel);
    vmcs_write(VMCS_HOST_FS_BASE, 0);
    vmcs_write(VMCS_HOST_GS_BASE, 0);
    vmcs_write(VMCS_HOST_TR_BASE, h->tr_base);
    vmcs_write(VMCS_HOST_GDTR_BASE, h->gdtr_base);
    vmcs_write(VMCS_HOST_IDTR_BASE, h->idtr_base);
    vmcs_write(VMCS_HOST_SYSENTER_CS, 0);
    vmcs_write(VMCS_HOST_SYSENTER_ESP, 0);
    vmcs_write(VMCS_HOST_SYSENTER_EIP, 0);
    vmcs_write(VMCS_HOST_EFER, h->efer);
    vmcs_write(VMCS_HOST_PAT, h->pat);
    vmcs_write(VMCS_HOST_RIP, h->rip);
}

static void set_segment(uint32_t sel_field, uint16_t sel, uint32_t ar)
{
    /* Selector, limit, AR and base fields of one segment are laid out at fixed distances. */
    uint32_t index = (sel_field - VMCS_GUEST_ES_SEL) / 2;
    vmcs_write(sel_field, sel);
    vmcs_write(VMCS_GUEST_ES_LIMIT + 2 * index, (ar & AR_UNUSABLE) ? 0 : 0xFFFFFFFFu);
    vmcs_write(VMCS_GUEST_ES_AR + 2 * index, ar);
    vmcs_write(VMCS_GUEST_ES_BASE + 2 * index, 0);
}

void vmcs_init_guest(const struct guest_vmcs_params *p)
{
    const struct vmx_controls *c = p->controls;
    vmcs_write(VMCS_PIN_CONTROLS, c->pin);
    vmcs_write(VMCS_PROC_CONTROLS, c->proc);
    vmcs_write(VMCS_PROC_CONTROLS2, c->proc2 & (p->vpid ? ~0u : ~PROC2_ENABLE_VPID));
    vmcs_write(VMCS_EXIT_CONTROLS, c->exit);
    vmcs_write(VMCS_ENTRY_CONTROLS, c->entry & ~ENTRY_IA32E_MODE_GUEST);
    /* Only #AC and #DB exit, to be reflected (exit/events.c): raised again while the CPU
     * delivers them, they would loop inside event delivery, where neither an exit nor the
     * preemption timer can end it and the whole machine hangs (CVE-2015-5307/8104). */
    vmcs_write(VMCS_EXCEPTION_BITMAP, (1u << VEC_AC) | (1u << VEC_DB));
    vmcs_write(VMCS_PF_ERROR_MASK, 0);
    vmcs_write(VMCS_PF_ERROR_MATCH, 0);
    vmcs_write(VMCS_CR3_TARGET_COUNT, 0);
    vmcs_write(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmcs_write(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmcs_write(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    vmcs_write(VMCS_TPR_THRESHOLD, 0);
    vmcs_write(VMCS_MSR_BITMAP, p->msr_bitmap_pa);
    vmcs_write(VMCS_EPT_POINTER, p->eptp);
    vmcs_write(VMCS_TSC_OFFSET, 0);
    if (p->vpid)
        vmcs_write(VMCS_VPID, p->vpid);
    vmcs_write(VMCS_LINK_POINTER, ~0ull);
    vmcs_write(VMCS_CR0_GUEST_HOST_MASK, cr_policy.cr0_mask);
    vmcs_write(VMCS_CR4_GUEST_HOST_MASK, cr_policy.cr4_mask);

    /* Both PVH and Multiboot: 32-bit protected mode, paging off, flat 4 GiB segments. */
    cr_set_guest_cr0(0x11); /* PE | ET */
    cr_set_guest_cr4(0);
    vmcs_write(VMCS_GUEST_CR3, 0);
    vmcs_write(VMCS_GUEST_DR7, DR7_INIT);       /* loaded at entry, saved at exit (debug controls) */
    vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
    vmcs_write(VMCS_GUEST_RIP, p->eip);
    vmcs_write(VMCS_GUEST_RSP, 0);
    set_segment(VMCS_GUEST_CS_SEL, 0x08, FLAT_CODE32_AR);
    set_segment(VMCS_GUEST_DS_SEL, 0x10, FLAT_DATA_AR);
    set_segment(VMCS_GUEST_ES_SEL, 0x10, FLAT_DATA_AR);
    set_segment(VMCS_GUEST_SS_SEL, 0x10, FLAT_DATA_AR);
    set_segment(VMCS_GUEST_FS_SEL, 0x10, FLAT_DATA_AR);
    set_segment(VMCS_GUEST_GS_SEL, 0x10, FLAT_DATA_AR);
    vmcs_write(VMCS_GUEST_LDTR_SEL, 0);
    vmcs_write(VMCS_GUEST_LDTR_LIMIT, 0);
    vmcs_write(VMCS_GUEST_LDTR_AR, AR_UNUSABLE);
    vmcs_write(VMCS_GUEST_LDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_TR_SEL, 0x18);
    vmcs_write(VMCS_GUEST_TR_LIMIT, 0x67);
    vmcs_write(VMCS_GUEST_TR_AR, TSS32_BUSY_AR);
    vmcs_write(VMCS_GUEST_TR_BASE, 0);
    vmcs_write(VMCS_GUEST_GDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_GDTR_LIMIT, 0);
    vmcs_write(VMCS_GUEST_IDTR_BASE, 0);
    vmcs_write(VMCS_GUEST_IDTR_LIMIT, 0x3FF);
    vmcs_write(VMCS_GUEST_EFER, 0);
    vmcs_write(VMCS_GUEST_PAT, 0x0007040600070406ull); /* the reset value */
    vmcs_write(VMCS_GUEST_DEBUGCTL, 0);         /* likewise */
    vmcs_write(VMCS_GUEST_SYSENTER_CS, 0);
    vmcs_write(VMCS_GUEST_SYSENTER_ESP, 0);
    vmcs_write(VMCS_GUEST_SYSENTER_EIP, 0);
    vmcs_write(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmcs_write(VMCS_GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
}
