/* Tests of the tessera.cfg parser: accepted syntax, and the exact "FILE:LINE: reason" of every
 * refusal, with bad lines skipped and good ones kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"

static struct config cfg;
static char diags[16384];
static unsigned diag_count;

static void collect(void *ctx, const char *message)
{
    (void)ctx;
    size_t used = strlen(diags);
    snprintf(diags + used, sizeof diags - used, "%s\n", message);
    diag_count++;
}

static unsigned parse_n(const char *text, size_t len)
{
    diags[0] = 0;
    diag_count = 0;
    memset(&cfg, 0xa5, sizeof cfg); /* the parser must initialise everything */
    return config_parse(text, len, "tessera.cfg", &cfg, collect, NULL);
}

static unsigned parse(const char *text)
{
    return parse_n(text, strlen(text));
}

/* One line that must be refused with exactly this message and no guest. */
static void expect_refused(const char *text, const char *message)
{
    char want[1024];
    snprintf(want, sizeof want, "%s\n", message);
    assert_int_equal(parse(text), 0);
    assert_string_equal(diags, want);
    assert_int_equal(cfg.error_count, 1);
}

static void test_good_file(void **state)
{
    (void)state;
    const char *text =
        "\xef\xbb\xbf# Tessera guests\r\n"
        "\r\n"
        "slice_ms=25   # a comment after a setting\r\n"
        "guest linux\tkernel=/tessera/bzimage.elf  memory=512M cmdline=\"console=ttyS0 root=/dev/vda #x\"\r\n"
        "guest suite kernel=\\tessera\\suite.elf memory=4096K timeout=30 "
        "module=/tessera/initrd.img:\"rw  quiet\" module=/tessera/plain.bin "
        "module=\"/tessera/my mod.bin\":\"say \\\"hi\\\" c:\\\\x \\q\" disk=Data-1 disk_ro=yes\n"
        "  guest   g-3_x kernel=/k memory=2G disk=0123abcd-ef01-2345-6789-ABCDEF012345 disk_ro=no # done\n"
        "bench=yes diskcheck=yes";

    assert_int_equal(parse(text), 3);
    assert_string_equal(diags, "");
    assert_int_equal(cfg.error_count, 0);
    assert_int_equal(cfg.guest_count, 3);
    assert_int_equal(cfg.slice_ms, 25);
    assert_int_equal(cfg.disk_bench, 1);
    assert_int_equal(cfg.diskcheck, 1);

    const struct config_guest *g = &cfg.guests[0];
    assert_string_equal(g->name, "linux");
    assert_string_equal(g->kernel, "/tessera/bzimage.elf");
    assert_int_equal(g->memory, 512ull << 20);
    assert_string_equal(g->cmdline, "console=ttyS0 root=/dev/vda #x");
    assert_int_equal(g->timeout_ms, 0);
    assert_int_equal(g->module_count, 0);
    assert_string_equal(g->disk, "");
    assert_int_equal(g->line, 4);

    g = &cfg.guests[1];
    assert_string_equal(g->name, "suite");
    assert_string_equal(g->kernel, "\\tessera\\suite.elf");
    assert_int_equal(g->memory, 4096ull << 10);
    assert_int_equal(g->timeout_ms, 30000);
    assert_int_equal(g->module_count, 3);
    assert_string_equal(g->module_path[0], "/tessera/initrd.img");
    assert_string_equal(g->module_args[0], "rw  quiet");
    assert_string_equal(g->module_path[1], "/tessera/plain.bin");
    assert_string_equal(g->module_args[1], "");
    assert_string_equal(g->module_path[2], "/tessera/my mod.bin");
    assert_string_equal(g->module_args[2], "say \"hi\" c:\\x \\q");
    assert_string_equal(g->disk, "Data-1");
    assert_int_equal(g->disk_is_guid, 0);
    assert_int_equal(g->disk_readonly, 1);
    assert_int_equal(g->line, 5);

    g = &cfg.guests[2];
    assert_string_equal(g->name, "g-3_x");
    assert_int_equal(g->memory, 2ull << 30);
    assert_string_equal(g->disk, "0123abcd-ef01-2345-6789-ABCDEF012345");
    assert_int_equal(g->disk_is_guid, 1);
    assert_int_equal(g->disk_readonly, 0);
    assert_int_equal(g->line, 6);
}

