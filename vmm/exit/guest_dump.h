/* A guest's registers and exit information, printed when Tessera stops it, so the cause can
 * be found from the serial log alone. */
#ifndef TESSERA_GUEST_DUMP_H
#define TESSERA_GUEST_DUMP_H

#include <stdint.h>
#include "guest/vm.h"

void guest_dump_state(struct vcpu *v, uint32_t exit_reason);

#endif
