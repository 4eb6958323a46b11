/* Hypervisor console output over serial_write (COM1 on the machine, a buffer in host tests). */
#include "lib/log.h"
#include "hw/platform.h"

void log_printf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(line) - 1)
        n = sizeof(line) - 1;
    serial_write(line, (uint64_t)n);
}

void log_guest_line(const char *name, const char *text, size_t len)
{
    serial_write("[", 1);
    size_t n = 0;
    while (name[n])
        n++;
    serial_write(name, n);
    serial_write("] ", 2);
    serial_write(text, len);
    serial_write("\n", 1);
}
