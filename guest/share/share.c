/* share: a compute-only guest that measures its own share of the CPU (lib/cpu_share.h: RDTSC
 * in a tight loop, gaps count as time it did not run) and checks it against the fair share 1/N
 * of N runnable guests, within 20%. The other guests of the scenario must stay runnable for the
 * whole window (warmup + window), so that 1/N is the fair share.
 *
 * Command line: share_of=N (default 2), warmup_ms=, window_ms=, gap_us=, tolerance_pct=
 * (defaults 300, 3000, 2000, 20). Output: the measurement line, one TAP check, "N passed,
 * M failed"; exit status 0 through port 0xF4 when the share was fair. */
#include "console.h"
#include "cpu_share.h"
#include "hcall.h"
#include "tap.h"

void guest_main(const struct boot_info *boot)
{
    uint64_t khz = hv_tsc_khz();
    if (khz == 0)
        tap_bail_out("share: the TSC rate is known (CPUID 0x40000010)", "no TSC rate from Tessera");
    struct cpu_share_params p;
    cpu_share_params_from_cmdline(boot, khz, &p);
    console_printf("share: measuring %lu ms after %lu ms of warm-up, fair share 1/%u\n", p.window_ms, p.warmup_ms,
                   p.share_of);
    struct cpu_share_result r;
    cpu_share_measure(&p, 0, &r);
    cpu_share_report("share", &p, &r);
    tap_finish();
}