static void test_defaults_and_empty(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(cfg.slice_ms, 10);
    assert_int_equal(cfg.disk_bench, 0);
    assert_int_equal(cfg.error_count, 0);
    assert_int_equal(config_parse(NULL, 0, "x.cfg", &cfg, collect, NULL), 0);
    assert_int_equal(parse("# only a comment\n\n   \t\n"), 0);
    assert_string_equal(diags, "");
    /* Tabs inside quotes become spaces. */
    assert_int_equal(parse("guest a kernel=/k memory=2M cmdline=\"a\tb\""), 1);
    assert_string_equal(cfg.guests[0].cmdline, "a b");
}

static void test_text_need_not_be_terminated(void **state)
{
    (void)state;
    const char *text = "guest a kernel=/k memory=2M cmdline=\"xyz\"GARBAGE";
    size_t len = strlen("guest a kernel=/k memory=2M cmdline=\"xyz\"");
    assert_int_equal(parse_n(text, len), 1);
    assert_string_equal(cfg.guests[0].cmdline, "xyz");
    /* Cut inside the quoted string: unterminated, not a read past len. */
    assert_int_equal(parse_n(text, len - 2), 0);
    assert_string_equal(diags, "tessera.cfg:1: unterminated quoted string\n");
}

static void test_messages(void **state)
{
    (void)state;
    expect_refused("guest a kernel=/k memroy=2M memory=2M",
                   "tessera.cfg:1: unknown key 'memroy' (expected kernel, memory, cmdline, module, "
                   "timeout, disk, disk_ro)");
    expect_refused("\n\nguest a kernel=/k memory=1X", "tessera.cfg:3: memory=1X: unknown size suffix");
    expect_refused("guest a kernel=/k memory=1MB", "tessera.cfg:1: memory=1MB: unknown size suffix");
    expect_refused("guest a kernel=/k memory=M", "tessera.cfg:1: memory=M: not a number");
    expect_refused("guest a kernel=/k memory=", "tessera.cfg:1: memory=: not a number");
    expect_refused("guest a kernel=/k memory=2044K",
                   "tessera.cfg:1: memory=2044K: out of range (2M..64G)");
    expect_refused("guest a kernel=/k memory=68719480832",
                   "tessera.cfg:1: memory=68719480832: out of range (2M..64G)");
    expect_refused("guest a kernel=/k memory=99999999999999999999999G",
                   "tessera.cfg:1: memory=99999999999999999999999G: out of range (2M..64G)");
    expect_refused("guest a kernel=/k memory=18014398509481984K",
                   "tessera.cfg:1: memory=18014398509481984K: out of range (2M..64G)");
    expect_refused("guest a kernel=/k memory=2097153",
                   "tessera.cfg:1: memory=2097153: not a multiple of 4 KiB");
    expect_refused("guest a kernel=/k memory=2M cmdline=\"abc",
                   "tessera.cfg:1: unterminated quoted string");
    expect_refused("guest a memory=2M", "tessera.cfg:1: guest 'a' has no kernel=PATH");
    expect_refused("guest a kernel=/k", "tessera.cfg:1: guest 'a' has no memory=SIZE");
    expect_refused("guest", "tessera.cfg:1: guest name missing (guest NAME kernel=PATH memory=SIZE ...)");
    expect_refused("guest kernel=/k memory=2M",
                   "tessera.cfg:1: guest name missing (guest NAME kernel=PATH memory=SIZE ...)");
    expect_refused("guest a.b kernel=/k memory=2M",
                   "tessera.cfg:1: invalid guest name 'a.b' (letters, digits, '-', '_', 1..15 characters)");
    expect_refused("guest abcdefghijklmnop kernel=/k memory=2M",
                   "tessera.cfg:1: invalid guest name 'abcdefghijklmnop' (letters, digits, '-', '_', "
                   "1..15 characters)");
    expect_refused("guest a kernel=/k memory=2M timeout=0",
                   "tessera.cfg:1: timeout=0: out of range (1..86400 seconds)");
    expect_refused("guest a kernel=/k memory=2M timeout=86401",
                   "tessera.cfg:1: timeout=86401: out of range (1..86400 seconds)");
    expect_refused("guest a kernel=/k memory=2M timeout=99999999999999999999999",
                   "tessera.cfg:1: timeout=99999999999999999999999: out of range (1..86400 seconds)");
    expect_refused("guest a kernel=/k memory=2M timeout=5s", "tessera.cfg:1: timeout=5s: not a number");
    expect_refused("slice_ms=0", "tessera.cfg:1: slice_ms=0: out of range (1..1000)");
    expect_refused("slice_ms=1001", "tessera.cfg:1: slice_ms=1001: out of range (1..1000)");
    expect_refused("slice_ms=fast", "tessera.cfg:1: slice_ms=fast: not a number");
    expect_refused("bench=maybe", "tessera.cfg:1: bench=maybe: expected yes or no");
    expect_refused("slice_ms=5 turbo=1",
                   "tessera.cfg:1: unknown setting 'turbo' (expected slice_ms, bench or diskcheck; guests are "
                   "declared with 'guest NAME ...')");
    assert_int_equal(cfg.slice_ms, 10); /* the whole settings line was skipped */
    expect_refused("gust a kernel=/k memory=2M",
                   "tessera.cfg:1: unknown declaration 'gust' (expected 'guest NAME ...', slice_ms=N, "
                   "bench=yes|no or diskcheck=yes|no)");
    expect_refused("diskcheck=sometimes", "tessera.cfg:1: diskcheck=sometimes: expected yes or no");
    expect_refused("diskcheck=yes diskcheck=no", "tessera.cfg:1: diskcheck is set twice");
    assert_int_equal(cfg.diskcheck, 0);
    expect_refused("guest a kernel=/k memory=2M extra",
                   "tessera.cfg:1: expected KEY=VALUE, got 'extra'");
    expect_refused("guest a kernel=/k kernel=/j memory=2M", "tessera.cfg:1: kernel= is given twice");
    expect_refused("guest a kernel=/k memory=2M cmdline=a\"b\"",
                   "tessera.cfg:1: unexpected '\"' inside a value (quote the whole value)");
    expect_refused("guest a kernel=/k memory=2M cmdline=\"a\"b",
                   "tessera.cfg:1: unexpected 'b' after the closing quote of cmdline=");
    expect_refused("guest a kernel=/k memory=2M \"x\"", "tessera.cfg:1: a quoted string must follow KEY=");
    expect_refused("guest a kernel=/k memory=2M cmdline=\"a\x01\"",
                   "tessera.cfg:1: control character 0x01 in a quoted string");
    expect_refused("guest a kernel=/k\x7f memory=2M", "tessera.cfg:1: control character 0x7f in a value");
}

