/* Tests for the board (guest/board.h): the devices every guest gets and where they sit, the
 * debug-exit and shutdown ports as devices of their own, the PCI ports before and after a host
 * exists, the guest-physical map, and the places the interrupt controllers take: the PIC pair's
 * ports and the IOAPIC's MMIO on a VM's bus, reached through port_in/port_out and
 * gpa_read/gpa_write, with an ISA interrupt line raised into the PIC. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/pci_host.h"
#include "dev/ports.h"
#include "dev/virtio_pci.h"
#include "guest/board.h"
#include "mem/gpa_bus.h"
#include "test_guest_helpers.h"

#define RAM_SIZE (1u << 20)

static struct vm *vm;

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("board", RAM_SIZE);     /* assembled by board_assemble */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static void expect_ports(uint16_t first, unsigned count, const void *dev)
{
    const struct io_range *r = io_bus_find_port(&vm->bus, first);
    assert_non_null(r);
    assert_int_equal(r->base, first);
    assert_int_equal(r->size, count);
    assert_ptr_equal(r->dev, dev);
}

static void test_assembled_devices(void **state)
{
    (void)state;
    assert_int_equal(vm->bus.ports.count, 4);
    expect_ports(BOARD_UART_PORT, UART_PORTS, &vm->uart);
    expect_ports(BOARD_DEBUG_EXIT_PORT, 1, &vm->debug_exit);
    expect_ports(BOARD_SHUTDOWN_PORT, 1, &vm->shutdown);
    expect_ports(PCI_PORT_CONFIG_ADDRESS, PCI_PORT_COUNT, vm);
    assert_int_equal(vm->bus.mmio.count, 0);
    assert_ptr_equal(vm->debug_exit.vm, vm);
    assert_ptr_equal(vm->shutdown.vm, vm);
    assert_string_equal(vm->uart.name, "board");
    /* the ports are taken: assembling twice is refused */
    assert_int_equal(board_assemble(vm), -1);
}

static void test_uart_at_its_port(void **state)
{
    (void)state;
    assert_int_equal(port_out(vm, BOARD_UART_PORT + 7, 1, 0x5A), EXIT_ADVANCE);   /* SCR */
    assert_int_equal(vm->uart.scr, 0x5A);
    uint32_t v;
    assert_int_equal(port_in(vm, BOARD_UART_PORT + 5, 1, &v), EXIT_ADVANCE);      /* LSR */
    assert_int_equal(v & 0x60, 0x60);
}

