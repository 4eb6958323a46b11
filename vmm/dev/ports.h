/* A guest's I/O port space: the port ranges on its VM's bus (vm->bus, placed by the board),
 * and an empty bus elsewhere (reads all ones, writes dropped). */
#ifndef TESSERA_PORTS_H
#define TESSERA_PORTS_H

#include <stdint.h>
#include "guest/vm.h"

/* size is 1, 2 or 4 (anything else is taken as 1). *value holds the result of an IN (only the
 * low size bytes matter). An access goes to the device holding its first port. Returns
 * EXIT_ADVANCE normally, EXIT_STOP when the device asked the VM to end (vm_end). */
enum exit_result port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value);
enum exit_result port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value);

#endif
