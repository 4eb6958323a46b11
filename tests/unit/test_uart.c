/* Tests for the guest UART: register semantics (DLAB, IER/FCR/IIR, MCR, LSR, MSR, SCR),
 * loopback, the "[name] text" line output, and the port accessors at whatever base the board
 * chose (wide accesses split over registers, bytes past the last one empty bus). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/uart16550.h"
#include "host_stubs.h"

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static struct uart16550 u;

static int setup(void **state)
{
    (void)state;
    uart_init(&u, "vm1");
    host_console_reset();
    return 0;
}

static void put(const char *s)
{
    for (; *s; s++)
        uart_write(&u, RBR, (uint8_t)*s);
}

static void test_reset_values(void **state)
{
    (void)state;
    assert_int_equal(uart_read(&u, IIR), 0x01);
    assert_int_equal(uart_read(&u, LSR), 0x60);
    assert_int_equal(uart_read(&u, MSR), 0xB0);
    assert_int_equal(uart_read(&u, IER), 0);
    assert_int_equal(uart_read(&u, MCR), 0);
    assert_int_equal(uart_read(&u, LCR), 0);
    assert_int_equal(uart_read(&u, SCR), 0);
    assert_int_equal(uart_read(&u, RBR), 0);
}

static void test_dlab_selects_divisor(void **state)
{
    (void)state;
    uart_write(&u, IER, 0x05);
    uart_write(&u, LCR, 0x83);
    uart_write(&u, RBR, 0x01);      /* DLL, not a transmitted byte */
    uart_write(&u, IER, 0x02);      /* DLM, not IER */
    assert_int_equal(uart_read(&u, RBR), 0x01);
    assert_int_equal(uart_read(&u, IER), 0x02);
    assert_int_equal(uart_read(&u, LCR), 0x83);
    uart_write(&u, LCR, 0x03);
    assert_int_equal(uart_read(&u, IER), 0x05);
    assert_int_equal(uart_read(&u, RBR), 0);
    assert_int_equal(u.dll, 0x01);
    assert_int_equal(u.dlm, 0x02);
    uart_flush(&u);
    assert_string_equal(host_console(), "");
}

static void test_ier_low_bits_only(void **state)
{
    (void)state;
    uart_write(&u, IER, 0xFF);
    assert_int_equal(uart_read(&u, IER), 0x0F);
}

static void test_fcr_sets_fifo_bits_in_iir(void **state)
{
    (void)state;
    uart_write(&u, FCR, 0x07);
    assert_int_equal(uart_read(&u, IIR), 0xC1);
    uart_write(&u, FCR, 0x00);
    assert_int_equal(uart_read(&u, IIR), 0x01);
}

static void test_mcr_scr_lsr_msr_writes(void **state)
{
    (void)state;
    uart_write(&u, MCR, 0xEF);
    assert_int_equal(uart_read(&u, MCR), 0x0F);
    uart_write(&u, SCR, 0xA5);
    assert_int_equal(uart_read(&u, SCR), 0xA5);
    uart_write(&u, LSR, 0x00);      /* read-only */
    uart_write(&u, MSR, 0x00);
    assert_int_equal(uart_read(&u, LSR), 0x60);
    assert_int_equal(uart_read(&u, MSR), 0xB0);
    uart_write(&u, MCR, 0x0F);      /* not loopback: modem lines stay DCD|DSR|CTS */
    assert_int_equal(uart_read(&u, MSR), 0xB0);
}

static void test_line_output(void **state)
{
    (void)state;
    put("hello\r\n");
    assert_string_equal(host_console(), "[vm1] hello\n");
    host_console_reset();
    put("a\tb\x1b[31mc\x80\n");     /* tab kept; ESC and non-ASCII dropped */
    assert_string_equal(host_console(), "[vm1] a\tb[31mc\n");
}

static void test_partial_line_flush(void **state)
{
    (void)state;
    put("no newline");
    assert_string_equal(host_console(), "");
    uart_flush(&u);
    assert_string_equal(host_console(), "[vm1] no newline\n");
    host_console_reset();
    uart_flush(&u);                 /* nothing buffered: nothing printed */
    assert_string_equal(host_console(), "");
}