static void test_paths(void **state)
{
    (void)state;
    expect_refused("guest a kernel=tessera/k.elf memory=2M",
                   "tessera.cfg:1: kernel=tessera/k.elf: path must start with '/' or '\\'");
    expect_refused("guest a kernel= memory=2M", "tessera.cfg:1: kernel=: path must start with '/' or '\\'");
    expect_refused("guest a kernel=/tessera/ memory=2M",
                   "tessera.cfg:1: kernel=/tessera/: path names a folder, not a file");
    expect_refused("guest a kernel=\"/a*b\" memory=2M", "tessera.cfg:1: kernel=/a*b: '*' is not allowed in a path");
    expect_refused("guest a kernel=\"/c:/x\" memory=2M", "tessera.cfg:1: kernel=/c:/x: ':' is not allowed in a path");
    expect_refused("guest a kernel=/k memory=2M module=initrd",
                   "tessera.cfg:1: module=initrd: path must start with '/' or '\\'");
    expect_refused("guest a kernel=/k memory=2M module=/m:",
                   "tessera.cfg:1: module=/m: a quoted argument string must follow ':' (module=PATH:\"ARGS\")");
    expect_refused("guest a kernel=/k memory=2M module=/m:args",
                   "tessera.cfg:1: module=/m: a quoted argument string must follow ':' (module=PATH:\"ARGS\")");
    expect_refused("guest a kernel=/k memory=2M module=/m \"args\"",
                   "tessera.cfg:1: a quoted string must follow KEY=");
    expect_refused("guest a kernel=/k memory=2M module=/m:\"x\"y",
                   "tessera.cfg:1: unexpected 'y' after the closing quote of module=");
    expect_refused("guest a kernel=/k memory=2M module=/m:\"x",
                   "tessera.cfg:1: unterminated quoted string");
    /* ':' only separates module arguments; elsewhere a bare ':' is part of the value. */
    expect_refused("guest a kernel=/k memory=2M cmdline=a:\"b\"",
                   "tessera.cfg:1: unexpected '\"' inside a value (quote the whole value)");
}

