/* The end-of-run report: one row per guest with its slices, exits, CPU time, longest slice (ms,
 * one decimal; root-mode time on its behalf included), result, and exit counts by reason. */
#ifndef TESSERA_SUMMARY_H
#define TESSERA_SUMMARY_H

#include "guest/vm.h"

/* Prints the table and the closing line "tessera: all guests ended: P succeeded, F failed".
 * Returns the number of guests that did not succeed. */
unsigned summary_print(const struct vm *vms, unsigned count, uint64_t tsc_khz);

#endif
