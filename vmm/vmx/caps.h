/* What the CPU's VMX capability MSRs allow, what Tessera requires of them, and the control
 * values computed from them (never hard-coded). Pure: MSR values in, decisions out. Used by the
 * loader (to refuse cleanly before touching anything) and by the hypervisor. */
#ifndef TESSERA_VMX_CAPS_H
#define TESSERA_VMX_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmx_caps {
    uint64_t basic, misc, pin, proc, proc2, exit, entry, ept_vpid;
    uint64_t true_pin, true_proc, true_exit, true_entry;     /* 0 when not offered */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

/* Read all capability MSRs through rdmsr (a function pointer, so tests pass a fake).
 * Reads 0x48B/0x48C only when allowed, true controls only when IA32_VMX_BASIC bit 55 says so. */
void vmx_caps_read(struct vmx_caps *c, uint64_t (*rdmsr)(uint32_t msr));

/* Returns true when every capability Tessera needs is present; otherwise false and a
 * one-line human-readable reason naming the first missing capability in why. */
bool vmx_caps_check(const struct vmx_caps *c, char *why, size_t why_len);

struct vmx_controls {
    uint32_t pin, proc, proc2, exit, entry;
    bool has_vpid;
    bool has_pause_exiting;            /* may be turned on at run time (device work pending) */
    bool has_2mb_pages;
    bool save_preemption_timer;
    unsigned preemption_timer_shift;   /* timer ticks = TSC >> shift (IA32_VMX_MISC[4:0]) */
    uint32_t vmcs_revision;
    uint32_t vmcs_size;
};

/* Compute the control values: wanted bits, plus bits the CPU forces to 1, minus bits it forces
 * to 0. Returns false (and a reason) when a required bit cannot be set or an unwanted bit
 * cannot be cleared. */
bool vmx_controls_compute(const struct vmx_caps *c, struct vmx_controls *out, char *why, size_t why_len);

#endif
