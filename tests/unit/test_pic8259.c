/* Tests for the 8259A pair: the initialization sequence, masks, priority and rotation, EOIs,
 * AEOI, special mask and special fully nested modes, IRR/ISR reads and polling, the INTA cycle
 * with spurious IRQ 7/15, the INT output, the ELCR and the state firmware leaves. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/pic8259.h"

static struct pic8259 pic;
static struct {
    bool level;
    unsigned changes;
} intr;

static void intr_set(void *ctx, unsigned pin, bool level)
{
    (void)ctx;
    (void)pin;
    intr.level = level;
    intr.changes++;
}

static void out8(uint16_t port, uint8_t value)
{
    pic8259_port_write(&pic, port, 1, value);
}

static uint8_t in8(uint16_t port)
{
    return (uint8_t)pic8259_port_read(&pic, port, 1);
}

/* Firmware state, then everything unmasked, as an OS's driver leaves it. */
static int setup(void **state)
{
    (void)state;
    memset(&intr, 0, sizeof(intr));
    pic8259_reset(&pic, (struct irq_line){ .set = intr_set, .ctx = NULL, .pin = 0 });
    pic8259_firmware_init(&pic);
    out8(PIC_MASTER_DATA, 0x00);
    out8(PIC_SLAVE_DATA, 0x00);
    return 0;
}

static void pulse(unsigned irq)
{
    pic8259_set_irq(&pic, irq, true);
    pic8259_set_irq(&pic, irq, false);
}

static void eoi(uint16_t cmd_port)
{
    out8(cmd_port, 0x20);
}

static void test_reset_is_masked(void **state)
{
    (void)state;
    pic8259_reset(&pic, (struct irq_line){ .set = intr_set });
    assert_int_equal(in8(PIC_MASTER_DATA), 0xFF);
    assert_int_equal(in8(PIC_SLAVE_DATA), 0xFF);
    pulse(1);
    assert_false(intr.level);
}

static void test_firmware_state(void **state)
{
    (void)state;
    pic8259_reset(&pic, (struct irq_line){ .set = intr_set });
    pic8259_firmware_init(&pic);
    assert_int_equal(in8(PIC_MASTER_DATA), 0xFF);
    assert_int_equal(in8(PIC_SLAVE_DATA), 0xFF);
    assert_int_equal(in8(PIC_ELCR_MASTER), 0);
    assert_int_equal(in8(PIC_ELCR_SLAVE), 0);
    assert_int_equal(pic.master.vector_base, PIC_BIOS_MASTER_VECTOR);
    assert_int_equal(pic.slave.vector_base, PIC_BIOS_SLAVE_VECTOR);
    pulse(0);
    pulse(14);
    assert_false(intr.level);          /* masked: nothing reaches the CPU */
    out8(PIC_MASTER_DATA, 0xFE);
    assert_true(intr.level);           /* IRR kept the edge; unmasking raises INT */
    assert_int_equal(pic8259_acknowledge(&pic), 0x08);
}

static void test_icw1_resets_state(void **state)
{
    (void)state;
    out8(PIC_MASTER_DATA, 0x50);
    pulse(3);
    assert_int_equal(pic8259_acknowledge(&pic), 0x08 + 3);   /* ISR 3 set */
    out8(PIC_MASTER_CMD, 0x0B);                            /* OCW3: read ISR */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x08);
    out8(PIC_MASTER_CMD, 0x11);
    assert_int_equal(in8(PIC_MASTER_DATA), 0x00);          /* IMR cleared */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);           /* reads IRR again */
    out8(PIC_MASTER_DATA, 0x20);                           /* ICW2 */
    out8(PIC_MASTER_DATA, 0x04);                           /* ICW3 */
    out8(PIC_MASTER_DATA, 0x01);                           /* ICW4 */
    out8(PIC_MASTER_DATA, 0xF0);                           /* now OCW1 */
    assert_int_equal(in8(PIC_MASTER_DATA), 0xF0);
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);           /* ISR cleared */
    pulse(1);
    assert_int_equal(pic8259_acknowledge(&pic), 0x21);     /* new base */
}

