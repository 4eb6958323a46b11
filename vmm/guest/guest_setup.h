/* Creating a guest from its configuration (see guest_setup_hw.c). */
#ifndef TESSERA_GUEST_SETUP_H
#define TESSERA_GUEST_SETUP_H

#include <stdbool.h>
#include "bootinfo.h"
#include "guest/vm.h"

/* Creates the VM for one configured guest, with its vCPUs, memory, EPT and VMCS. Returns true
 * when the VM is ready to run; otherwise it is stopped with the reason. */
bool guest_setup(struct vm *vm, unsigned id, const struct bootinfo_guest *cfg);

#endif
