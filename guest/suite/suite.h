/* The exit regression suite: one function per group of checks, sharing what the boot and the
 * first hypercalls told us. Each group reports through tap.h. */
#ifndef GUEST_SUITE_H
#define GUEST_SUITE_H

#include <stdbool.h>
#include <stdint.h>
#include "boot.h"

struct suite_env {
    const struct boot_info *boot;
    int64_t guest_id;            /* from HC_GUEST_ID; negative if the hypercall failed */
    uint64_t empty_bus;          /* a guest-physical address above RAM, mapped by our tables */
};

/* Plain 64-bit loads for looking at the empty bus (empty_bus.c): every byte reads all ones. */
uint64_t bus_load64(uint64_t addr);
bool bus_all_ones(uint64_t from, unsigned bytes);

void suite_boot_state(const struct suite_env *env);    /* boot_state.c: long mode, memory map */
void suite_cpuid(const struct suite_env *env);         /* cpuid.c */
void suite_topology(const struct suite_env *env);      /* topology.c: CPUID leaves 1, 0xB, 0x1F */
void suite_control_regs(const struct suite_env *env);  /* control_regs.c */
void suite_msrs(const struct suite_env *env);          /* msr.c */
void suite_misc_enable(const struct suite_env *env);   /* misc_enable.c: IA32_MISC_ENABLE */
void suite_fault_flags(const struct suite_env *env);   /* fault_flags.c: RF in the frames of faults */
void suite_vmx_insns(const struct suite_env *env);     /* vmx_insns.c */
void suite_uart(const struct suite_env *env);          /* uart.c */
void suite_ports(const struct suite_env *env);         /* ports.c: unclaimed port, string I/O */
void suite_empty_bus(const struct suite_env *env);     /* empty_bus.c */
void suite_empty_bus_alu(const struct suite_env *env); /* empty_bus_alu.c: cmp, add, ..., bt, lock */
void suite_empty_bus_simd(const struct suite_env *env);/* empty_bus_simd.c: SSE/AVX moves */
void suite_debug_regs(const struct suite_env *env);    /* debug_regs.c: breakpoints, TF, GD */
void suite_xsetbv(const struct suite_env *env);        /* xsetbv.c */
void suite_hypercalls(const struct suite_env *env);    /* hypercalls.c */
void suite_disk(const struct suite_env *env);         /* disk.c: virtio-blk minidisk */
void suite_caches(const struct suite_env *env);        /* control_regs.c: INVD, WBINVD */
void suite_ram(const struct suite_env *env);           /* ram.c */
void suite_isolation(const struct suite_env *env);     /* isolation.c */

#endif
