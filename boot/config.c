/* Parser for the guest configuration file (format and rules in config.h). Pure and libc-free:
 * it runs inside the UEFI loader before anything else can report errors, and in host tests. */
#include <stdarg.h>
#include <stdbool.h>
#include "config.h"
#include "lib/log.h"
#include "lib/mem.h"

#define VALUE_MAX        GUEST_CMDLINE_MAX   /* the longest field; longer values are refused anyway */
#define SHORT_VALUE_MAX  32                  /* numbers and yes/no */
#define MEMORY_MIN       (2ull << 20)
#define MEMORY_MAX       (64ull << 30)
#define TIMEOUT_MAX_S    86400u
#define SLICE_MS_MAX     1000u
#define SLICE_MS_DEFAULT 10u
#define GUID_TEXT_LEN    36u
#define KEY_SHOWN_MAX    32                  /* how much of an unknown word a message repeats */

struct parser {
    const char *file;
    unsigned line;
    config_diag_fn diag;
    void *ctx;
    struct config *out;
    const char *p, *end;        /* the unread rest of the current line */
    unsigned slice_line;        /* line that set slice_ms, 0 = not yet */
    unsigned disk_bench_line;
    unsigned diskcheck_line;
};

/* A value as read; len counts every character, even those beyond what s could hold, so that
 * "too long" is reported with the real length and nothing is cut silently. */
struct text {
    char s[VALUE_MAX];
    size_t len;
};

struct word {
    const char *key;            /* the text before '=' (the whole word if there is none) */
    size_t key_len;
    bool has_value;
    struct text value;
    bool has_args;              /* module=PATH:"ARGS" */
    struct text args;
};

enum word_result { WORD_END, WORD_OK, WORD_BAD };

