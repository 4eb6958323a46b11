/* The hypervisor's console: COM1 (16550A at 0x3F8), 115200 8N1, polled, interrupts off.
 * Output goes through a queue: at 115200 baud one 80-character line takes 7 ms, which sent
 * synchronously would be charged to whichever guest's exit printed it and stretch its slice.
 * A missing or wedged UART costs one bounded wait, after which output is dropped. */
#include <stdbool.h>
#include <stdint.h>
#include "hw/platform.h"
#include "hw/portio.h"
#include "lib/byte_ring.h"

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
#define FIFO_DEPTH  16         /* 16550A: THRE set means the whole transmit FIFO is empty */
#define QUEUE_BYTES (64u << 10)

#define BAUD_DIVISOR 1         /* 115200 = 1.8432 MHz / 16 / 1 */

/* At 115200 baud a byte leaves in ~87 us; each LSR read is an I/O access of ~1 us on real
 * hardware, so this bound is far beyond any working UART yet ends quickly without one. */
#define THRE_POLL_LIMIT 100000

static bool uart_wedged;
static bool queueing;          /* only while guests run; otherwise every write is sent at once */
static uint8_t queue_buf[QUEUE_BYTES];
struct byte_ring serial_queue;

void serial_init(void)
{
    byte_ring_init(&serial_queue, queue_buf, QUEUE_BYTES);
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

/* One FIFO's worth of queued bytes if the transmitter is empty; false if it is still busy. */
static bool send_fifo(void)
{
    if (!(inb(COM1 + UART_LSR) & LSR_THRE))
        return false;
    uint8_t c;
    for (unsigned i = 0; i < FIFO_DEPTH && byte_ring_get(&serial_queue, &c); i++)
        outb(COM1 + UART_THR, c);
    return true;
}

/* Waits for the transmitter and sends one FIFO's worth; a UART that never gets ready is
 * declared wedged and everything queued is dropped from then on. */
static void send_fifo_waiting(void)
{
    for (unsigned i = 0; !send_fifo(); i++) {
        if (i == THRE_POLL_LIMIT) {
            uart_wedged = true;
            byte_ring_init(&serial_queue, queue_buf, QUEUE_BYTES);
            return;
        }
    }
}

static void queue_byte(uint8_t c)
{
    while (!uart_wedged && !byte_ring_put(&serial_queue, c))
        send_fifo_waiting();
}

void serial_write(const char *s, uint64_t len)
{
    if (uart_wedged)
        return;
    for (uint64_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            queue_byte('\r');
        queue_byte((uint8_t)s[i]);
    }
    if (queueing)
        serial_drain();
    else
        serial_flush();
}

void serial_set_queueing(bool on)
{
    queueing = on;
    if (!on)
        serial_flush();
}

void serial_drain(void)
{
    if (!uart_wedged && !byte_ring_empty(&serial_queue))
        send_fifo();
}

void serial_flush(void)
{
    while (!uart_wedged && !byte_ring_empty(&serial_queue))
        send_fifo_waiting();
}
