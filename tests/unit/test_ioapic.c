/* Tests for the IOAPIC model: register file (ID, version, arbitration, redirection table with
 * its read-only bits), byte lanes, edge and level delivery with remote IRR, EOI by broadcast and
 * by register, masking, polarity and the MSI encoding of every destination and delivery mode. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/ioapic.h"
#include "x86.h"

#define MAX_MESSAGES 16

static struct ioapic io;
static struct {
    unsigned count;
    uint32_t address[MAX_MESSAGES], data[MAX_MESSAGES];
} sent;

static void record(void *ctx, uint32_t address, uint32_t data)
{
    (void)ctx;
    if (sent.count < MAX_MESSAGES) {
        sent.address[sent.count] = address;
        sent.data[sent.count] = data;
    }
    sent.count++;
}

static int setup(void **state)
{
    (void)state;
    memset(&sent, 0, sizeof(sent));
    ioapic_reset(&io, (struct msi_target){ .deliver = record, .ctx = NULL });
    return 0;
}

static uint32_t reg_read(uint8_t reg)
{
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, reg);
    return (uint32_t)ioapic_mmio_read(&io, IOAPIC_IOWIN, 4);
}

static void reg_write(uint8_t reg, uint32_t value)
{
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, reg);
    ioapic_mmio_write(&io, IOAPIC_IOWIN, 4, value);
}

static uint64_t entry_read(unsigned pin)
{
    return reg_read((uint8_t)(IOAPIC_REG_REDTBL + 2 * pin)) |
           (uint64_t)reg_read((uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1)) << 32;
}

/* High dword first, as OSes do, so the entry is complete when the low dword unmasks it. */
static void entry_write(unsigned pin, uint64_t entry)
{
    reg_write((uint8_t)(IOAPIC_REG_REDTBL + 2 * pin + 1), (uint32_t)(entry >> 32));
    reg_write((uint8_t)(IOAPIC_REG_REDTBL + 2 * pin), (uint32_t)entry);
}

static void test_reset_state(void **state)
{
    (void)state;
    assert_int_equal(reg_read(IOAPIC_REG_ID), 0);
    assert_int_equal(reg_read(IOAPIC_REG_VERSION), 0x00170020);   /* 24 entries, version 0x20 */
    assert_int_equal(reg_read(IOAPIC_REG_ARB), 0);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
        assert_int_equal(entry_read(pin), IOREDTBL_MASKED);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 4), IOAPIC_REG_REDTBL + 2 * 23 + 1);
}

static void test_id_and_arbitration(void **state)
{
    (void)state;
    reg_write(IOAPIC_REG_ID, 0xFFFFFFFF);
    assert_int_equal(reg_read(IOAPIC_REG_ID), 0x0F000000);   /* only bits 27:24 exist */
    assert_int_equal(reg_read(IOAPIC_REG_ARB), 0x0F000000);  /* loaded with the ID */
    reg_write(IOAPIC_REG_ARB, 0x03000000);                   /* read-only */
    assert_int_equal(reg_read(IOAPIC_REG_ARB), 0x0F000000);
    reg_write(IOAPIC_REG_VERSION, 0);                        /* read-only */
    assert_int_equal(reg_read(IOAPIC_REG_VERSION), 0x00170020);
    reg_write(IOAPIC_REG_ID, 0x05000000);
    assert_int_equal(reg_read(IOAPIC_REG_ID), 0x05000000);
    assert_int_equal(reg_read(IOAPIC_REG_ARB), 0x05000000);
}

static void test_unimplemented_registers_read_zero(void **state)
{
    (void)state;
    reg_write(0x03, 0xFFFFFFFF);
    assert_int_equal(reg_read(0x03), 0);
    assert_int_equal(reg_read(0x0F), 0);
    assert_int_equal(reg_read(0x40), 0);     /* past entry 23 */
    assert_int_equal(reg_read(0xFF), 0);
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, 0x12345610);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 4), 0x10);   /* bits 31:8 reserved */
    assert_int_equal(ioapic_mmio_read(&io, 0x20, 4), 0);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_EOI, 4), 0);          /* write-only */
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_MMIO_SIZE - 4, 4), 0);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_MMIO_SIZE + 0x10, 4), 0);
}