static void report(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct parser *ps, const char *fmt, ...)
{
    char msg[640];
    int n = fmt_snprintf(msg, sizeof msg, "%s:%u: ", ps->file, ps->line);
    if (n >= 0 && (size_t)n < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
        va_end(ap);
    }
    ps->out->error_count++;
    if (ps->diag)
        ps->diag(ps->ctx, msg);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool is_control(char c)
{
    return (unsigned char)c < 0x20 || c == 0x7f;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void text_append(struct text *t, char c)
{
    if (t->len < VALUE_MAX - 1)
        t->s[t->len] = c;
    t->len++;
    t->s[t->len < VALUE_MAX - 1 ? t->len : VALUE_MAX - 1] = 0;
}

static bool word_is(const struct word *w, const char *key)
{
    size_t n = strlen(key);
    return w->key_len == n && memcmp(w->key, key, n) == 0;
}

/* A word of the line as a message repeats it: NUL-terminated and at most KEY_SHOWN_MAX long.
 * (Copied rather than printed with "%s": the formatter must never look past the line.) */
struct shown {
    char s[KEY_SHOWN_MAX + 1];
};

static struct shown show(const char *text, size_t len)
{
    struct shown out;
    size_t n = len > KEY_SHOWN_MAX ? KEY_SHOWN_MAX : len;
    memcpy(out.s, text, n);
    out.s[n] = 0;
    return out;
}

static bool read_quoted(struct parser *ps, struct text *t)
{
    ps->p++; /* the opening quote */
    while (ps->p < ps->end) {
        char c = *ps->p++;
        if (c == '"')
            return true;
        if (c == '\\' && ps->p < ps->end && (*ps->p == '"' || *ps->p == '\\')) {
            c = *ps->p++;
        } else if (c == '\t') {
            c = ' ';
        } else if (is_control(c)) {
            report(ps, "control character 0x%02x in a quoted string", (unsigned)(unsigned char)c);
            return false;
        }
        text_append(t, c);
    }
    report(ps, "unterminated quoted string");
    return false;
}

/* A bare module path stops at ':' because its quoted arguments may follow. */
static bool read_bare(struct parser *ps, struct text *t, bool stop_at_colon)
{
    while (ps->p < ps->end && !is_space(*ps->p)) {
        char c = *ps->p;
        if (c == ':' && stop_at_colon)
            break;
        if (c == '"') {
            report(ps, "unexpected '\"' inside a value (quote the whole value)");
            return false;
        }
        if (is_control(c)) {
            report(ps, "control character 0x%02x in a value", (unsigned)(unsigned char)c);
            return false;
        }
        text_append(t, c);
        ps->p++;
    }
    return true;
}

static enum word_result read_word(struct parser *ps, struct word *w)
{
    w->has_value = w->has_args = false;
    w->value.len = w->args.len = 0;
    w->value.s[0] = w->args.s[0] = 0;

    while (ps->p < ps->end && is_space(*ps->p))
        ps->p++;
    if (ps->p == ps->end || *ps->p == '#')
        return WORD_END;

    w->key = ps->p;
    while (ps->p < ps->end && !is_space(*ps->p) && *ps->p != '=' && *ps->p != '"') {
        if (is_control(*ps->p)) {
            report(ps, "control character 0x%02x in a value", (unsigned)(unsigned char)*ps->p);
            return WORD_BAD;
        }
        ps->p++;
    }
    w->key_len = (size_t)(ps->p - w->key);
    if (ps->p < ps->end && *ps->p == '"') {
        report(ps, "a quoted string must follow KEY=");
        return WORD_BAD;
    }
    if (ps->p == ps->end || *ps->p != '=')
        return WORD_OK;

    ps->p++; /* '=' */
    w->has_value = true;
    bool is_module = word_is(w, "module");
    bool ok = (ps->p < ps->end && *ps->p == '"') ? read_quoted(ps, &w->value)
                                                 : read_bare(ps, &w->value, is_module);
    if (!ok)
        return WORD_BAD;
    if (is_module && ps->p < ps->end && *ps->p == ':') {
        ps->p++;
        if (ps->p == ps->end || *ps->p != '"') {
            report(ps, "module=%s: a quoted argument string must follow ':' (module=PATH:\"ARGS\")",
                   w->value.s);
            return WORD_BAD;
        }
        if (!read_quoted(ps, &w->args))
            return WORD_BAD;
        w->has_args = true;
    }
    if (ps->p < ps->end && !is_space(*ps->p)) {
        report(ps, "unexpected '%c' after the closing quote of %s=", *ps->p,
               show(w->key, w->key_len).s);
        return WORD_BAD;
    }
    return WORD_OK;
}

static bool check_length(struct parser *ps, const char *what, const struct text *t, size_t field_size)
{
    if (t->len <= field_size - 1)
        return true;
    report(ps, "%s is too long (%zu characters, at most %zu)", what, t->len, field_size - 1);
    return false;
}

/* Copies a checked value; its length fits the field. */
static void copy_text(char *dst, const struct text *t)
{
    memcpy(dst, t->s, t->len);
    dst[t->len] = 0;
}

static bool check_path(struct parser *ps, const char *key, const char *what, const struct text *t)
{
    if (!check_length(ps, what, t, GUEST_PATH_MAX))
        return false;
    if (t->len == 0 || (t->s[0] != '/' && t->s[0] != '\\')) {
        report(ps, "%s=%s: path must start with '/' or '\\'", key, t->s);
        return false;
    }
    if (t->s[t->len - 1] == '/' || t->s[t->len - 1] == '\\') {
        report(ps, "%s=%s: path names a folder, not a file", key, t->s);
        return false;
    }
    for (size_t i = 0; i < t->len; i++) {
        char c = t->s[i];
        if (c == '"' || c == '*' || c == ':' || c == '<' || c == '>' || c == '?' || c == '|') {
            report(ps, "%s=%s: '%c' is not allowed in a path", key, t->s, c);
            return false;
        }
    }
    return true;
}

/* Leading decimal digits of t (all of them are counted in *digits); false on overflow. */
static bool parse_digits(const struct text *t, uint64_t *value, size_t *digits)
{
    uint64_t v = 0;
    bool fits = true;
    size_t i = 0;
    for (; i < t->len && t->s[i] >= '0' && t->s[i] <= '9'; i++) {
        unsigned d = (unsigned)(t->s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            fits = false;
        else
            v = v * 10 + d;
    }
    *value = v;
    *digits = i;
    return fits;
}

static bool parse_memory(struct parser *ps, const struct text *t, uint64_t *bytes)
{
    uint64_t n, unit = 1;
    size_t digits;
    if (!check_length(ps, "memory=", t, SHORT_VALUE_MAX))
        return false;
    if (!parse_digits(t, &n, &digits)) {
        report(ps, "memory=%s: out of range (2M..64G)", t->s);
        return false;
    }
    if (digits == 0) {
        report(ps, "memory=%s: not a number", t->s);
        return false;
    }
    if (t->len - digits == 1) {
        switch (t->s[digits]) {
        case 'k': case 'K': unit = 1ull << 10; break;
        case 'm': case 'M': unit = 1ull << 20; break;
        case 'g': case 'G': unit = 1ull << 30; break;
        default: unit = 0; break;
        }
    }
    if (t->len - digits > 1 || unit == 0) {
        report(ps, "memory=%s: unknown size suffix", t->s);
        return false;
    }
    if (n > MEMORY_MAX / unit || n * unit < MEMORY_MIN) {
        report(ps, "memory=%s: out of range (2M..64G)", t->s);
        return false;
    }
    if ((n * unit) % 4096 != 0) {
        report(ps, "memory=%s: not a multiple of 4 KiB", t->s);
        return false;
    }
    *bytes = n * unit;
    return true;
}

/* A whole-number value in [min, max]; the messages name the key and the unit. */
static bool parse_bounded(struct parser *ps, const char *key, const struct text *t, uint64_t min,
                          uint64_t max, const char *unit, uint64_t *value)
{
    size_t digits;
    if (!check_length(ps, key, t, SHORT_VALUE_MAX))
        return false;
    bool no_overflow = parse_digits(t, value, &digits);
    if (digits == 0 || digits != t->len) {
        report(ps, "%s%s: not a number", key, t->s);
        return false;
    }
    if (!no_overflow || *value < min || *value > max) {
        report(ps, "%s%s: out of range (%llu..%llu%s)", key, t->s, (unsigned long long)min,
               (unsigned long long)max, unit);
        return false;
    }
    return true;
}

static bool parse_yes_no(struct parser *ps, const char *key, const struct text *t, int *value)
{
    if (t->len == 3 && memcmp(t->s, "yes", 3) == 0) {
        *value = 1;
        return true;
    }
    if (t->len == 2 && memcmp(t->s, "no", 2) == 0) {
        *value = 0;
        return true;
    }
    if (!check_length(ps, key, t, SHORT_VALUE_MAX))
        return false;
    report(ps, "%s%s: expected yes or no", key, t->s);
    return false;
}

static bool parse_disk(struct parser *ps, const struct text *t, struct config_guest *g)
{
    if (!check_length(ps, "disk=", t, DISK_PART_NAME_MAX))
        return false;
    if (t->len == 0) {
        report(ps, "disk=: expected a GPT partition name or GUID");
        return false;
    }
    bool guid_shape = t->len == GUID_TEXT_LEN && t->s[8] == '-' && t->s[13] == '-' &&
                      t->s[18] == '-' && t->s[23] == '-';
    if (guid_shape) {
        for (size_t i = 0; i < t->len; i++) {
            if (i != 8 && i != 13 && i != 18 && i != 23 && !is_hex(t->s[i])) {
                report(ps, "disk=%s: malformed GUID (expected 8-4-4-4-12 hex digits)", t->s);
                return false;
            }
        }
    }
    copy_text(g->disk, t);
    g->disk_is_guid = guid_shape;
    return true;
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > GUEST_NAME_MAX - 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

struct guest_keys_seen {
    bool kernel, memory, cmdline, timeout, disk, disk_ro, too_many_modules;
};

static bool once(struct parser *ps, bool *seen, const char *key)
{
    if (*seen) {
        report(ps, "%s is given twice", key);
        return false;
    }
    *seen = true;
    return true;
}

static void parse_guest_key(struct parser *ps, const struct word *w, struct config_guest *g,
                            struct guest_keys_seen *seen)
{
    const struct text *v = &w->value;
    uint64_t n;

    if (w->has_args && !word_is(w, "module")) {
        report(ps, "only module= takes a quoted argument string after ':'");
        return;
    }
    if (word_is(w, "kernel")) {
        if (once(ps, &seen->kernel, "kernel=") && check_path(ps, "kernel", "kernel path", v))
            copy_text(g->kernel, v);
    } else if (word_is(w, "memory")) {
        if (once(ps, &seen->memory, "memory="))
            parse_memory(ps, v, &g->memory);
    } else if (word_is(w, "cmdline")) {
        if (once(ps, &seen->cmdline, "cmdline=") && check_length(ps, "cmdline", v, GUEST_CMDLINE_MAX))
            copy_text(g->cmdline, v);
    } else if (word_is(w, "module")) {
        if (g->module_count == BOOTINFO_MAX_MODULES) {
            if (!seen->too_many_modules)
                report(ps, "too many modules (at most %d)", BOOTINFO_MAX_MODULES);
            seen->too_many_modules = true;
            return;
        }
        if (!check_path(ps, "module", "module path", v) ||
            !check_length(ps, "module argument string", &w->args, GUEST_CMDLINE_MAX))
            return;
        copy_text(g->module_path[g->module_count], v);
        copy_text(g->module_args[g->module_count], &w->args);
        g->module_count++;
    } else if (word_is(w, "timeout")) {
        if (once(ps, &seen->timeout, "timeout=") &&
            parse_bounded(ps, "timeout=", v, 1, TIMEOUT_MAX_S, " seconds", &n))
            g->timeout_ms = n * 1000;
    } else if (word_is(w, "disk")) {
        if (once(ps, &seen->disk, "disk="))
            parse_disk(ps, v, g);
    } else if (word_is(w, "disk_ro")) {
        if (once(ps, &seen->disk_ro, "disk_ro="))
            parse_yes_no(ps, "disk_ro=", v, &g->disk_readonly);
    } else {
        report(ps, "unknown key '%s' (expected kernel, memory, cmdline, module, timeout, disk, "
                   "disk_ro)", show(w->key, w->key_len).s);
    }
}

static bool name_taken(const struct config *cfg, const char *name)
{
    for (unsigned i = 0; i < cfg->guest_count; i++)
        if (strcmp(cfg->guests[i].name, name) == 0)
            return true;
    return false;
}

static void parse_guest(struct parser *ps, struct word *w)
{
    struct config_guest g;
    struct guest_keys_seen seen = { 0 };
    unsigned errors_before = ps->out->error_count;

    memset(&g, 0, sizeof g);
    g.line = ps->line;

    enum word_result r = read_word(ps, w);
    if (r == WORD_BAD)
        return;
    if (r == WORD_END || w->has_value) {
        report(ps, "guest name missing (guest NAME kernel=PATH memory=SIZE ...)");
        return;
    }
    bool named = valid_name(w->key, w->key_len);
    if (named) {
        memcpy(g.name, w->key, w->key_len);
        g.name[w->key_len] = 0;
    } else {
        report(ps, "invalid guest name '%s' (letters, digits, '-', '_', 1..15 characters)",
               show(w->key, w->key_len).s);
    }

    while ((r = read_word(ps, w)) == WORD_OK) {
        if (w->has_value)
            parse_guest_key(ps, w, &g, &seen);
        else
            report(ps, "expected KEY=VALUE, got '%s'", show(w->key, w->key_len).s);
    }
    if (r == WORD_BAD)
        return;

    const char *shown = named ? g.name : "?";
    if (!seen.kernel)
        report(ps, "guest '%s' has no kernel=PATH", shown);
    if (!seen.memory)
        report(ps, "guest '%s' has no memory=SIZE", shown);
    if (seen.disk_ro && !seen.disk)
        report(ps, "disk_ro= given without disk=");
    if (named && name_taken(ps->out, g.name))
        report(ps, "guest '%s' is declared twice; this line is skipped", g.name);
    if (ps->out->error_count != errors_before)
        return;
    if (ps->out->guest_count == BOOTINFO_MAX_GUESTS) {
        report(ps, "too many guests (at most %d); guest '%s' is skipped", BOOTINFO_MAX_GUESTS,
               g.name);
        return;
    }
    ps->out->guests[ps->out->guest_count++] = g;
}

/* A line of global settings, applied only if all of it is valid. */
static void parse_settings(struct parser *ps, struct word *w)
{
    unsigned errors_before = ps->out->error_count;
    bool has_slice = false, has_disk_bench = false, has_diskcheck = false;
    uint64_t slice = 0;
    int disk_bench = 0, diskcheck = 0;
    enum word_result r = WORD_OK;

    for (; r == WORD_OK; r = read_word(ps, w)) {
        if (!w->has_value) {
            report(ps, "expected KEY=VALUE, got '%s'", show(w->key, w->key_len).s);
        } else if (w->has_args) {
            report(ps, "only module= takes a quoted argument string after ':'");
        } else if (word_is(w, "slice_ms")) {
            if (has_slice || ps->slice_line)
                report(ps, "slice_ms is set twice");
            else
                has_slice = parse_bounded(ps, "slice_ms=", &w->value, 1, SLICE_MS_MAX, "", &slice);
        } else if (word_is(w, "bench")) {
            if (has_disk_bench || ps->disk_bench_line)
                report(ps, "bench is set twice");
            else
                has_disk_bench = parse_yes_no(ps, "bench=", &w->value, &disk_bench);
        } else if (word_is(w, "diskcheck")) {
            if (has_diskcheck || ps->diskcheck_line)
                report(ps, "diskcheck is set twice");
            else
                has_diskcheck = parse_yes_no(ps, "diskcheck=", &w->value, &diskcheck);
        } else {
            report(ps, "unknown setting '%s' (expected slice_ms, bench or diskcheck; guests are declared "
                       "with 'guest NAME ...')", show(w->key, w->key_len).s);
        }
    }
    if (r == WORD_BAD || ps->out->error_count != errors_before)
        return;
    if (has_slice) {
        ps->out->slice_ms = (unsigned)slice;
        ps->slice_line = ps->line;
    }
    if (has_disk_bench) {
        ps->out->disk_bench = disk_bench;
        ps->disk_bench_line = ps->line;
    }
    if (has_diskcheck) {
        ps->out->diskcheck = diskcheck;
        ps->diskcheck_line = ps->line;
    }
}

static void parse_line(struct parser *ps)
{
    struct word w;
    enum word_result r = read_word(ps, &w);
    if (r != WORD_OK)
        return;
    if (!w.has_value && word_is(&w, "guest"))
        parse_guest(ps, &w);
    else if (w.has_value)
        parse_settings(ps, &w);
    else
        report(ps, "unknown declaration '%s' (expected 'guest NAME ...', slice_ms=N, "
                   "bench=yes|no or diskcheck=yes|no)", show(w.key, w.key_len).s);
}

unsigned config_parse(const char *text, size_t len, const char *file_name, struct config *out,
                      config_diag_fn diag, void *ctx)
{
    struct parser ps = {
        .file = file_name ? file_name : "config",
        .diag = diag,
        .ctx = ctx,
        .out = out,
    };
    size_t pos = 0;

    memset(out, 0, sizeof *out);
    out->slice_ms = SLICE_MS_DEFAULT;
    if (!text)
        len = 0;
    if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
        (unsigned char)text[2] == 0xbf)
        pos = 3;

    while (pos < len) {
        size_t start = pos, stop = pos;
        bool has_nul = false;
        while (stop < len && text[stop] != '\n') {
            has_nul |= text[stop] == 0;
            stop++;
        }
        pos = stop < len ? stop + 1 : stop;
        if (stop > start && text[stop - 1] == '\r')
            stop--;
        ps.line++;
        if (has_nul) {
            report(&ps, "NUL byte in the line; it is skipped");
            continue;
        }
        ps.p = text + start;
        ps.end = text + stop;
        parse_line(&ps);
    }
    return out->guest_count;
}

uint32_t config_bootinfo_flags(const struct config *cfg)
{
    return (cfg->disk_bench ? BOOTINFO_F_DISK_BENCH : 0) | (cfg->diskcheck ? BOOTINFO_F_DISKCHECK : 0);
}
