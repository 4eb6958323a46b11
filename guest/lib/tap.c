/* TAP-style result lines and the closing summary the integration tests look for. */
#include <stdarg.h>
#include "boot.h"
#include "console.h"
#include "tap.h"

static unsigned checks_run, checks_failed;

bool tap_check(bool passed, const char *what_fmt, ...)
{
    checks_run++;
    if (!passed)
        checks_failed++;
    console_printf("%sok %u - ", passed ? "" : "not ", checks_run);
    va_list ap;
    va_start(ap, what_fmt);
    console_vprintf(what_fmt, ap);
    va_end(ap);
    console_putc('\n');
    return passed;
}

void tap_skip(const char *what, const char *reason)
{
    checks_run++;
    console_printf("ok %u - %s # SKIP %s\n", checks_run, what, reason);
}

void tap_diag(const char *fmt, ...)
{
    console_printf("  # ");
    va_list ap;
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
    console_putc('\n');
}

unsigned tap_failed_count(void)
{
    return checks_failed;
}

void tap_finish(void)
{
    console_printf("%u passed, %u failed\n", checks_run - checks_failed, checks_failed);
    guest_exit(checks_failed == 0 ? 0 : 1);
}

void tap_bail_out(const char *what, const char *detail_fmt, ...)
{
    checks_run++;
    checks_failed++;
    console_printf("not ok %u - %s\n  # ", checks_run, what);
    va_list ap;
    va_start(ap, detail_fmt);
    console_vprintf(detail_fmt, ap);
    va_end(ap);
    console_putc('\n');
    tap_finish();
}

void tap_skipf(const char *reason, const char *what_fmt, ...)
{
    checks_run++;
    console_printf("ok %u - ", checks_run);
    va_list ap;
    va_start(ap, what_fmt);
    console_vprintf(what_fmt, ap);
    va_end(ap);
    console_printf(" # SKIP %s\n", reason);
}
