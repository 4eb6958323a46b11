/* A guest's 16550A UART: the register file a polled driver (or Linux's 8250 probe, loopback
 * test included) needs, and a line buffer that prints what the guest transmits as "[name] text".
 * No interrupts are ever raised: the guest sees a transmitter that is always empty. */
#include "dev/uart16550.h"
#include "lib/log.h"
#include "lib/mem.h"

enum {
    UART_RBR_THR = 0, UART_IER = 1, UART_IIR_FCR = 2, UART_LCR = 3,
    UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};

#define LCR_DLAB        0x80
#define MCR_DTR         0x01
#define MCR_RTS         0x02
#define MCR_OUT1        0x04
#define MCR_OUT2        0x08
#define MCR_LOOPBACK    0x10
#define LSR_DATA_READY  0x01
#define LSR_THRE        0x20
#define LSR_TEMT        0x40
#define IIR_NO_INTERRUPT 0x01
#define IIR_FIFO_ENABLED 0xC0
#define FCR_FIFO_ENABLE 0x01
#define MSR_CTS         0x10
#define MSR_DSR         0x20
#define MSR_RI          0x40
#define MSR_DCD         0x80

void uart_init(struct uart16550 *u, const char *name)
{
    memset(u, 0, sizeof(*u));
    u->name = name ? name : "?";     /* every register resets to 0, as on the chip */
}

static void emit_line(struct uart16550 *u)
{
    log_guest_line(u->name, u->line, u->line_len);
    u->line_len = 0;
}

/* Only printable ASCII and tabs reach the console: a guest cannot send escape sequences
 * to the operator's terminal. */
static void transmit(struct uart16550 *u, uint8_t byte)
{
    if (byte == '\r')
        return;
    if (byte == '\n') {
        emit_line(u);
        return;
    }
    if (byte != '\t' && (byte < 0x20 || byte > 0x7E))
        return;
    if (u->line_len < UART_LINE_MAX)
        u->line[u->line_len++] = (char)byte;
    if (u->line_len >= UART_LINE_MAX)
        emit_line(u);
}

uint8_t uart_read(struct uart16550 *u, unsigned reg)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (reg & 7) {
    case UART_RBR_THR:
        if (dlab)
            return u->dll;
        if (u->loopback_ready) {
            u->loopback_ready = 0;
            return u->loopback_data;
        }
        return 0;
    case UART_IER:
        return dlab ? u->dlm : u->ier;
    case UART_IIR_FCR:
        return IIR_NO_INTERRUPT | u->iir_fifo;
    case UART_LCR:
        return u->lcr;
    case UART_MCR:
        return u->mcr;
    case UART_LSR:
        return LSR_THRE | LSR_TEMT | (u->loopback_ready ? LSR_DATA_READY : 0);
    case UART_MSR:
        if (u->mcr & MCR_LOOPBACK)
            return (uint8_t)(((u->mcr & MCR_DTR) ? MSR_DSR : 0) | ((u->mcr & MCR_RTS) ? MSR_CTS : 0) |
                             ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
        return MSR_DCD | MSR_DSR | MSR_CTS;
    default: /* UART_SCR */
        return u->scr;
    }
}

void uart_write(struct uart16550 *u, unsigned reg, uint8_t value)
{
    int dlab = (u->lcr & LCR_DLAB) != 0;
    switch (reg & 7) {
    case UART_RBR_THR:
        if (dlab)
            u->dll = value;
        else if (u->mcr & MCR_LOOPBACK) {
            u->loopback_data = value;   /* a second byte before the first is read overwrites it */
            u->loopback_ready = 1;
        } else
            transmit(u, value);
        break;
    case UART_IER:
        if (dlab)
            u->dlm = value;
        else
            u->ier = value & 0x0F;
        break;
    case UART_IIR_FCR:
        /* Bits 1-2 (clear FIFOs) self-clear; the receive FIFO is at most the loopback byte. */
        u->fcr = value & ~0x06;
        u->iir_fifo = (value & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0;
        if (value & 0x02)
            u->loopback_ready = 0;
        break;
    case UART_LCR:
        u->lcr = value;
        break;
    case UART_MCR:
        u->mcr = value & 0x1F;
        break;
    case UART_LSR:
    case UART_MSR:
        break;          /* read-only (factory-test writes are ignored) */
    default: /* UART_SCR */
        u->scr = value;
        break;
    }
}

void uart_flush(struct uart16550 *u)
{
    if (u->line_len)
        emit_line(u);
}

static uint32_t uart_port_read(void *dev, uint16_t port, unsigned size)
{
    struct uart16550 *u = dev;
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t reg = (uint32_t)port + i - u->base_port;
        uint8_t byte = reg < UART_PORTS ? uart_read(u, reg) : 0xFF;
        v |= (uint32_t)byte << (8 * i);
    }
    return v;
}

static void uart_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct uart16550 *u = dev;
    for (unsigned i = 0; i < size; i++) {
        uint32_t reg = (uint32_t)port + i - u->base_port;
        if (reg < UART_PORTS)
            uart_write(u, reg, (uint8_t)(value >> (8 * i)));
    }
}

const struct port_ops uart_port_ops = { uart_port_read, uart_port_write };
