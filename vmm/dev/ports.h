/* A guest's I/O port space: the UART, the debug-exit port, the Bochs-style shutdown port, and
 * an empty bus elsewhere (reads all ones, writes dropped). */
#ifndef TESSERA_PORTS_H
#define TESSERA_PORTS_H

#include <stdint.h>
#include "guest/vm.h"

/* size is 1, 2 or 4. *value holds the result of an IN (only the low size bytes matter).
 * Returns EXIT_ADVANCE normally, EXIT_STOP when the access ended the guest. */
enum exit_result port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value);
enum exit_result port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value);

#endif
