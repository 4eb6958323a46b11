/* A guest's physical address space as its CPU sees it: RAM from 0 to ram_size, the MMIO ranges
 * of its I/O bus (vm->bus), and an empty bus everywhere else (reads all ones, writes dropped). */
#ifndef TESSERA_GPA_BUS_H
#define TESSERA_GPA_BUS_H

#include <stdint.h>
#include "guest/vm.h"

/* size is 1, 2, 4 or 8. An access that straddles RAM and non-RAM is split byte by byte. */
uint64_t gpa_read(struct vm *vm, uint64_t gpa, unsigned size);
void gpa_write(struct vm *vm, uint64_t gpa, unsigned size, uint64_t value);

/* Register a device region on the VM's bus (any number, kept sorted); returns 0, or -1 when
 * it is empty, wraps, overlaps RAM or another region, or the bus cannot grow. */
int gpa_add_mmio(struct vm *vm, uint64_t base, uint64_t size, const struct mmio_ops *ops, void *dev);

/* Unregister the region that starts at base (a PCI BAR that moved or stopped decoding); the
 * other regions keep their order. Returns 0, or -1 when no region starts there. */
int gpa_remove_mmio(struct vm *vm, uint64_t base);

#endif
