/* QEMU's isa-debug-exit port: a write of v ends the guest with exit status (v << 1) | 1, so
 * v == 0 is success. Reads see the empty bus. The device asks its VM to end (vm_end). */
#ifndef TESSERA_DEV_DEBUG_EXIT_H
#define TESSERA_DEV_DEBUG_EXIT_H

#include <stdint.h>
#include "dev/io_bus.h"

struct vm;

struct debug_exit {
    struct vm *vm;
};

/* struct port_ops for one port; dev is the struct debug_exit. */
extern const struct port_ops debug_exit_port_ops;

#endif
