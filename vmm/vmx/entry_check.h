/* Explains a failed VM entry in words: re-checks the current VMCS against the SDM's VM-entry
 * checks (Vol. 3 26.2 controls and host state, 26.3.1 guest state) and names the first one the
 * state violates. Pure: reads the VMCS through vmcs_read only. */
#ifndef TESSERA_ENTRY_CHECK_H
#define TESSERA_ENTRY_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include "vmx/caps.h"

/* Writes one sentence naming the field, its value and the rule into buf and returns true;
 * returns false (buf empty) when none of the checks it knows fails. Not every SDM check is
 * covered (MSR-load areas' contents, SMM, APIC virtualization details, physical-address width
 * below 52 bits), so false does not prove the state valid. */
bool vmx_explain_entry_failure(const struct vmx_caps *c, char *buf, size_t n);

#endif
