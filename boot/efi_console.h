/* The loader's console: one line per message, always prefixed "tessera-boot: ", written to the
 * firmware console (which OVMF mirrors on the serial port). Usable only before ExitBootServices. */
#ifndef TESSERA_BOOT_EFI_CONSOLE_H
#define TESSERA_BOOT_EFI_CONSOLE_H

#include <efi.h>

void boot_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The firmware's name for an EFI status ("Not Found"), as ASCII in buf. Returns buf. */
const char *boot_status_text(EFI_STATUS status, char *buf, unsigned len);

#endif
