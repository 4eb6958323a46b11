/* CPUID-exit benchmark: N CPUID(0) between two RDTSCs (each one a VM exit under Tessera), then
 * the cost per exit in TSC ticks and, when Tessera reports the TSC rate, exits per second.
 * Command line: iterations=N (default 1000000). */
#include "boot.h"
#include "console.h"
#include "cpu.h"
#include "hcall.h"

#define DEFAULT_ITERATIONS 1000000ull

void guest_main(const struct boot_info *boot)
{
    uint64_t n = cmdline_number(boot, "iterations", DEFAULT_ITERATIONS);
    if (n == 0)
        n = 1;
    /* The same loop without CPUID: what the guest itself spends per iteration. */
    uint64_t start = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
        asm volatile("" : "+a"(eax), "+b"(ebx), "+c"(ecx), "+d"(edx) :: "memory");
    }
    uint64_t baseline = rdtsc() - start;

    start = rdtsc();
    for (uint64_t i = 0; i < n; i++) {
        uint32_t eax = 0, ebx, ecx = 0, edx;
        asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx) :: "memory");
    }
    uint64_t delta = rdtsc() - start;

    uint64_t tenths = delta / n * 10 + (delta % n) * 10 / n;
    uint64_t loop_tenths = baseline / n * 10 + (baseline % n) * 10 / n;
    uint64_t exit_tenths = tenths > loop_tenths ? tenths - loop_tenths : 0;
    console_printf("bench: cpuid iterations=%lu tsc_delta=%lu tsc_per_exit=%lu.%lu\n", n, delta, tenths / 10,
                   tenths % 10);
    console_printf("bench: cpuid guest_loop_tsc=%lu.%lu exit_round_trip_tsc=%lu.%lu\n", loop_tenths / 10,
                   loop_tenths % 10, exit_tenths / 10, exit_tenths % 10);

    uint64_t khz = hv_tsc_khz();
    if (khz != 0 && delta != 0) {
        uint64_t ticks_per_second = khz * 1000;
        uint64_t per_second = n <= UINT64_MAX / ticks_per_second ? n * ticks_per_second / delta
                                                                  : ticks_per_second / (delta / n ? delta / n : 1);
        console_printf("bench: cpuid exits_per_second=%lu\n", per_second);
    }
    guest_exit(0);
}
