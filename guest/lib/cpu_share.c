/* The CPU-share measurement of cpu_share.h. */
#include "console.h"
#include "cpu.h"
#include "cpu_share.h"
#include "tap.h"

#define DEFAULT_WARMUP_MS 300u
#define DEFAULT_WINDOW_MS 3000u
#define DEFAULT_GAP_US    2000u
#define DEFAULT_SHARE_OF  2u
#define DEFAULT_TOLERANCE 20u

void cpu_share_params_from_cmdline(const struct boot_info *boot, uint64_t tsc_khz, struct cpu_share_params *p)
{
    p->tsc_khz = tsc_khz;
    p->warmup_ms = cmdline_number(boot, "warmup_ms", DEFAULT_WARMUP_MS);
    p->window_ms = cmdline_number(boot, "window_ms", DEFAULT_WINDOW_MS);
    p->gap_us = cmdline_number(boot, "gap_us", DEFAULT_GAP_US);
    uint64_t n = cmdline_number(boot, "share_of", DEFAULT_SHARE_OF);
    p->share_of = n >= 1 && n <= 1000 ? (unsigned)n : DEFAULT_SHARE_OF;
    uint64_t tol = cmdline_number(boot, "tolerance_pct", DEFAULT_TOLERANCE);
    p->tolerance_pct = tol <= 100 ? (unsigned)tol : DEFAULT_TOLERANCE;
}

void cpu_share_measure(const struct cpu_share_params *p, void (*work)(void), struct cpu_share_result *r)
{
    *r = (struct cpu_share_result){ .window_ticks = p->window_ms * p->tsc_khz };
    uint64_t gap = p->gap_us * p->tsc_khz / 1000;
    for (uint64_t until = rdtsc() + p->warmup_ms * p->tsc_khz; rdtsc() < until;) {
        if (work)
            work();
    }
    uint64_t start = rdtsc(), end = start + r->window_ticks, prev = start;
    for (;;) {
        if (work)
            work();
        uint64_t now = rdtsc();
        /* The part of a gap that lies past the window's end is not the window's. */
        uint64_t upto = now < end ? now : end;
        if (now - prev > gap && upto > prev) {
            uint64_t away = upto - prev;
            r->away_ticks += away;
            r->gaps++;
            if (away > r->longest_gap_ticks)
                r->longest_gap_ticks = away;
        }
        r->iterations++;
        if (now >= end)
            break;
        prev = now;
    }
    uint64_t ran = r->window_ticks > r->away_ticks ? r->window_ticks - r->away_ticks : 0;
    r->share_permille = r->window_ticks ? (unsigned)(ran * 1000 / r->window_ticks) : 0;
    r->fair_permille = 1000 / p->share_of;
}

bool cpu_share_report(const char *who, const struct cpu_share_params *p, const struct cpu_share_result *r)
{
    uint64_t longest_us = p->tsc_khz ? r->longest_gap_ticks * 1000 / p->tsc_khz : 0;
    console_printf("%s: ran %u.%u%% of a %lu ms window, fair share %u.%u%% (1/%u); %lu gaps over %lu us, "
                   "longest %lu.%03lu ms; %lu iterations\n",
                   who, r->share_permille / 10, r->share_permille % 10, p->window_ms, r->fair_permille / 10,
                   r->fair_permille % 10, p->share_of, r->gaps, p->gap_us, longest_us / 1000, longest_us % 1000,
                   r->iterations);
    unsigned tolerance = r->fair_permille * p->tolerance_pct / 100;
    unsigned low = r->fair_permille - tolerance, high = r->fair_permille + tolerance;
    bool ok = r->share_permille >= low && r->share_permille <= high;
    if (!tap_check(ok, "%s: its share of the CPU is within %u%% of the fair share 1/%u", who, p->tolerance_pct,
                   p->share_of))
        tap_diag("ran %u.%u%%, allowed %u.%u%% to %u.%u%%", r->share_permille / 10, r->share_permille % 10,
                 low / 10, low % 10, high / 10, high % 10);
    return ok;
}
