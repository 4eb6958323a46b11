/* Privileged x86 instructions the hypervisor needs beyond port I/O and MSRs (hw/portio.h):
 * control and debug registers, descriptor tables, VMX, XSAVE and VERW. One inline function per
 * instruction. */
#ifndef TESSERA_ARCH_CPU_H
#define TESSERA_ARCH_CPU_H

#include <stdint.h>

struct __attribute__((packed)) desc_ptr {
    uint16_t limit;
    uint64_t base;
};

#define DEFINE_CR(n)                                                                 \
    static inline uint64_t read_cr##n(void)                                          \
    {                                                                                \
        uint64_t v;                                                                  \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                            \
        return v;                                                                    \
    }                                                                                \
    static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

/* DR0-DR3 and DR6; DR7 is in the VMCS (load/save debug controls). */
#define DEFINE_DR(n)                                                                 \
    static inline uint64_t read_dr##n(void)                                          \
    {                                                                                \
        uint64_t v;                                                                  \
        __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));                            \
        return v;                                                                    \
    }                                                                                \
    static inline void write_dr##n(uint64_t v) { __asm__ volatile("mov %0, %%dr" #n ::"r"(v)); }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
#undef DEFINE_DR

/* VERW with a memory operand: on CPUs with MD_CLEAR it also overwrites the store, fill and load
 * port buffers (the MDS mitigation). data_sel must name a usable data segment; only ZF changes. */
static inline void verw_clear_cpu_buffers(uint16_t data_sel)
{
    __asm__ volatile("verw %0" ::"m"(data_sel) : "cc");
}

static inline void lgdt(const struct desc_ptr *p) { __asm__ volatile("lgdt %0" ::"m"(*p)); }
static inline void lidt(const struct desc_ptr *p) { __asm__ volatile("lidt %0" ::"m"(*p)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" ::"r"(sel)); }

static inline uint64_t xgetbv(uint32_t idx)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(idx));
    return ((uint64_t)hi << 32) | lo;
}
static inline void xsetbv(uint32_t idx, uint64_t v)
{
    __asm__ volatile("xsetbv" ::"c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline void xsave(void *area, uint64_t mask)
{
    __asm__ volatile("xsave64 (%0)" ::"r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void xrstor(const void *area, uint64_t mask)
{
    __asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32)) : "memory");
}
static inline void fxsave(void *area) { __asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory"); }
static inline void fxrstor(const void *area) { __asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory"); }

/* VMX instructions return 0 on success, 1 on VMfailValid, 2 on VMfailInvalid. */
static inline int vmxon(uint64_t pa)
{
    uint8_t invalid, valid;
    __asm__ volatile("vmxon %2; setc %0; setz %1" : "=qm"(invalid), "=qm"(valid) : "m"(pa) : "cc", "memory");
    return invalid ? 2 : valid ? 1 : 0;
}
static inline int vmclear(uint64_t pa)
{
    uint8_t invalid, valid;
    __asm__ volatile("vmclear %2; setc %0; setz %1" : "=qm"(invalid), "=qm"(valid) : "m"(pa) : "cc", "memory");
    return invalid ? 2 : valid ? 1 : 0;
}
static inline int vmptrld(uint64_t pa)
{
    uint8_t invalid, valid;
    __asm__ volatile("vmptrld %2; setc %0; setz %1" : "=qm"(invalid), "=qm"(valid) : "m"(pa) : "cc", "memory");
    return invalid ? 2 : valid ? 1 : 0;
}
struct __attribute__((packed)) invept_desc { uint64_t eptp, reserved; };
struct __attribute__((packed)) invvpid_desc { uint64_t vpid, linear; };
static inline void invept(uint64_t type, uint64_t eptp)
{
    struct invept_desc d = { eptp, 0 };
    __asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}
static inline void invvpid(uint64_t type, uint16_t vpid)
{
    struct invvpid_desc d = { vpid, 0 };
    __asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

static inline void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

#endif
