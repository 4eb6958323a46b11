/* Test Anything Protocol-style results on the console: "ok N - what" / "not ok N - what" with
 * "  # detail" lines under a failure, and a closing "P passed, F failed" line. */
#ifndef GUEST_TAP_H
#define GUEST_TAP_H

#include <stdbool.h>

/* Prints the result line; returns passed so callers can add tap_diag() lines on failure. */
bool tap_check(bool passed, const char *what_fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_skip(const char *what, const char *reason);
/* tap_skip with a formatted description. */
void tap_skipf(const char *reason, const char *what_fmt, ...) __attribute__((format(printf, 2, 3)));
void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
unsigned tap_failed_count(void);
/* Prints the summary line and exits: status 0 when nothing failed, else 1. */
void tap_finish(void) __attribute__((noreturn));
/* For an exception nobody expected: a failed check with the CPU state, then tap_finish(). */
void tap_bail_out(const char *what, const char *detail_fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#endif