static void test_debug_exit_device(void **state)
{
    (void)state;
    uint32_t v;
    assert_int_equal(port_in(vm, BOARD_DEBUG_EXIT_PORT, 4, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0xFFFFFFFFu);
    assert_int_equal(port_out(vm, BOARD_DEBUG_EXIT_PORT, 1, 0x3), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_EXIT_CODE);
    assert_int_equal(vm->exit_code, 7);
}

static void test_shutdown_device(void **state)
{
    (void)state;
    const char *s = "Shut";
    for (unsigned i = 0; s[i]; i++)
        assert_int_equal(port_out(vm, BOARD_SHUTDOWN_PORT, 1, (uint8_t)s[i]), EXIT_ADVANCE);
    assert_int_equal(vm->shutdown.matched, 4);
    /* the rest in one dword: "down" */
    assert_int_equal(port_out(vm, BOARD_SHUTDOWN_PORT, 4, 'd' | 'o' << 8 | 'w' << 16 | (uint32_t)'n' << 24),
                     EXIT_STOP);
    assert_int_equal(vm->outcome, OUTCOME_SHUTDOWN);
    assert_true(vm_succeeded(vm));
}

static void test_pci_ports_follow_the_host(void **state)
{
    (void)state;
    uint32_t v;
    assert_null(vm->pci);
    assert_int_equal(port_out(vm, PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE), EXIT_ADVANCE);
    assert_int_equal(port_in(vm, PCI_PORT_CONFIG_DATA, 4, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0xFFFFFFFFu);                    /* no host yet: empty bus */
    static struct pci_host host;
    pci_host_init(&host, vm);
    assert_int_equal(port_out(vm, PCI_PORT_CONFIG_ADDRESS, 4, PCI_CONFIG_ENABLE), EXIT_ADVANCE);
    assert_int_equal(port_in(vm, PCI_PORT_CONFIG_DATA, 4, &v), EXIT_ADVANCE);
    assert_int_equal(v, PCI_HOST_BRIDGE_VENDOR | PCI_HOST_BRIDGE_DEVICE << 16);
    vm->pci = NULL;
}

static void check_map_is_sorted(const struct board_region *m, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        assert_true(m[i].size != 0);
        assert_true(m[i].base + (m[i].size - 1) >= m[i].base);
        if (i)
            assert_true(m[i - 1].base + m[i - 1].size <= m[i].base);
    }
}

static void test_memory_map(void **state)
{
    (void)state;
    struct board_region m[BOARD_MAP_MAX];
    unsigned n = board_memory_map(32u << 20, m);
    assert_int_equal(n, 4);
    check_map_is_sorted(m, n);
    assert_int_equal(m[0].kind, BOARD_REGION_RAM);
    assert_int_equal(m[0].base, 0);
    assert_int_equal(m[0].size, 32u << 20);
    assert_int_equal(m[1].kind, BOARD_REGION_PCI_MMIO);
    assert_int_equal(m[1].base, virtio_pci_bar_base(32u << 20));   /* where the BAR really goes */
    assert_int_equal(m[2].kind, BOARD_REGION_IOAPIC);
    assert_int_equal(m[2].base, 0xFEC00000ull);
    assert_int_equal(m[3].kind, BOARD_REGION_LAPIC);
    assert_int_equal(m[3].base, 0xFEE00000ull);
    assert_int_equal(m[3].base + m[3].size, 0xFEE01000ull);

    /* RAM up to the window's start still leaves it whole */
    assert_int_equal(board_memory_map(BOARD_DEVICE_WINDOW_BASE, m), 4);
    check_map_is_sorted(m, 4);

    /* RAM through the window: PCI above RAM, at the next 4 GiB boundary, no APICs yet */
    uint64_t big = (5ull << 30) + 4096;
    n = board_memory_map(big, m);
    assert_int_equal(n, 2);
    check_map_is_sorted(m, n);
    assert_int_equal(m[1].kind, BOARD_REGION_PCI_MMIO);
    assert_int_equal(m[1].base, 8ull << 30);
    assert_int_equal(m[1].base, virtio_pci_bar_base(big));

    /* no room above RAM at all: RAM only */
    assert_int_equal(board_memory_map(~0ull - 0xFFF, m), 1);
}

/* ---- the interrupt controllers' places on the bus ---- */

static bool intr_level;
static unsigned intr_changes;

static void intr_set(void *ctx, unsigned pin, bool level)
{
    (void)ctx;
    (void)pin;
    intr_level = level;
    intr_changes++;
}

static void test_pic_on_the_bus(void **state)
{
    (void)state;
    static struct pic8259 pic;
    intr_level = false;
    intr_changes = 0;
    pic8259_reset(&pic, (struct irq_line){ .set = intr_set });
    assert_int_equal(board_attach_pic(vm, &pic), 0);
    assert_int_equal(board_attach_pic(vm, &pic), -1);    /* its ports are taken */
    /* The initialization sequence, as a guest sends it: ICW1-4, then unmask everything. */
    assert_int_equal(port_out(vm, PIC_MASTER_CMD, 1, 0x11), EXIT_ADVANCE);
    assert_int_equal(port_out(vm, PIC_MASTER_DATA, 1, 0x20), EXIT_ADVANCE);
    assert_int_equal(port_out(vm, PIC_MASTER_DATA, 1, 0x04), EXIT_ADVANCE);
    assert_int_equal(port_out(vm, PIC_MASTER_DATA, 1, 0x01), EXIT_ADVANCE);
    assert_int_equal(port_out(vm, PIC_MASTER_DATA, 1, 0x00), EXIT_ADVANCE);
    uint32_t v;
    assert_int_equal(port_in(vm, PIC_MASTER_DATA, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0x00);
    assert_int_equal(port_out(vm, PIC_SLAVE_DATA, 1, 0x5A), EXIT_ADVANCE);   /* slave IMR */
    assert_int_equal(port_in(vm, PIC_SLAVE_DATA, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v, 0x5A);
    /* ELCR: only the writable bits stick */
    assert_int_equal(port_out(vm, PIC_ELCR_MASTER, 1, 0xFF), EXIT_ADVANCE);
    assert_int_equal(port_in(vm, PIC_ELCR_MASTER, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v, PIC_ELCR_MASTER_WRITABLE);

    /* A device raises ISA IRQ 1 through its line; the PIC listens and drives INT. */
    struct irq_line kbd = board_isa_irq_line(&pic, 1);
    irq_line_set(&kbd, true);
    assert_true(intr_level);
    assert_int_equal(port_out(vm, PIC_MASTER_CMD, 1, 0x0A), EXIT_ADVANCE);  /* OCW3: read IRR */
    assert_int_equal(port_in(vm, PIC_MASTER_CMD, 1, &v), EXIT_ADVANCE);
    assert_int_equal(v & 0x02, 0x02);
    assert_int_equal(pic8259_acknowledge(&pic), 0x21);
}

static void test_ioapic_on_the_bus(void **state)
{
    (void)state;
    static struct ioapic io;
    ioapic_reset(&io, (struct msi_target){ 0 });
    assert_int_equal(board_attach_ioapic(vm, &io), 0);
    gpa_write(vm, BOARD_IOAPIC_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_VERSION);
    assert_int_equal(gpa_read(vm, BOARD_IOAPIC_BASE + IOAPIC_IOWIN, 4), (IOAPIC_PINS - 1) << 16 | IOAPIC_VERSION);
    /* a redirection entry written and read back through guest-physical accesses */
    gpa_write(vm, BOARD_IOAPIC_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 2 * 3);
    gpa_write(vm, BOARD_IOAPIC_BASE + IOAPIC_IOWIN, 4, 0x10031);
    assert_int_equal(io.redtbl[3] & 0x1FFFF, 0x10031);
    assert_int_equal(gpa_read(vm, BOARD_IOAPIC_BASE + IOAPIC_IOWIN, 4), 0x10031);
    /* past its page: the empty bus */
    assert_int_equal(gpa_read(vm, BOARD_IOAPIC_BASE + IOAPIC_MMIO_SIZE, 4), 0xFFFFFFFFu);
    assert_int_equal(board_attach_ioapic(vm, &io), -1);

    /* A guest whose RAM covers the IOAPIC's address cannot have one there. */
    struct vm big = { 0 };
    big.ram_size = 4ull << 30;
    assert_int_equal(board_attach_ioapic(&big, &io), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_assembled_devices),
        T(test_uart_at_its_port),
        T(test_debug_exit_device),
        T(test_shutdown_device),
        T(test_pci_ports_follow_the_host),
        T(test_memory_map),
        T(test_pic_on_the_bus),
        T(test_ioapic_on_the_bus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
