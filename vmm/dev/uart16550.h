/* A guest's 16550A UART, at the ports the board gives it: register file good enough for polled
 * drivers (firmware, Linux 8250 probing incl. loopback) and a line buffer that prints
 * "[guest] text". */
#ifndef TESSERA_UART16550_H
#define TESSERA_UART16550_H

#include <stdint.h>
#include "dev/io_bus.h"

#define UART_LINE_MAX 200
#define UART_PORTS    8            /* registers 0-7 from the base port */

struct uart16550 {
    const char *name;         /* guest name, for the console prefix */
    uint16_t base_port;       /* where the board put it (register 0) */
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
/* struct port_ops for [base_port, base_port + UART_PORTS); dev is the struct uart16550. A 2- or
 * 4-byte access touches consecutive registers, low byte first; bytes past the last register see
 * the empty bus. */
extern const struct port_ops uart_port_ops;
/* Print whatever is buffered without a newline (at guest end). */
void uart_flush(struct uart16550 *u);

#endif
