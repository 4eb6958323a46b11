/* Host CPU bring-up: descriptor tables, identity paging, CR4 feature bits. */
#ifndef TESSERA_CPU_SETUP_H
#define TESSERA_CPU_SETUP_H

#include <stdbool.h>
#include <stdint.h>

#define HOST_CS_SEL 0x08
#define HOST_DS_SEL 0x10
#define HOST_TR_SEL 0x18

/* phys_limit: highest physical address the memory map mentions. Uses page_alloc for tables. */
bool cpu_setup(uint64_t phys_limit);

/* End of the identity map cpu_setup built: device registers must lie below it. */
extern uint64_t identity_map_end;

#endif