static void test_icw_sequence_single_without_icw4(void **state)
{
    (void)state;
    out8(PIC_MASTER_CMD, 0x12);             /* single, no ICW4 */
    out8(PIC_MASTER_DATA, 0x40);            /* ICW2; no ICW3, no ICW4 */
    out8(PIC_MASTER_DATA, 0x7F);            /* OCW1 */
    assert_int_equal(in8(PIC_MASTER_DATA), 0x7F);
    out8(PIC_MASTER_DATA, 0x00);
    pic8259_set_irq(&pic, 9, true);         /* the slave's INT on IR2 is a plain input now */
    assert_int_equal(pic8259_acknowledge(&pic), 0x42);
}

static void test_edge_needs_new_rising_edge(void **state)
{
    (void)state;
    pic8259_set_irq(&pic, 4, true);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0C);
    eoi(PIC_MASTER_CMD);
    assert_false(intr.level);               /* still high, but no new edge */
    pic8259_set_irq(&pic, 4, true);
    assert_false(intr.level);
    pulse(4);
    pic8259_set_irq(&pic, 4, true);
    assert_true(intr.level);
}

static void test_pulse_is_latched(void **state)
{
    (void)state;
    pulse(6);
    assert_true(intr.level);
    out8(PIC_MASTER_CMD, 0x0A);             /* read IRR */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x40);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0E);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);
}

static void test_level_via_elcr_and_ltim(void **state)
{
    (void)state;
    out8(PIC_ELCR_SLAVE, 0x08);             /* IRQ 11 level */
    pic8259_set_irq(&pic, 11, true);
    assert_int_equal(pic8259_acknowledge(&pic), 0x73);
    eoi(PIC_SLAVE_CMD);
    eoi(PIC_MASTER_CMD);
    assert_true(intr.level);                /* still asserted: requested again */
    assert_int_equal(pic8259_acknowledge(&pic), 0x73);
    pic8259_set_irq(&pic, 11, false);
    eoi(PIC_SLAVE_CMD);
    eoi(PIC_MASTER_CMD);
    assert_false(intr.level);
    /* LTIM makes every input of that chip level-triggered */
    out8(PIC_MASTER_CMD, 0x19);
    out8(PIC_MASTER_DATA, 0x08);
    out8(PIC_MASTER_DATA, 0x04);
    out8(PIC_MASTER_DATA, 0x01);
    pic8259_set_irq(&pic, 5, true);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0D);
    eoi(PIC_MASTER_CMD);
    assert_true(intr.level);
}

static void test_spurious_irq7_when_level_request_went_away(void **state)
{
    (void)state;
    out8(PIC_ELCR_MASTER, 0x20);
    pic8259_set_irq(&pic, 5, true);
    assert_true(intr.level);
    pic8259_set_irq(&pic, 5, false);
    assert_false(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0F);
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);   /* no ISR bit for a spurious IRQ 7 */
}

static void test_spurious_irq7_when_masked_before_inta(void **state)
{
    (void)state;
    pulse(3);
    out8(PIC_MASTER_DATA, 0x08);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0F);
}

static void test_spurious_irq15_sets_master_isr2(void **state)
{
    (void)state;
    out8(PIC_ELCR_SLAVE, 0x02);             /* IRQ 9 level */
    pic8259_set_irq(&pic, 9, true);
    assert_true(intr.level);
    pic8259_set_irq(&pic, 9, false);        /* gone, but the master latched the slave's edge */
    assert_int_equal(pic8259_acknowledge(&pic), 0x77);
    out8(PIC_MASTER_CMD, 0x0B);
    out8(PIC_SLAVE_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x04);
    assert_int_equal(in8(PIC_SLAVE_CMD), 0x00);
    eoi(PIC_MASTER_CMD);                    /* what Linux sends for a spurious IRQ 15 */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);
}

