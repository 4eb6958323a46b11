/* IA32_MISC_ENABLE (0x1A0) as the SDM describes it (Vol. 4, Table 2-2): the read/write bits
 * read back what was written, the read-only ones keep their value, and bit 22 (limit CPUID
 * maxval) has its effect: CPUID.00H:EAX reports at most 2. The original value is restored. */
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

#define PROBE_VALUE   0x400c51809ull     /* bits 0, 3, 11, 12, 16, 18, 22, 23, 34 */
#define READ_ONLY     (MISC_ENABLE_PERFMON_AVAIL | MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)
#define READ_WRITE_CHECKED (MISC_ENABLE_TCC | MISC_ENABLE_EIST | MISC_ENABLE_MONITOR_FSM | \
                            MISC_ENABLE_LIMIT_CPUID | MISC_ENABLE_XTPR_DISABLE | MISC_ENABLE_XD_DISABLE)
#define LIMITED_MAX_LEAF 2u

void suite_misc_enable(const struct suite_env *env)
{
    (void)env;
    uint64_t original = 0;
    int vector = rdmsr_checked(MSR_IA32_MISC_ENABLE, &original);
    if (!tap_check(vector == FAULT_NONE, "misc_enable: IA32_MISC_ENABLE (0x1a0) reads"))
        tap_diag("got %s", fault_name(vector));
    uint32_t max_leaf = cpuid_max_basic();

    /* Read-only bits are written as they read, as the SDM asks of software. */
    uint64_t written = (PROBE_VALUE & ~READ_ONLY) | (original & READ_ONLY);
    int write_vector = wrmsr_checked(MSR_IA32_MISC_ENABLE, written);
    uint64_t read_back = 0;
    rdmsr_checked(MSR_IA32_MISC_ENABLE, &read_back);
    uint32_t limited_max = cpuid_max_basic();
    int restore_vector = wrmsr_checked(MSR_IA32_MISC_ENABLE, original);
    uint64_t restored = 0;
    rdmsr_checked(MSR_IA32_MISC_ENABLE, &restored);
    uint32_t restored_max = cpuid_max_basic();

    if (!tap_check(write_vector == FAULT_NONE && (read_back & READ_WRITE_CHECKED) == (written & READ_WRITE_CHECKED),
                   "misc_enable: writing 0x%llx, bits 3, 16, 18, 22, 23 and 34 read back as written", PROBE_VALUE))
        tap_diag("wrote 0x%lx (%s), read 0x%lx", written, fault_name(write_vector), read_back);
    uint64_t read_only_before = original & READ_ONLY, read_only_after = read_back & READ_ONLY;
    if (!tap_check(read_only_after == read_only_before, "misc_enable: the read-only bits 7, 11, 12 keep their value"))
        tap_diag("read-only bits were 0x%lx, now 0x%lx", read_only_before, read_only_after);
    if (!tap_check(limited_max <= LIMITED_MAX_LEAF, "misc_enable: with bit 22 set CPUID.00H:EAX is at most 2"))
        tap_diag("CPUID.00H:EAX = 0x%x (0x%x before)", limited_max, max_leaf);
    if (!tap_check(restore_vector == FAULT_NONE && restored == original && restored_max == max_leaf,
                   "misc_enable: the original value 0x%lx is restored, and CPUID's maximum leaf with it", original))
        tap_diag("%s; reads 0x%lx; CPUID.00H:EAX 0x%x, was 0x%x", fault_name(restore_vector), restored, restored_max,
                 max_leaf);
}
