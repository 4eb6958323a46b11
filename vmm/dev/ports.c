/* A guest's I/O port space: a table of claimed port ranges (UART, debug-exit, Bochs shutdown, PCI)
 * in front of an empty bus that reads all ones and drops writes. An access is routed by its
 * first port; devices with byte-wide registers split wider accesses themselves. */
#include "dev/ports.h"
#include "dev/pci_host.h"
#include "hypercall.h"

struct port_range {
    uint16_t first, last;
    enum exit_result (*in)(struct vm *vm, uint16_t port, unsigned size, uint32_t *value);
    enum exit_result (*out)(struct vm *vm, uint16_t port, unsigned size, uint32_t value);
};

static uint32_t all_ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1;
}

/* UART: byte registers; a 2- or 4-byte access touches consecutive registers (low byte first),
 * and bytes beyond the last register see the empty bus. */
static enum exit_result uart_port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint32_t p = (uint32_t)port + i;
        uint8_t byte = 0xFF;
        if (p >= PORT_COM1 && p <= PORT_COM1 + 7)
            byte = uart_read(&vm->uart, p - PORT_COM1);
        v |= (uint32_t)byte << (8 * i);
    }
    *value = v;
    return EXIT_ADVANCE;
}

static enum exit_result uart_port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size; i++) {
        uint32_t p = (uint32_t)port + i;
        if (p >= PORT_COM1 && p <= PORT_COM1 + 7)
            uart_write(&vm->uart, p - PORT_COM1, (uint8_t)(value >> (8 * i)));
    }
    return EXIT_ADVANCE;
}

static enum exit_result empty_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
    (void)vm;
    (void)port;
    *value = all_ones(size);
    return EXIT_ADVANCE;
}

/* QEMU's isa-debug-exit convention: writing v ends the guest with status (v << 1) | 1. */
static enum exit_result debug_exit_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    (void)port;
    uint32_t v = value & all_ones(size);
    return vm_end(vm, OUTCOME_EXIT_CODE, (v << 1) | 1);
}

/* Bochs convention: the bytes "Shutdown", in order, power the machine off. */
static enum exit_result shutdown_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    static const char magic[] = "Shutdown";
    (void)port;
    for (unsigned i = 0; i < size; i++) {
        char c = (char)(value >> (8 * i));
        if (vm->shutdown_match < sizeof(magic) - 1 && c == magic[vm->shutdown_match])
            vm->shutdown_match++;
        else
            vm->shutdown_match = (c == magic[0]) ? 1 : 0; /* "S" can start a new match */
        if (vm->shutdown_match == sizeof(magic) - 1) {
            vm->shutdown_match = 0;
            return vm_end(vm, OUTCOME_SHUTDOWN, 0);
        }
    }
    return EXIT_ADVANCE;
}

/* PCI configuration mechanism #1, for guests that have a PCI host (see dev/pci_host.h). */
static enum exit_result pci_port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
    if (!vm->pci)
        return empty_in(vm, port, size, value);
    *value = pci_host_io_read(vm->pci, port, size);
    return EXIT_ADVANCE;
}

static enum exit_result pci_port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    if (vm->pci)
        pci_host_io_write(vm->pci, port, size, value);
    return EXIT_ADVANCE;
}

/* Claimed ranges, searched in order. */
static const struct port_range port_table[] = {
    { PORT_COM1, PORT_COM1 + 7, uart_port_in, uart_port_out },
    { PORT_DEBUG_EXIT, PORT_DEBUG_EXIT, empty_in, debug_exit_out },
    { PORT_BOCHS_SHUTDOWN, PORT_BOCHS_SHUTDOWN, empty_in, shutdown_out },
    { PCI_PORT_CONFIG_ADDRESS, PCI_PORT_CONFIG_DATA + 3, pci_port_in, pci_port_out },
};

static const struct port_range *port_find(uint16_t port)
{
    for (unsigned i = 0; i < sizeof(port_table) / sizeof(port_table[0]); i++)
        if (port >= port_table[i].first && port <= port_table[i].last)
            return &port_table[i];
    return NULL;
}

static unsigned valid_size(unsigned size)
{
    return size == 1 || size == 2 || size == 4;
}

enum exit_result port_in(struct vm *vm, uint16_t port, unsigned size, uint32_t *value)
{
    if (!valid_size(size))
        size = 1;
    const struct port_range *r = port_find(port);
    if (!r)
        return empty_in(vm, port, size, value);
    return r->in(vm, port, size, value);
}

enum exit_result port_out(struct vm *vm, uint16_t port, unsigned size, uint32_t value)
{
    if (!valid_size(size))
        size = 1;
    const struct port_range *r = port_find(port);
    if (!r)
        return EXIT_ADVANCE;   /* empty bus: dropped */
    return r->out(vm, port, size, value);
}
