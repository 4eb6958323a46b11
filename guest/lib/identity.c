/* The guest name of identity.h. */
#include "hcall.h"
#include "identity.h"

void guest_name(const struct boot_info *boot, char *out, size_t size)
{
    if (size == 0 || cmdline_string(boot, "name", out, size) != 0)
        return;
    static const char prefix[] = "guest";
    size_t n = 0;
    for (; prefix[n] && n + 1 < size; n++)
        out[n] = prefix[n];
    int64_t id = hypercall(HC_GUEST_ID, 0, 0, 0);
    if (id >= 0) {
        char digits[20];
        unsigned count = 0;
        uint64_t v = (uint64_t)id;
        do {
            digits[count++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (count && n + 1 < size)
            out[n++] = digits[--count];
    }
    out[n] = '\0';
}
