/* Switching a guest's extended state (x87, SSE, AVX, AVX-512, PKRU, ...) on guest switch: the
 * XCR0 the host holds while switching, the reset image each guest starts from, and the
 * save/restore sequence. Pure: the instructions come in as functions, so host tests run the
 * sequence against a model of the CPU. */
#ifndef TESSERA_VMX_XSTATE_H
#define TESSERA_VMX_XSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* XSAVE area layout, standard form (SDM Vol. 1 13.4); the first 512 bytes are the FXSAVE image. */
#define XSAVE_LEGACY_SIZE     512
#define XSAVE_HEADER_SIZE     64
#define XSAVE_MIN_SIZE        (XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE)
#define XSAVE_FCW_OFFSET      0                        /* x87 control word */
#define XSAVE_MXCSR_OFFSET    24
#define XSAVE_XMM0_OFFSET     160
#define XSAVE_XSTATE_BV_OFFSET XSAVE_LEGACY_SIZE
#define XSAVE_XCOMP_BV_OFFSET (XSAVE_LEGACY_SIZE + 8)

/* Register values after RESET/INIT (SDM Vol. 1 8.1.1 and 10.2.3): FNINIT's control word, and
 * MXCSR with every exception masked. */
#define X87_FCW_RESET 0x037Fu
#define MXCSR_RESET   0x1F80u

/* The XCR0 Tessera holds while it saves and restores guests' state: every component a guest
 * can change, which is every component it may enable (guest_allowed, CPUID 0xD.0 as the guest
 * sees it) plus those usable whatever XCR0 says (x87, SSE through the legacy instructions,
 * PKRU through WRPKRU), limited to what the CPU supports (CPUID 0xD.0 EDX:EAX) and made a
 * value XSETBV accepts. */
uint64_t xstate_switch_xcr0(uint64_t cpu_supported, uint64_t guest_allowed);

/* Fill area (size bytes, 64-byte aligned) with the architectural reset state: x87 control word
 * 0x37F, MXCSR 0x1F80, every register zero; for XSAVE (size >= XSAVE_MIN_SIZE) XSTATE_BV says
 * x87 and SSE are in the image and every other component starts in its initial state. */
void xstate_reset_image(void *area, size_t size, bool xsave);

/* Make the XSAVE header one the standard form of XRSTOR accepts with XCR0 = switch_xcr0:
 * XSTATE_BV within switch_xcr0, XCOMP_BV and the reserved header bytes zero. */
void xstate_sanitize_header(void *area, uint64_t switch_xcr0);

/* The CPU as the switching sequence uses it. */
struct xstate_cpu {
    bool has_xsave;            /* XSAVE/XRSTOR and XCR0; otherwise FXSAVE/FXRSTOR */
    uint64_t switch_xcr0;      /* xstate_switch_xcr0(): held while saving and restoring */
    uint64_t xcr0;             /* what XCR0 holds now */
    void (*set_xcr0)(uint64_t value);
    void (*save)(void *area, uint64_t mask);           /* XSAVE (FXSAVE ignores mask) */
    void (*restore)(const void *area, uint64_t mask);  /* XRSTOR (FXRSTOR ignores mask) */
};

/* Put the outgoing guest's extended state into its area. */
void xstate_save_guest(struct xstate_cpu *cpu, void *area);
/* Load the incoming guest's state from its area, then its own XCR0. */
void xstate_load_guest(struct xstate_cpu *cpu, void *area, uint64_t guest_xcr0);

/* Before a VM entry: XCR0 as the guest set it (XSETBV exits only update the vCPU). */
static inline void xstate_use_xcr0(struct xstate_cpu *cpu, uint64_t xcr0)
{
    if (cpu->has_xsave && cpu->xcr0 != xcr0) {
        cpu->set_xcr0(xcr0);
        cpu->xcr0 = xcr0;
    }
}

#endif
