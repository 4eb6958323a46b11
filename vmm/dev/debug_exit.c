/* The debug-exit port (see dev/debug_exit.h). */
#include "dev/debug_exit.h"
#include "guest/vm.h"

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

static uint32_t debug_exit_read(void *dev, uint16_t port, unsigned size)
{
    (void)dev;
    (void)port;
    return all_ones(size);
}

static void debug_exit_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct debug_exit *d = dev;
    (void)port;
    uint32_t v = value & all_ones(size);
    vm_end(d->vm, OUTCOME_EXIT_CODE, (v << 1) | 1);
}

const struct port_ops debug_exit_port_ops = { debug_exit_read, debug_exit_write };
