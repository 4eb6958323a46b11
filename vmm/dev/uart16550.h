/* A guest's 16550A UART at 0x3F8: register file good enough for polled drivers (firmware,
 * Linux 8250 probing incl. loopback) and a line buffer that prints "[guest] text". */
#ifndef TESSERA_UART16550_H
#define TESSERA_UART16550_H

#include <stdint.h>

#define UART_LINE_MAX 200

struct uart16550 {
    const char *name;         /* guest name, for the console prefix */
    uint8_t ier, iir_fifo, lcr, mcr, scr, dll, dlm, fcr;
    uint8_t loopback_data;    /* byte written in loopback mode, readable once via RBR */
    uint8_t loopback_ready;
    char line[UART_LINE_MAX];
    unsigned line_len;
};

void uart_init(struct uart16550 *u, const char *name);
/* reg is 0-7 (offset from the base port). */
uint8_t uart_read(struct uart16550 *u, unsigned reg);
void uart_write(struct uart16550 *u, unsigned reg, uint8_t value);
/* Print whatever is buffered without a newline (at guest end). */
void uart_flush(struct uart16550 *u);

#endif
