/* Where the suite's own image and page tables lie (symbols from guest/guest.ld and
 * lib/long_mode.S), and splitting RAM ranges around them. */
#ifndef GUEST_RAM_LAYOUT_H
#define GUEST_RAM_LAYOUT_H

#include <stdint.h>

extern char __image_start[], __image_end[];
extern char __ram_walker_a_start[], __ram_walker_a_end[];
extern char __page_tables_start[], __page_tables_end[];
extern char spare_page_tables_root[];

#define SYMBOL_ADDRESS(s) ((uint64_t)(uintptr_t)(s))

/* The next boundary after `from` and before `to` among `marks`, or `to`. */
static inline uint64_t next_boundary(uint64_t from, uint64_t to, const uint64_t *marks, unsigned n)
{
    uint64_t next = to;
    for (unsigned i = 0; i < n; i++) {
        if (marks[i] > from && marks[i] < next)
            next = marks[i];
    }
    return next;
}

#endif
