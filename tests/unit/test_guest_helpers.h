/* Shared set-up for host tests that need a guest: calloc'd RAM, a reset soft VMCS, a UART. */
#ifndef TESSERA_TEST_GUEST_HELPERS_H
#define TESSERA_TEST_GUEST_HELPERS_H

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "guest/guest.h"
#include "host_stubs.h"
#include "soft_vmcs.h"
#include "vmx/vmcs.h"

static inline struct guest *test_guest_new(const char *name, uint64_t ram_size)
{
    struct guest *g = calloc(1, sizeof(*g));
    strncpy(g->name, name, sizeof(g->name) - 1);
    g->ram = calloc(1, ram_size);
    g->ram_size = ram_size;
    g->state = GUEST_RUNNABLE;
    uart_init(&g->uart, g->name);
    soft_vmcs_reset();
    host_console_reset();
    /* 32-bit protected mode, CPL 0, as guests start */
    vmcs_write(VMCS_GUEST_CR0, 0x31);
    vmcs_write(VMCS_GUEST_CS_AR, 0xC09B);
    vmcs_write(VMCS_GUEST_SS_AR, 0xC093);
    vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
    return g;
}

static inline void test_guest_free(struct guest *g)
{
    free(g->ram);
    free(g);
}

#endif
