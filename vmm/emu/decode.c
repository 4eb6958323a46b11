/* Decoder for the memory-move instructions that reach MMIO emulation (see decode.h). Only the
 * forms a compiler emits for device access are accepted; everything else is refused so the
 * caller stops the guest rather than guessing. */
#include "emu/decode.h"
#include "lib/mem.h"

#define X86_MAX_INSN 15

#define REX_W 0x8
#define REX_R 0x4

struct cursor {
    const uint8_t *bytes;
    size_t n;           /* available bytes, already capped at X86_MAX_INSN */
    size_t pos;
};

static int take(struct cursor *c, uint8_t *b)
{
    if (c->pos >= c->n)
        return -1;
    *b = c->bytes[c->pos++];
    return 0;
}

/* Little-endian immediate or displacement of 1, 2, 4 or 8 bytes. */
static int take_le(struct cursor *c, unsigned size, uint64_t *value)
{
    if (c->pos > c->n || size > c->n - c->pos)
        return -1;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)c->bytes[c->pos + i] << (8 * i);
    c->pos += size;
    *value = v;
    return 0;
}

static int skip(struct cursor *c, unsigned size)
{
    uint64_t ignored;
    return take_le(c, size, &ignored);
}

/* ModRM with its SIB and displacement. The effective address itself comes from the exit, so
 * only the length matters here; register forms (mod 3) cannot touch memory and are refused. */
static int take_modrm(struct cursor *c, unsigned addr_size, uint8_t *modrm)
{
    if (take(c, modrm) < 0)
        return -1;
    unsigned mod = *modrm >> 6, rm = *modrm & 7;
    if (mod == 3)
        return -1;
    if (addr_size == 2) {
        if (mod == 1)
            return skip(c, 1);
        if (mod == 2 || (mod == 0 && rm == 6))
            return skip(c, 2);
        return 0;
    }
    if (rm == 4) {
        uint8_t sib;
        if (take(c, &sib) < 0)
            return -1;
        if (mod == 0 && (sib & 7) == 5)
            return skip(c, 4);
    }
    if (mod == 1)
        return skip(c, 1);
    if (mod == 2 || (mod == 0 && rm == 5))    /* mod 0 rm 5: disp32, RIP-relative in 64-bit */
        return skip(c, 4);
    return 0;
}

static uint64_t sign_extend(uint64_t v, unsigned from_size)
{
    unsigned shift = 64 - 8 * from_size;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

static uint64_t truncate(uint64_t v, unsigned size)
{
    return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

/* Register operand from ModRM.reg: byte registers 4-7 are AH/CH/DH/BH unless a REX is present. */
static void set_reg_operand(struct mem_insn *out, uint8_t modrm, uint8_t rex, unsigned size)
{
    unsigned reg = (modrm >> 3) & 7;
    if (size == 1 && !rex && reg >= 4) {
        out->reg = (uint8_t)(reg - 4);
        out->reg_high8 = true;
        return;
    }
    out->reg = (uint8_t)(reg | ((rex & REX_R) ? 8 : 0));
}

static enum seg_reg segment_of_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return SEG_ES;
    case 0x2e: return SEG_CS;
    case 0x36: return SEG_SS;
    case 0x3e: return SEG_DS;
    case 0x64: return SEG_FS;
    default:   return SEG_GS;
    }
}

