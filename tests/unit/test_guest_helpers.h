/* Shared set-up for host tests that need a guest: a VM with one vCPU, calloc'd RAM, a reset
 * soft VMCS (the vCPU's), a UART. */
#ifndef TESSERA_TEST_GUEST_HELPERS_H
#define TESSERA_TEST_GUEST_HELPERS_H

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "guest/board.h"
#include "guest/vm.h"
#include "host_stubs.h"
#include "soft_vmcs.h"
#include "vmx/vmcs.h"

static inline struct vm *test_vm_new(const char *name, uint64_t ram_size)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    strncpy(vm->name, name, sizeof(vm->name) - 1);
    vm->ram = calloc(1, ram_size);
    vm->ram_size = ram_size;
    vm->state = VM_RUNNING;
    vm_init_vcpus(vm, 1);
    board_assemble(vm);         /* the UART, exit ports and PCI ports every guest has */
    soft_vmcs_reset();
    host_console_reset();
    /* 32-bit protected mode, CPL 0, as guests start */
    vmcs_write(VMCS_GUEST_CR0, 0x31);
    vmcs_write(VMCS_GUEST_CS_AR, 0xC09B);
    vmcs_write(VMCS_GUEST_SS_AR, 0xC093);
    vmcs_write(VMCS_GUEST_RFLAGS, 0x2);
    return vm;
}

/* The test VM's one vCPU, whose VMCS is the soft VMCS. */
static inline struct vcpu *test_vcpu(struct vm *vm)
{
    return &vm->vcpus[0];
}

static inline void test_vm_free(struct vm *vm)
{
    free(vm->ram);
    free(vm);
}

#endif
