/* The guest image parsers' shared reason formatter (image_fail.h). */
#include <stdarg.h>
#include "guest/image_fail.h"
#include "lib/log.h"

int image_fail(char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return -1;
}
