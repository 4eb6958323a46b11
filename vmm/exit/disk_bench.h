/* HC_DISK_BENCH (hypercall.h): the hypervisor's own driver throughput on the calling guest's
 * minidisk, the baseline of the minidisk overhead `make bench` reports. Off unless the
 * configuration set bench=yes (BOOTINFO_F_DISK_BENCH) and the hypervisor enabled it at boot:
 * the measurement stops every other guest and overwrites the caller's minidisk. */
#ifndef TESSERA_DISK_BENCH_H
#define TESSERA_DISK_BENCH_H

#include <stdint.h>
#include "diskcheck.h"
#include "guest/vm.h"

/* host supplies the clock, its rate and a scratch buffer (at least 4 KiB; sequential requests
 * may not exceed its size); the other fields are taken from each call. NULL disables. */
void disk_bench_enable(const struct diskcheck_env *host);

/* The hypercall: RDI = gpa of a struct hc_disk_bench, RSI = size. Returns 0 or HC_E*. */
int64_t hypercall_disk_bench(struct vm *vm, uint64_t gpa, uint64_t size);

#endif