static void test_slave_cascade_and_isr(void **state)
{
    (void)state;
    pulse(12);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x74);
    out8(PIC_MASTER_CMD, 0x0B);
    out8(PIC_SLAVE_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x04);
    assert_int_equal(in8(PIC_SLAVE_CMD), 0x10);
    /* fully nested: IRQ 3 is below IR2 in service, IRQ 1 above */
    pulse(3);
    assert_false(intr.level);
    pulse(1);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x09);
}

static void test_slave_mask_and_master_mask_of_ir2(void **state)
{
    (void)state;
    out8(PIC_MASTER_DATA, 0x04);
    pulse(10);
    assert_false(intr.level);
    out8(PIC_MASTER_DATA, 0x00);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x72);
}

static void test_priority_and_nesting(void **state)
{
    (void)state;
    pulse(5);
    pulse(3);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0B);
    assert_false(intr.level);               /* 5 is below 3 in service */
    pulse(0);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x08);
    eoi(PIC_MASTER_CMD);                    /* non-specific: clears 0, the highest */
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x08);
    assert_false(intr.level);
    eoi(PIC_MASTER_CMD);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0D);
}

static void test_specific_eoi(void **state)
{
    (void)state;
    pulse(6);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0E);
    pulse(1);
    assert_int_equal(pic8259_acknowledge(&pic), 0x09);
    out8(PIC_MASTER_CMD, 0x60 | 6);         /* specific EOI for 6 leaves 1 in service */
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x02);
    out8(PIC_MASTER_CMD, 0x40);             /* no-op */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x02);
}

static void test_rotation_commands(void **state)
{
    (void)state;
    out8(PIC_MASTER_CMD, 0xC0 | 4);         /* set priority: 4 lowest, 5 highest */
    pulse(3);
    pulse(6);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0E);
    out8(PIC_MASTER_CMD, 0xA0);             /* rotate on non-specific EOI: 6 lowest */
    assert_int_equal(pic8259_acknowledge(&pic), 0x0B);
    pulse(7);
    out8(PIC_MASTER_CMD, 0xE0 | 3);         /* rotate on specific EOI 3: 3 lowest, 4 highest */
    pulse(2 + 0);                           /* IRQ 2 is no input: ignored */
    pulse(1);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0F);   /* 7 before 1 now */
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x80);
}

static void test_auto_eoi_and_rotate_in_aeoi(void **state)
{
    (void)state;
    out8(PIC_MASTER_CMD, 0x11);
    out8(PIC_MASTER_DATA, 0x08);
    out8(PIC_MASTER_DATA, 0x04);
    out8(PIC_MASTER_DATA, 0x03);            /* 8086, AEOI */
    pulse(3);
    pulse(5);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0B);
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);    /* no ISR bit */
    assert_true(intr.level);                        /* so 5 is not held back */
    assert_int_equal(pic8259_acknowledge(&pic), 0x0D);
    out8(PIC_MASTER_CMD, 0x80);             /* rotate in AEOI mode: set */
    pulse(1);
    assert_int_equal(pic8259_acknowledge(&pic), 0x09);   /* 1 becomes lowest */
    pulse(0);
    pulse(1);
    pulse(4);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0C);   /* 2..7 then 0, 1 */
    out8(PIC_MASTER_CMD, 0x00);             /* rotate in AEOI mode: clear */
    assert_int_equal(pic8259_acknowledge(&pic), 0x08);   /* 4 lowest now: 5,6,7,0,1,... */
    assert_int_equal(pic8259_acknowledge(&pic), 0x09);
}

static void test_special_mask_mode(void **state)
{
    (void)state;
    pulse(3);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0B);
    pulse(5);
    assert_false(intr.level);
    out8(PIC_MASTER_DATA, 0x08);            /* mask the level in service ... */
    out8(PIC_MASTER_CMD, 0x68);             /* ... and set special mask mode */
    assert_true(intr.level);                /* lower levels are enabled */
    assert_int_equal(pic8259_acknowledge(&pic), 0x0D);
    eoi(PIC_MASTER_CMD);                    /* clears 5, not the masked 3 */
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x08);
    out8(PIC_MASTER_CMD, 0x48);             /* clear special mask mode */
    out8(PIC_MASTER_CMD, 0x20 | 0x40 | 3);  /* specific EOI 3 */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);
}

