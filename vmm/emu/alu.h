/* The arithmetic, logic and bit operations of emulated memory instructions, with RFLAGS as the
 * CPU leaves them, including the flags the SDM calls undefined (set as current Intel CPUs set
 * them). Pure. */
#ifndef TESSERA_EMU_ALU_H
#define TESSERA_EMU_ALU_H

#include <stdbool.h>
#include <stdint.h>

enum alu_op {
    /* The eight classic operations, in their ModRM.reg order (opcodes 00-3F, 80-83 /n). */
    ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
    ALU_TEST,
    ALU_INC, ALU_DEC, ALU_NOT, ALU_NEG,
    /* Bit tests: the source is the bit index, already reduced below the operand width. */
    ALU_BT, ALU_BTS, ALU_BTR, ALU_BTC,
    ALU_XADD,                   /* the addition of XADD; the exchange is the caller's */
    ALU_OP_COUNT,
};

/* dst OP src at size bytes (1, 2, 4 or 8; operands beyond size are ignored). Returns the result,
 * truncated to size; replaces in *rflags the flags the operation writes and keeps the others.
 * Unary operations ignore src. */
uint64_t alu_execute(enum alu_op op, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags);

/* Whether the result goes back to the destination (CMP, TEST and BT only read it). */
bool alu_writes_result(enum alu_op op);

/* Whether a LOCK prefix is allowed (with a memory destination; #UD otherwise). */
bool alu_lockable(enum alu_op op);

#endif
