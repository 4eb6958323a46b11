/* Fuzzes the MMIO instruction decoder: arbitrary bytes in any mode must decode to a sane
 * description within the bytes given (moves, ALU and bit operations, exchanges, SSE/AVX moves),
 * or be refused, never read past them; the same bytes with more after them decode the same. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "emu/decode.h"

static const enum decode_mode modes[3] = { DECODE_16, DECODE_32, DECODE_64 };

static bool is_vector(const struct mem_insn *i)
{
    return i->kind == MI_VEC_LOAD || i->kind == MI_VEC_STORE;
}

static bool is_alu(const struct mem_insn *i)
{
    return i->kind == MI_ALU_MEM || i->kind == MI_ALU_REG || i->kind == MI_CMPXCHG;
}

static bool valid_reg(uint8_t r, enum decode_mode mode)
{
    return r == MEM_NO_REG || r < (mode == DECODE_64 ? 16 : 8);
}

static bool same(const struct mem_insn *a, const struct mem_insn *b)
{
    return a->kind == b->kind && a->length == b->length && a->mem_size == b->mem_size &&
           a->reg_size == b->reg_size && a->reg == b->reg && a->reg_high8 == b->reg_high8 && a->imm == b->imm &&
           a->addr_size == b->addr_size && a->seg == b->seg && a->rep == b->rep && a->alu_op == b->alu_op &&
           a->alu_src == b->alu_src && a->lock == b->lock && a->invalid == b->invalid && a->simd == b->simd &&
           a->vex == b->vex && a->align == b->align && a->mem.base == b->mem.base &&
           a->mem.index == b->mem.index && a->mem.scale == b->mem.scale &&
           a->mem.rip_relative == b->mem.rip_relative && a->mem.default_seg == b->mem.default_seg &&
           a->mem.disp == b->mem.disp;
}

static void check(const struct mem_insn *insn, size_t n, enum decode_mode mode)
{
    if (insn->length < 1 || insn->length > n || insn->length > 15)
        abort();
    if (insn->kind > MI_VEC_STORE)
        abort();
    unsigned s = insn->mem_size;
    if (is_vector(insn)) {
        if (s != 4 && s != 8 && s != 16 && s != 32)
            abort();
        if (insn->reg_size != (s == 32 ? 32 : 16) || insn->simd == SIMD_NONE || insn->reg_high8)
            abort();
        if (insn->vex != (insn->simd == SIMD_AVX) || (insn->align && insn->align != s))
            abort();
    } else {
        if (s != 1 && s != 2 && s != 4 && s != 8)
            abort();
        if (insn->simd != SIMD_NONE || insn->vex || insn->align)
            abort();
        if (insn->reg_size < s && insn->kind != MI_STORE_IMM)
            abort();
    }
    if (insn->reg > 15 || (mode != DECODE_64 && insn->reg > 7) ||
        (insn->reg_high8 && (insn->reg > 3 || s != 1)))
        abort();
    if (insn->addr_size != 2 && insn->addr_size != 4 && insn->addr_size != 8)
        abort();
    if (mode == DECODE_64 ? insn->addr_size == 2 : insn->addr_size == 8)
        abort();
    if (insn->seg > SEG_GS && insn->seg != SEG_NONE)
        abort();
    if (insn->rep && insn->kind != MI_STOS && insn->kind != MI_MOVS)
        abort();
    if (s < 8 && (insn->imm >> (8 * s)))
        abort();
    if (is_alu(insn) && (insn->alu_op >= ALU_OP_COUNT || insn->alu_src > ALU_SRC_IMM))
        abort();
    if (insn->kind == MI_ALU_MEM && insn->alu_op >= ALU_BT && insn->alu_op <= ALU_BTC &&
        (s == 1 || (insn->alu_src == ALU_SRC_IMM && insn->imm >= 8u * s)))
        abort();
    /* LOCK on a form that forbids it must be #UD */
    if (insn->lock && !insn->invalid &&
        !((insn->kind == MI_ALU_MEM && alu_lockable((enum alu_op)insn->alu_op)) || insn->kind == MI_XCHG ||
          insn->kind == MI_CMPXCHG))
        abort();
    const struct mem_operand *m = &insn->mem;
    if (!valid_reg(m->base, mode) || !valid_reg(m->index, mode) || m->index == 4)
        abort();
    if (m->scale != 1 && m->scale != 2 && m->scale != 4 && m->scale != 8)
        abort();
    if (m->rip_relative && (mode != DECODE_64 || m->base != MEM_NO_REG || m->index != MEM_NO_REG))
        abort();
    if (m->default_seg != SEG_DS && m->default_seg != SEG_SS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum decode_mode mode = modes[data[0] % 3];
    size_t n = size - 1;
    /* An exact-size heap copy, so any read past n bytes is caught by ASan. */
    uint8_t *bytes = malloc(n ? n : 1);
    if (!bytes)
        return 0;
    memcpy(bytes, data + 1, n);

    struct mem_insn insn;
    if (decode_mem_insn(bytes, n, mode, &insn) == 0) {
        check(&insn, n, mode);
        /* Decoding exactly the instruction's own bytes, or them with other bytes after, gives
         * the same answer; one byte fewer is refused. */
        struct mem_insn again;
        if (decode_mem_insn(bytes, insn.length, mode, &again) != 0 || !same(&insn, &again))
            abort();
        if (decode_mem_insn(bytes, insn.length - 1u, mode, &again) == 0)
            abort();
        uint8_t longer[32];
        memset(longer, n ? bytes[n - 1] ^ 0x5a : 0, sizeof(longer));
        memcpy(longer, bytes, insn.length);
        if (decode_mem_insn(longer, sizeof(longer), mode, &again) != 0 || !same(&insn, &again))
            abort();
    }
    free(bytes);
    return 0;
}
