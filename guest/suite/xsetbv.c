/* XSETBV as Tessera validates it: XCR0 accepts x87|SSE and reads back through XGETBV; x87
 * cleared, a non-zero XCR index, AVX without SSE and unsupported bits raise #GP. */
#include "cpu.h"
#include "fault.h"
#include "suite.h"
#include "tap.h"

static void expect_gp(const char *what, uint32_t xcr, uint64_t value, uint64_t restore)
{
    int vector = xsetbv_checked(xcr, value);
    if (vector == FAULT_NONE)
        xsetbv_checked(0, restore);
    if (!tap_check(vector == VEC_GP, "xsetbv: %s raises #GP", what))
        tap_diag("XCR%u <- 0x%lx gave %s", xcr, value, fault_name(vector));
}

void suite_xsetbv(const struct suite_env *env)
{
    (void)env;
    static const char *const names[] = {
        "XCR0 = x87|SSE reads back through XGETBV", "XCR0 without x87", "XCR1 (ECX = 1)",
        "XCR0 = x87|AVX (AVX without SSE)", "XCR0 with unsupported bit 63",
    };
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)) {
        for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            tap_skip(names[i], "no XSAVE");
        return;
    }
    uint64_t cr4 = read_cr4();
    write_cr4(cr4 | CR4_OSXSAVE);
    uint64_t original = xgetbv(0);

    int vector = xsetbv_checked(0, XCR0_X87 | XCR0_SSE);
    uint64_t read_back = xgetbv(0);
    if (!tap_check(vector == FAULT_NONE && read_back == (XCR0_X87 | XCR0_SSE), "xsetbv: %s", names[0]))
        tap_diag("%s, XGETBV read 0x%lx", fault_name(vector), read_back);

    uint64_t good = XCR0_X87 | XCR0_SSE;
    expect_gp(names[1], 0, XCR0_SSE, good);
    expect_gp(names[2], 1, good, good);
    expect_gp(names[3], 0, XCR0_X87 | XCR0_AVX, good);
    expect_gp(names[4], 0, good | (1ull << 63), good);

    xsetbv_checked(0, original);
    write_cr4(cr4);
}