/* Values exactly at their field's limit are kept whole; one more character is refused. */
static void test_lengths(void **state)
{
    (void)state;
    char path[200], text[1200], args[300];

    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[127] = 0;
    snprintf(text, sizeof text, "guest a kernel=%s memory=2M", path);
    assert_int_equal(parse(text), 1);
    assert_string_equal(cfg.guests[0].kernel, path);
    path[127] = 'p';
    path[128] = 0;
    snprintf(text, sizeof text, "guest a kernel=%s memory=2M", path);
    expect_refused(text, "tessera.cfg:1: kernel path is too long (128 characters, at most 127)");
    snprintf(text, sizeof text, "guest a kernel=/k memory=2M module=%s", path);
    expect_refused(text, "tessera.cfg:1: module path is too long (128 characters, at most 127)");

    memset(args, 'c', sizeof args);
    args[255] = 0;
    snprintf(text, sizeof text, "guest a kernel=/k memory=2M cmdline=\"%s\" module=/m:\"%s\"", args, args);
    assert_int_equal(parse(text), 1);
    assert_string_equal(cfg.guests[0].cmdline, args);
    assert_string_equal(cfg.guests[0].module_args[0], args);
    args[255] = 'c';
    args[299] = 0;
    snprintf(text, sizeof text, "guest a kernel=/k memory=2M cmdline=\"%s\"", args);
    expect_refused(text, "tessera.cfg:1: cmdline is too long (299 characters, at most 255)");
    snprintf(text, sizeof text, "guest a kernel=/k memory=2M module=/m:\"%s\"", args);
    expect_refused(text, "tessera.cfg:1: module argument string is too long (299 characters, at most 255)");

    expect_refused("guest a kernel=/k memory=2M disk=abcdefghijklmnopqrstuvwxyz0123456789X",
                   "tessera.cfg:1: disk= is too long (37 characters, at most 36)");
    assert_int_equal(parse("guest a kernel=/k memory=2M disk=abcdefghijklmnopqrstuvwxyz0123456789"), 1);
    assert_string_equal(cfg.guests[0].disk, "abcdefghijklmnopqrstuvwxyz0123456789");
    expect_refused("guest a kernel=/k memory=000000000000000000000000000000002M",
                   "tessera.cfg:1: memory= is too long (34 characters, at most 31)");

    assert_int_equal(parse("guest abcdefghijklmno kernel=/k memory=2M"), 1);
    assert_string_equal(cfg.guests[0].name, "abcdefghijklmno");
}