static void test_special_fully_nested_mode(void **state)
{
    (void)state;
    out8(PIC_MASTER_CMD, 0x11);
    out8(PIC_MASTER_DATA, 0x08);
    out8(PIC_MASTER_DATA, 0x04);
    out8(PIC_MASTER_DATA, 0x11);            /* 8086, SFNM */
    out8(PIC_MASTER_DATA, 0x00);
    pulse(13);
    assert_int_equal(pic8259_acknowledge(&pic), 0x75);
    pulse(9);                               /* higher within the slave */
    assert_true(intr.level);                /* recognised despite master ISR2 */
    assert_int_equal(pic8259_acknowledge(&pic), 0x71);
    pulse(14);                              /* lower within the slave: held by the slave */
    assert_false(intr.level);
    pulse(4);                               /* lower on the master: held by ISR2 */
    assert_false(intr.level);
}

static void test_normal_nesting_locks_out_slave(void **state)
{
    (void)state;
    pulse(13);
    assert_int_equal(pic8259_acknowledge(&pic), 0x75);
    pulse(9);
    assert_false(intr.level);
    eoi(PIC_SLAVE_CMD);
    eoi(PIC_MASTER_CMD);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x71);
}

static void test_poll_command(void **state)
{
    (void)state;
    pulse(6);
    out8(PIC_MASTER_CMD, 0x0C);             /* poll */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x86);
    out8(PIC_MASTER_CMD, 0x0B);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x40);    /* the poll set the ISR bit */
    out8(PIC_MASTER_CMD, 0x0C);
    assert_int_equal(in8(PIC_MASTER_CMD), 0x00);    /* nothing requesting */
    assert_int_equal(in8(PIC_MASTER_CMD), 0x40);    /* one read only: back to ISR */
}

static void test_int_output_changes_only_on_change(void **state)
{
    (void)state;
    unsigned before = intr.changes;
    pulse(3);
    pulse(4);
    assert_int_equal(intr.changes, before + 1);
    pic8259_acknowledge(&pic);
    assert_int_equal(intr.changes, before + 2);
}

static void test_elcr_reserved_bits(void **state)
{
    (void)state;
    out8(PIC_ELCR_MASTER, 0xFF);
    out8(PIC_ELCR_SLAVE, 0xFF);
    assert_int_equal(in8(PIC_ELCR_MASTER), 0xF8);
    assert_int_equal(in8(PIC_ELCR_SLAVE), 0xDE);
    pic8259_port_write(&pic, PIC_ELCR_MASTER, 2, 0x0000);
    assert_int_equal(pic8259_port_read(&pic, PIC_ELCR_MASTER, 2), 0x0000);
    pic8259_port_write(&pic, PIC_ELCR_MASTER, 2, 0x0C20);
    assert_int_equal(pic8259_port_read(&pic, PIC_ELCR_MASTER, 2), 0x0C20);
    assert_int_equal(in8(PIC_ELCR_SLAVE), 0x0C);
}

static void test_wide_and_foreign_ports(void **state)
{
    (void)state;
    out8(PIC_MASTER_DATA, 0x3C);
    /* 0x21 then 0x22 (no register there) */
    assert_int_equal(pic8259_port_read(&pic, PIC_MASTER_DATA, 2), 0xFF3C);
    assert_int_equal(pic8259_port_read(&pic, 0x60, 1), 0xFF);
    assert_int_equal(pic8259_port_read(&pic, 0xFFFF, 4), 0xFFFFFFFF);
    pic8259_port_write(&pic, 0xFFFF, 4, 0);
    pic8259_port_write(&pic, PIC_MASTER_CMD, 2, 0x5A0B);    /* OCW3 to 0x20, OCW1 to 0x21 */
    assert_int_equal(in8(PIC_MASTER_DATA), 0x5A);
}

