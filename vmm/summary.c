/* End-of-run summary table (see summary.h). */
#include "lib/log.h"
#include "summary.h"
#include "vmx/vmx_strings.h"

static void describe_result(const struct vm *vm, char *buf, size_t n)
{
    switch (vm->outcome) {
    case OUTCOME_EXIT_CODE:
        fmt_snprintf(buf, n, "exit status %u (%s)", vm->exit_code, vm->exit_code == 1 ? "success" : "failure");
        break;
    case OUTCOME_SHUTDOWN:
        fmt_snprintf(buf, n, "powered off (success)");
        break;
    case OUTCOME_STOPPED:
        fmt_snprintf(buf, n, "stopped: %s", vm->stop_reason);
        break;
    default:
        fmt_snprintf(buf, n, "did not end");
        break;
    }
}

/* TSC ticks as milliseconds with one decimal (truncated), e.g. "10.3". */
static void format_ms_tenths(uint64_t tsc, uint64_t tsc_khz, char *buf, size_t n)
{
    uint64_t tenths = tsc_khz ? tsc / tsc_khz * 10 + tsc % tsc_khz * 10 / tsc_khz : 0;
    fmt_snprintf(buf, n, "%llu.%llu", (unsigned long long)(tenths / 10), (unsigned long long)(tenths % 10));
}

unsigned summary_print(const struct vm *vms, unsigned count, uint64_t tsc_khz)
{
    unsigned failed = 0;
    log_printf("tessera: summary\n");
    log_printf("tessera: %-15s %8s %10s %9s %12s  %s\n", "guest", "slices", "exits", "cpu-ms", "max-slice-ms",
               "result");
    for (unsigned i = 0; i < count; i++) {
        const struct vm *vm = &vms[i];
        struct vm_stats st;
        vm_stats_sum(vm, &st);
        char result[200];
        describe_result(vm, result, sizeof(result));
        char max_slice[24];
        format_ms_tenths(st.max_slice_tsc, tsc_khz, max_slice, sizeof(max_slice));
        log_printf("tessera: %-15s %8llu %10llu %9llu %12s  %s\n", vm->name, (unsigned long long)st.slices,
                   (unsigned long long)st.exits_total,
                   (unsigned long long)(tsc_khz ? st.run_tsc / tsc_khz : 0), max_slice, result);
        char line[400];
        size_t len = 0;
        for (unsigned r = 0; r < EXIT_REASON_COUNT; r++) {
            if (!st.exit_counts[r])
                continue;
            int w = fmt_snprintf(line + len, sizeof(line) - len, " %s=%llu", exit_reason_name(r),
                                 (unsigned long long)st.exit_counts[r]);
            if (w < 0 || (size_t)w >= sizeof(line) - len) {
                line[len] = 0; /* drop the entry that did not fit; it starts the next line */
                log_printf("tessera: %-15s   exits:%s\n", "", line);
                len = 0;
                w = fmt_snprintf(line, sizeof(line), " %s=%llu", exit_reason_name(r), (unsigned long long)st.exit_counts[r]);
            }
            len += (size_t)w;
        }
        if (len)
            log_printf("tessera: %-15s   exits:%s\n", "", line);
        if (!vm_succeeded(vm))
            failed++;
    }
    log_printf("tessera: all guests ended: %u succeeded, %u failed\n", count - failed, failed);
    return failed;
}