static void test_redirection_entry_bits(void **state)
{
    (void)state;
    entry_write(5, ~0ull);
    /* delivery status, remote IRR and 55:17 are not writable */
    assert_int_equal(entry_read(5), IOREDTBL_WRITABLE);
    assert_int_equal(entry_read(5) & (IOREDTBL_DELIVERY_STATUS | IOREDTBL_REMOTE_IRR), 0);
    assert_int_equal(entry_read(4), IOREDTBL_MASKED);
    assert_int_equal(entry_read(6), IOREDTBL_MASKED);
    reg_write(IOAPIC_REG_REDTBL + 2 * 23 + 1, 0xAB000000);
    assert_int_equal(entry_read(23), IOREDTBL_MASKED | 0xABull << 56);
}

static void test_byte_lanes(void **state)
{
    (void)state;
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 1, IOAPIC_REG_REDTBL + 2);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOREGSEL, 1), IOAPIC_REG_REDTBL + 2);
    ioapic_mmio_write(&io, IOAPIC_IOWIN, 1, 0x41);         /* vector byte only */
    assert_int_equal(entry_read(1), IOREDTBL_MASKED | 0x41);
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN + 2, 1), 0x01);   /* mask bit 16 */
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 2), 0x0041);
    ioapic_mmio_write(&io, IOAPIC_IOWIN + 1, 1, 0x80);     /* level trigger, bit 15 */
    assert_int_equal(entry_read(1), IOREDTBL_MASKED | IOREDTBL_LEVEL | 0x41);
    /* an 8-byte access covers the window and reserved bytes 0x14-0x17 */
    ioapic_mmio_write(&io, IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2);
    assert_int_equal(ioapic_mmio_read(&io, IOAPIC_IOWIN, 8), IOREDTBL_MASKED | IOREDTBL_LEVEL | 0x41);
    assert_int_equal(sent.count, 0);
}

static void test_edge_delivers_on_rising_edge_only(void **state)
{
    (void)state;
    entry_write(3, 0x31);
    ioapic_set_irq(&io, 3, true);
    assert_int_equal(sent.count, 1);
    assert_int_equal(sent.address[0], MSI_ADDR_BASE);
    assert_int_equal(sent.data[0], 0x31 | MSI_DATA_LEVEL_ASSERT);
    ioapic_set_irq(&io, 3, true);       /* still high: no new edge */
    assert_int_equal(sent.count, 1);
    ioapic_set_irq(&io, 3, false);
    assert_int_equal(sent.count, 1);
    ioapic_set_irq(&io, 3, true);
    assert_int_equal(sent.count, 2);
    assert_int_equal(entry_read(3) & (IOREDTBL_REMOTE_IRR | IOREDTBL_DELIVERY_STATUS), 0);
}

static void test_masked_edge_is_lost(void **state)
{
    (void)state;
    entry_write(3, IOREDTBL_MASKED | 0x31);
    ioapic_set_irq(&io, 3, true);
    ioapic_set_irq(&io, 3, false);
    entry_write(3, 0x31);
    assert_int_equal(sent.count, 0);
    ioapic_set_irq(&io, 3, true);
    ioapic_set_irq(&io, 3, false);
    assert_int_equal(sent.count, 1);
}

static void test_unmasking_a_held_edge_pin_is_not_an_edge(void **state)
{
    (void)state;
    entry_write(3, IOREDTBL_MASKED | 0x31);
    ioapic_set_irq(&io, 3, true);
    entry_write(3, 0x31);
    assert_int_equal(sent.count, 0);
}

static void test_level_remote_irr_and_eoi(void **state)
{
    (void)state;
    entry_write(9, IOREDTBL_LEVEL | 0x59);
    ioapic_set_irq(&io, 9, true);
    assert_int_equal(sent.count, 1);
    assert_int_equal(sent.data[0], 0x59 | MSI_DATA_LEVEL_ASSERT | MSI_DATA_TRIGGER_LEVEL);
    assert_true(entry_read(9) & IOREDTBL_REMOTE_IRR);
    ioapic_set_irq(&io, 9, false);
    ioapic_set_irq(&io, 9, true);       /* remote IRR holds it back */
    assert_int_equal(sent.count, 1);
    ioapic_eoi(&io, 0x58);              /* another vector: nothing */
    assert_int_equal(sent.count, 1);
    assert_true(entry_read(9) & IOREDTBL_REMOTE_IRR);
    ioapic_eoi(&io, 0x59);              /* still asserted: delivered again, and only now */
    assert_int_equal(sent.count, 2);
    assert_true(entry_read(9) & IOREDTBL_REMOTE_IRR);
    ioapic_set_irq(&io, 9, false);
    ioapic_eoi(&io, 0x59);
    assert_int_equal(sent.count, 2);
    assert_false(entry_read(9) & IOREDTBL_REMOTE_IRR);
    ioapic_eoi(&io, 0x59);              /* a stray EOI changes nothing */
    assert_int_equal(sent.count, 2);
}

