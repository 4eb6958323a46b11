/* Decoder for the memory instructions compilers emit for device access: MOV (88, 89, 8A, 8B,
 * C6, C7, A0-A3), MOVZX/MOVSX (0F B6/B7/BE/BF), MOVSXD (63), STOS (AA/AB) and MOVS (A4/A5),
 * with operand-size, address-size, segment, REP and REX prefixes, in 16-, 32- and 64-bit code.
 * Pure: bytes in, description out. */
#ifndef TESSERA_DECODE_H
#define TESSERA_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mem_insn_kind {
    MI_STORE_REG,     /* mov [mem], reg */
    MI_STORE_IMM,     /* mov [mem], imm */
    MI_LOAD,          /* mov reg, [mem]  (also moffs forms with AL/AX/EAX/RAX) */
    MI_LOAD_ZX,       /* movzx reg, [mem] */
    MI_LOAD_SX,       /* movsx / movsxd reg, [mem] */
    MI_STOS,          /* stos [rdi], al/ax/eax/rax */
    MI_MOVS,          /* movs [rdi], [rsi] */
};

enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 0xff };

struct mem_insn {
    enum mem_insn_kind kind;
    uint8_t length;        /* whole instruction, prefixes included */
    uint8_t mem_size;      /* bytes moved to/from memory: 1, 2, 4, 8 */
    uint8_t reg_size;      /* destination register width for loads (movzx/movsx widen) */
    uint8_t reg;           /* register operand number 0-15 */
    bool reg_high8;        /* AH/CH/DH/BH (8-bit, no REX, reg 4-7) */
    uint64_t imm;          /* for MI_STORE_IMM, already sign-extended to mem_size */
    uint8_t addr_size;     /* 2, 4 or 8: width of RSI/RDI/RCX arithmetic for string forms */
    uint8_t seg;           /* enum seg_reg, segment override or SEG_NONE */
    bool rep;              /* F3 (or F2) prefix on a string form */
};

enum decode_mode { DECODE_16 = 2, DECODE_32 = 4, DECODE_64 = 8 };

/* Returns 0 on success, -1 if the bytes are not one of the supported forms or are truncated
 * (n bytes available; x86 instructions are at most 15). */
int decode_mem_insn(const uint8_t *bytes, size_t n, enum decode_mode mode, struct mem_insn *out);

#endif
