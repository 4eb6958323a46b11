/* Debug events for emulated instructions (see debug_events.h). Placeholder: no breakpoint is
 * matched yet. */
#include "exit/debug_events.h"

void debug_note_memory_access(struct vcpu *v, uint64_t linear, unsigned size, bool write)
{
    (void)v; (void)linear; (void)size; (void)write;
}

void debug_note_io_access(struct vcpu *v, uint16_t port, unsigned size)
{
    (void)v; (void)port; (void)size;
}
