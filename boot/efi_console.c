/* Formatting loader messages (fmt_vsnprintf, shared with the hypervisor) and writing them to the
 * UEFI text console as UCS-2. */
#include <efi.h>
#include <efilib.h>
#include <stdarg.h>
#include "efi_console.h"
#include "lib/log.h"

#define LINE_MAX 512
static const char prefix[] = "tessera-boot: ";

void boot_say(const char *fmt, ...)
{
    char line[LINE_MAX];
    CHAR16 wide[LINE_MAX + 2];
    va_list ap;

    unsigned n = 0;
    for (const char *p = prefix; *p; p++)
        line[n++] = *p;
    va_start(ap, fmt);
    fmt_vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);

    unsigned w = 0;
    for (const char *p = line; *p && w < LINE_MAX; p++) {
        unsigned char c = (unsigned char)*p;
        /* Config text and file names are ASCII by contract; anything else is shown as '?'
         * rather than handed to the firmware as a control code. */
        wide[w++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    wide[w++] = '\r';
    wide[w++] = '\n';
    wide[w] = 0;
    uefi_call_wrapper(ST->ConOut->OutputString, 2, ST->ConOut, wide);
}

const char *boot_status_text(EFI_STATUS status, char *buf, unsigned len)
{
    CHAR16 wide[64];
    if (len == 0)
        return buf;
    StatusToString(wide, status);
    unsigned i = 0;
    for (; i + 1 < len && i < 63 && wide[i]; i++)
        buf[i] = wide[i] < 0x80 ? (char)wide[i] : '?';
    buf[i] = 0;
    return buf;
}
