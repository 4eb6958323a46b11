/* Console output of the hypervisor (COM1 on the machine, a capture buffer in host tests)
 * and the freestanding formatter behind it. */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* printf subset: %d %i %u %x %X %p %s %c %%, flags '-' '0', width, precision for %s,
 * length modifiers l, ll, z, h, hh. Always NUL-terminates when n > 0; returns the length
 * the full output would have had. */
int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Hypervisor messages, prefixed "tessera: " by the caller's format where it helps. */
void log_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line of a guest's console, printed as "[name] text". */
void log_guest_line(const char *name, const char *text, size_t len);

#endif
