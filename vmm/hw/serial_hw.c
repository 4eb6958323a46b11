/* The hypervisor's console: COM1 (16550A at 0x3F8), 115200 8N1, polled, interrupts off.
 * A missing or wedged UART costs one bounded wait, after which output is dropped. */
#include <stdbool.h>
#include <stdint.h>
#include "hw/platform.h"
#include "hw/portio.h"

#define COM1        0x3F8
#define UART_THR    0   /* transmit holding (DLAB=0) */
#define UART_DLL    0   /* divisor latch low (DLAB=1) */
#define UART_IER    1   /* interrupt enable (DLAB=0) */
#define UART_DLM    1   /* divisor latch high (DLAB=1) */
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5

#define LCR_8N1     0x03
#define LCR_DLAB    0x80
#define FCR_ENABLE_CLEAR 0x07  /* FIFO on, both FIFOs cleared */
#define MCR_DTR_RTS 0x03       /* OUT2 left clear: the UART's IRQ line stays disconnected */
#define LSR_THRE    0x20

#define BAUD_DIVISOR 1         /* 115200 = 1.8432 MHz / 16 / 1 */

/* At 115200 baud a byte leaves in ~87 us; each LSR read is an I/O access of ~1 us on real
 * hardware, so this bound is far beyond any working UART yet ends quickly without one. */
#define THRE_POLL_LIMIT 100000

static bool uart_wedged;

void serial_init(void)
{
    /* DLAB may be left set by the firmware: clear it so the IER write reaches the IER. */
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_IER, 0x00);
    outb(COM1 + UART_LCR, LCR_DLAB);
    outb(COM1 + UART_DLL, BAUD_DIVISOR & 0xFF);
    outb(COM1 + UART_DLM, BAUD_DIVISOR >> 8);
    outb(COM1 + UART_LCR, LCR_8N1);
    outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
    outb(COM1 + UART_MCR, MCR_DTR_RTS);
    uart_wedged = false;
}

static void serial_put(uint8_t c)
{
    if (uart_wedged)
        return;
    for (unsigned i = 0; !(inb(COM1 + UART_LSR) & LSR_THRE); i++) {
        if (i == THRE_POLL_LIMIT) {
            uart_wedged = true;
            return;
        }
    }
    outb(COM1 + UART_THR, c);
}

void serial_write(const char *s, uint64_t len)
{
    for (uint64_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            serial_put('\r');
        serial_put((uint8_t)s[i]);
    }
}
