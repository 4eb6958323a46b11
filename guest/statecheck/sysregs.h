/* The system registers statecheck owns besides the extended state: DR0-DR3, DR6, DR7, CR2, CR8
 * and the MSRs a guest kernel keeps its own values in (FS/GS/KERNEL_GS base, SYSCALL and
 * SYSENTER MSRs, TSC_AUX, SPEC_CTRL where CPUID offers them). Each has its architectural
 * value after reset and a per-guest pattern. */
#ifndef STATECHECK_SYSREGS_H
#define STATECHECK_SYSREGS_H

#include <stdbool.h>
#include "diff.h"

enum sysreg_group {
    SG_DR0_3, SG_DR6, SG_DR7, SG_CR2, SG_CR8, SG_SEGMENT_BASES, SG_SYSCALL, SG_SYSENTER, SG_TSC_AUX,
    SG_SPEC_CTRL, SG_COUNT
};

/* "DR0-DR3", ..., and the reset values as the check names them ("0", "0xFFFF0FF0", ...). */
extern const char *const sysreg_group_name[SG_COUNT];
extern const char *const sysreg_group_reset_text[SG_COUNT];

/* Whether the CPU (as CPUID describes it) has the group's registers. */
bool sysreg_group_present(enum sysreg_group group);

/* Reads every register and compares it with its value after reset (reset = true) or with
 * this guest's pattern; a read that faults counts as wrong. */
void sysregs_compare(bool reset, unsigned guest, struct diff diffs[SG_COUNT]);

/* Writes this guest's pattern into every register (DR7 last: it arms the breakpoints, on
 * addresses nothing touches); a write that faults is noted in the group's diff. */
void sysregs_fill(unsigned guest, struct diff diffs[SG_COUNT]);

/* DR7 = 0x400 and DR0-DR3 = 0: no breakpoint armed. */
void sysregs_disarm(void);

#endif