static void test_limits(void **state)
{
    (void)state;
    char text[8192];
    size_t n = 0;

    n += (size_t)snprintf(text + n, sizeof text - n, "guest a kernel=/k memory=2M");
    for (int i = 0; i < BOOTINFO_MAX_MODULES; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, " module=/m%d:\"%d\"", i, i);
    assert_int_equal(parse(text), 1);
    assert_int_equal(cfg.guests[0].module_count, BOOTINFO_MAX_MODULES);
    assert_string_equal(cfg.guests[0].module_path[7], "/m7");
    assert_string_equal(cfg.guests[0].module_args[7], "7");
    n += (size_t)snprintf(text + n, sizeof text - n, " module=/m8 module=/m9");
    expect_refused(text, "tessera.cfg:1: too many modules (at most 8)");

    n = 0;
    for (int i = 0; i < BOOTINFO_MAX_GUESTS + 2; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "guest g%d kernel=/k memory=2M\n", i);
    assert_int_equal(parse(text), BOOTINFO_MAX_GUESTS);
    assert_string_equal(diags,
                        "tessera.cfg:17: too many guests (at most 16); guest 'g16' is skipped\n"
                        "tessera.cfg:18: too many guests (at most 16); guest 'g17' is skipped\n");
    assert_int_equal(cfg.error_count, 2);
    assert_string_equal(cfg.guests[15].name, "g15");

    assert_int_equal(parse("guest a kernel=/k memory=2M\nguest b kernel=/k memory=64G timeout=86400\n"
                           "slice_ms=1000"), 2);
    assert_int_equal(cfg.guests[0].memory, 2ull << 20);
    assert_int_equal(cfg.guests[1].memory, 64ull << 30);
    assert_int_equal(cfg.guests[1].timeout_ms, 86400000ull);
    assert_int_equal(cfg.slice_ms, 1000);
    assert_int_equal(parse("slice_ms=1"), 0);
    assert_int_equal(cfg.slice_ms, 1);
    assert_int_equal(cfg.error_count, 0);
}

static void test_disk(void **state)
{
    (void)state;
    expect_refused("guest a kernel=/k memory=2M disk=0123abcd-ef01-2345-6789-ABCDEF01234g",
                   "tessera.cfg:1: disk=0123abcd-ef01-2345-6789-ABCDEF01234g: malformed GUID "
                   "(expected 8-4-4-4-12 hex digits)");
    expect_refused("guest a kernel=/k memory=2M disk_ro=yes", "tessera.cfg:1: disk_ro= given without disk=");
    expect_refused("guest a kernel=/k memory=2M disk=d disk_ro=1", "tessera.cfg:1: disk_ro=1: expected yes or no");
    expect_refused("guest a kernel=/k memory=2M disk=", "tessera.cfg:1: disk=: expected a GPT partition name or GUID");
    assert_int_equal(parse("guest a kernel=/k memory=2M disk=\"My Data\""), 1);
    assert_string_equal(cfg.guests[0].disk, "My Data");
    assert_int_equal(cfg.guests[0].disk_readonly, 0);
}

