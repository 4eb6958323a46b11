/* The VMCS Tessera builds for a new guest must pass every VM-entry check the explainer knows,
 * with the CR policy and controls computed from realistic capability MSRs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "exit/handlers.h"
#include "skylake_caps.h"
#include "soft_vmcs.h"
#include "vmx/entry_check.h"
#include "vmx/vmcs.h"
#include "vmx/vmcs_init.h"

static struct vmx_caps caps;
static struct vmx_controls controls;

static void setup(void)
{
    skylake_caps(&caps);
    char why[200];
    assert_true(vmx_controls_compute(&caps, &controls, why, sizeof(why)));
    cr_policy_init(&cr_policy, caps.cr0_fixed0, caps.cr0_fixed1, caps.cr4_fixed0, caps.cr4_fixed1, 1);
    soft_vmcs_reset();
    struct host_state host = {
        .cr0 = 0x80050033, .cr3 = 0x1000, .cr4 = 0x2020 | (1u << 18), .gdtr_base = 0x2000, .idtr_base = 0x2800,
        .tr_base = 0x3000, .efer = 0xd00, .pat = 0x0007040600070406ull, .rip = 0x401000,
        .cs_sel = 0x08, .ds_sel = 0x10, .tr_sel = 0x18,
    };
    vmcs_init_host(&host);
    vmcs_write(VMCS_HOST_RSP, 0x7ff000); /* written by vmx_enter on the machine */
}

static void initial_protected_mode_state_is_valid(void **state)
{
    (void)state;
    setup();
    struct guest_vmcs_params p = { &controls, 1, 0x5000 | 6 | (3 << 3), 0x6000, 0x100000, 0x2BADB002, 0x9000 };
    vmcs_init_guest(&p);
    char why[200];
    bool complaint = vmx_explain_entry_failure(&caps, why, sizeof(why));
    if (complaint)
        print_message("unexpected complaint: %s\n", why);
    assert_false(complaint);
    /* What the protocols promise the kernel */
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), 0x100000);
    assert_int_equal(vmcs_read(VMCS_CR0_READ_SHADOW) & 0x80000001, 1); /* PE on, PG off as seen */
    assert_int_equal(vmcs_read(VMCS_CR4_READ_SHADOW) & (1u << 13), 0);  /* VMXE invisible */
    assert_true(vmcs_read(VMCS_GUEST_CR4) & (1u << 13));                /* but set underneath */
    assert_int_equal(vmcs_read(VMCS_GUEST_CS_AR), 0xC09B);
    assert_int_equal(vmcs_read(VMCS_LINK_POINTER), ~0ull);
    assert_int_equal(vmcs_read(VMCS_ENTRY_CONTROLS) & ENTRY_IA32E_MODE_GUEST, 0);
    assert_int_equal(vmcs_read(VMCS_VPID), 1);
}

static void no_vpid_means_vpid_control_off(void **state)
{
    (void)state;
    setup();
    struct guest_vmcs_params p = { &controls, 0, 0x5000 | 6 | (3 << 3), 0x6000, 0x100000, 0, 0x9000 };
    vmcs_init_guest(&p);
    assert_int_equal(vmcs_read(VMCS_PROC_CONTROLS2) & PROC2_ENABLE_VPID, 0);
    char why[200];
    assert_false(vmx_explain_entry_failure(&caps, why, sizeof(why)));
}

/* The guest's DR7 and IA32_DEBUGCTL live in the VMCS: loaded at entry and saved at exit, so a
 * breakpoint the guest arms survives every exit. They start at their reset values. */
static void debug_state_is_held_by_the_vmcs(void **state)
{
    (void)state;
    setup();
    struct guest_vmcs_params p = { &controls, 1, 0x5000 | 6 | (3 << 3), 0x6000, 0x100000, 0, 0x9000 };
    vmcs_init_guest(&p);
    assert_true(vmcs_read(VMCS_ENTRY_CONTROLS) & ENTRY_LOAD_DEBUG_CONTROLS);
    assert_true(vmcs_read(VMCS_EXIT_CONTROLS) & EXIT_SAVE_DEBUG_CONTROLS);
    assert_int_equal(vmcs_read(VMCS_GUEST_DR7), DR7_INIT);
    assert_true(soft_vmcs_written(VMCS_GUEST_DEBUGCTL));
    assert_int_equal(vmcs_read(VMCS_GUEST_DEBUGCTL), 0);
    /* DR0-DR3/DR6 are switched by the run loop, so MOV DR runs natively; RDPMC must exit. */
    assert_int_equal(vmcs_read(VMCS_PROC_CONTROLS) & PROC_MOV_DR_EXITING, 0);
    assert_true(vmcs_read(VMCS_PROC_CONTROLS) & PROC_RDPMC_EXITING);
    char why[200];
    assert_false(vmx_explain_entry_failure(&caps, why, sizeof(why)));
    /* A DR7 with bits 63:32 set would fail entry now that it is loaded: the checker sees it. */
    vmcs_write(VMCS_GUEST_DR7, 1ull << 32 | DR7_INIT);
    assert_true(vmx_explain_entry_failure(&caps, why, sizeof(why)));
    assert_non_null(strstr(why, "DR7"));
}

/* A #AC or #DB raised while the CPU delivers the same exception (a misaligned stack with
 * EFLAGS.AC at CPL 3, a data breakpoint on the IDT or the stack) loops inside the CPU's event
 * delivery, where no VM exit and no preemption timer can end it (CVE-2015-5307, CVE-2015-8104):
 * both must exit so the hypervisor keeps the CPU. */
static void benign_exception_loops_cannot_hold_the_cpu(void **state)
{
    (void)state;
    setup();
    struct guest_vmcs_params p = { &controls, 1, 0x5000 | 6 | (3 << 3), 0x6000, 0x100000, 0, 0x9000 };
    vmcs_init_guest(&p);
    uint64_t bitmap = vmcs_read(VMCS_EXCEPTION_BITMAP);
    assert_true(bitmap & (1u << VEC_AC));
    assert_true(bitmap & (1u << VEC_DB));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(initial_protected_mode_state_is_valid),
        cmocka_unit_test(no_vpid_means_vpid_control_off),
        cmocka_unit_test(debug_state_is_held_by_the_vmcs),
        cmocka_unit_test(benign_exception_loops_cannot_hold_the_cpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
