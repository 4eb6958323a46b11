/* A VM's I/O bus: the port ranges and guest-physical MMIO ranges its devices have claimed, each
 * a sorted table of non-overlapping ranges found by binary search. Devices register themselves
 * (through the board, guest/board.h); ports.c and mem/gpa_bus.c route guest accesses here. */
#ifndef TESSERA_DEV_IO_BUS_H
#define TESSERA_DEV_IO_BUS_H

#include <stdint.h>

/* A port device. port is the absolute port number (a device with several ranges, such as the
 * PIC pair, tells them apart by it); size is 1, 2 or 4 and the access may run past the range's
 * last port: the device decides what those bytes do (usually empty bus). To end the guest a
 * device asks its VM (vm_end), never decides the exit itself. */
struct port_ops {
    uint32_t (*read)(void *dev, uint16_t port, unsigned size);
    void (*write)(void *dev, uint16_t port, unsigned size, uint32_t value);
};

/* An MMIO device: offset from the range's base, size 1, 2, 4 or 8, always inside the range. */
struct mmio_ops {
    uint64_t (*read)(void *dev, uint64_t offset, unsigned size);
    void (*write)(void *dev, uint64_t offset, unsigned size, uint64_t value);
};

/* [base, base + size - 1]; ops is the struct port_ops or struct mmio_ops of its table. */
struct io_range {
    uint64_t base, size;
    const void *ops;
    void *dev;
};

/* Ranges a table holds before it needs memory from the page allocator: enough for every board
 * today, and a zeroed table is a valid empty one. */
#define IO_BUS_INLINE_RANGES 8

struct io_range_table {
    unsigned count;
    unsigned capacity;              /* of grown; unused while grown is NULL */
    struct io_range *grown;         /* NULL: the inline slots hold the ranges */
    struct io_range inline_slots[IO_BUS_INLINE_RANGES];
};

struct io_bus {
    struct io_range_table ports;    /* bases and ends within 0..0xFFFF */
    struct io_range_table mmio;
};

#define IO_PORT_SPACE 0x10000u

/* Generic table operations (the address space is the full 64 bits). add keeps the table sorted
 * by base; it refuses (-1) size 0, a range that wraps past the top, an overlap, NULL ops, or no
 * memory to grow. remove takes the range that starts exactly at base, -1 when there is none. */
int io_range_add(struct io_range_table *t, uint64_t base, uint64_t size, const void *ops, void *dev);
int io_range_remove(struct io_range_table *t, uint64_t base);
/* The range holding addr, or NULL. */
const struct io_range *io_range_find(const struct io_range_table *t, uint64_t addr);
/* The i-th range in address order, or NULL past the end. */
const struct io_range *io_range_at(const struct io_range_table *t, unsigned i);

/* Ports first .. first + count - 1 (inside the 64 KiB port space); both ops must exist. */
int io_bus_add_ports(struct io_bus *bus, uint16_t first, unsigned count, const struct port_ops *ops, void *dev);
int io_bus_add_mmio(struct io_bus *bus, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *dev);

/* The device behind a port, or NULL (empty bus). */
const struct io_range *io_bus_find_port(const struct io_bus *bus, uint16_t port);

#endif
