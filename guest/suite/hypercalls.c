/* The VMCALL ABI of vmm/hypercall.h: results, error codes for bad addresses and unknown
 * numbers, and that every register but RAX survives the call. */
#include <stdbool.h>
#include "console.h"
#include "fault.h"
#include "hcall.h"
#include "suite.h"
#include "tap.h"

#define SLICE_WAIT_YIELDS 20000

static void expect_result(const char *what, int64_t got, int64_t want)
{
    if (!tap_check(got == want, "hypercall: %s", what)) {
        if (got == HC_FAULTED)
            tap_diag("VMCALL raised %s", fault_name(fault_last.vector));
        else
            tap_diag("returned %ld, want %ld", got, want);
    }
}

/* Loads known values into every GPR but RAX, VMCALLs HC_VERSION, and stores them back. */
static void check_registers_preserved(void)
{
    static const char *const names[13] = { "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                                           "r11", "r12", "r13", "r14", "r15" };
    struct {
        uint64_t in[13];                 /* offset 0: in the order of names[] */
        uint64_t out[13];                /* offset 104 */
        uint64_t rbp_out;                /* offset 208 */
    } regs;
    for (unsigned i = 0; i < 13; i++) {
        regs.in[i] = 0xC0FFEE0000000000ull | (uint64_t)(i + 1) << 32 | (0x01010101u * (i + 1));
        regs.out[i] = 0;
    }
    uint64_t base = (uint64_t)(uintptr_t)&regs;
    fault_reset();
    /* RBP holds the block's address across the call (and is checked too); R11 is loaded after
     * FAULT_ARM has used it. */
    asm volatile(FAULT_ARM
                 "push %%rbp\n\t"
                 "mov %%rax, %%rbp\n\t"
                 "mov 0(%%rbp), %%rbx\n\t"   "mov 8(%%rbp), %%rcx\n\t"   "mov 16(%%rbp), %%rdx\n\t"
                 "mov 24(%%rbp), %%rsi\n\t"  "mov 32(%%rbp), %%rdi\n\t"  "mov 40(%%rbp), %%r8\n\t"
                 "mov 48(%%rbp), %%r9\n\t"   "mov 56(%%rbp), %%r10\n\t"  "mov 64(%%rbp), %%r11\n\t"
                 "mov 72(%%rbp), %%r12\n\t"  "mov 80(%%rbp), %%r13\n\t"  "mov 88(%%rbp), %%r14\n\t"
                 "mov 96(%%rbp), %%r15\n\t"
                 "xor %%eax, %%eax\n\t"      /* HC_VERSION */
                 "vmcall"
                 FAULT_LANDING
                 "mov %%rbx, 104(%%rbp)\n\t" "mov %%rcx, 112(%%rbp)\n\t" "mov %%rdx, 120(%%rbp)\n\t"
                 "mov %%rsi, 128(%%rbp)\n\t" "mov %%rdi, 136(%%rbp)\n\t" "mov %%r8, 144(%%rbp)\n\t"
                 "mov %%r9, 152(%%rbp)\n\t"  "mov %%r10, 160(%%rbp)\n\t" "mov %%r11, 168(%%rbp)\n\t"
                 "mov %%r12, 176(%%rbp)\n\t" "mov %%r13, 184(%%rbp)\n\t" "mov %%r14, 192(%%rbp)\n\t"
                 "mov %%r15, 200(%%rbp)\n\t" "mov %%rbp, 208(%%rbp)\n\t"
                 "pop %%rbp"
                 : "+a"(base)
                 :
                 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14",
                   "r15", "memory");
    int vector = fault_end();
    unsigned changed = 0, first = 0;
    for (unsigned i = 0; i < 13; i++) {
        if (regs.out[i] != regs.in[i] && changed++ == 0)
            first = i;
    }
    bool rbp_kept = regs.rbp_out == (uint64_t)(uintptr_t)&regs;
    if (!tap_check(vector == FAULT_NONE && changed == 0 && rbp_kept, "hypercall: every register but RAX is preserved"))
        tap_diag("%s; %u registers changed (first %s: 0x%lx -> 0x%lx), RBP %s", fault_name(vector), changed,
                 names[first], regs.in[first], regs.out[first], rbp_kept ? "kept" : "changed");
}

void suite_hypercalls(const struct suite_env *env)
{
    expect_result("HC_VERSION returns 1", hypercall(HC_VERSION, 0, 0, 0), HC_ABI_VERSION);
    int64_t id = hypercall(HC_GUEST_ID, 0, 0, 0);
    if (id == HC_FAULTED)
        expect_result("HC_GUEST_ID returns a small index", id, 0);
    else if (!tap_check(id >= 0 && id < 64, "hypercall: HC_GUEST_ID returns a small index"))
        tap_diag("returned %ld", id);
    expect_result("HC_YIELD returns 0", hypercall(HC_YIELD, 0, 0, 0), 0);

    int64_t first = hypercall(HC_SLICES, 0, 0, 0), now = first;
    unsigned yields = 0;
    while (now == first && first != HC_FAULTED && yields < SLICE_WAIT_YIELDS) {
        hypercall(HC_YIELD, 0, 0, 0);
        yields++;
        now = hypercall(HC_SLICES, 0, 0, 0);
    }
    if (first == HC_FAULTED)
        expect_result("HC_SLICES increases over time", first, 0);
    else if (!tap_check(first >= 0 && now > first, "hypercall: HC_SLICES increases over time"))
        tap_diag("HC_SLICES %ld then %ld after %u yields", first, now, yields);

    static const char line[] = "# HC_CONSOLE: this line came through a hypercall\n";
    int64_t len = (int64_t)sizeof(line) - 1;
    expect_result("HC_CONSOLE prints a line and returns its length (line above)",
                  hypercall(HC_CONSOLE, (uint64_t)(uintptr_t)line, (uint64_t)len, 0), len);
    uint64_t ram_end = env->boot->ram_end;
    expect_result("HC_CONSOLE with an address beyond RAM returns -14",
                  hypercall(HC_CONSOLE, ram_end + 0x1000, 16, 0), HC_EFAULT);
    expect_result("HC_CONSOLE with a buffer running past the end of RAM returns -14",
                  hypercall(HC_CONSOLE, ram_end - 8, 64, 0), HC_EFAULT);
    expect_result("HC_CONSOLE with address + length overflowing returns -14",
                  hypercall(HC_CONSOLE, UINT64_MAX - 15, 64, 0), HC_EFAULT);
    /* Only bench=yes configurations allow the driver measurement, which stalls every guest. */
    static struct hc_disk_bench bench_request = { .seq_bytes = 4096, .request_bytes = 4096, .random_ops = 1 };
    expect_result("HC_DISK_BENCH outside benchmark mode returns -1",
                  hypercall(HC_DISK_BENCH, (uint64_t)(uintptr_t)&bench_request, sizeof(bench_request), 0), HC_EPERM);
    expect_result("unknown number 0x7777 returns -38", hypercall(0x7777, 0, 0, 0), HC_ENOSYS);
    expect_result("HC_COUNT (first unused number) returns -38", hypercall(HC_COUNT, 0, 0, 0), HC_ENOSYS);
    check_registers_preserved();
}
