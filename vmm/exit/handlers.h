/* Every VM-exit handler. Contract (one for all): a handler is called with the vCPU that exited,
 * whose VMCS is current; it reads what it needs through vmcs_read() and reaches its machine
 * (memory, devices, outcome) through vcpu->vm. It returns an enum exit_result saying what the
 * dispatcher does next (see guest/vcpu.h). A handler never advances RIP itself, ends a guest
 * only through vm_end/vm_stop on its VM, and never returns to a VM it has stopped. */
#ifndef TESSERA_EXIT_HANDLERS_H
#define TESSERA_EXIT_HANDLERS_H

#include <stdint.h>
#include "guest/vm.h"

/* CPUID policy: computed once from the host CPU at boot, the same CPU model for every guest and
 * for the life of each guest. */
void cpuid_policy_init(uint64_t tsc_khz);
/* The same from another source of raw CPUID answers (host tests feed recorded CPU dumps). */
typedef void (*cpuid_source_fn)(uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
void cpuid_policy_init_from(cpuid_source_fn source, uint64_t tsc_khz);
/* The CPU model: the filtered answer for (leaf, subleaf) with IA32_MISC_ENABLE as at reset. What
 * a vCPU implements; checks of CR4, XCR0 and MSR values use it (limiting CPUID maxval hides
 * leaves from the guest, not features from the CPU). */
void cpuid_guest_view(unsigned guest_id, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* What the guest's CPUID instruction returns now: the model as the guest's IA32_MISC_ENABLE
 * shapes it (limit CPUID maxval, XD disable), plus the bits the CPU derives from CR4 and XCR0.
 * Reads the guest's CR4, so its VMCS must be current. */
void cpuid_guest_answer(const struct vcpu *v, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);
/* The guest's physical-address width as its CPUID reports it (36 when not reported): the
 * reserved-bit checks of CR3, PAT, MTRR and APIC-base values use it. */
unsigned cpuid_guest_maxphyaddr(unsigned guest_id);

/* Initial values of the emulated MSRs (APIC base, MTRRs, ...) for a fresh vcpu. */
void msr_vcpu_init(struct vcpu *v);
/* Fill a 4 KiB MSR bitmap: 1 bits exit. Only MSRs safe to pass through are cleared. */
void msr_bitmap_init(uint8_t *bitmap);

/* CR0/CR4: the guest/host masks and initial shadows, from the VMX fixed-bit MSRs. */
struct cr_policy {
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t cr0_mask, cr4_mask;   /* bits owned by Tessera: guest writes exit, reads see shadow */
};
void cr_policy_init(struct cr_policy *p, uint64_t cr0_fixed0, uint64_t cr0_fixed1,
                    uint64_t cr4_fixed0, uint64_t cr4_fixed1, int unrestricted_guest);
extern struct cr_policy cr_policy;
/* Set a guest's CR0/CR4 to what it asked for (guest view), applying the fixed bits underneath. */
void cr_set_guest_cr0(uint64_t value);
void cr_set_guest_cr4(uint64_t value);

enum exit_result exit_handle_cpuid(struct vcpu *v);
enum exit_result exit_handle_cr_access(struct vcpu *v);
enum exit_result exit_handle_io(struct vcpu *v);
/* String I/O elements one exit moves at most: a REP resumes with RIP on the instruction. Under
 * Bochs an emulated element costs about 1 us, so 4096 held one exit for 3.9 ms, most of a
 * 10 ms slice; 256 keep it near a quarter of a millisecond. */
#define IO_REP_BATCH 256
enum exit_result exit_handle_rdmsr(struct vcpu *v);
enum exit_result exit_handle_wrmsr(struct vcpu *v);
enum exit_result exit_handle_xsetbv(struct vcpu *v);
enum exit_result exit_handle_ept_violation(struct vcpu *v);
enum exit_result exit_handle_ept_misconfig(struct vcpu *v);
enum exit_result exit_handle_hlt(struct vcpu *v);
enum exit_result exit_handle_vmcall(struct vcpu *v);
enum exit_result exit_handle_invd_wbinvd(struct vcpu *v);
enum exit_result exit_handle_vmx_instruction(struct vcpu *v);
enum exit_result exit_handle_rdpmc(struct vcpu *v);
enum exit_result exit_handle_pause(struct vcpu *v);
enum exit_result exit_handle_exception_nmi(struct vcpu *v);
enum exit_result exit_handle_event_window(struct vcpu *v);   /* interrupt- and NMI-window exits */
enum exit_result exit_handle_external_interrupt(struct vcpu *v);
enum exit_result exit_handle_triple_fault(struct vcpu *v);
enum exit_result exit_handle_preemption_timer(struct vcpu *v);
enum exit_result exit_handle_init_signal(struct vcpu *v);

/* Dispatch one exit for the vCPU whose VMCS is current: counts it, calls the handler from the table, advances
 * RIP where asked. Unknown reasons stop its VM with a register dump. */
enum exit_result exit_dispatch(struct vcpu *v, uint32_t exit_reason);

#endif