int decode_mem_insn(const uint8_t *bytes, size_t n, enum decode_mode mode, struct mem_insn *out)
{
    if (!bytes || !out || (mode != DECODE_16 && mode != DECODE_32 && mode != DECODE_64))
        return -1;
    struct cursor c = { bytes, n < X86_MAX_INSN ? n : X86_MAX_INSN, 0 };
    bool opsize_prefix = false, addrsize_prefix = false, rep = false;
    uint8_t seg = SEG_NONE, rex = 0, op;

    /* Legacy prefixes in any order, then at most one REX that counts only if it comes last. */
    for (;;) {
        if (take(&c, &op) < 0)
            return -1;
        if (op == 0x66) {
            opsize_prefix = true;
        } else if (op == 0x67) {
            addrsize_prefix = true;
        } else if (op == 0xf2 || op == 0xf3) {
            rep = true;
        } else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e) {
            /* In 64-bit mode these are null prefixes: they neither select a base nor
             * cancel an FS/GS override. */
            if (mode != DECODE_64)
                seg = segment_of_prefix(op);
        } else if (op == 0x64 || op == 0x65) {
            seg = segment_of_prefix(op);
        } else if (op == 0xf0) {
            return -1;      /* LOCK on any of these moves is #UD */
        } else if (mode == DECODE_64 && (op & 0xf0) == 0x40) {
            rex = op;
            continue;       /* a legacy prefix after it makes this REX void (below) */
        } else {
            break;
        }
        rex = 0;
    }

    unsigned op_size = mode == DECODE_16 ? 2 : 4;
    if (opsize_prefix)
        op_size = op_size == 2 ? 4 : 2;
    if (rex & REX_W)
        op_size = 8;
    unsigned addr_size = mode;
    if (addrsize_prefix)
        addr_size = mode == DECODE_32 ? 2 : 4;

    struct mem_insn insn;
    memset(&insn, 0, sizeof(insn));
    insn.addr_size = (uint8_t)addr_size;
    insn.seg = seg;
    uint8_t modrm;

    switch (op) {
    case 0x88: case 0x89: case 0x8a: case 0x8b: {
        unsigned size = (op & 1) ? op_size : 1;
        if (take_modrm(&c, addr_size, &modrm) < 0)
            return -1;
        insn.kind = (op & 2) ? MI_LOAD : MI_STORE_REG;
        insn.mem_size = insn.reg_size = (uint8_t)size;
        set_reg_operand(&insn, modrm, rex, size);
        break;
    }
    case 0xc6: case 0xc7: {
        unsigned size = (op & 1) ? op_size : 1;
        unsigned imm_size = size == 8 ? 4 : size;
        uint64_t imm;
        if (take_modrm(&c, addr_size, &modrm) < 0 || ((modrm >> 3) & 7) != 0)
            return -1;
        if (take_le(&c, imm_size, &imm) < 0)
            return -1;
        insn.kind = MI_STORE_IMM;
        insn.mem_size = insn.reg_size = (uint8_t)size;
        insn.imm = truncate(sign_extend(imm, imm_size), size);
        break;
    }
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
        unsigned size = (op & 1) ? op_size : 1;
        if (skip(&c, addr_size) < 0)    /* moffs is as wide as the address size */
            return -1;
        insn.kind = (op & 2) ? MI_STORE_REG : MI_LOAD;
        insn.mem_size = insn.reg_size = (uint8_t)size;
        insn.reg = 0;
        break;
    }
    case 0xaa: case 0xab: case 0xa4: case 0xa5: {
        unsigned size = (op & 1) ? op_size : 1;
        insn.kind = (op >= 0xaa) ? MI_STOS : MI_MOVS;
        insn.mem_size = insn.reg_size = (uint8_t)size;
        insn.reg = 0;
        insn.rep = rep;
        break;
    }
    case 0x63: {
        /* MOVSXD exists only in 64-bit mode (ARPL elsewhere). Without REX.W it is a plain
         * 32-bit load; the 16-bit form differs between vendors and is refused. */
        if (mode != DECODE_64 || (!(rex & REX_W) && op_size != 4))
            return -1;
        if (take_modrm(&c, addr_size, &modrm) < 0)
            return -1;
        insn.kind = (rex & REX_W) ? MI_LOAD_SX : MI_LOAD;
        insn.mem_size = 4;
        insn.reg_size = (uint8_t)op_size;
        set_reg_operand(&insn, modrm, rex, op_size);
        break;
    }
    case 0x0f: {
        uint8_t op2;
        if (take(&c, &op2) < 0)
            return -1;
        if (op2 != 0xb6 && op2 != 0xb7 && op2 != 0xbe && op2 != 0xbf)
            return -1;
        if (take_modrm(&c, addr_size, &modrm) < 0)
            return -1;
        insn.kind = (op2 & 8) ? MI_LOAD_SX : MI_LOAD_ZX;
        insn.mem_size = (op2 & 1) ? 2 : 1;
        insn.reg_size = (uint8_t)op_size;
        set_reg_operand(&insn, modrm, rex, op_size);
        break;
    }
    default:
        return -1;
    }

    insn.length = (uint8_t)c.pos;
    *out = insn;
    return 0;
}
