/* The guest configuration file (\tessera\tessera.cfg on the ESP): parser. Pure: text in,
 * guest list and diagnostics out; used by the loader and tested on the host.
 *
 * Format, one declaration per line, '#' starts a comment:
 *   guest NAME kernel=PATH memory=SIZE [cmdline="..."] [module=PATH ["args"]]... [timeout=SECONDS]
 *                        [disk=PARTNAME|GUID] [disk_ro=yes|no]
 *   slice_ms=N           time slice of the round-robin scheduler (1..1000, default 10)
 * SIZE takes K, M or G suffixes (memory: 2 MiB .. 64 GiB, multiple of 4 KiB).
 * A line that cannot be parsed is reported as "FILE:LINE: reason" and skipped; a guest line
 * with a semantic error (bad size, duplicate name, too many guests) is skipped with a reason;
 * the other guests are kept. */
#ifndef TESSERA_CONFIG_H
#define TESSERA_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "bootinfo.h"

struct config_guest {
    char name[GUEST_NAME_MAX];
    char kernel[GUEST_PATH_MAX];
    char cmdline[GUEST_CMDLINE_MAX];
    uint64_t memory;
    uint64_t timeout_ms;
    unsigned module_count;
    char module_path[BOOTINFO_MAX_MODULES][GUEST_PATH_MAX];
    char module_args[BOOTINFO_MAX_MODULES][GUEST_CMDLINE_MAX];
    char disk[DISK_PART_NAME_MAX];
    int disk_readonly;
    unsigned line;                 /* where it was declared, for later diagnostics */
};

struct config {
    struct config_guest guests[BOOTINFO_MAX_GUESTS];
    unsigned guest_count;
    unsigned slice_ms;
    unsigned error_count;          /* lines reported and skipped */
};

/* Called once per diagnostic with a complete line, e.g. "tessera.cfg:3: unknown key 'memroy'". */
typedef void (*config_diag_fn)(void *ctx, const char *message);

/* Parse len bytes of text (need not be NUL-terminated). Returns the number of valid guests. */
unsigned config_parse(const char *text, size_t len, const char *file_name, struct config *out,
                      config_diag_fn diag, void *ctx);

#endif
