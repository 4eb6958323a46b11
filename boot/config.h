/* The guest configuration file (\tessera\tessera.cfg on the ESP): parser. Pure: text in,
 * guest list and diagnostics out; used by the loader and tested on the host.
 *
 * Format, one declaration per line; '#' where a word would start begins a comment:
 *   guest NAME kernel=PATH memory=SIZE [cmdline="..."] [module=PATH[:"ARGS"]]...
 *              [timeout=SECONDS] [disk=PARTNAME|GUID] [disk_ro=yes|no]
 *   slice_ms=N           time slice of the round-robin scheduler (1..1000, default 10)
 *   bench=yes|no         guests may ask Tessera to benchmark its disk driver on their own
 *                        minidisk (HC_DISK_BENCH), overwriting it; default no
 *   diskcheck=yes|no     disk self-check instead of guests (needs no VT-x), default no
 * Several global settings may share a line (slice_ms=5 bench=yes).
 *
 * Words are separated by spaces or tabs; lines end in LF or CR LF; a UTF-8 byte order mark at the
 * start is ignored. A value is either bare (no spaces, no '"') or quoted: "..." may hold spaces,
 * '#' and '=', with \" standing for a quote and \\ for a backslash (any other backslash is kept
 * as written); a tab inside quotes becomes a space; other control characters are refused.
 *   NAME     letters, digits, '-' and '_', 1..15 characters, unique.
 *   PATH     an ESP path starting with '/' or '\' (either separator; kept as written, the loader
 *            converts), naming a file: it may not end in a separator nor hold " * : < > ? |.
 *            At most 127 characters.
 *   module   module=PATH or module=PATH:"ARGS" -- the module's command line follows the path
 *            after a ':' with no space, always quoted: module=/tessera/initrd.img:"rw quiet".
 *            The path may itself be quoted: module="/tessera/my mod.bin":"x=1". At most 8.
 *   cmdline  at most 255 characters (ARGS too). Values are never truncated: too long is an error.
 *   SIZE     decimal bytes with an optional K, M or G suffix (any case, powers of 1024);
 *            memory: 2M .. 64G and a multiple of 4 KiB.
 *   timeout  1..86400 seconds of run time (stored in ms); omitted = no limit.
 *   disk     a GPT partition name (at most 36 characters) or a partition GUID written
 *            8-4-4-4-12 in hex (any case); disk_ro= only together with disk=.
 * Every problem is reported as "FILE:LINE: reason" through diag, e.g.
 *   tessera.cfg:4: unknown key 'memroy' (expected kernel, memory, cmdline, module, timeout, disk, disk_ro)
 * A line with any problem is skipped as a whole (a guest line: that guest; a settings line: its
 * settings); the other lines are kept. A second guest with a kept guest's name is skipped. */
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
    uint64_t timeout_ms;           /* 0 = no limit */
    unsigned module_count;
    char module_path[BOOTINFO_MAX_MODULES][GUEST_PATH_MAX];
    char module_args[BOOTINFO_MAX_MODULES][GUEST_CMDLINE_MAX];
    char disk[DISK_PART_NAME_MAX]; /* empty = none */
    int disk_readonly;
    unsigned line;                 /* where it was declared, for later diagnostics */
    int disk_is_guid;              /* disk holds a GUID in 8-4-4-4-12 form, not a name */
};

struct config {
    struct config_guest guests[BOOTINFO_MAX_GUESTS];
    unsigned guest_count;
    unsigned slice_ms;
    unsigned error_count;          /* problems reported (each one's line was skipped) */
    int disk_bench;                /* bench=yes: BOOTINFO_F_DISK_BENCH */
    int diskcheck;                 /* diskcheck=yes: BOOTINFO_F_DISKCHECK */
};

/* Called once per diagnostic with a complete line, e.g. "tessera.cfg:3: unknown key 'memroy'". */
typedef void (*config_diag_fn)(void *ctx, const char *message);

/* Parse len bytes of text (need not be NUL-terminated). Returns the number of valid guests. */
unsigned config_parse(const char *text, size_t len, const char *file_name, struct config *out,
                      config_diag_fn diag, void *ctx);

/* The BOOTINFO_F_* flags the settings of a parsed configuration ask for. */
uint32_t config_bootinfo_flags(const struct config *cfg);

#endif
