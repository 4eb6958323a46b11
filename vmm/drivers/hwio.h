/* What the disk drivers need beyond hw/portio.h: string port I/O, MMIO of fixed width, DMA
 * barriers. Include only from *_hw.c files: these are the instructions that make a file hardware
 * code. */
#ifndef TESSERA_DRIVERS_HWIO_H
#define TESSERA_DRIVERS_HWIO_H

#include <stdint.h>
#include "hw/portio.h"

/* 16-bit string I/O for the ATA data port; the buffer may have any alignment. */
static inline void hw_insw(uint16_t port, void *buf, uint32_t words)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}
static inline void hw_outsw(uint16_t port, const void *buf, uint32_t words)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* MMIO: one access of the given width per call, never merged or split by the compiler. */
static inline uint32_t mmio_read32(uint64_t addr) { return *(volatile uint32_t *)(uintptr_t)addr; }
static inline void mmio_write32(uint64_t addr, uint32_t v) { *(volatile uint32_t *)(uintptr_t)addr = v; }
/* 64-bit registers as two 32-bit halves, low first: every controller must accept that, not
 * every one accepts a single 8-byte access. */
static inline uint64_t mmio_read64(uint64_t addr)
{
    uint64_t lo = mmio_read32(addr), hi = mmio_read32(addr + 4);
    return lo | (hi << 32);
}
static inline void mmio_write64(uint64_t addr, uint64_t v)
{
    mmio_write32(addr, (uint32_t)v);
    mmio_write32(addr + 4, (uint32_t)(v >> 32));
}

/* Orders normal-memory writes (DMA descriptors) before the doorbell MMIO write and the device's
 * completion read before the data reads. x86 keeps stores ordered; the compiler must too. */
static inline void dma_barrier(void) { __asm__ volatile("mfence" ::: "memory"); }

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

#endif
