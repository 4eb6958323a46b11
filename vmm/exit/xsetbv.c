/* XSETBV: validate the new XCR0 as the CPU would, against the state components the guest's
 * CPUID offers, and keep it per guest (the lead loads it into XCR0 before entering the guest). */
#include "exit/handlers.h"
#include "x86.h"
#include "vmx/vmcs.h"



/* XCR0 bits the guest may set: CPUID 0xD.0 EDX:EAX of the guest's view. */
static uint64_t xcr0_supported(struct vcpu *v)
{
    uint32_t r[4];
    cpuid_guest_view(v->vm->id, 0, 0, r);
    if (r[0] < 0xD)
        return 0;
    cpuid_guest_view(v->vm->id, 0xD, 0, r);
    return ((uint64_t)r[3] << 32) | r[0];
}

static bool all_or_none(uint64_t value, uint64_t bits)
{
    return (value & bits) == 0 || (value & bits) == bits;
}

enum exit_result exit_handle_xsetbv(struct vcpu *v)
{
    if (!(vmcs_read(VMCS_GUEST_CR4) & CR4_OSXSAVE))
        return vcpu_inject_exception(v, VEC_UD, false, 0);

    uint32_t index = (uint32_t)v->gpr[REG_RCX];
    uint64_t value = (v->gpr[REG_RDX] << 32) | (uint32_t)v->gpr[REG_RAX];
    bool valid = index == 0 && vcpu_cpl() == 0 &&
                 (value & XCR0_X87) &&
                 !(value & ~xcr0_supported(v)) &&
                 (!(value & XCR0_AVX) || (value & XCR0_SSE)) &&
                 all_or_none(value, XCR0_AVX512) &&
                 (!(value & XCR0_AVX512) || (value & XCR0_AVX)) &&
                 all_or_none(value, XCR0_BNDREG | XCR0_BNDCSR) &&
                 all_or_none(value, XCR0_TILECFG | XCR0_TILEDATA);
    if (!valid)
        return vcpu_inject_exception(v, VEC_GP, true, 0);
    v->xcr0 = value;
    return EXIT_ADVANCE;
}
