/* libFuzzer harness: any bytes as tessera.cfg. The parser must not read past len, must keep every
 * stored string NUL-terminated within its field, and must report at least as often as it counts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

static unsigned diag_calls;

static void count_diag(void *ctx, const char *message)
{
    (void)ctx;
    if (strlen(message) == 0)
        abort();
    diag_calls++;
}

static void check_string(const char *s, size_t field)
{
    if (strnlen(s, field) == field)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg;
    /* An exact-size heap copy so ASan catches any read beyond size. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    diag_calls = 0;
    unsigned n = config_parse(text, size, "fuzz.cfg", &cfg, count_diag, NULL);
    free(text);

    if (n != cfg.guest_count || n > BOOTINFO_MAX_GUESTS || diag_calls != cfg.error_count)
        abort();
    if (cfg.slice_ms < 1 || cfg.slice_ms > 1000)
        abort();
    for (unsigned i = 0; i < n; i++) {
        const struct config_guest *g = &cfg.guests[i];
        check_string(g->name, sizeof g->name);
        check_string(g->kernel, sizeof g->kernel);
        check_string(g->cmdline, sizeof g->cmdline);
        check_string(g->disk, sizeof g->disk);
        if (g->name[0] == 0 || (g->kernel[0] != '/' && g->kernel[0] != '\\'))
            abort();
        if (g->memory < (2ull << 20) || g->memory > (64ull << 30) || g->memory % 4096)
            abort();
        if (g->module_count > BOOTINFO_MAX_MODULES)
            abort();
        for (unsigned m = 0; m < g->module_count; m++) {
            check_string(g->module_path[m], sizeof g->module_path[m]);
            check_string(g->module_args[m], sizeof g->module_args[m]);
        }
        for (unsigned j = 0; j < i; j++)
            if (strcmp(cfg.guests[j].name, g->name) == 0)
                abort();
    }
    return 0;
}
