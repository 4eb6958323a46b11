/* What a guest program calls itself: the name its disk patterns and persistence markers carry. */
#ifndef GUEST_IDENTITY_H
#define GUEST_IDENTITY_H

#include <stddef.h>
#include "boot.h"

#define GUEST_NAME_MAX 33          /* 32 characters and the NUL (the pattern's name field) */

/* `name=...` from the command line; else "guest<ID>" with ID from HC_GUEST_ID; else "guest". */
void guest_name(const struct boot_info *boot, char *out, size_t size);

#endif
