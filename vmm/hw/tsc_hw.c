/* TSC frequency: from CPUID 0x15/0x16 when the PIT confirms it, else measured against PIT
 * channel 2. The cross-check matters because emulators report a real CPU's CPUID frequency
 * while their TSC counts emulated instructions (Bochs: 3.5 GHz in leaf 0x16, TSC at `ips`). */
#include <stdint.h>
#include "hw/platform.h"
#include "hw/portio.h"
#include "lib/log.h"

#define PIT_HZ          1193182u
#define PIT_CH2_DATA    0x42
#define PIT_COMMAND     0x43
#define PIT_CH2_MODE0   0xB0   /* channel 2, low byte then high byte, mode 0, binary */

#define PORT_B          0x61
#define PORTB_GATE2     0x01
#define PORTB_SPEAKER   0x02
#define PORTB_NMI_BITS  0x0C   /* parity/channel check enables: keep as found */
#define PORTB_OUT2      0x20

#define CALIBRATE_MS    10
#define PIT_COUNT       (PIT_HZ * CALIBRATE_MS / 1000)
/* ~10k port reads cover 10 ms on hardware, a few 100k under Bochs; a PIT that never fires
 * (absent, clock-gated) costs at most this many reads, once. */
#define PIT_POLL_LIMIT  2000000u
#define PIT_RUNS        3
#define AGREEMENT_PCT   10
#define GUESS_KHZ       2000000u

static uint64_t tsc_khz_from_cpuid(const char **method)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    if (max_leaf >= 0x15) {
        cpuid(0x15, 0, r);   /* EAX denominator, EBX numerator, ECX crystal Hz (0 = not given) */
        if (r[0] && r[1] && r[2]) {
            *method = "CPUID 0x15 crystal ratio, confirmed by the PIT";
            return (uint64_t)r[2] * r[1] / r[0] / 1000;
        }
    }
    if (max_leaf >= 0x16) {
        cpuid(0x16, 0, r);
        uint32_t base_mhz = r[0] & 0xFFFF;
        if (base_mhz) {
            *method = "CPUID 0x16 base frequency, confirmed by the PIT";
            return (uint64_t)base_mhz * 1000;
        }
    }
    return 0;
}

/* TSC ticks while PIT channel 2 counts PIT_COUNT down in mode 0; 0 when OUT2 misbehaves. */
static uint64_t pit_window_tsc_ticks(void)
{
    uint8_t saved = inb(PORT_B);
    uint8_t keep = saved & PORTB_NMI_BITS;
    outb(PORT_B, keep | PORTB_GATE2);          /* gate on, speaker disconnected */
    outb(PIT_COMMAND, PIT_CH2_MODE0);
    outb(PIT_CH2_DATA, PIT_COUNT & 0xFF);
    outb(PIT_CH2_DATA, PIT_COUNT >> 8);
    uint64_t start = rdtsc();
    uint64_t ticks = 0;
    /* OUT2 must be low while counting: high right away means no PIT (the port reads 0xFF) or
     * one that does not count. Emulators derive OUT from the last count load, so only test
     * it after the count is written. */
    if (!(inb(PORT_B) & PORTB_OUT2)) {
        for (uint32_t i = 0; i < PIT_POLL_LIMIT; i++) {
            if (inb(PORT_B) & PORTB_OUT2) {
                ticks = rdtsc() - start;
                break;
            }
        }
    }
    outb(PORT_B, keep | (saved & PORTB_GATE2));
    return ticks;
}

static uint64_t tsc_khz_from_pit(void)
{
    uint64_t best = 0;
    for (int run = 0; run < PIT_RUNS; run++) {
        uint64_t ticks = pit_window_tsc_ticks();
        if (ticks == 0)
            return 0;
        /* The shortest window is the one an SMI or emulator hiccup did not stretch. */
        if (best == 0 || ticks < best)
            best = ticks;
    }
    /* Mode 0 raises OUT N+1 PIT clocks after the count N is written (8254 data sheet). */
    return best * PIT_HZ / ((uint64_t)(PIT_COUNT + 1) * 1000);
}

static int agrees(uint64_t a, uint64_t b)
{
    uint64_t diff = a > b ? a - b : b - a;
    return diff * 100 <= b * AGREEMENT_PCT;
}

uint64_t tsc_calibrate_khz(void)
{
    const char *cpuid_method = "";
    uint64_t cpuid_khz = tsc_khz_from_cpuid(&cpuid_method);
    uint64_t pit_khz = tsc_khz_from_pit();
    uint64_t khz;
    const char *method;

    if (cpuid_khz && pit_khz && agrees(cpuid_khz, pit_khz)) {
        khz = cpuid_khz;
        method = cpuid_method;
    } else if (pit_khz) {
        if (cpuid_khz)
            log_printf("tessera: CPUID says the TSC runs at %llu kHz but the PIT disagrees\n",
                       (unsigned long long)cpuid_khz);
        khz = pit_khz;
        method = "measured against the PIT";
    } else if (cpuid_khz) {
        khz = cpuid_khz;
        method = "from CPUID; the PIT did not respond, so unconfirmed";
    } else {
        khz = GUESS_KHZ;
        method = "a guess: no CPUID frequency leaf and the PIT did not respond";
    }
    log_printf("tessera: TSC runs at %llu kHz (%s)\n", (unsigned long long)khz, method);
    return khz;
}
