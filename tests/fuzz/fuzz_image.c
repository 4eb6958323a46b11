/* libFuzzer harness: any bytes as a guest kernel, laid out into a small guest RAM. The first
 * byte picks the module count and RAM size so that module placement is fuzzed too. ASan must
 * see no access outside the kernel copy or RAM; a refused image must leave RAM untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "guest/image.h"

#define RAM_LARGE 0x140000u
#define RAM_SMALL 0x108000u

static const uint8_t zero_ram[RAM_LARGE];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *ram_large, *ram_small;
    static int small_dirty = 1, large_dirty = 1; /* RAM written by a successful load */
    static const uint8_t module_data[3000] = { 1, 2, 3 };
    if (!ram_large) {
        /* Exact-size heap buffers: a write one past RAM lands in ASan's redzone. */
        ram_large = malloc(RAM_LARGE);
        ram_small = malloc(RAM_SMALL);
        if (!ram_large || !ram_small)
            abort();
    }
    if (size < 1)
        return 0;

    unsigned module_count = data[0] & 3;
    uint64_t ram_size = data[0] & 4 ? RAM_SMALL : RAM_LARGE;
    uint8_t *ram = data[0] & 4 ? ram_small : ram_large;
    struct image_blob modules[3] = {
        { module_data, sizeof module_data, "first" },
        { module_data, 17, NULL },
        { module_data, 0, "third module" },
    };
    uint8_t *kernel_copy = malloc(size - 1 ? size - 1 : 1);
    if (!kernel_copy)
        abort();
    memcpy(kernel_copy, data + 1, size - 1);
    struct image_blob kernel = { kernel_copy, size - 1, "" };
    struct guest_entry entry;
    char why[160];

    int *dirty = data[0] & 4 ? &small_dirty : &large_dirty;
    if (*dirty)
        memset(ram, 0, ram_size);
    *dirty = 0;
    int r = guest_image_load(ram, ram_size, &kernel, "console=ttyS0", modules, module_count, &entry,
                             why, sizeof why);
    free(kernel_copy);
    if (r == 0) {
        *dirty = 1;
        if (entry.eip < 0x100000 || entry.eip >= ram_size || entry.ebx != 0x1000)
            abort();
        if (entry.protocol != BOOT_PVH && entry.protocol != BOOT_MULTIBOOT)
            abort();
    } else {
        if (r != -1 || why[0] == 0 || memcmp(ram, zero_ram, ram_size) != 0)
            abort();
    }
    return 0;
}