static void test_eoi_register(void **state)
{
    (void)state;
    entry_write(10, IOREDTBL_LEVEL | 0x60);
    entry_write(11, IOREDTBL_LEVEL | 0x60);     /* same vector on two pins: both resampled */
    ioapic_set_irq(&io, 10, true);
    ioapic_set_irq(&io, 11, true);
    assert_int_equal(sent.count, 2);
    ioapic_mmio_write(&io, IOAPIC_EOI, 4, 0x61);
    assert_int_equal(sent.count, 2);
    ioapic_set_irq(&io, 11, false);
    ioapic_mmio_write(&io, IOAPIC_EOI, 4, 0xFFFFFF60);    /* only bits 7:0 are the vector */
    assert_int_equal(sent.count, 3);
    assert_true(entry_read(10) & IOREDTBL_REMOTE_IRR);
    assert_false(entry_read(11) & IOREDTBL_REMOTE_IRR);
}

static void test_eoi_ignores_edge_entries(void **state)
{
    (void)state;
    entry_write(3, 0x31);
    ioapic_set_irq(&io, 3, true);
    ioapic_eoi(&io, 0x31);
    assert_int_equal(sent.count, 1);
}

static void test_masked_level_delivered_on_unmask(void **state)
{
    (void)state;
    entry_write(12, IOREDTBL_MASKED | IOREDTBL_LEVEL | 0x62);
    ioapic_set_irq(&io, 12, true);
    assert_int_equal(sent.count, 0);
    entry_write(12, IOREDTBL_LEVEL | 0x62);
    assert_int_equal(sent.count, 1);
    assert_int_equal(sent.data[0] & MSI_DATA_VECTOR_MASK, 0x62);
    /* masked again while remote IRR is set: the EOI clears it but delivers nothing */
    entry_write(12, IOREDTBL_MASKED | IOREDTBL_LEVEL | 0x62);
    ioapic_eoi(&io, 0x62);
    assert_int_equal(sent.count, 1);
    assert_false(entry_read(12) & IOREDTBL_REMOTE_IRR);
    ioapic_set_irq(&io, 12, false);
    entry_write(12, IOREDTBL_LEVEL | 0x62);      /* no longer asserted: nothing */
    assert_int_equal(sent.count, 1);
}

static void test_remote_irr_survives_reprogramming_but_not_edge_mode(void **state)
{
    (void)state;
    entry_write(13, IOREDTBL_LEVEL | 0x63);
    ioapic_set_irq(&io, 13, true);
    entry_write(13, IOREDTBL_LEVEL | 0x64 | 1ull << 56);
    assert_true(entry_read(13) & IOREDTBL_REMOTE_IRR);
    assert_int_equal(sent.count, 1);
    ioapic_eoi(&io, 0x63);          /* the old vector no longer matches */
    assert_true(entry_read(13) & IOREDTBL_REMOTE_IRR);
    /* remote IRR is undefined for edge entries: switching to edge clears it (Linux' way of
     * acknowledging on IOAPICs without the EOI register) */
    entry_write(13, 0x64);
    assert_false(entry_read(13) & IOREDTBL_REMOTE_IRR);
    assert_int_equal(sent.count, 1);
}

static void test_active_low_inverts_input(void **state)
{
    (void)state;
    ioapic_set_irq(&io, 16, true);                /* idle level of an active-low line */
    entry_write(16, IOREDTBL_ACTIVE_LOW | IOREDTBL_LEVEL | 0x70);
    assert_int_equal(sent.count, 0);
    ioapic_set_irq(&io, 16, false);
    assert_int_equal(sent.count, 1);
    ioapic_set_irq(&io, 16, true);
    ioapic_eoi(&io, 0x70);
    assert_int_equal(sent.count, 1);
    assert_false(entry_read(16) & IOREDTBL_REMOTE_IRR);
}

static void test_active_low_edge(void **state)
{
    (void)state;
    ioapic_set_irq(&io, 17, true);
    entry_write(17, IOREDTBL_ACTIVE_LOW | 0x71);
    ioapic_set_irq(&io, 17, false);               /* falling electrical edge = asserted */
    assert_int_equal(sent.count, 1);
    ioapic_set_irq(&io, 17, true);
    assert_int_equal(sent.count, 1);
}

