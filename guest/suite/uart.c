/* The virtual 16550 at COM1, register by register. Nothing is printed while the UART is in a
 * state where output would be lost (DLAB set, loopback): results are collected first. */
#include "console.h"
#include "cpu.h"
#include "suite.h"
#include "tap.h"

#define RBR_THR 0
#define DLL     0
#define IER     1
#define DLM     1
#define IIR_FCR 2
#define LCR     3
#define MCR     4
#define LSR     5
#define MSR     6
#define SCR     7

#define LCR_8N1        0x03
#define LCR_DLAB       0x80
#define LSR_THRE_TEMT  0x60
#define MCR_LOOP       0x10
#define MSR_STATUS_BITS 0xF0        /* CTS, DSR, RI, DCD; the low nibble holds deltas */

static uint8_t reg_read(unsigned reg) { return inb((uint16_t)(COM1_PORT + reg)); }
static void reg_write(unsigned reg, uint8_t v) { outb((uint16_t)(COM1_PORT + reg), v); }

static void check_dlab_divisor(void)
{
    uint8_t lcr = reg_read(LCR);
    reg_write(LCR, lcr | LCR_DLAB);
    uint8_t old_dll = reg_read(DLL), old_dlm = reg_read(DLM);
    reg_write(DLL, 0x0C);               /* 9600 baud */
    reg_write(DLM, 0x5A);
    uint8_t dll = reg_read(DLL), dlm = reg_read(DLM);
    reg_write(DLL, old_dll);
    reg_write(DLM, old_dlm);
    reg_write(LCR, lcr);
    if (!tap_check(dll == 0x0C && dlm == 0x5A, "uart: DLAB divisor latch round-trips"))
        tap_diag("DLL=0x%x DLM=0x%x, wrote 0x0c 0x5a", dll, dlm);
}

static void check_iir(void)
{
    reg_write(IER, 0);
    reg_write(IIR_FCR, 0x00);           /* FIFO off */
    uint8_t without_fifo = reg_read(IIR_FCR);
    reg_write(IIR_FCR, 0x07);           /* FIFO on, both cleared */
    uint8_t with_fifo = reg_read(IIR_FCR);
    if (!tap_check(without_fifo == 0x01, "uart: IIR reads 0x01 with the FIFO off"))
        tap_diag("IIR=0x%x", without_fifo);
    if (!tap_check(with_fifo == 0xC1, "uart: IIR reads 0xC1 with the FIFO on"))
        tap_diag("IIR=0x%x", with_fifo);
}

static void check_loopback(void)
{
    static const struct { uint8_t mcr, msr; } cases[] = {
        { 0x01, 0x20 },                 /* DTR  -> DSR */
        { 0x02, 0x10 },                 /* RTS  -> CTS */
        { 0x04, 0x40 },                 /* OUT1 -> RI */
        { 0x08, 0x80 },                 /* OUT2 -> DCD */
        { 0x0F, 0xF0 },
        { 0x00, 0x00 },
    };
    uint8_t mcr = reg_read(MCR);
    uint8_t seen[sizeof(cases) / sizeof(cases[0])];
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reg_write(MCR, MCR_LOOP | cases[i].mcr);
        seen[i] = reg_read(MSR) & MSR_STATUS_BITS;
    }
    reg_write(MCR, mcr);
    unsigned wrong = 0;
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        wrong += seen[i] != cases[i].msr;
    if (!tap_check(wrong == 0, "uart: loopback reflects MCR DTR/RTS/OUT1/OUT2 in MSR"))
        for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
            tap_diag("MCR=0x%x: MSR status 0x%x, expected 0x%x", MCR_LOOP | cases[i].mcr, seen[i], cases[i].msr);
}

void suite_uart(const struct suite_env *env)
{
    (void)env;
    uint8_t lsr = reg_read(LSR);
    if (!tap_check((lsr & LSR_THRE_TEMT) == LSR_THRE_TEMT, "uart: LSR has THRE and TEMT"))
        tap_diag("LSR=0x%x", lsr);

    reg_write(SCR, 0xA5);
    uint8_t scr1 = reg_read(SCR);
    reg_write(SCR, 0x5A);
    uint8_t scr2 = reg_read(SCR);
    if (!tap_check(scr1 == 0xA5 && scr2 == 0x5A, "uart: scratch register round-trips"))
        tap_diag("read 0x%x 0x%x for 0xa5 0x5a", scr1, scr2);

    uint8_t lcr = reg_read(LCR);
    reg_write(LCR, 0x1B);               /* 8 bits, 1 stop bit, even parity */
    uint8_t lcr_read = reg_read(LCR);
    reg_write(LCR, LCR_8N1);
    uint8_t lcr_8n1 = reg_read(LCR);
    if (!tap_check(lcr_read == 0x1B && lcr_8n1 == LCR_8N1, "uart: LCR round-trips"))
        tap_diag("read 0x%x for 0x1b, 0x%x for 0x03 (was 0x%x)", lcr_read, lcr_8n1, lcr);

    check_dlab_divisor();
    check_iir();
    check_loopback();
}