static void test_slave_with_wrong_id_does_not_answer(void **state)
{
    (void)state;
    out8(PIC_SLAVE_CMD, 0x11);
    out8(PIC_SLAVE_DATA, 0x70);
    out8(PIC_SLAVE_DATA, 0x03);             /* ID 3, but it is wired to IR2 */
    out8(PIC_SLAVE_DATA, 0x01);
    pulse(8);
    assert_true(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0xFF);   /* nobody drives the bus */
    out8(PIC_SLAVE_CMD, 0x0B);
    assert_int_equal(in8(PIC_SLAVE_CMD), 0x00);
}

/* The slave's INT is wired to IR2 only: a master told its slave sits on IR3 gets no vector from
 * the slave for IRQ 3, and the slave's own requests still arrive on IR2. */
static void test_slave_answers_only_through_ir2(void **state)
{
    (void)state;
    out8(PIC_MASTER_CMD, 0x11);
    out8(PIC_MASTER_DATA, 0x08);
    out8(PIC_MASTER_DATA, 0x08);            /* "slave on IR3" */
    out8(PIC_MASTER_DATA, 0x01);
    out8(PIC_SLAVE_CMD, 0x11);
    out8(PIC_SLAVE_DATA, 0x70);
    out8(PIC_SLAVE_DATA, 0x03);
    out8(PIC_SLAVE_DATA, 0x01);
    pulse(8);
    pulse(3);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0A);   /* IR2, a plain input to this master */
    eoi(PIC_MASTER_CMD);
    assert_int_equal(pic8259_acknowledge(&pic), 0xFF);   /* IR3: nobody answers */
    out8(PIC_SLAVE_CMD, 0x0B);
    assert_int_equal(in8(PIC_SLAVE_CMD), 0x00);
}

static void test_out_of_range_irqs_ignored(void **state)
{
    (void)state;
    pic8259_set_irq(&pic, 16, true);
    pic8259_set_irq(&pic, ~0u, true);
    pic8259_set_irq(&pic, PIC_CASCADE_IR, true);
    assert_false(intr.level);
    assert_int_equal(pic8259_acknowledge(&pic), 0x0F);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_is_masked, setup),
        cmocka_unit_test_setup(test_firmware_state, setup),
        cmocka_unit_test_setup(test_icw1_resets_state, setup),
        cmocka_unit_test_setup(test_icw_sequence_single_without_icw4, setup),
        cmocka_unit_test_setup(test_edge_needs_new_rising_edge, setup),
        cmocka_unit_test_setup(test_pulse_is_latched, setup),
        cmocka_unit_test_setup(test_level_via_elcr_and_ltim, setup),
        cmocka_unit_test_setup(test_spurious_irq7_when_level_request_went_away, setup),
        cmocka_unit_test_setup(test_spurious_irq7_when_masked_before_inta, setup),
        cmocka_unit_test_setup(test_spurious_irq15_sets_master_isr2, setup),
        cmocka_unit_test_setup(test_slave_cascade_and_isr, setup),
        cmocka_unit_test_setup(test_slave_mask_and_master_mask_of_ir2, setup),
        cmocka_unit_test_setup(test_priority_and_nesting, setup),
        cmocka_unit_test_setup(test_specific_eoi, setup),
        cmocka_unit_test_setup(test_rotation_commands, setup),
        cmocka_unit_test_setup(test_auto_eoi_and_rotate_in_aeoi, setup),
        cmocka_unit_test_setup(test_special_mask_mode, setup),
        cmocka_unit_test_setup(test_special_fully_nested_mode, setup),
        cmocka_unit_test_setup(test_normal_nesting_locks_out_slave, setup),
        cmocka_unit_test_setup(test_poll_command, setup),
        cmocka_unit_test_setup(test_int_output_changes_only_on_change, setup),
        cmocka_unit_test_setup(test_elcr_reserved_bits, setup),
        cmocka_unit_test_setup(test_wide_and_foreign_ports, setup),
        cmocka_unit_test_setup(test_slave_with_wrong_id_does_not_answer, setup),
        cmocka_unit_test_setup(test_slave_answers_only_through_ir2, setup),
        cmocka_unit_test_setup(test_out_of_range_irqs_ignored, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
