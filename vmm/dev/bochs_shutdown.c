/* The Bochs shutdown port (see dev/bochs_shutdown.h). */
#include "dev/bochs_shutdown.h"
#include "guest/vm.h"

static const char shutdown_magic[] = "Shutdown";

static uint32_t bochs_shutdown_read(void *dev, uint16_t port, unsigned size)
{
    (void)dev;
    (void)port;
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

static void bochs_shutdown_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct bochs_shutdown *s = dev;
    (void)port;
    for (unsigned i = 0; i < size; i++) {
        char c = (char)(value >> (8 * i));
        if (s->matched < sizeof(shutdown_magic) - 1 && c == shutdown_magic[s->matched])
            s->matched++;
        else
            s->matched = (c == shutdown_magic[0]) ? 1 : 0; /* "S" can start a new match */
        if (s->matched == sizeof(shutdown_magic) - 1) {
            s->matched = 0;
            vm_end(s->vm, OUTCOME_SHUTDOWN, 0);
            return;
        }
    }
}

const struct port_ops bochs_shutdown_port_ops = { bochs_shutdown_read, bochs_shutdown_write };
