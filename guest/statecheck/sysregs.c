/* The system-register table of sysregs.h. Reset values: SDM Vol. 3A Table 10-1 (DR6 FFFF0FF0H,
 * DR7 400H, the rest 0). */
#include "cpu.h"
#include "fault.h"
#include "pattern.h"
#include "sysregs.h"

#define CPUID7_EDX_STIBP         (1u << 27)
#define CPUID7_EDX_SSBD          (1u << 31)
#define SPEC_CTRL_IBRS  (1ull << 0)
#define SPEC_CTRL_STIBP (1ull << 1)
#define SPEC_CTRL_SSBD  (1ull << 2)

enum where { AT_DR0, AT_DR1, AT_DR2, AT_DR3, AT_DR6, AT_DR7, AT_CR2, AT_CR8, AT_MSR };

struct sysreg {
    const char *name;
    enum sysreg_group group;
    enum where at;
    uint32_t msr;
    uint64_t reset;
    uint64_t (*pattern)(unsigned guest, unsigned slot);
    unsigned slot;
};

const char *const sysreg_group_name[SG_COUNT] = {
    [SG_DR0_3] = "DR0-DR3", [SG_DR6] = "DR6", [SG_DR7] = "DR7", [SG_CR2] = "CR2", [SG_CR8] = "CR8",
    [SG_SEGMENT_BASES] = "FS/GS/KERNEL_GS base", [SG_SYSCALL] = "STAR/LSTAR/CSTAR/FMASK",
    [SG_SYSENTER] = "SYSENTER_CS/ESP/EIP", [SG_TSC_AUX] = "TSC_AUX", [SG_SPEC_CTRL] = "SPEC_CTRL",
};

const char *const sysreg_group_reset_text[SG_COUNT] = {
    [SG_DR0_3] = "0", [SG_DR6] = "0xFFFF0FF0", [SG_DR7] = "0x400", [SG_CR2] = "0", [SG_CR8] = "0",
    [SG_SEGMENT_BASES] = "0", [SG_SYSCALL] = "0", [SG_SYSENTER] = "0", [SG_TSC_AUX] = "0", [SG_SPEC_CTRL] = "0",
};

static uint64_t address_pattern(unsigned guest, unsigned slot) { return pattern_address(guest, slot); }

/* DR6: the B0-B3 bits, which software may write (SDM Vol. 3B 17.2.3). */
static uint64_t dr6_pattern(unsigned guest, unsigned slot)
{
    (void)slot;
    return DR6_INIT | ((guest % 15) + 1);
}

/* DR7: all four breakpoints enabled (local for even guests, global for odd), data writes or
 * reads/writes of 1, 2, 8 or 4 bytes; never I/O (undefined without CR4.DE), never GD. */
static uint64_t dr7_pattern(unsigned guest, unsigned slot)
{
    (void)slot;
    uint64_t v = DR7_INIT | (guest & 1 ? 0xAAull : 0x55ull);
    for (unsigned n = 0; n < 4; n++) {
        uint64_t rw = ((guest + n) & 1) ? DR7_RW_READ_WRITE : DR7_RW_WRITE;
        uint64_t len = (guest + n + 1) & 3;
        v |= (rw | len << 2) << (16 + 4 * n);
    }
    return v;
}

static uint64_t cr8_pattern(unsigned guest, unsigned slot) { (void)slot; return (guest % 15) + 1; }
static uint64_t fmask_pattern(unsigned guest, unsigned slot) { (void)slot; return 0x00A50000u | (guest & 0xFF) << 8; }
static uint64_t sysenter_cs_pattern(unsigned guest, unsigned slot) { (void)slot; return 0x1000u | (guest & 0xFF) << 3; }
static uint64_t tsc_aux_pattern(unsigned guest, unsigned slot) { (void)slot; return 0xA5000000u | (guest & 0xFFFF); }

static uint64_t spec_ctrl_supported(void)
{
    if (cpuid_max_basic() < 7)
        return 0;
    uint32_t edx = cpuid(7, 0).edx;
    return (edx & CPUID7_EDX_IBRS_IBPB ? SPEC_CTRL_IBRS : 0) | (edx & CPUID7_EDX_STIBP ? SPEC_CTRL_STIBP : 0) |
           (edx & CPUID7_EDX_SSBD ? SPEC_CTRL_SSBD : 0);
}

static uint64_t spec_ctrl_pattern(unsigned guest, unsigned slot)
{
    (void)slot;
    uint64_t supported = spec_ctrl_supported();
    uint64_t v = supported & (guest & 1 ? (SPEC_CTRL_STIBP | SPEC_CTRL_SSBD) : SPEC_CTRL_IBRS);
    return v ? v : supported & SPEC_CTRL_IBRS;
}

