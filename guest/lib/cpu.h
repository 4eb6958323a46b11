/* The CPU instructions guest programs use, as small inline functions. Nothing here catches
 * faults: see fault.h for instructions that are expected to raise an exception. */
#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "x86.h"     /* architectural names: CR/EFER/RFLAGS/DR bits, MSR numbers, vectors */

/* CPUID feature bits the guest programs test (SDM Vol. 2A, CPUID), named CPUID<leaf>_<reg>_<bit>. */
#define CPUID1_ECX_XSAVE      (1u << 26)
#define CPUID1_ECX_OSXSAVE    (1u << 27)
#define CPUID1_ECX_AVX        (1u << 28)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_FXSR       (1u << 24)
#define CPUID1_EDX_SSE2       (1u << 26)
#define CPUID1_EDX_HTT        (1u << 28)
#define CPUID7_EBX_AVX512F    (1u << 16)
#define CPUID7_ECX_PKU        (1u << 3)
#define CPUID80000001_EDX_NX     (1u << 20)
#define CPUID80000001_EDX_RDTSCP (1u << 27)

struct cpuid_regs { uint32_t eax, ebx, ecx, edx; };

static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

#define DEFINE_CR_ACCESS(n)                                                                 \
    static inline uint64_t read_cr##n(void)                                                \
    { uint64_t v; asm volatile("mov %%cr" #n ", %0" : "=r"(v) :: "memory"); return v; }  \
    static inline void write_cr##n(uint64_t v)                                             \
    { asm volatile("mov %0, %%cr" #n :: "r"(v) : "memory"); }
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)
#undef DEFINE_CR_ACCESS

/* Debug registers (SDM Vol. 3B 17.2). */
#define DEFINE_DR_ACCESS(n)                                                                 \
    static inline uint64_t read_dr##n(void)                                                \
    { uint64_t v; asm volatile("mov %%dr" #n ", %0" : "=r"(v) :: "memory"); return v; }  \
    static inline void write_dr##n(uint64_t v)                                             \
    { asm volatile("mov %0, %%dr" #n :: "r"(v) : "memory"); }
DEFINE_DR_ACCESS(0)
DEFINE_DR_ACCESS(1)
DEFINE_DR_ACCESS(2)
DEFINE_DR_ACCESS(3)
DEFINE_DR_ACCESS(6)
DEFINE_DR_ACCESS(7)
#undef DEFINE_DR_ACCESS

static inline uint64_t read_cr8(void) { uint64_t v; asm volatile("mov %%cr8, %0" : "=r"(v)); return v; }
static inline void write_cr8(uint64_t v) { asm volatile("mov %0, %%cr8" :: "r"(v) : "memory"); }

/* XGETBV/XSETBV need CR4.OSXSAVE; RDPKRU/WRPKRU need CR4.PKE. */
static inline uint64_t xgetbv(uint32_t xcr)
{
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr));
    return (uint64_t)hi << 32 | lo;
}

static inline void xsetbv(uint32_t xcr, uint64_t v)
{
    asm volatile("xsetbv" :: "c"(xcr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint32_t rdpkru(void)
{
    uint32_t v;
    asm volatile("rdpkru" : "=a"(v) : "c"(0) : "rdx");
    return v;
}

static inline void wrpkru(uint32_t v)
{
    asm volatile("wrpkru" :: "a"(v), "c"(0), "d"(0) : "memory");
}

/* The highest basic CPUID leaf, and whether leaf 1 reports `bit` in ECX / EDX. */
static inline uint32_t cpuid_max_basic(void) { return cpuid(0, 0).eax; }
static inline bool cpuid1_ecx(uint32_t bit) { return (cpuid(1, 0).ecx & bit) != 0; }
static inline bool cpuid1_edx(uint32_t bit) { return (cpuid(1, 0).edx & bit) != 0; }
static inline bool cpuid7_ebx(uint32_t bit) { return cpuid_max_basic() >= 7 && (cpuid(7, 0).ebx & bit) != 0; }
static inline bool cpuid7_ecx(uint32_t bit) { return cpuid_max_basic() >= 7 && (cpuid(7, 0).ecx & bit) != 0; }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static inline void halt_forever(void)
{
    for (;;)
        asm volatile("cli; hlt");
}

#endif
