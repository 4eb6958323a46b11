/* Decoder for the memory instructions that reach MMIO emulation, in 16-, 32- and 64-bit code,
 * with operand-size, address-size, segment, LOCK, REP, REX and VEX prefixes:
 *   moves:   MOV (88-8B, C6/C7, A0-A3), MOVZX/MOVSX (0F B6/B7/BE/BF), MOVSXD (63), MOVNTI (0F C3),
 *            STOS (AA/AB), MOVS (A4/A5);
 *   ALU:     ADD/OR/ADC/SBB/AND/SUB/XOR/CMP (00-3B, 80-83), TEST (84/85, F6/F7 /0 /1),
 *            NOT/NEG (F6/F7 /2 /3), INC/DEC (FE/FF /0 /1), XADD (0F C0/C1);
 *   others:  XCHG (86/87), CMPXCHG (0F B0/B1), BT/BTS/BTR/BTC (0F A3/AB/B3/BB, 0F BA /4-/7);
 *   vectors: MOVD/MOVQ (66 0F 6E/7E, F3 0F 7E, 66 0F D6), MOVDQA/MOVDQU (66/F3 0F 6F/7F),
 *            MOVUPS/MOVUPD/MOVAPS/MOVAPD (0F 10/11/28/29), MOVSS/MOVSD (F3/F2 0F 10/11),
 *            MOVNTPS/MOVNTPD/MOVNTDQ (0F 2B, 66 0F E7), and the VEX forms of all of these.
 * Only memory forms are accepted (a register operand never causes an EPT violation). Pure:
 * bytes in, description out. */
#ifndef TESSERA_DECODE_H
#define TESSERA_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "emu/alu.h"

enum mem_insn_kind {
    MI_STORE_REG,     /* mov [mem], reg; movnti */
    MI_STORE_IMM,     /* mov [mem], imm */
    MI_LOAD,          /* mov reg, [mem]  (also moffs forms with AL/AX/EAX/RAX) */
    MI_LOAD_ZX,       /* movzx reg, [mem] */
    MI_LOAD_SX,       /* movsx / movsxd reg, [mem] */
    MI_STOS,          /* stos [rdi], al/ax/eax/rax */
    MI_MOVS,          /* movs [rdi], [rsi] */
    MI_ALU_MEM,       /* alu_op [mem], source (reg, imm or none); result to memory if it writes */
    MI_ALU_REG,       /* alu_op reg, [mem]: result to the register, except for CMP */
    MI_XCHG,          /* xchg [mem], reg */
    MI_CMPXCHG,       /* cmpxchg [mem], reg, with the accumulator */
    MI_VEC_LOAD,      /* xmm/ymm reg <- [mem], zero-extended to the register (see vex) */
    MI_VEC_STORE,     /* [mem] <- the low mem_size bytes of xmm/ymm reg */
};

enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 0xff };

/* Where the second operand of MI_ALU_MEM comes from. */
enum alu_source { ALU_SRC_NONE, ALU_SRC_REG, ALU_SRC_IMM };

/* Which processor-state checks the instruction is subject to (#UD/#NM, see mmio_emulate.c). */
enum simd_class { SIMD_NONE, SIMD_SSE, SIMD_AVX };

#define MEM_NO_REG 0xff

/* The memory operand as ModRM/SIB/displacement (or a moffs) describe it; the emulator turns it
 * into an effective address with the guest's registers. */
struct mem_operand {
    uint8_t base, index;   /* GPR numbers 0-15, MEM_NO_REG when absent */
    uint8_t scale;         /* index multiplier: 1, 2, 4 or 8 */
    bool rip_relative;     /* disp counts from the end of the instruction */
    uint8_t default_seg;   /* SEG_SS with an RSP/RBP/ESP/EBP/BP base, else SEG_DS */
    uint64_t disp;         /* sign-extended displacement, or the moffs of A0-A3 */
};

struct mem_insn {
    enum mem_insn_kind kind;
    uint8_t length;        /* whole instruction, prefixes included */
    uint8_t mem_size;      /* bytes moved to/from memory: 1, 2, 4, 8, 16 or 32 */
    uint8_t reg_size;      /* width of the register operand: GPR (movzx/movsx widen), 16 XMM, 32 YMM */
    uint8_t reg;           /* register operand number 0-15 (a GPR, or an XMM/YMM register) */
    bool reg_high8;        /* AH/CH/DH/BH (8-bit, no REX, reg 4-7) */
    uint64_t imm;          /* immediate: sign-extended and truncated to mem_size; for BT the bit index */
    uint8_t addr_size;     /* 2, 4 or 8: width of address arithmetic */
    uint8_t seg;           /* enum seg_reg, segment override or SEG_NONE */
    bool rep;              /* F3 (or F2) prefix on a string form */
    struct mem_operand mem; /* the memory operand of every kind but STOS/MOVS */
    uint8_t alu_op;        /* enum alu_op, for MI_ALU_MEM / MI_ALU_REG */
    uint8_t alu_src;       /* enum alu_source, for MI_ALU_MEM */
    bool lock;             /* F0 prefix */
    bool invalid;          /* the CPU raises #UD for this encoding whatever its state (LOCK where it is
                            * not allowed, a VEX field out of range, a prefix the form forbids) */
    uint8_t simd;          /* enum simd_class */
    bool vex;              /* VEX-encoded: loads zero the register above what they write */
    uint8_t align;         /* alignment the memory operand must have, else #GP(0); 0 for none */
};

enum decode_mode { DECODE_16 = 2, DECODE_32 = 4, DECODE_64 = 8 };

/* Returns 0 on success, -1 if the bytes are not one of the supported forms or are truncated
 * (n bytes available; x86 instructions are at most 15). An encoding the CPU refuses with #UD
 * decodes with invalid set (and a meaningful length) when it is otherwise one of ours. */
int decode_mem_insn(const uint8_t *bytes, size_t n, enum decode_mode mode, struct mem_insn *out);

#endif
