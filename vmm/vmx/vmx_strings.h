/* Words for the numbers VMX reports: VM-instruction errors (SDM Vol. 3 30.4) and basic exit
 * reasons (Appendix C), for diagnostics. Pure. */
#ifndef TESSERA_VMX_STRINGS_H
#define TESSERA_VMX_STRINGS_H

#include <stdint.h>

/* The VM-instruction error field's meaning; "unknown VM-instruction error" for numbers the
 * SDM does not define (0, 14, 21, 27, above 28). */
const char *vm_instruction_error_text(uint32_t n);

/* A short name for an exit reason. Only the basic reason (bits 15:0) is looked at, so the raw
 * exit-reason field may be passed; "reason?" for numbers the SDM does not define. */
const char *exit_reason_name(uint32_t reason);

#endif
