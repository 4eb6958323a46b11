/* Output on COM1 (polled 16550), with a small printf: %d %i %u %x %X %p %s %c %%, the flags
 * '0' and '-', a width, and the length modifiers l, ll, z. */
#ifndef GUEST_CONSOLE_H
#define GUEST_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

#define COM1_PORT 0x3F8

void console_putc(char c);
void console_write(const char *s, size_t n);
void console_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_vprintf(const char *fmt, va_list ap);

#endif
