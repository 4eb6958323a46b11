/* Bochs' shutdown port: the bytes "Shutdown", written in order (in any access widths), power
 * the guest off. Reads see the empty bus. The device asks its VM to end (vm_end). */
#ifndef TESSERA_DEV_BOCHS_SHUTDOWN_H
#define TESSERA_DEV_BOCHS_SHUTDOWN_H

#include <stdint.h>
#include "dev/io_bus.h"

struct vm;

struct bochs_shutdown {
    struct vm *vm;
    unsigned matched;           /* how many bytes of "Shutdown" have arrived */
};

/* struct port_ops for one port; dev is the struct bochs_shutdown. */
extern const struct port_ops bochs_shutdown_port_ops;

#endif
