/* How much of the CPU a guest gets: RDTSC in a loop over a window of TSC time; every gap
 * between two readings longer than a threshold is time the guest did not run (another guest
 * or the hypervisor had the CPU), the rest is its own. Shared by the share and exitstorm
 * guests, which compare the result with the fair share 1/N. */
#ifndef GUEST_CPU_SHARE_H
#define GUEST_CPU_SHARE_H

#include <stdbool.h>
#include <stdint.h>
#include "boot.h"

struct cpu_share_params {
    uint64_t tsc_khz;
    uint64_t warmup_ms;           /* wait this long first, so every guest is under way */
    uint64_t window_ms;
    uint64_t gap_us;              /* a longer gap between readings is time not running */
    unsigned share_of;            /* N: the fair share is 1/N */
    unsigned tolerance_pct;       /* allowed deviation, in percent of the fair share */
};

struct cpu_share_result {
    uint64_t window_ticks, away_ticks, gaps, longest_gap_ticks;
    uint64_t iterations;          /* loop iterations (each one work() call when given) */
    unsigned share_permille, fair_permille;
};

/* Defaults (warmup 300 ms, window 3000 ms, gap 2000 us, share_of 2, tolerance 20%) overridden
 * by warmup_ms=, window_ms=, gap_us=, share_of=, tolerance_pct= on the command line. */
void cpu_share_params_from_cmdline(const struct boot_info *boot, uint64_t tsc_khz, struct cpu_share_params *p);

/* Measures over the window; work (may be NULL) runs once per iteration between readings. */
void cpu_share_measure(const struct cpu_share_params *p, void (*work)(void), struct cpu_share_result *r);

/* Prints "<who>: ran ...% of a ... ms window, fair share ...%" and the TAP check of the
 * tolerance; returns whether it passed. */
bool cpu_share_report(const char *who, const struct cpu_share_params *p, const struct cpu_share_result *r);

#endif
