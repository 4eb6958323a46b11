/* exitstorm: a guest that does nothing but cause VM exits (CPUID, or reads of the emulated
 * UART's line status register, or both alternately) and measures its own share of the CPU the
 * way share.elf does. Tessera must charge the time spent on those exits to this guest's slice:
 * beside a compute guest both must get their fair share.
 *
 * Command line: exits=cpuid|lsr|both (default both), and share.elf's share_of=, warmup_ms=,
 * window_ms=, gap_us=, tolerance_pct=. Output: the measurement line, the exits caused, one TAP
 * check, "N passed, M failed"; exit status 0 when the share was fair. */
#include "console.h"
#include "cpu.h"
#include "cpu_share.h"
#include "hcall.h"
#include "tap.h"

#define UART_LSR (PORT_COM1 + 5)

static uint64_t exits;
static unsigned mode;                 /* bit 0: CPUID, bit 1: LSR read */

static void cause_exits(void)
{
    if (mode & 1) {
        struct cpuid_regs r = cpuid(0, 0);
        asm volatile("" :: "r"(r.eax));
        exits++;
    }
    if (mode & 2) {
        asm volatile("" :: "r"(inb(UART_LSR)));
        exits++;
    }
}

void guest_main(const struct boot_info *boot)
{
    uint64_t khz = hv_tsc_khz();
    if (khz == 0)
        tap_bail_out("exitstorm: the TSC rate is known (CPUID 0x40000010)", "no TSC rate from Tessera");
    char which[8];
    cmdline_string(boot, "exits", which, sizeof(which));
    mode = which[0] == 'c' ? 1 : which[0] == 'l' ? 2 : 3;
    struct cpu_share_params p;
    cpu_share_params_from_cmdline(boot, khz, &p);
    console_printf("exitstorm: %s exits for %lu ms after %lu ms of warm-up, fair share 1/%u\n",
                   mode == 1 ? "CPUID" : mode == 2 ? "UART LSR read" : "CPUID and UART LSR read", p.window_ms,
                   p.warmup_ms, p.share_of);
    struct cpu_share_result r;
    cpu_share_measure(&p, cause_exits, &r);
    console_printf("exitstorm: %lu exits caused\n", exits);
    cpu_share_report("exitstorm", &p, &r);
    tap_finish();
}
