/* Creating a guest from its configuration (see guest_setup_hw.c). */
#ifndef TESSERA_GUEST_SETUP_H
#define TESSERA_GUEST_SETUP_H

#include <stdbool.h>
#include "bootinfo.h"
#include "guest/guest.h"

/* Returns true when the guest is ready to run; otherwise it is stopped with the reason. */
bool guest_setup(struct guest *g, unsigned id, const struct bootinfo_guest *cfg);

#endif
