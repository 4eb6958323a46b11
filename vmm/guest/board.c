/* This board: a PC-like machine with a UART, QEMU's debug-exit and Bochs' shutdown ports, PCI
 * configuration mechanism #1 with a virtio-blk minidisk, and the places the interrupt
 * controllers take (see guest/board.h). */
#include "dev/pci_host.h"
#include "dev/virtio_pci.h"
#include "guest/board.h"
#include "mem/gpa_bus.h"

unsigned board_memory_map(uint64_t ram_size, struct board_region out[BOARD_MAP_MAX])
{
    unsigned n = 0;
    if (ram_size)
        out[n++] = (struct board_region){ 0, ram_size, BOARD_REGION_RAM };
    if (ram_size <= BOARD_DEVICE_WINDOW_BASE) {
        out[n++] = (struct board_region){ BOARD_DEVICE_WINDOW_BASE, BOARD_IOAPIC_BASE - BOARD_DEVICE_WINDOW_BASE,
                                          BOARD_REGION_PCI_MMIO };
        out[n++] = (struct board_region){ BOARD_IOAPIC_BASE, IOAPIC_MMIO_SIZE, BOARD_REGION_IOAPIC };
        out[n++] = (struct board_region){ BOARD_LAPIC_BASE, BOARD_LAPIC_SIZE, BOARD_REGION_LAPIC };
        return n;
    }
    /* RAM runs through the device window: PCI goes to the next 4 GiB boundary above it, if the
     * address space has room for a whole window there. */
    uint64_t above = ram_size + (BOARD_HIGH_PCI_WINDOW - 1);
    if (above < ram_size)
        return n;
    above &= ~(BOARD_HIGH_PCI_WINDOW - 1);
    if (above + (BOARD_HIGH_PCI_WINDOW - 1) < above)
        return n;
    out[n++] = (struct board_region){ above, BOARD_HIGH_PCI_WINDOW, BOARD_REGION_PCI_MMIO };
    return n;
}

int board_assemble(struct vm *vm)
{
    uart_init(&vm->uart, vm->name);
    vm->uart.base_port = BOARD_UART_PORT;
    vm->debug_exit = (struct debug_exit){ .vm = vm };
    vm->shutdown = (struct bochs_shutdown){ .vm = vm };
    if (io_bus_add_ports(&vm->bus, BOARD_UART_PORT, UART_PORTS, &uart_port_ops, &vm->uart) ||
        io_bus_add_ports(&vm->bus, BOARD_DEBUG_EXIT_PORT, 1, &debug_exit_port_ops, &vm->debug_exit) ||
        io_bus_add_ports(&vm->bus, BOARD_SHUTDOWN_PORT, 1, &bochs_shutdown_port_ops, &vm->shutdown) ||
        pci_host_register_ports(vm))
        return -1;
    return 0;
}

int board_attach_minidisk(struct vm *vm, const struct minidisk *md, const struct virtio_blk_clock *clock)
{
    return virtio_blk_pci_attach(vm, md, clock);
}

static const struct port_ops pic_port_ops = { pic8259_port_read, pic8259_port_write };
static const struct mmio_ops ioapic_mmio_ops = { ioapic_mmio_read, ioapic_mmio_write };

int board_attach_pic(struct vm *vm, struct pic8259 *pic)
{
    if (io_bus_add_ports(&vm->bus, PIC_MASTER_CMD, 2, &pic_port_ops, pic) ||
        io_bus_add_ports(&vm->bus, PIC_SLAVE_CMD, 2, &pic_port_ops, pic) ||
        io_bus_add_ports(&vm->bus, PIC_ELCR_MASTER, 2, &pic_port_ops, pic))
        return -1;
    return 0;
}

int board_attach_ioapic(struct vm *vm, struct ioapic *io)
{
    return gpa_add_mmio(vm, BOARD_IOAPIC_BASE, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, io);
}

struct irq_line board_isa_irq_line(struct pic8259 *pic, unsigned irq)
{
    return (struct irq_line){ .set = pic8259_set_irq, .ctx = pic, .pin = irq };
}
