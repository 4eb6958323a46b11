/* The difference collector of diff.h. */
#include "diff.h"
#include "tap.h"

bool diff_note(struct diff *d, const char *what, unsigned index, uint64_t got, uint64_t want, int owner)
{
    if (got == want)
        return false;
    if (d->wrong < DIFF_KEPT)
        d->first[d->wrong] = (struct diff_entry){ what, index, got, want, owner };
    d->wrong++;
    if (owner >= 0)
        d->foreign++;
    return true;
}

void diff_merge(struct diff *into, const struct diff *from)
{
    unsigned kept = from->wrong < DIFF_KEPT ? from->wrong : DIFF_KEPT;
    for (unsigned i = 0; i < kept; i++) {
        const struct diff_entry *e = &from->first[i];
        diff_note(into, e->what, e->index, e->got, e->want, e->owner);
    }
    /* Entries past the kept ones were counted but not stored: count them too. */
    into->wrong += from->wrong - kept;
    unsigned kept_foreign = 0;
    for (unsigned i = 0; i < kept; i++)
        kept_foreign += from->first[i].owner >= 0;
    into->foreign += from->foreign - kept_foreign;
}

void diff_report(const struct diff *d)
{
    unsigned kept = d->wrong < DIFF_KEPT ? d->wrong : DIFF_KEPT;
    for (unsigned i = 0; i < kept; i++) {
        const struct diff_entry *e = &d->first[i];
        if (e->owner >= 0)
            tap_diag("%s[%u] = 0x%lx: the pattern of guest %d (want 0x%lx)", e->what, e->index, e->got, e->owner,
                     e->want);
        else
            tap_diag("%s[%u] = 0x%lx, want 0x%lx", e->what, e->index, e->got, e->want);
    }
    if (d->wrong > kept)
        tap_diag("... %u values wrong in all, %u of them another guest's pattern", d->wrong, d->foreign);
}
