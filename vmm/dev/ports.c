/* A guest's I/O port space: accesses go to the device on the VM's bus that holds their first
 * port; devices with byte-wide registers split wider accesses themselves. Whether an access ended
 * the guest is the VM's to say: a device asks it (vm_end) and this layer reports EXIT_STOP. */
#include "dev/ports.h"

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

static unsigned valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4 ? size : 1;
}

static const struct port_ops *port_ops_of(const struct io_range *r)
{
    return r->ops;
}

static enum exit_result after_access(const struct vm *vm)
{
    return vm->state == VM_ENDED ? EXIT_STOP : EXIT_ADVANCE;
}

enum exit_result port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
    size = valid_size(size);
    const struct io_range *r = io_bus_find_port(&vm->bus, port);
    if (!r) {
        *value = all_ones(size);
        return EXIT_ADVANCE;
    }
    *value = port_ops_of(r)->read(r->dev, port, size);
    return after_access(vm);
}

enum exit_result port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    size = valid_size(size);
    const struct io_range *r = io_bus_find_port(&vm->bus, port);
    if (!r)
        return EXIT_ADVANCE;    /* empty bus: dropped */
    port_ops_of(r)->write(r->dev, port, size, value & all_ones(size));
    return after_access(vm);
}