static void test_full_buffer_emits(void **state)
{
    (void)state;
    char expect[UART_LINE_MAX + 32];
    for (int i = 0; i < UART_LINE_MAX + 5; i++)
        uart_write(&u, RBR, 'x');
    strcpy(expect, "[vm1] ");
    memset(expect + 6, 'x', UART_LINE_MAX);
    strcpy(expect + 6 + UART_LINE_MAX, "\n");
    assert_string_equal(host_console(), expect);
    host_console_reset();
    uart_flush(&u);
    assert_string_equal(host_console(), "[vm1] xxxxx\n");
}

static void test_loopback(void **state)
{
    (void)state;
    uart_write(&u, MCR, 0x10);
    assert_int_equal(uart_read(&u, MSR) & 0xF0, 0x00);
    uart_write(&u, MCR, 0x10 | 0x01);       /* DTR -> DSR */
    assert_int_equal(uart_read(&u, MSR) & 0xF0, 0x20);
    uart_write(&u, MCR, 0x10 | 0x02);       /* RTS -> CTS */
    assert_int_equal(uart_read(&u, MSR) & 0xF0, 0x10);
    uart_write(&u, MCR, 0x10 | 0x04);       /* OUT1 -> RI */
    assert_int_equal(uart_read(&u, MSR) & 0xF0, 0x40);
    uart_write(&u, MCR, 0x10 | 0x08);       /* OUT2 -> DCD */
    assert_int_equal(uart_read(&u, MSR) & 0xF0, 0x80);

    uart_write(&u, RBR, 'A');
    assert_int_equal(uart_read(&u, LSR), 0x61);
    assert_int_equal(uart_read(&u, RBR), 'A');
    assert_int_equal(uart_read(&u, LSR), 0x60);
    assert_int_equal(uart_read(&u, RBR), 0);
    uart_write(&u, RBR, '\n');
    uart_flush(&u);
    assert_string_equal(host_console(), "");  /* nothing reached the console */

    uart_write(&u, MCR, 0x00);
    put("ok\n");
    assert_string_equal(host_console(), "[vm1] ok\n");
}

static void test_register_index_wraps(void **state)
{
    (void)state;
    uart_write(&u, SCR + 8, 0x42);           /* only the low 3 bits select a register */
    assert_int_equal(uart_read(&u, SCR), 0x42);
}

static void test_null_name(void **state)
{
    (void)state;
    uart_init(&u, NULL);
    put("x\n");
    assert_string_equal(host_console(), "[?] x\n");
}

static void test_port_ops_at_any_base(void **state)
{
    (void)state;
    u.base_port = 0x2F8;        /* COM2's place: nothing in the model assumes 0x3F8 */
    uart_port_ops.write(&u, 0x2F8 + SCR, 1, 0x77);
    assert_int_equal(u.scr, 0x77);
    assert_int_equal(uart_port_ops.read(&u, 0x2F8 + LSR, 1), 0x60);
    /* LSR, MSR, SCR and then one byte past the UART, low byte first */
    assert_int_equal(uart_port_ops.read(&u, 0x2F8 + LSR, 4), 0xFF77B060u);
    /* a dword write at SCR reaches SCR only */
    uart_port_ops.write(&u, 0x2F8 + SCR, 4, 0x11223344u);
    assert_int_equal(u.scr, 0x44);
    assert_int_equal(uart_read(&u, RBR), 0);
    uart_port_ops.write(&u, 0x2F8 + RBR, 2, 'o' | 'k' << 8);
    uart_port_ops.write(&u, 0x2F8 + RBR, 1, '\n');
    assert_string_equal(host_console(), "[vm1] o\n");     /* the second byte went to IER */
    assert_int_equal(uart_read(&u, IER), 'k' & 0x0F);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_dlab_selects_divisor, setup),
        cmocka_unit_test_setup(test_ier_low_bits_only, setup),
        cmocka_unit_test_setup(test_fcr_sets_fifo_bits_in_iir, setup),
        cmocka_unit_test_setup(test_mcr_scr_lsr_msr_writes, setup),
        cmocka_unit_test_setup(test_line_output, setup),
        cmocka_unit_test_setup(test_partial_line_flush, setup),
        cmocka_unit_test_setup(test_full_buffer_emits, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_register_index_wraps, setup),
        cmocka_unit_test_setup(test_null_name, setup),
        cmocka_unit_test_setup(test_port_ops_at_any_base, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
