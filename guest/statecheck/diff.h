/* Collecting the differences one comparison of CPU state finds: how many values were wrong, how
 * many of those carried another guest's pattern, and the first few for the diagnostic lines. */
#ifndef STATECHECK_DIFF_H
#define STATECHECK_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#define DIFF_KEPT 4

struct diff_entry {
    const char *what;
    unsigned index;              /* register number or word index within `what` */
    uint64_t got, want;
    int owner;                   /* the guest whose pattern `got` is, or -1 */
};

struct diff {
    unsigned wrong, foreign;
    struct diff_entry first[DIFF_KEPT];
};

/* Records got != want (owner: the guest whose pattern got is, -1 if none; the caller decides,
 * since only it knows the item's pattern). Returns whether the values differ. */
bool diff_note(struct diff *d, const char *what, unsigned index, uint64_t got, uint64_t want, int owner);
/* Adds every difference of `from` to `into`. */
void diff_merge(struct diff *into, const struct diff *from);
/* "  # ..." lines for the kept entries and the totals. */
void diff_report(const struct diff *d);

#endif