static const struct sysreg regs[] = {
    { "DR0", SG_DR0_3, AT_DR0, 0, 0, address_pattern, 0x40 },
    { "DR1", SG_DR0_3, AT_DR1, 0, 0, address_pattern, 0x41 },
    { "DR2", SG_DR0_3, AT_DR2, 0, 0, address_pattern, 0x42 },
    { "DR3", SG_DR0_3, AT_DR3, 0, 0, address_pattern, 0x43 },
    { "DR6", SG_DR6, AT_DR6, 0, DR6_INIT, dr6_pattern, 0 },
    { "CR2", SG_CR2, AT_CR2, 0, 0, address_pattern, 0x50 },
    { "CR8", SG_CR8, AT_CR8, 0, 0, cr8_pattern, 0 },
    { "FS_BASE", SG_SEGMENT_BASES, AT_MSR, MSR_IA32_FS_BASE, 0, address_pattern, 0x60 },
    { "GS_BASE", SG_SEGMENT_BASES, AT_MSR, MSR_IA32_GS_BASE, 0, address_pattern, 0x61 },
    { "KERNEL_GS_BASE", SG_SEGMENT_BASES, AT_MSR, MSR_IA32_KERNEL_GS_BASE, 0, address_pattern, 0x62 },
    { "STAR", SG_SYSCALL, AT_MSR, MSR_IA32_STAR, 0, address_pattern, 0x63 },
    { "LSTAR", SG_SYSCALL, AT_MSR, MSR_IA32_LSTAR, 0, address_pattern, 0x64 },
    { "CSTAR", SG_SYSCALL, AT_MSR, MSR_IA32_CSTAR, 0, address_pattern, 0x65 },
    { "FMASK", SG_SYSCALL, AT_MSR, MSR_IA32_FMASK, 0, fmask_pattern, 0 },
    { "SYSENTER_CS", SG_SYSENTER, AT_MSR, MSR_IA32_SYSENTER_CS, 0, sysenter_cs_pattern, 0 },
    { "SYSENTER_ESP", SG_SYSENTER, AT_MSR, MSR_IA32_SYSENTER_ESP, 0, address_pattern, 0x66 },
    { "SYSENTER_EIP", SG_SYSENTER, AT_MSR, MSR_IA32_SYSENTER_EIP, 0, address_pattern, 0x67 },
    { "TSC_AUX", SG_TSC_AUX, AT_MSR, MSR_IA32_TSC_AUX, 0, tsc_aux_pattern, 0 },
    { "SPEC_CTRL", SG_SPEC_CTRL, AT_MSR, MSR_IA32_SPEC_CTRL, 0, spec_ctrl_pattern, 0 },
    { "DR7", SG_DR7, AT_DR7, 0, DR7_INIT, dr7_pattern, 0 },       /* last: it arms DR0-DR3 */
};
#define REG_COUNT (sizeof(regs) / sizeof(regs[0]))

bool sysreg_group_present(enum sysreg_group group)
{
    switch (group) {
    case SG_TSC_AUX:
        return cpuid(0x80000000u, 0).eax >= 0x80000001u && (cpuid(0x80000001u, 0).edx & CPUID80000001_EDX_RDTSCP);
    case SG_SPEC_CTRL:
        return spec_ctrl_supported() != 0;
    default:
        return true;
    }
}

/* The register's value, or the vector its read raised in *vector. */
static uint64_t read_reg(const struct sysreg *r, int *vector)
{
    *vector = FAULT_NONE;
    uint64_t v = 0;
    switch (r->at) {
    case AT_DR0: return read_dr0();
    case AT_DR1: return read_dr1();
    case AT_DR2: return read_dr2();
    case AT_DR3: return read_dr3();
    case AT_DR6: return read_dr6();
    case AT_DR7: return read_dr7();
    case AT_CR2: return read_cr2();
    case AT_CR8: return read_cr8();
    case AT_MSR: *vector = rdmsr_checked(r->msr, &v); return v;
    }
    return v;
}

static int write_reg(const struct sysreg *r, uint64_t v)
{
    switch (r->at) {
    case AT_DR0: write_dr0(v); break;
    case AT_DR1: write_dr1(v); break;
    case AT_DR2: write_dr2(v); break;
    case AT_DR3: write_dr3(v); break;
    case AT_DR6: write_dr6(v); break;
    case AT_DR7: write_dr7(v); break;
    case AT_CR2: write_cr2(v); break;
    case AT_CR8: write_cr8(v); break;
    case AT_MSR: return wrmsr_checked(r->msr, v);
    }
    return FAULT_NONE;
}

static int owner(const struct sysreg *r, uint64_t got, unsigned guest)
{
    for (unsigned o = 0; o < PATTERN_MAX_GUESTS; o++) {
        if (o != guest && r->pattern(o, r->slot) == got && r->pattern(guest, r->slot) != got)
            return (int)o;
    }
    return -1;
}

void sysregs_compare(bool reset, unsigned guest, struct diff diffs[SG_COUNT])
{
    for (unsigned g = 0; g < SG_COUNT; g++)
        diffs[g] = (struct diff){ 0 };
    for (unsigned i = 0; i < REG_COUNT; i++) {
        const struct sysreg *r = &regs[i];
        if (!sysreg_group_present(r->group))
            continue;
        int vector;
        uint64_t got = read_reg(r, &vector);
        uint64_t want = reset ? r->reset : r->pattern(guest, r->slot);
        if (vector != FAULT_NONE)
            diff_note(&diffs[r->group], r->name, (unsigned)vector, ~want, want, -1);   /* index: the vector */
        else
            diff_note(&diffs[r->group], r->name, 0, got, want, owner(r, got, guest));
    }
}

void sysregs_fill(unsigned guest, struct diff diffs[SG_COUNT])
{
    for (unsigned g = 0; g < SG_COUNT; g++)
        diffs[g] = (struct diff){ 0 };
    for (unsigned i = 0; i < REG_COUNT; i++) {
        const struct sysreg *r = &regs[i];
        if (!sysreg_group_present(r->group))
            continue;
        uint64_t want = r->pattern(guest, r->slot);
        int vector = write_reg(r, want);
        if (vector != FAULT_NONE)
            diff_note(&diffs[r->group], r->name, (unsigned)vector, ~want, want, -1);
    }
}

void sysregs_disarm(void)
{
    write_dr7(DR7_INIT);
    write_dr0(0);
    write_dr1(0);
    write_dr2(0);
    write_dr3(0);
}
