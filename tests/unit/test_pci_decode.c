/* Tests for the pure PCI decoding (storage class codes, mechanism #1 addresses, BARs) and the
 * boot-disk choice helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/disk_select.h"
#include "drivers/pci.h"

static uint32_t class_reg(uint8_t cls, uint8_t sub, uint8_t prog_if)
{
    return ((uint32_t)cls << 24) | ((uint32_t)sub << 16) | ((uint32_t)prog_if << 8) | 0x02;
}

static void test_storage_kinds(void **state)
{
    (void)state;
    assert_int_equal(pci_storage_kind(class_reg(1, 1, 0x80)), DISK_KIND_ATA);
    assert_int_equal(pci_storage_kind(class_reg(1, 1, 0x8F)), DISK_KIND_ATA);
    assert_int_equal(pci_storage_kind(class_reg(1, 6, 1)), DISK_KIND_AHCI);
    assert_int_equal(pci_storage_kind(class_reg(1, 6, 0)), DISK_KIND_NONE);    /* vendor-specific SATA */
    assert_int_equal(pci_storage_kind(class_reg(1, 8, 2)), DISK_KIND_NVME);
    assert_int_equal(pci_storage_kind(class_reg(1, 8, 3)), DISK_KIND_NONE);    /* NVMe admin-only */
    assert_int_equal(pci_storage_kind(class_reg(1, 0, 0)), DISK_KIND_NONE);    /* SCSI */
    assert_int_equal(pci_storage_kind(class_reg(2, 1, 0)), DISK_KIND_NONE);    /* network */
    assert_int_equal(pci_storage_kind(0xFFFFFFFFu), DISK_KIND_NONE);
    assert_string_equal(disk_kind_name(DISK_KIND_NVME), "NVMe");
    assert_string_equal(disk_kind_name(DISK_KIND_NONE), "none");
}

static void test_cf8_address(void **state)
{
    (void)state;
    assert_int_equal(pci_cf8_address((struct pci_location){ 0, 0x1f, 2 }, 0x24), 0x8000FA24u);
    assert_int_equal(pci_cf8_address((struct pci_location){ 0xff, 31, 7 }, 0xFF), 0x80FFFFFCu);
    assert_int_equal(pci_cf8_address((struct pci_location){ 1, 0, 0 }, 0x06), 0x80010004u);  /* dword aligned */
}

static void test_bar_decode(void **state)
{
    (void)state;
    uint32_t raw[6] = { 0x1F1, 0xFEBF1000, 0xC000000C, 0x00000080, 0x0000000A, 0x00000004 };
    struct pci_bar b;
    assert_true(pci_bar_decode(raw, 0, &b));
    assert_true(b.io);
    assert_int_equal(b.base, 0x1F0);
    assert_true(pci_bar_decode(raw, 1, &b));
    assert_false(b.io);
    assert_false(b.is64);
    assert_int_equal(b.base, 0xFEBF1000u);
    assert_true(pci_bar_decode(raw, 2, &b));
    assert_true(b.is64);
    assert_true(b.prefetchable);
    assert_int_equal(b.base, 0x80C0000000ull);
    assert_false(pci_bar_decode(raw, 4, &b));       /* type 1: reserved */
    assert_false(pci_bar_decode(raw, 5, &b));       /* 64-bit BAR without an upper half */
    assert_false(pci_bar_decode(raw, 6, &b));       /* no such BAR */
    uint32_t empty[6] = { 0, 1, 0, 0, 0, 0 };
    assert_false(pci_bar_decode(empty, 0, &b));     /* unimplemented */
    assert_false(pci_bar_decode(empty, 1, &b));     /* I/O BAR at port 0 */
}

static void test_boot_controller(void **state)
{
    (void)state;
    static struct bootinfo bi;
    memset(&bi, 0, sizeof(bi));
    struct pci_storage list[3] = { { .loc = { 0, 1, 1 } }, { .loc = { 0, 0x1f, 2 } }, { .loc = { 3, 0, 0 } } };
    assert_false(disk_boot_location_known(&bi));
    bi.boot_pci_dev = 0x1f;
    bi.boot_pci_fn = 2;
    assert_true(disk_boot_location_known(&bi));
    assert_int_equal(disk_find_boot_controller(&bi, list, 3), 1);
    bi.boot_pci_bus = 3;
    assert_int_equal(disk_find_boot_controller(&bi, list, 3), -1);
    bi.boot_pci_dev = 0;
    bi.boot_pci_fn = 0;
    assert_int_equal(disk_find_boot_controller(&bi, list, 3), 2);
    assert_int_equal(disk_find_boot_controller(&bi, list, 2), -1);   /* only n entries are searched */
    bi.boot_pci_segment = 1;                                          /* not reachable through 0xCF8 */
    assert_int_equal(disk_find_boot_controller(&bi, list, 3), -1);
    memset(&bi, 0, sizeof(bi));
    bi.boot_disk_kind = DISK_KIND_AHCI;                               /* 00:00.0 but the kind is known */
    assert_true(disk_boot_location_known(&bi));
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_storage_kinds), cmocka_unit_test(test_cf8_address), cmocka_unit_test(test_bar_decode),
        cmocka_unit_test(test_boot_controller),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