/* One bad guest (or several problems on its line) costs that guest only. */
static void test_bad_guest_skipped_others_kept(void **state)
{
    (void)state;
    const char *text =
        "guest a kernel=/a memory=16M\n"
        "guest b kernel=/b memroy=16M\n"
        "guest c kernel=/c memory=16M\n"
        "guest a kernel=/a2 memory=32M\n"
        "guest d kernel=d memory=3X timeout=0\n"
        "guest e kernel=/e memory=8M module=/m:\"unterminated\n"
        "slice_ms=7\n"
        "slice_ms=8\n"
        "guest f kernel=/f memory=8M\n";

    assert_int_equal(parse(text), 3);
    assert_string_equal(diags,
        "tessera.cfg:2: unknown key 'memroy' (expected kernel, memory, cmdline, module, timeout, disk, disk_ro)\n"
        "tessera.cfg:2: guest 'b' has no memory=SIZE\n"
        "tessera.cfg:4: guest 'a' is declared twice; this line is skipped\n"
        "tessera.cfg:5: kernel=d: path must start with '/' or '\\'\n"
        "tessera.cfg:5: memory=3X: unknown size suffix\n"
        "tessera.cfg:5: timeout=0: out of range (1..86400 seconds)\n"
        "tessera.cfg:6: unterminated quoted string\n"
        "tessera.cfg:8: slice_ms is set twice\n");
    assert_int_equal(cfg.error_count, 8);
    assert_int_equal(diag_count, 8);
    assert_string_equal(cfg.guests[0].name, "a");
    assert_string_equal(cfg.guests[0].kernel, "/a");
    assert_int_equal(cfg.guests[0].memory, 16ull << 20);
    assert_string_equal(cfg.guests[1].name, "c");
    assert_string_equal(cfg.guests[2].name, "f");
    assert_int_equal(cfg.guests[2].line, 9);
    assert_int_equal(cfg.slice_ms, 7);

    /* A name freed by a skipped line may be used again. */
    assert_int_equal(parse("guest a kernel=/a memory=1X\nguest a kernel=/a memory=2M\n"), 1);
    assert_int_equal(cfg.guests[0].line, 2);
}

static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "guest a kernel=/a memory=2M\nguest b kernel=/b\0 memory=2M\r\nguest c kernel=/c memory=2M";
    assert_int_equal(parse_n(text, sizeof text - 1), 2);
    assert_string_equal(diags, "tessera.cfg:2: NUL byte in the line; it is skipped\n");
    assert_string_equal(cfg.guests[1].name, "c");
}

/* bench=yes is what lets guests have Tessera benchmark its disk driver on their own minidisk
 * (HC_DISK_BENCH, which overwrites it): the flag handed to the hypervisor must say so, and
 * nothing else may turn it on. */
static void test_bench_flag_lets_guests_benchmark_their_disk(void **state)
{
    (void)state;
    assert_int_equal(parse("bench=yes"), 0);
    assert_int_equal(cfg.error_count, 0);
    assert_int_equal(cfg.disk_bench, 1);
    assert_int_equal(config_bootinfo_flags(&cfg), BOOTINFO_F_DISK_BENCH);
    assert_int_equal(parse("bench=no diskcheck=yes"), 0);
    assert_int_equal(config_bootinfo_flags(&cfg), BOOTINFO_F_DISKCHECK);
    assert_int_equal(parse("slice_ms=5 bench=yes diskcheck=yes"), 0);
    assert_int_equal(config_bootinfo_flags(&cfg), BOOTINFO_F_DISK_BENCH | BOOTINFO_F_DISKCHECK);
    assert_int_equal(parse(""), 0);
    assert_int_equal(config_bootinfo_flags(&cfg), 0);
    /* A refused line sets nothing. */
    assert_int_equal(parse("bench=yes turbo=1"), 0);
    assert_int_equal(config_bootinfo_flags(&cfg), 0);
    assert_true(BOOTINFO_F_DISK_BENCH != BOOTINFO_F_DISKCHECK);
}

static void test_no_diag_callback(void **state)
{
    (void)state;
    const char *text = "guest a kernel=/a memory=1X\nguest b kernel=/b memory=2M\n";
    assert_int_equal(config_parse(text, strlen(text), NULL, &cfg, NULL, NULL), 1);
    assert_int_equal(cfg.error_count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_defaults_and_empty),
        cmocka_unit_test(test_text_need_not_be_terminated),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_disk),
        cmocka_unit_test(test_bad_guest_skipped_others_kept),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_no_diag_callback),
        cmocka_unit_test(test_bench_flag_lets_guests_benchmark_their_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
