/* A small vsnprintf for the freestanding hypervisor: integers, strings, pointers. No floats. */
#include <stdbool.h>
#include <stdint.h>
#include "lib/log.h"

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

static void put_number(struct out *o, uint64_t v, bool negative, unsigned base, bool upper,
                       int width, bool left, char pad, bool alt)
{
    char tmp[24];
    const bool zero = v == 0; /* C's '#' prefixes 0x to non-zero values only */
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    size_t n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
        v /= base;
    } while (v);
    if (alt && base == 16 && !zero) {
        if (pad == '0') {
            put(o, '0');
            put(o, upper ? 'X' : 'x');
            width = width > 2 ? width - 2 : 0;
        } else {
            tmp[sizeof(tmp) - 1 - n++] = upper ? 'X' : 'x';
            tmp[sizeof(tmp) - 1 - n++] = '0';
        }
    }
    if (negative) {
        if (pad == '0') {
            put(o, '-');
            width = width > 0 ? width - 1 : 0;
        } else {
            tmp[sizeof(tmp) - 1 - n++] = '-';
        }
    }
    put_padded(o, tmp + sizeof(tmp) - n, n, width, left, pad);
}

int fmt_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = { buf, cap, 0 };
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        p++;
        bool left = false, alt = false;
        char pad = ' ';
        for (;; p++) {
            if (*p == '-')
                left = true;
            else if (*p == '#')
                alt = true;
            else if (*p == '0')
                pad = '0';
            else
                break;
        }
        int width = 0;
        while (*p >= '0' && *p <= '9')
            width = width * 10 + (*p++ - '0');
        int precision = -1;
        if (*p == '.') {
            p++;
            precision = 0;
            if (*p == '*') {
                precision = va_arg(ap, int);
                p++;
            }
            while (*p >= '0' && *p <= '9')
                precision = precision * 10 + (*p++ - '0');
        }
        int longness = 0; /* -2 hh, -1 h, 0 int, 1 long, 2 long long / size_t */
        for (;; p++) {
            if (*p == 'l')
                longness++;
            else if (*p == 'z')
                longness = 2;
            else if (*p == 'h')
                longness--;
            else
                break;
        }
        if (left)
            pad = ' ';
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longness >= 1 ? va_arg(ap, long long) : va_arg(ap, int);
            if (longness == -1)
                v = (short)v;
            else if (longness <= -2)
                v = (signed char)v;
            put_number(&o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, false, width, left, pad, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longness >= 1 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
            if (longness == -1)
                v = (unsigned short)v;
            else if (longness <= -2)
                v = (unsigned char)v;
            put_number(&o, v, false, *p == 'u' ? 10 : 16, *p == 'X', width, left, pad, alt);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_number(&o, (uintptr_t)va_arg(ap, void *), false, 16, false, width, left, pad, false);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            size_t n = 0;
            while ((precision < 0 || n < (size_t)precision) && s[n]) /* never read past the precision */
                n++;
            put_padded(&o, s, n, width, left, ' ');
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            put_padded(&o, &c, 1, width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case 0:
            p--;
            break;
        default:
            put(&o, '%');
            put(&o, *p);
            break;
        }
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    return (int)o.len;
}

int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fmt_vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}