static void test_destinations_encoded(void **state)
{
    (void)state;
    entry_write(1, 0x41 | 0x03ull << 56);                         /* physical, APIC ID 3 */
    entry_write(2, 0x42 | IOREDTBL_DEST_LOGICAL | 0xA5ull << 56); /* logical set 0xA5 */
    ioapic_set_irq(&io, 1, true);
    ioapic_set_irq(&io, 2, true);
    assert_int_equal(sent.count, 2);
    assert_int_equal(sent.address[0], MSI_ADDR_BASE | 0x03u << MSI_ADDR_DEST_SHIFT);
    assert_int_equal(sent.address[1],
                     MSI_ADDR_BASE | 0xA5u << MSI_ADDR_DEST_SHIFT | MSI_ADDR_DEST_LOGICAL);
}

static void test_delivery_modes_encoded(void **state)
{
    (void)state;
    static const unsigned modes[] = { MSI_DELIVERY_FIXED, MSI_DELIVERY_LOWEST, MSI_DELIVERY_SMI,
                                      MSI_DELIVERY_NMI, MSI_DELIVERY_INIT, MSI_DELIVERY_EXTINT };
    for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        uint32_t address, data;
        ioapic_entry_message(0x50 | (uint64_t)modes[i] << IOREDTBL_DELIVERY_SHIFT | 2ull << 56,
                             &address, &data);
        assert_int_equal((data >> MSI_DATA_DELIVERY_SHIFT) & 7, modes[i]);
        assert_int_equal(data & MSI_DATA_VECTOR_MASK, 0x50);
        assert_int_equal(address & MSI_ADDR_REDIRECTION_HINT,
                         modes[i] == MSI_DELIVERY_LOWEST ? MSI_ADDR_REDIRECTION_HINT : 0);
        assert_int_equal((address >> MSI_ADDR_DEST_SHIFT) & 0xFF, 2);
    }
}

/* NMI, INIT, SMI and ExtINT work only edge-triggered: a level bit does not make them hold
 * remote IRR, and the message says edge. */
static void test_nmi_is_edge_even_if_programmed_level(void **state)
{
    (void)state;
    entry_write(4, IOREDTBL_LEVEL | (uint64_t)MSI_DELIVERY_NMI << IOREDTBL_DELIVERY_SHIFT);
    ioapic_set_irq(&io, 4, true);
    assert_int_equal(sent.count, 1);
    assert_int_equal(sent.data[0] & MSI_DATA_TRIGGER_LEVEL, 0);
    assert_int_equal((sent.data[0] >> MSI_DATA_DELIVERY_SHIFT) & 7, MSI_DELIVERY_NMI);
    assert_false(entry_read(4) & IOREDTBL_REMOTE_IRR);
    ioapic_set_irq(&io, 4, true);
    assert_int_equal(sent.count, 1);
    ioapic_set_irq(&io, 4, false);
    ioapic_set_irq(&io, 4, true);
    assert_int_equal(sent.count, 2);
}

static void test_out_of_range_pins_and_no_target(void **state)
{
    (void)state;
    ioapic_set_irq(&io, IOAPIC_PINS, true);
    ioapic_set_irq(&io, ~0u, true);
    assert_int_equal(sent.count, 0);
    ioapic_reset(&io, (struct msi_target){ 0 });   /* nowhere to send: must not crash */
    entry_write(0, 0x30);
    ioapic_set_irq(&io, 0, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_state, setup),
        cmocka_unit_test_setup(test_id_and_arbitration, setup),
        cmocka_unit_test_setup(test_unimplemented_registers_read_zero, setup),
        cmocka_unit_test_setup(test_redirection_entry_bits, setup),
        cmocka_unit_test_setup(test_byte_lanes, setup),
        cmocka_unit_test_setup(test_edge_delivers_on_rising_edge_only, setup),
        cmocka_unit_test_setup(test_masked_edge_is_lost, setup),
        cmocka_unit_test_setup(test_unmasking_a_held_edge_pin_is_not_an_edge, setup),
        cmocka_unit_test_setup(test_level_remote_irr_and_eoi, setup),
        cmocka_unit_test_setup(test_eoi_register, setup),
        cmocka_unit_test_setup(test_eoi_ignores_edge_entries, setup),
        cmocka_unit_test_setup(test_masked_level_delivered_on_unmask, setup),
        cmocka_unit_test_setup(test_remote_irr_survives_reprogramming_but_not_edge_mode, setup),
        cmocka_unit_test_setup(test_active_low_inverts_input, setup),
        cmocka_unit_test_setup(test_active_low_edge, setup),
        cmocka_unit_test_setup(test_destinations_encoded, setup),
        cmocka_unit_test_setup(test_delivery_modes_encoded, setup),
        cmocka_unit_test_setup(test_nmi_is_edge_even_if_programmed_level, setup),
        cmocka_unit_test_setup(test_out_of_range_pins_and_no_target, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
