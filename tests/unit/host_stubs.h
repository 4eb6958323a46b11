/* Host-test stand-ins for the hypervisor's console: everything printed is captured so tests
 * can assert on diagnostics. */
#ifndef TESSERA_HOST_STUBS_H
#define TESSERA_HOST_STUBS_H

const char *host_console(void);     /* all output since the last reset, NUL-terminated */
void host_console_reset(void);

#endif
