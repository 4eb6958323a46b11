/* COM1 output and the printf the guest programs share. */
#include <stdbool.h>
#include <stdint.h>
#include "console.h"
#include "cpu.h"

#define UART_LSR 5
#define LSR_THRE 0x20

void console_putc(char c)
{
    /* Bounded: a broken UART must slow output down, not hang the guest. */
    for (unsigned spins = 0; spins < 100000 && !(inb(COM1_PORT + UART_LSR) & LSR_THRE); spins++)
        ;
    outb(COM1_PORT, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        console_putc(s[i]);
}

static void put_padded(const char *digits, unsigned len, unsigned width, bool zero_pad, bool left,
                       bool negative)
{
    unsigned total = len + (negative ? 1 : 0);
    if (negative && zero_pad)
        console_putc('-');
    for (; !left && total < width; total++)
        console_putc(zero_pad ? '0' : ' ');
    if (negative && !zero_pad)
        console_putc('-');
    console_write(digits, len);
    for (; left && total < width; total++)
        console_putc(' ');
}

static void put_number(uint64_t v, unsigned base, bool upper, unsigned width, bool zero_pad,
                       bool left, bool negative)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    unsigned i = sizeof(buf);
    do {
        buf[--i] = set[v % base];
        v /= base;
    } while (v);
    put_padded(buf + i, (unsigned)sizeof(buf) - i, width, zero_pad, left, negative);
}

void console_vprintf(const char *fmt, va_list ap)
{
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            console_putc(*p);
            continue;
        }
        p++;
        bool zero_pad = false, left = false;
        for (; *p == '0' || *p == '-'; p++) {
            if (*p == '0')
                zero_pad = true;
            else
                left = true;
        }
        unsigned width = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            width = width * 10 + (unsigned)(*p - '0');
        int longs = 0;
        for (; *p == 'l' || *p == 'z'; p++)
            longs++;
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = longs ? va_arg(ap, int64_t) : va_arg(ap, int);
            uint64_t magnitude = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            put_number(magnitude, 10, false, width, zero_pad, left, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = longs ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            put_number(v, *p == 'u' ? 10 : 16, *p == 'X', width, zero_pad, left, false);
            break;
        }
        case 'p':
            console_write("0x", 2);
            put_number((uintptr_t)va_arg(ap, void *), 16, false, width, zero_pad, left, false);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            unsigned len = 0;
            while (s[len])
                len++;
            put_padded(s, len, width, false, left, false);
            break;
        }
        case 'c':
            console_putc((char)va_arg(ap, int));
            break;
        case '%':
            console_putc('%');
            break;
        case '\0':
            return;
        default:
            console_putc('%');
            console_putc(*p);
            break;
        }
    }
}

void console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_vprintf(fmt, ap);
    va_end(ap);
}
