/* Decoder for the memory instructions that reach MMIO emulation (see decode.h). Only the memory
 * forms of the instructions listed there are accepted; everything else is refused so the caller
 * stops the guest rather than guessing. Encodings the CPU refuses with #UD are marked invalid
 * rather than refused, so the guest gets the exception it would get on the CPU. */
#include "emu/decode.h"
#include "lib/mem.h"

#define X86_MAX_INSN 15

#define REX_W 0x8
#define REX_R 0x4
#define REX_X 0x2
#define REX_B 0x1

/* GPR numbers as the ModRM encodings name them (the same as enum gpr_index in guest/vcpu.h). */
#define GPR_BX 3
#define GPR_SP 4
#define GPR_BP 5
#define GPR_SI 6
#define GPR_DI 7

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

static uint64_t sign_extend(uint64_t v, unsigned from_size)
{
    unsigned shift = 64 - 8 * from_size;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

static uint64_t truncate(uint64_t v, unsigned size)
{
    return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static int take_disp(struct cursor *c, unsigned size, uint64_t *disp)
{
    if (take_le(c, size, disp) < 0)
        return -1;
    *disp = sign_extend(*disp, size);
    return 0;
}

/* 16-bit addressing: ModRM.rm selects one of eight base/index pairs (SDM Vol. 2 Table 2-1). */
static const uint8_t base16[8] = { GPR_BX, GPR_BX, GPR_BP, GPR_BP, MEM_NO_REG, MEM_NO_REG, GPR_BP, GPR_BX };
static const uint8_t index16[8] = { GPR_SI, GPR_DI, GPR_SI, GPR_DI, GPR_SI, GPR_DI, MEM_NO_REG, MEM_NO_REG };

static int take_modrm16(struct cursor *c, unsigned mod, unsigned rm, struct mem_operand *m)
{
    if (mod == 0 && rm == 6)
        return take_disp(c, 2, &m->disp);
    m->base = base16[rm];
    m->index = index16[rm];
    if (m->base == GPR_BP)
        m->default_seg = SEG_SS;
    if (mod == 1)
        return take_disp(c, 1, &m->disp);
    if (mod == 2)
        return take_disp(c, 2, &m->disp);
    return 0;
}

/* ModRM with its SIB and displacement. Register forms (mod 3) cannot touch memory and are
 * refused. rex carries the REX (or VEX) X and B bits. */
static int take_modrm(struct cursor *c, unsigned addr_size, bool long_mode, uint8_t rex, uint8_t *modrm,
                      struct mem_operand *m)
{
    if (take(c, modrm) < 0)
        return -1;
    unsigned mod = *modrm >> 6, rm = *modrm & 7;
    if (mod == 3)
        return -1;
    *m = (struct mem_operand){ .base = MEM_NO_REG, .index = MEM_NO_REG, .scale = 1, .default_seg = SEG_DS };
    if (addr_size == 2)
        return take_modrm16(c, mod, rm, m);

    if (rm == 4) {
        uint8_t sib;
        if (take(c, &sib) < 0)
            return -1;
        unsigned index = ((sib >> 3) & 7) | ((rex & REX_X) ? 8 : 0);
        if (index != GPR_SP)                /* index 100b without REX.X: none */
            m->index = (uint8_t)index;
        m->scale = (uint8_t)(1u << (sib >> 6));
        if ((sib & 7) == 5 && mod == 0) {   /* no base, disp32 (whatever REX.B says) */
            return take_disp(c, 4, &m->disp);
        }
        m->base = (uint8_t)((sib & 7) | ((rex & REX_B) ? 8 : 0));
    } else if (rm == 5 && mod == 0) {       /* disp32; RIP-relative in 64-bit mode */
        m->rip_relative = long_mode;
        return take_disp(c, 4, &m->disp);
    } else {
        m->base = (uint8_t)(rm | ((rex & REX_B) ? 8 : 0));
    }
    if (m->base == GPR_SP || m->base == GPR_BP)
        m->default_seg = SEG_SS;
    if (mod == 1)
        return take_disp(c, 1, &m->disp);
    if (mod == 2)
        return take_disp(c, 4, &m->disp);
    return 0;
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

/* Everything the prefixes said, and the sizes they select. */
struct decoder {
    struct cursor c;
    enum decode_mode mode;
    bool opsize_prefix, addrsize_prefix, lock;
    uint8_t last_rep;       /* 0, 0xF2 or 0xF3: the last one is the one that counts */
    uint8_t rex;            /* a REX that counts (the last prefix), else 0 */
    unsigned op_size, addr_size;
};

/* SSE's mandatory prefix: F2/F3 (the last of them) win over 66. */
static uint8_t mandatory_prefix(const struct decoder *d)
{
    return d->last_rep ? d->last_rep : d->opsize_prefix ? 0x66 : 0;
}

static int modrm(struct decoder *d, uint8_t rex, uint8_t *byte, struct mem_insn *insn)
{
    return take_modrm(&d->c, d->addr_size, d->mode == DECODE_64, rex, byte, &insn->mem);
}

/* ---- the SSE/AVX moves ---- */

enum vex_length { LEN_SELECTS, LEN_MUST_BE_128, LEN_IGNORED };

#define SIZE_BY_W 0     /* MOVD/MOVQ: 4 bytes, 8 with REX.W/VEX.W in 64-bit mode */

struct simd_move {
    uint8_t prefix;         /* mandatory prefix, or VEX.pp as the prefix it stands for */
    uint8_t opcode;         /* after 0F */
    bool store;
    uint8_t size;           /* bytes from memory at 128 bits; SIZE_BY_W */
    bool aligned;           /* #GP unless aligned on the operand size */
    uint8_t vex_length;     /* enum vex_length */
};

static const struct simd_move simd_moves[] = {
    { 0x00, 0x10, false, 16, false, LEN_SELECTS },      /* movups */
    { 0x00, 0x11, true,  16, false, LEN_SELECTS },
    { 0x66, 0x10, false, 16, false, LEN_SELECTS },      /* movupd */
    { 0x66, 0x11, true,  16, false, LEN_SELECTS },
    { 0xf3, 0x10, false, 4,  false, LEN_IGNORED },      /* movss */
    { 0xf3, 0x11, true,  4,  false, LEN_IGNORED },
    { 0xf2, 0x10, false, 8,  false, LEN_IGNORED },      /* movsd */
    { 0xf2, 0x11, true,  8,  false, LEN_IGNORED },
    { 0x00, 0x28, false, 16, true,  LEN_SELECTS },      /* movaps */
    { 0x00, 0x29, true,  16, true,  LEN_SELECTS },
    { 0x66, 0x28, false, 16, true,  LEN_SELECTS },      /* movapd */
    { 0x66, 0x29, true,  16, true,  LEN_SELECTS },
    { 0x00, 0x2b, true,  16, true,  LEN_SELECTS },      /* movntps */
    { 0x66, 0x2b, true,  16, true,  LEN_SELECTS },      /* movntpd */
    { 0x66, 0x6e, false, SIZE_BY_W, false, LEN_MUST_BE_128 }, /* movd/movq xmm, r/m */
    { 0x66, 0x7e, true,  SIZE_BY_W, false, LEN_MUST_BE_128 }, /* movd/movq r/m, xmm */
    { 0xf3, 0x7e, false, 8,  false, LEN_MUST_BE_128 },  /* movq xmm, m64 */
    { 0x66, 0xd6, true,  8,  false, LEN_MUST_BE_128 },  /* movq m64, xmm */
    { 0x66, 0x6f, false, 16, true,  LEN_SELECTS },      /* movdqa */
    { 0x66, 0x7f, true,  16, true,  LEN_SELECTS },
    { 0xf3, 0x6f, false, 16, false, LEN_SELECTS },      /* movdqu */
    { 0xf3, 0x7f, true,  16, false, LEN_SELECTS },
    { 0x66, 0xe7, true,  16, true,  LEN_SELECTS },      /* movntdq */
};

static const struct simd_move *find_simd_move(uint8_t prefix, uint8_t opcode)
{
    for (size_t i = 0; i < sizeof(simd_moves) / sizeof(simd_moves[0]); i++)
        if (simd_moves[i].prefix == prefix && simd_moves[i].opcode == opcode)
            return &simd_moves[i];
    return NULL;
}

/* rex: the REX bits (or VEX's R/X/B/W). vex_l: VEX.L, or -1 for a legacy SSE encoding. */
static int decode_simd_move(struct decoder *d, const struct simd_move *sm, uint8_t rex, int vex_l,
                            struct mem_insn *insn)
{
    uint8_t byte;
    if (modrm(d, rex, &byte, insn) < 0)
        return -1;
    bool wide = vex_l == 1 && sm->vex_length == LEN_SELECTS;
    if (vex_l == 1 && sm->vex_length == LEN_MUST_BE_128)
        insn->invalid = true;
    unsigned size = sm->size;
    if (size == SIZE_BY_W)
        size = (d->mode == DECODE_64 && (rex & REX_W)) ? 8 : 4;
    if (wide)
        size = 32;
    insn->kind = sm->store ? MI_VEC_STORE : MI_VEC_LOAD;
    insn->mem_size = (uint8_t)size;
    insn->reg_size = wide ? 32 : 16;
    insn->reg = (uint8_t)(((byte >> 3) & 7) | ((rex & REX_R) ? 8 : 0));
    insn->align = sm->aligned ? (uint8_t)size : 0;
    insn->vex = vex_l >= 0;
    insn->simd = insn->vex ? SIMD_AVX : SIMD_SSE;
    return 0;
}

/* C4/C5 with the fields of a VEX prefix (SDM Vol. 2 2.3). Only map 0F holds moves. */
static int decode_vex(struct decoder *d, uint8_t first, struct mem_insn *insn)
{
    uint8_t b1, b2, opcode;
    if (take(&d->c, &b1) < 0)
        return -1;
    uint8_t rex = 0, map = 1;
    if (!(b1 & 0x80))
        rex |= REX_R;
    if (first == 0xc4) {
        if (!(b1 & 0x40))
            rex |= REX_X;
        if (!(b1 & 0x20))
            rex |= REX_B;
        map = b1 & 0x1f;
        if (take(&d->c, &b2) < 0)
            return -1;
        if (b2 & 0x80)
            rex |= REX_W;
    } else {
        b2 = b1;
    }
    /* Outside 64-bit mode R and X are 1 (else this was LES/LDS) and B is ignored. */
    if (d->mode != DECODE_64)
        rex &= REX_W;
    unsigned vvvv_register = (~b2 >> 3) & 0xf, vex_l = (b2 >> 2) & 1;   /* VEX.vvvv is stored inverted */
    static const uint8_t pp_prefix[4] = { 0x00, 0x66, 0xf3, 0xf2 };
    uint8_t prefix = pp_prefix[b2 & 3];
    if (map != 1 || take(&d->c, &opcode) < 0)
        return -1;
    const struct simd_move *sm = find_simd_move(prefix, opcode);
    if (!sm || decode_simd_move(d, sm, rex, (int)vex_l, insn) < 0)
        return -1;
    /* Moves have no second source: VEX.vvvv must be 1111b (naming no register), all four bits
     * also outside 64-bit mode. 66, F2, F3 or REX before VEX are #UD. */
    if (vvvv_register != 0 || d->opsize_prefix || d->last_rep || d->rex)
        insn->invalid = true;
    return 0;
}

/* ---- the general-purpose forms ---- */

/* A form with a memory operand and a general register of the same size (ModRM.reg). */
static int decode_mem_reg(struct decoder *d, enum mem_insn_kind kind, unsigned size, struct mem_insn *insn)
{
    uint8_t byte;
    if (modrm(d, d->rex, &byte, insn) < 0)
        return -1;
    insn->kind = kind;
    insn->mem_size = insn->reg_size = (uint8_t)size;
    set_reg_operand(insn, byte, d->rex, size);
    return 0;
}

static int decode_alu_modrm(struct decoder *d, enum mem_insn_kind kind, enum alu_op op, unsigned size,
                            struct mem_insn *insn)
{
    insn->alu_op = (uint8_t)op;
    insn->alu_src = ALU_SRC_REG;
    return decode_mem_reg(d, kind, size, insn);
}

/* An immediate operand of a size-byte operation: imm8 (sign-extended) or as wide as the
 * operand but at most 32 bits (sign-extended to 64). */
static int take_imm(struct decoder *d, unsigned imm_size, unsigned size, struct mem_insn *insn)
{
    uint64_t imm;
    if (take_le(&d->c, imm_size, &imm) < 0)
        return -1;
    insn->imm = truncate(sign_extend(imm, imm_size), size);
    return 0;
}

static unsigned full_imm_size(unsigned size)
{
    return size == 8 ? 4 : size;
}

/* 80-83: ALU [mem], imm with the operation in ModRM.reg. */
static int decode_group1(struct decoder *d, uint8_t op, struct mem_insn *insn)
{
    unsigned size = (op & 1) ? d->op_size : 1;
    uint8_t byte;
    if (modrm(d, d->rex, &byte, insn) < 0)
        return -1;
    insn->kind = MI_ALU_MEM;
    insn->alu_op = (uint8_t)((byte >> 3) & 7);
    insn->alu_src = ALU_SRC_IMM;
    insn->mem_size = insn->reg_size = (uint8_t)size;
    if (op == 0x82 && d->mode == DECODE_64)
        insn->invalid = true;
    return take_imm(d, op == 0x81 ? full_imm_size(size) : 1, size, insn);
}

/* F6/F7: TEST imm (/0, and /1 which the CPU executes as TEST too), NOT, NEG. MUL and DIV are
 * not emulated. */
static int decode_group3(struct decoder *d, uint8_t op, struct mem_insn *insn)
{
    unsigned size = (op & 1) ? d->op_size : 1;
    uint8_t byte;
    if (modrm(d, d->rex, &byte, insn) < 0)
        return -1;
    static const int8_t ops[8] = { ALU_TEST, ALU_TEST, ALU_NOT, ALU_NEG, -1, -1, -1, -1 };
    int alu = ops[(byte >> 3) & 7];
    if (alu < 0)
        return -1;
    insn->kind = MI_ALU_MEM;
    insn->alu_op = (uint8_t)alu;
    insn->mem_size = insn->reg_size = (uint8_t)size;
    insn->alu_src = alu == ALU_TEST ? ALU_SRC_IMM : ALU_SRC_NONE;
    return alu == ALU_TEST ? take_imm(d, full_imm_size(size), size, insn) : 0;
}

/* FE/FF /0 /1: INC, DEC. The rest of group 5 (calls, jumps, push) is not emulated. */
static int decode_inc_dec(struct decoder *d, uint8_t op, struct mem_insn *insn)
{
    unsigned size = (op & 1) ? d->op_size : 1;
    uint8_t byte;
    if (modrm(d, d->rex, &byte, insn) < 0)
        return -1;
    unsigned reg = (byte >> 3) & 7;
    if (reg > 1)
        return -1;
    insn->kind = MI_ALU_MEM;
    insn->alu_op = reg ? ALU_DEC : ALU_INC;
    insn->alu_src = ALU_SRC_NONE;
    insn->mem_size = insn->reg_size = (uint8_t)size;
    return 0;
}

static int decode_two_byte(struct decoder *d, struct mem_insn *insn)
{
    uint8_t op2, byte;
    if (take(&d->c, &op2) < 0)
        return -1;
    unsigned size = d->op_size;
    switch (op2) {
    case 0xb6: case 0xb7: case 0xbe: case 0xbf:
        if (modrm(d, d->rex, &byte, insn) < 0)
            return -1;
        insn->kind = (op2 & 8) ? MI_LOAD_SX : MI_LOAD_ZX;
        insn->mem_size = (op2 & 1) ? 2 : 1;
        insn->reg_size = (uint8_t)size;
        set_reg_operand(insn, byte, d->rex, size);
        return 0;
    case 0xa3: case 0xab: case 0xb3: case 0xbb: {
        static const uint8_t bt_ops[4] = { ALU_BT, ALU_BTS, ALU_BTR, ALU_BTC };
        return decode_alu_modrm(d, MI_ALU_MEM, bt_ops[(op2 >> 3) & 3], size, insn);
    }
    case 0xba: {
        if (modrm(d, d->rex, &byte, insn) < 0)
            return -1;
        unsigned reg = (byte >> 3) & 7;
        if (reg < 4)
            return -1;
        uint64_t imm;
        if (take_le(&d->c, 1, &imm) < 0)
            return -1;
        static const uint8_t bt_ops[4] = { ALU_BT, ALU_BTS, ALU_BTR, ALU_BTC };
        insn->kind = MI_ALU_MEM;
        insn->alu_op = bt_ops[reg - 4];
        insn->alu_src = ALU_SRC_IMM;
        insn->mem_size = insn->reg_size = (uint8_t)size;
        insn->imm = imm & (8 * size - 1);
        return 0;
    }
    case 0xb0: case 0xb1:   /* the comparison is CMP accumulator, [mem] */
        return decode_alu_modrm(d, MI_CMPXCHG, ALU_CMP, (op2 & 1) ? size : 1, insn);
    case 0xc0: case 0xc1:
        return decode_alu_modrm(d, MI_ALU_MEM, ALU_XADD, (op2 & 1) ? size : 1, insn);
    case 0xc3:
        /* MOVNTI: 32 bits unless REX.W, whatever the mode; 66, F2 and F3 make it #UD. */
        if (decode_mem_reg(d, MI_STORE_REG, (d->rex & REX_W) ? 8 : 4, insn) < 0)
            return -1;
        if (d->opsize_prefix || d->last_rep)
            insn->invalid = true;
        return 0;
    default: {
        const struct simd_move *sm = find_simd_move(mandatory_prefix(d), op2);
        if (!sm)
            return -1;
        return decode_simd_move(d, sm, d->rex, -1, insn);
    }
    }
}

static int decode_one_byte(struct decoder *d, uint8_t op, struct mem_insn *insn)
{
    uint8_t byte;
    unsigned size = (op & 1) ? d->op_size : 1;

    /* 00-3F: the eight ALU operations, r/m,reg and reg,r/m forms (the others are not memory). */
    if (op < 0x40 && (op & 7) < 4)
        return decode_alu_modrm(d, (op & 2) ? MI_ALU_REG : MI_ALU_MEM, (enum alu_op)(op >> 3), size, insn);

    switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83:
        return decode_group1(d, op, insn);
    case 0x84: case 0x85:
        return decode_alu_modrm(d, MI_ALU_MEM, ALU_TEST, size, insn);
    case 0x86: case 0x87:
        return decode_mem_reg(d, MI_XCHG, size, insn);
    case 0xf6: case 0xf7:
        return decode_group3(d, op, insn);
    case 0xfe: case 0xff:
        return decode_inc_dec(d, op, insn);
    case 0x88: case 0x89: case 0x8a: case 0x8b:
        return decode_mem_reg(d, (op & 2) ? MI_LOAD : MI_STORE_REG, size, insn);
    case 0xc6: case 0xc7:
        if (modrm(d, d->rex, &byte, insn) < 0 || ((byte >> 3) & 7) != 0)
            return -1;
        insn->kind = MI_STORE_IMM;
        insn->mem_size = insn->reg_size = (uint8_t)size;
        return take_imm(d, full_imm_size(size), size, insn);
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        /* moffs is as wide as the address size, and has no base or index */
        insn->mem = (struct mem_operand){ .base = MEM_NO_REG, .index = MEM_NO_REG, .scale = 1,
                                          .default_seg = SEG_DS };
        if (take_le(&d->c, d->addr_size, &insn->mem.disp) < 0)
            return -1;
        insn->kind = (op & 2) ? MI_STORE_REG : MI_LOAD;
        insn->mem_size = insn->reg_size = (uint8_t)size;
        insn->reg = 0;
        return 0;
    case 0xaa: case 0xab: case 0xa4: case 0xa5:
        insn->kind = (op >= 0xaa) ? MI_STOS : MI_MOVS;
        insn->mem_size = insn->reg_size = (uint8_t)size;
        insn->reg = 0;
        insn->rep = d->last_rep != 0;
        return 0;
    case 0x63:
        /* MOVSXD exists only in 64-bit mode (ARPL elsewhere). Without REX.W it is a plain
         * 32-bit load; the 16-bit form differs between vendors and is refused. */
        if (d->mode != DECODE_64 || (!(d->rex & REX_W) && d->op_size != 4))
            return -1;
        if (modrm(d, d->rex, &byte, insn) < 0)
            return -1;
        insn->kind = (d->rex & REX_W) ? MI_LOAD_SX : MI_LOAD;
        insn->mem_size = 4;
        insn->reg_size = (uint8_t)d->op_size;
        set_reg_operand(insn, byte, d->rex, d->op_size);
        return 0;
    case 0x0f:
        return decode_two_byte(d, insn);
    default:
        return -1;
    }
}

/* LOCK is allowed only on read-modify-write forms with a memory destination (SDM Vol. 2 LOCK). */
static bool lock_allowed(const struct mem_insn *insn)
{
    switch (insn->kind) {
    case MI_ALU_MEM:
        return alu_lockable((enum alu_op)insn->alu_op);
    case MI_XCHG:
    case MI_CMPXCHG:
        return true;
    default:
        return false;
    }
}

int decode_mem_insn(const uint8_t *bytes, size_t n, enum decode_mode mode, struct mem_insn *out)
{
    if (!bytes || !out || (mode != DECODE_16 && mode != DECODE_32 && mode != DECODE_64))
        return -1;
    struct decoder d;
    memset(&d, 0, sizeof(d));
    d.c = (struct cursor){ bytes, n < X86_MAX_INSN ? n : X86_MAX_INSN, 0 };
    d.mode = mode;
    uint8_t seg = SEG_NONE, op;

    /* Legacy prefixes in any order, then at most one REX that counts only if it comes last. */
    for (;;) {
        if (take(&d.c, &op) < 0)
            return -1;
        if (op == 0x66) {
            d.opsize_prefix = true;
        } else if (op == 0x67) {
            d.addrsize_prefix = true;
        } else if (op == 0xf2 || op == 0xf3) {
            d.last_rep = op;
        } else if (op == 0xf0) {
            d.lock = true;
        } else if (op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e) {
            /* In 64-bit mode these are null prefixes: they neither select a base nor
             * cancel an FS/GS override. */
            if (mode != DECODE_64)
                seg = segment_of_prefix(op);
        } else if (op == 0x64 || op == 0x65) {
            seg = segment_of_prefix(op);
        } else if (mode == DECODE_64 && (op & 0xf0) == 0x40) {
            d.rex = op;
            continue;       /* a legacy prefix after it makes this REX void (below) */
        } else {
            break;
        }
        d.rex = 0;
    }

    d.op_size = mode == DECODE_16 ? 2 : 4;
    if (d.opsize_prefix)
        d.op_size = d.op_size == 2 ? 4 : 2;
    if (d.rex & REX_W)
        d.op_size = 8;
    d.addr_size = mode;
    if (d.addrsize_prefix)
        d.addr_size = mode == DECODE_32 ? 2 : 4;

    struct mem_insn insn;
    memset(&insn, 0, sizeof(insn));
    insn.addr_size = (uint8_t)d.addr_size;
    insn.seg = seg;
    insn.lock = d.lock;
    insn.mem = (struct mem_operand){ .base = MEM_NO_REG, .index = MEM_NO_REG, .scale = 1, .default_seg = SEG_DS };

    int rc;
    if (op == 0xc4 || op == 0xc5) {
        /* Outside 64-bit mode C4/C5 are LES/LDS unless the next byte looks like a register
         * ModRM (bits 7:6 set), which LES/LDS cannot have. */
        if (mode != DECODE_64 && (d.c.pos >= d.c.n || (bytes[d.c.pos] & 0xc0) != 0xc0))
            return -1;
        rc = decode_vex(&d, op, &insn);
    } else {
        rc = decode_one_byte(&d, op, &insn);
    }
    if (rc < 0)
        return -1;
    if (insn.lock && !lock_allowed(&insn))
        insn.invalid = true;
    insn.length = (uint8_t)d.c.pos;
    *out = insn;
    return 0;
}
