/* The freestanding formatter behind every hypervisor message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "lib/log.h"

static void check(const char *expected, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_string_equal(buf, expected);
    assert_int_equal(n, (int)strlen(expected));
}

static void integers(void **state)
{
    (void)state;
    check("0 -1 42 4294967295", "%d %d %u %u", 0, -1, 42u, 4294967295u);
    check("-9223372036854775808", "%lld", (long long)INT64_MIN);
    check("18446744073709551615", "%llu", (unsigned long long)UINT64_MAX);
    check("ff FF 0x1f 0 0X1F", "%x %X %#x %#x %#X", 255u, 255u, 31u, 0u, 31u);
    check("  7|7  |007|-07", "%3d|%-3d|%03d|%03d", 7, 7, 7, -7);
    check("0x00ab", "%#06x", 0xabu);
    check("-1 255 65535", "%hhd %hhu %hu", -1, 255, 65535);
    check("12345678901", "%zu", (size_t)12345678901ull);
}

static void strings_and_chars(void **state)
{
    (void)state;
    check("abc|  abc|abc  |ab|(null)", "%s|%5s|%-5s|%.2s|%s", "abc", "abc", "abc", "abc", (char *)NULL);
    check("x%y", "%c%%%c", 'x', 'y');
    check("0x10", "%p", (void *)16);
}

static void truncation_reports_full_length(void **state)
{
    (void)state;
    char buf[4];
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", "abcdef"), 6);
    assert_string_equal(buf, "abc");
    assert_int_equal(fmt_snprintf(NULL, 0, "%d", 12345), 5);
}

static void precision_bounds_unterminated_text(void **state)
{
    (void)state;
    char *text = malloc(3); /* no terminator: ASan catches any read past the precision */
    memcpy(text, "abc", 3);
    check("abc", "%.*s", 3, text);
    check("ab", "%.2s", text);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers),
        cmocka_unit_test(strings_and_chars),
        cmocka_unit_test(truncation_reports_full_length),
        cmocka_unit_test(precision_bounds_unterminated_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
