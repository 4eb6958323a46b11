/* Tests for the MMIO instruction decoder: every accepted form and width, prefix rules, ModRM
 * lengths in 16/32/64-bit addressing, and the refusals. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "emu/decode.h"

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

/* Decode and require success; also checks that every shorter prefix of the bytes is refused
 * (truncation) and that trailing bytes do not change the result. */
static struct mem_insn ok(enum decode_mode mode, const uint8_t *b, size_t n)
{
    struct mem_insn insn;
    memset(&insn, 0xa5, sizeof(insn));
    assert_int_equal(decode_mem_insn(b, n, mode, &insn), 0);
    assert_int_equal(insn.length, n);
    for (size_t k = 0; k < n; k++) {
        struct mem_insn t;
        assert_int_equal(decode_mem_insn(b, k, mode, &t), -1);
    }
    uint8_t longer[32];
    memcpy(longer, b, n);
    memset(longer + n, 0x90, sizeof(longer) - n);
    struct mem_insn again;
    assert_int_equal(decode_mem_insn(longer, sizeof(longer), mode, &again), 0);
    assert_int_equal(again.kind, insn.kind);
    assert_int_equal(again.length, insn.length);
    assert_int_equal(again.mem_size, insn.mem_size);
    assert_int_equal(again.reg_size, insn.reg_size);
    assert_int_equal(again.reg, insn.reg);
    assert_int_equal(again.reg_high8, insn.reg_high8);
    assert_int_equal(again.imm, insn.imm);
    assert_int_equal(again.addr_size, insn.addr_size);
    assert_int_equal(again.seg, insn.seg);
    assert_int_equal(again.rep, insn.rep);
    assert_int_equal(again.mem.base, insn.mem.base);
    assert_int_equal(again.mem.index, insn.mem.index);
    assert_int_equal(again.mem.scale, insn.mem.scale);
    assert_int_equal(again.mem.rip_relative, insn.mem.rip_relative);
    assert_int_equal(again.mem.default_seg, insn.mem.default_seg);
    assert_int_equal(again.mem.disp, insn.mem.disp);
    assert_int_equal(again.alu_op, insn.alu_op);
    assert_int_equal(again.alu_src, insn.alu_src);
    assert_int_equal(again.lock, insn.lock);
    assert_int_equal(again.invalid, insn.invalid);
    assert_int_equal(again.simd, insn.simd);
    assert_int_equal(again.vex, insn.vex);
    assert_int_equal(again.align, insn.align);
    return insn;
}

/* ok(), and the encoding is one the CPU executes (not #UD). */
static struct mem_insn valid(enum decode_mode mode, const uint8_t *b, size_t n)
{
    struct mem_insn i = ok(mode, b, n);
    assert_false(i.invalid);
    return i;
}

/* ok(), and the CPU raises #UD for it. */
static void ud(enum decode_mode mode, const uint8_t *b, size_t n)
{
    assert_true(ok(mode, b, n).invalid);
}

static void bad(enum decode_mode mode, const uint8_t *b, size_t n)
{
    struct mem_insn insn;
    assert_int_equal(decode_mem_insn(b, n, mode, &insn), -1);
}

static void check(struct mem_insn i, enum mem_insn_kind kind, unsigned mem_size, unsigned reg_size,
                  unsigned reg, bool high8)
{
    assert_int_equal(i.kind, kind);
    assert_int_equal(i.mem_size, mem_size);
    assert_int_equal(i.reg_size, reg_size);
    assert_int_equal(i.reg, reg);
    assert_int_equal(i.reg_high8, high8);
}

static void test_mov_store_reg_widths(void **state)
{
    (void)state;
    struct mem_insn i = ok(DECODE_64, BYTES(0x89, 0x08));            /* mov [rax], ecx */
    check(i, MI_STORE_REG, 4, 4, 1, false);
    assert_int_equal(i.addr_size, 8);
    assert_int_equal(i.seg, SEG_NONE);
    assert_false(i.rep);
    check(ok(DECODE_64, BYTES(0x48, 0x89, 0x08)), MI_STORE_REG, 8, 8, 1, false);
    check(ok(DECODE_64, BYTES(0x66, 0x89, 0x08)), MI_STORE_REG, 2, 2, 1, false);
    check(ok(DECODE_64, BYTES(0x88, 0x08)), MI_STORE_REG, 1, 1, 1, false);
    check(ok(DECODE_64, BYTES(0x4c, 0x89, 0x38)), MI_STORE_REG, 8, 8, 15, false);  /* r15 */
    check(ok(DECODE_64, BYTES(0x44, 0x89, 0x08)), MI_STORE_REG, 4, 4, 9, false);   /* r9d */
    /* REX.B / REX.X do not touch the register operand */
    check(ok(DECODE_64, BYTES(0x43, 0x89, 0x0c, 0x08)), MI_STORE_REG, 4, 4, 1, false);
    check(ok(DECODE_32, BYTES(0x89, 0x08)), MI_STORE_REG, 4, 4, 1, false);
    check(ok(DECODE_32, BYTES(0x66, 0x89, 0x08)), MI_STORE_REG, 2, 2, 1, false);
    check(ok(DECODE_16, BYTES(0x89, 0x0f)), MI_STORE_REG, 2, 2, 1, false);         /* mov [bx], cx */
    check(ok(DECODE_16, BYTES(0x66, 0x89, 0x0f)), MI_STORE_REG, 4, 4, 1, false);
    check(ok(DECODE_16, BYTES(0x88, 0x2f)), MI_STORE_REG, 1, 1, 1, true);          /* mov [bx], ch */
}

static void test_mov_load_widths(void **state)
{
    (void)state;
    check(ok(DECODE_64, BYTES(0x8b, 0x10)), MI_LOAD, 4, 4, 2, false);
    check(ok(DECODE_64, BYTES(0x48, 0x8b, 0x10)), MI_LOAD, 8, 8, 2, false);
    check(ok(DECODE_64, BYTES(0x66, 0x8b, 0x10)), MI_LOAD, 2, 2, 2, false);
    check(ok(DECODE_64, BYTES(0x8a, 0x10)), MI_LOAD, 1, 1, 2, false);
    check(ok(DECODE_64, BYTES(0x4c, 0x8b, 0x20)), MI_LOAD, 8, 8, 12, false);
    check(ok(DECODE_32, BYTES(0x8b, 0x10)), MI_LOAD, 4, 4, 2, false);
    check(ok(DECODE_16, BYTES(0x8b, 0x17)), MI_LOAD, 2, 2, 2, false);
    check(ok(DECODE_16, BYTES(0x66, 0x8b, 0x17)), MI_LOAD, 4, 4, 2, false);
}

static void test_high_byte_registers(void **state)
{
    (void)state;
    /* Without REX, reg 4-7 in byte forms are AH, CH, DH, BH */
    check(ok(DECODE_64, BYTES(0x88, 0x20)), MI_STORE_REG, 1, 1, 0, true);   /* ah */
    check(ok(DECODE_64, BYTES(0x88, 0x28)), MI_STORE_REG, 1, 1, 1, true);   /* ch */
    check(ok(DECODE_64, BYTES(0x8a, 0x30)), MI_LOAD, 1, 1, 2, true);        /* dh */
    check(ok(DECODE_64, BYTES(0x8a, 0x38)), MI_LOAD, 1, 1, 3, true);        /* bh */
    check(ok(DECODE_32, BYTES(0x8a, 0x38)), MI_LOAD, 1, 1, 3, true);
    /* Any REX, even a bare 0x40, selects SPL, BPL, SIL, DIL */
    check(ok(DECODE_64, BYTES(0x40, 0x88, 0x20)), MI_STORE_REG, 1, 1, 4, false);
    check(ok(DECODE_64, BYTES(0x40, 0x8a, 0x38)), MI_LOAD, 1, 1, 7, false);
    check(ok(DECODE_64, BYTES(0x44, 0x88, 0x20)), MI_STORE_REG, 1, 1, 12, false);  /* r12b */
    check(ok(DECODE_64, BYTES(0x41, 0x88, 0x28)), MI_STORE_REG, 1, 1, 5, false);   /* bpl, REX.B only */
    /* A REX voided by a following prefix does not count: AH again */
    check(ok(DECODE_64, BYTES(0x40, 0x66, 0x88, 0x20)), MI_STORE_REG, 1, 1, 0, true);
    /* Wider forms never use high bytes */
    check(ok(DECODE_64, BYTES(0x89, 0x20)), MI_STORE_REG, 4, 4, 4, false);
    check(ok(DECODE_64, BYTES(0x0f, 0xb6, 0x20)), MI_LOAD_ZX, 1, 4, 4, false);
}

static void test_mov_store_imm(void **state)
{
    (void)state;
    struct mem_insn i = ok(DECODE_64, BYTES(0xc6, 0x00, 0x80));
    check(i, MI_STORE_IMM, 1, 1, 0, false);
    assert_int_equal(i.imm, 0x80);
    i = ok(DECODE_64, BYTES(0x66, 0xc7, 0x00, 0x34, 0x92));
    check(i, MI_STORE_IMM, 2, 2, 0, false);
    assert_int_equal(i.imm, 0x9234);
    i = ok(DECODE_64, BYTES(0xc7, 0x00, 0x78, 0x56, 0x34, 0x92));
    check(i, MI_STORE_IMM, 4, 4, 0, false);
    assert_int_equal(i.imm, 0x92345678);
    i = ok(DECODE_64, BYTES(0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x92));
    check(i, MI_STORE_IMM, 8, 8, 0, false);
    assert_int_equal(i.imm, 0xffffffff92345678ull);
    i = ok(DECODE_64, BYTES(0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12));
    assert_int_equal(i.imm, 0x12345678);
    i = ok(DECODE_32, BYTES(0xc7, 0x00, 0xff, 0xff, 0xff, 0xff));
    assert_int_equal(i.imm, 0xffffffffull);
    i = ok(DECODE_16, BYTES(0xc7, 0x07, 0x34, 0x12));
    check(i, MI_STORE_IMM, 2, 2, 0, false);
    assert_int_equal(i.imm, 0x1234);
    i = ok(DECODE_16, BYTES(0x66, 0xc7, 0x07, 0x78, 0x56, 0x34, 0x12));
    check(i, MI_STORE_IMM, 4, 4, 0, false);
    assert_int_equal(i.imm, 0x12345678);
    /* immediate after a RIP-relative displacement */
    i = ok(DECODE_64, BYTES(0xc7, 0x05, 1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd));
    assert_int_equal(i.imm, 0xddccbbaa);
    /* /1../7 are other instructions (or XABORT/XBEGIN) */
    bad(DECODE_64, BYTES(0xc6, 0x08, 0x01));
    bad(DECODE_64, BYTES(0xc7, 0x38, 1, 2, 3, 4));
    bad(DECODE_64, BYTES(0xc6, 0xf8, 0x00));
}

static void test_moffs(void **state)
{
    (void)state;
    struct mem_insn i = ok(DECODE_64, BYTES(0xa0, 1, 2, 3, 4, 5, 6, 7, 8));
    check(i, MI_LOAD, 1, 1, 0, false);
    check(ok(DECODE_64, BYTES(0xa1, 1, 2, 3, 4, 5, 6, 7, 8)), MI_LOAD, 4, 4, 0, false);
    check(ok(DECODE_64, BYTES(0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8)), MI_LOAD, 8, 8, 0, false);
    check(ok(DECODE_64, BYTES(0x66, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8)), MI_LOAD, 2, 2, 0, false);
    check(ok(DECODE_64, BYTES(0xa2, 1, 2, 3, 4, 5, 6, 7, 8)), MI_STORE_REG, 1, 1, 0, false);
    check(ok(DECODE_64, BYTES(0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8)), MI_STORE_REG, 8, 8, 0, false);
    /* REX.B does not select another register for the accumulator forms */
    check(ok(DECODE_64, BYTES(0x41, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8)), MI_STORE_REG, 4, 4, 0, false);
    /* the offset is as wide as the address size */
    i = ok(DECODE_64, BYTES(0x67, 0xa1, 1, 2, 3, 4));
    assert_int_equal(i.addr_size, 4);
    check(ok(DECODE_32, BYTES(0xa1, 1, 2, 3, 4)), MI_LOAD, 4, 4, 0, false);
    check(ok(DECODE_32, BYTES(0x67, 0xa3, 1, 2)), MI_STORE_REG, 4, 4, 0, false);
    check(ok(DECODE_16, BYTES(0xa1, 1, 2)), MI_LOAD, 2, 2, 0, false);
    check(ok(DECODE_16, BYTES(0xa2, 1, 2)), MI_STORE_REG, 1, 1, 0, false);
    check(ok(DECODE_16, BYTES(0x67, 0x66, 0xa1, 1, 2, 3, 4)), MI_LOAD, 4, 4, 0, false);
    i = ok(DECODE_16, BYTES(0x64, 0xa0, 1, 2));
    assert_int_equal(i.seg, SEG_FS);
}

static void test_movzx_movsx(void **state)
{
    (void)state;
    check(ok(DECODE_64, BYTES(0x0f, 0xb6, 0x08)), MI_LOAD_ZX, 1, 4, 1, false);
    check(ok(DECODE_64, BYTES(0x0f, 0xb7, 0x08)), MI_LOAD_ZX, 2, 4, 1, false);
    check(ok(DECODE_64, BYTES(0x48, 0x0f, 0xb6, 0x08)), MI_LOAD_ZX, 1, 8, 1, false);
    check(ok(DECODE_64, BYTES(0x48, 0x0f, 0xb7, 0x08)), MI_LOAD_ZX, 2, 8, 1, false);
    check(ok(DECODE_64, BYTES(0x66, 0x0f, 0xb6, 0x08)), MI_LOAD_ZX, 1, 2, 1, false);
    check(ok(DECODE_64, BYTES(0x0f, 0xbe, 0x08)), MI_LOAD_SX, 1, 4, 1, false);
    check(ok(DECODE_64, BYTES(0x0f, 0xbf, 0x08)), MI_LOAD_SX, 2, 4, 1, false);
    check(ok(DECODE_64, BYTES(0x4c, 0x0f, 0xbe, 0x08)), MI_LOAD_SX, 1, 8, 9, false);
    check(ok(DECODE_64, BYTES(0x66, 0x0f, 0xbe, 0x08)), MI_LOAD_SX, 1, 2, 1, false);
    check(ok(DECODE_16, BYTES(0x0f, 0xb6, 0x0f)), MI_LOAD_ZX, 1, 2, 1, false);
    check(ok(DECODE_16, BYTES(0x66, 0x0f, 0xbf, 0x0f)), MI_LOAD_SX, 2, 4, 1, false);
    check(ok(DECODE_32, BYTES(0x0f, 0xb7, 0x08)), MI_LOAD_ZX, 2, 4, 1, false);
    /* other 0F opcodes are not ours */
    bad(DECODE_64, BYTES(0x0f, 0x05));
    bad(DECODE_64, BYTES(0x0f, 0xb8, 0x08));
    bad(DECODE_64, BYTES(0x0f));
}

static void test_movsxd(void **state)
{
    (void)state;
    check(ok(DECODE_64, BYTES(0x48, 0x63, 0x08)), MI_LOAD_SX, 4, 8, 1, false);
    check(ok(DECODE_64, BYTES(0x4c, 0x63, 0x18)), MI_LOAD_SX, 4, 8, 11, false);
    /* without REX.W it is a 32-bit move */
    check(ok(DECODE_64, BYTES(0x63, 0x08)), MI_LOAD, 4, 4, 1, false);
    bad(DECODE_64, BYTES(0x66, 0x63, 0x08));
    /* ARPL outside 64-bit mode */
    bad(DECODE_32, BYTES(0x63, 0x08));
    bad(DECODE_16, BYTES(0x63, 0x08));
}

static void test_string_forms(void **state)
{
    (void)state;
    struct mem_insn i = ok(DECODE_64, BYTES(0xaa));
    check(i, MI_STOS, 1, 1, 0, false);
    assert_false(i.rep);
    assert_int_equal(i.addr_size, 8);
    check(ok(DECODE_64, BYTES(0xab)), MI_STOS, 4, 4, 0, false);
    check(ok(DECODE_64, BYTES(0x48, 0xab)), MI_STOS, 8, 8, 0, false);
    check(ok(DECODE_64, BYTES(0x66, 0xab)), MI_STOS, 2, 2, 0, false);
    check(ok(DECODE_64, BYTES(0xa4)), MI_MOVS, 1, 1, 0, false);
    check(ok(DECODE_64, BYTES(0xa5)), MI_MOVS, 4, 4, 0, false);
    check(ok(DECODE_64, BYTES(0x48, 0xa5)), MI_MOVS, 8, 8, 0, false);
    check(ok(DECODE_64, BYTES(0x66, 0xa5)), MI_MOVS, 2, 2, 0, false);
    i = ok(DECODE_64, BYTES(0xf3, 0x48, 0xab));
    check(i, MI_STOS, 8, 8, 0, false);
    assert_true(i.rep);
    i = ok(DECODE_64, BYTES(0xf2, 0xa4));
    assert_true(i.rep);
    i = ok(DECODE_64, BYTES(0x67, 0xf3, 0xa4));
    assert_true(i.rep);
    assert_int_equal(i.addr_size, 4);
    i = ok(DECODE_32, BYTES(0xf3, 0xa5));
    check(i, MI_MOVS, 4, 4, 0, false);
    assert_int_equal(i.addr_size, 4);
    i = ok(DECODE_32, BYTES(0x67, 0xf3, 0x66, 0xa5));
    check(i, MI_MOVS, 2, 2, 0, false);
    assert_int_equal(i.addr_size, 2);
    assert_true(i.rep);
    i = ok(DECODE_16, BYTES(0xf3, 0xab));
    check(i, MI_STOS, 2, 2, 0, false);
    assert_int_equal(i.addr_size, 2);
    i = ok(DECODE_16, BYTES(0x67, 0x66, 0xab));
    check(i, MI_STOS, 4, 4, 0, false);
    assert_int_equal(i.addr_size, 4);
    /* REP means nothing on plain moves */
    i = ok(DECODE_64, BYTES(0xf3, 0x89, 0x08));
    assert_false(i.rep);
    check(i, MI_STORE_REG, 4, 4, 1, false);
}

static void test_segment_prefixes(void **state)
{
    (void)state;
    static const struct { uint8_t prefix; uint8_t seg; } legacy[] = {
        { 0x26, SEG_ES }, { 0x2e, SEG_CS }, { 0x36, SEG_SS }, { 0x3e, SEG_DS },
        { 0x64, SEG_FS }, { 0x65, SEG_GS },
    };
    for (unsigned k = 0; k < sizeof(legacy) / sizeof(legacy[0]); k++) {
        uint8_t b[2] = { legacy[k].prefix, 0xa4 };
        assert_int_equal(ok(DECODE_32, b, 2).seg, legacy[k].seg);
        assert_int_equal(ok(DECODE_16, b, 2).seg, legacy[k].seg);
    }
    /* 64-bit mode: ES/CS/SS/DS overrides are null prefixes */
    assert_int_equal(ok(DECODE_64, BYTES(0x3e, 0xa4)).seg, SEG_NONE);
    assert_int_equal(ok(DECODE_64, BYTES(0x26, 0x89, 0x08)).seg, SEG_NONE);
    assert_int_equal(ok(DECODE_64, BYTES(0x64, 0xa4)).seg, SEG_FS);
    assert_int_equal(ok(DECODE_64, BYTES(0x65, 0x8b, 0x08)).seg, SEG_GS);
    assert_int_equal(ok(DECODE_64, BYTES(0x64, 0x3e, 0xa4)).seg, SEG_FS);
    /* the last one wins elsewhere */
    assert_int_equal(ok(DECODE_32, BYTES(0x64, 0x26, 0xa4)).seg, SEG_ES);
}

static void test_rex_rules(void **state)
{
    (void)state;
    /* REX.W wins over 66 */
    check(ok(DECODE_64, BYTES(0x66, 0x48, 0x89, 0x08)), MI_STORE_REG, 8, 8, 1, false);
    /* a REX followed by a legacy prefix is ignored */
    check(ok(DECODE_64, BYTES(0x48, 0x66, 0x89, 0x08)), MI_STORE_REG, 2, 2, 1, false);
    check(ok(DECODE_64, BYTES(0x4c, 0x3e, 0x89, 0x08)), MI_STORE_REG, 4, 4, 1, false);
    /* only the last REX counts */
    check(ok(DECODE_64, BYTES(0x48, 0x44, 0x89, 0x08)), MI_STORE_REG, 4, 4, 9, false);
    /* 40-4F are INC/DEC outside 64-bit mode */
    bad(DECODE_32, BYTES(0x48, 0x89, 0x08));
    bad(DECODE_16, BYTES(0x40, 0x88, 0x20));
}

static void test_modrm_lengths_32_64(void **state)
{
    (void)state;
    static const enum decode_mode modes[] = { DECODE_32, DECODE_64 };
    for (unsigned k = 0; k < 2; k++) {
        enum decode_mode m = modes[k];
        assert_int_equal(ok(m, BYTES(0x89, 0x00)).length, 2);                       /* [rax] */
        assert_int_equal(ok(m, BYTES(0x89, 0x05, 1, 2, 3, 4)).length, 6);           /* rip/disp32 */
        assert_int_equal(ok(m, BYTES(0x89, 0x04, 0x24)).length, 3);                 /* [rsp] sib */
        assert_int_equal(ok(m, BYTES(0x89, 0x04, 0x25, 1, 2, 3, 4)).length, 7);     /* sib, no base */
        assert_int_equal(ok(m, BYTES(0x89, 0x04, 0x8d, 1, 2, 3, 4)).length, 7);     /* [rcx*4+d32] */
        assert_int_equal(ok(m, BYTES(0x89, 0x44, 0x24, 0x08)).length, 4);           /* sib + disp8 */
        assert_int_equal(ok(m, BYTES(0x89, 0x84, 0x24, 1, 2, 3, 4)).length, 7);     /* sib + disp32 */
        assert_int_equal(ok(m, BYTES(0x89, 0x44, 0x25, 0x08)).length, 4);           /* [rbp+..] disp8 */
        assert_int_equal(ok(m, BYTES(0x89, 0x45, 0x08)).length, 3);                 /* [rbp+8] */
        assert_int_equal(ok(m, BYTES(0x89, 0x85, 1, 2, 3, 4)).length, 6);           /* [rbp+d32] */
        assert_int_equal(ok(m, BYTES(0x89, 0x40, 0x08)).length, 3);
        assert_int_equal(ok(m, BYTES(0x89, 0x80, 1, 2, 3, 4)).length, 6);
        assert_int_equal(ok(m, BYTES(0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8)).length, 11);
        assert_int_equal(ok(m, BYTES(0xc6, 0x44, 0x24, 0x08, 0x55)).length, 5);
    }
    /* REX.B=1 with rm=5/base=5 still means disp32 / RIP-relative (r13 needs mod 1) */
    assert_int_equal(ok(DECODE_64, BYTES(0x41, 0x89, 0x05, 1, 2, 3, 4)).length, 7);
    assert_int_equal(ok(DECODE_64, BYTES(0x41, 0x89, 0x04, 0x25, 1, 2, 3, 4)).length, 8);
    assert_int_equal(ok(DECODE_64, BYTES(0x48, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8)).length, 12);
    /* 32-bit addressing under 67 in 16-bit code */
    assert_int_equal(ok(DECODE_16, BYTES(0x67, 0x89, 0x04, 0x24)).length, 4);
    assert_int_equal(ok(DECODE_16, BYTES(0x67, 0x89, 0x05, 1, 2, 3, 4)).length, 7);
    /* 32-bit addressing under 67 in 64-bit code (EIP-relative) */
    assert_int_equal(ok(DECODE_64, BYTES(0x67, 0x89, 0x05, 1, 2, 3, 4)).length, 7);
}

static void test_modrm_lengths_16(void **state)
{
    (void)state;
    for (uint8_t rm = 0; rm < 8; rm++) {
        uint8_t b[4] = { 0x89, rm, 0x11, 0x22 };
        /* mod 0: no displacement, except rm 6 = disp16 */
        assert_int_equal(ok(DECODE_16, b, rm == 6 ? 4 : 2).length, rm == 6 ? 4 : 2);
        b[1] = (uint8_t)(0x40 | rm);
        assert_int_equal(ok(DECODE_16, b, 3).length, 3);
        b[1] = (uint8_t)(0x80 | rm);
        assert_int_equal(ok(DECODE_16, b, 4).length, 4);
    }
    /* rm 4 is [si]: no SIB byte in 16-bit addressing */
    assert_int_equal(ok(DECODE_16, BYTES(0x8b, 0x04)).length, 2);
    assert_int_equal(ok(DECODE_32, BYTES(0x67, 0x8b, 0x04)).length, 3);
    assert_int_equal(ok(DECODE_32, BYTES(0x67, 0x8b, 0x06, 0x34, 0x12)).length, 5);
    assert_int_equal(ok(DECODE_16, BYTES(0xc7, 0x86, 1, 2, 3, 4)).length, 6);
    assert_int_equal(ok(DECODE_16, BYTES(0x66, 0xc7, 0x06, 1, 2, 3, 4, 5, 6)).length, 9);
}

static void test_maximum_length(void **state)
{
    (void)state;
    /* 4 prefixes + C7 + ModRM + SIB + disp32 + imm32 = 15 bytes: accepted */
    struct mem_insn i = ok(DECODE_64, BYTES(0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8));
    assert_int_equal(i.length, 15);
    /* one more prefix makes 16: refused even with all the bytes present */
    bad(DECODE_64, BYTES(0x3e, 0x3e, 0x3e, 0x3e, 0x3e, 0xc7, 0x84, 0x24, 1, 2, 3, 4, 5, 6, 7, 8));
    /* 14 prefixes + a one-byte opcode is fine, 15 prefixes are not */
    uint8_t b[32];
    memset(b, 0x66, sizeof(b));
    b[14] = 0xaa;
    assert_int_equal(ok(DECODE_64, b, 15).length, 15);
    b[14] = 0x66;
    b[15] = 0xaa;
    bad(DECODE_64, b, 16);
    memset(b, 0x66, sizeof(b));
    bad(DECODE_64, b, 16);
    bad(DECODE_64, b, sizeof(b));
}

static void test_rejects(void **state)
{
    (void)state;
    /* register forms cannot touch memory */
    bad(DECODE_64, BYTES(0x89, 0xc8));
    bad(DECODE_64, BYTES(0x8b, 0xc1));
    bad(DECODE_64, BYTES(0x88, 0xe0));
    bad(DECODE_64, BYTES(0xc7, 0xc0, 1, 2, 3, 4));
    bad(DECODE_64, BYTES(0x0f, 0xb6, 0xc1));
    bad(DECODE_64, BYTES(0x48, 0x63, 0xc1));
    bad(DECODE_16, BYTES(0x89, 0xc8));
    bad(DECODE_64, BYTES(0x01, 0xc8));
    bad(DECODE_64, BYTES(0x81, 0xc0, 1, 2, 3, 4));
    bad(DECODE_64, BYTES(0xf7, 0xd8));
    bad(DECODE_64, BYTES(0x0f, 0xa3, 0xc8));
    bad(DECODE_64, BYTES(0x87, 0xc8));
    bad(DECODE_64, BYTES(0x66, 0x0f, 0x6f, 0xc1));
    bad(DECODE_64, BYTES(0xc5, 0xfe, 0x6f, 0xc1));
    /* not one of ours */
    bad(DECODE_64, BYTES(0x90));
    bad(DECODE_64, BYTES(0xff, 0x10));          /* call [rax] */
    bad(DECODE_64, BYTES(0xff, 0x30));          /* push [rax] */
    bad(DECODE_64, BYTES(0xfe, 0x10));
    bad(DECODE_64, BYTES(0xf7, 0x20));          /* mul [rax] */
    bad(DECODE_64, BYTES(0xf6, 0x38));          /* idiv byte [rax] */
    bad(DECODE_64, BYTES(0x0f, 0xba, 0x20 & 0x08, 1));   /* 0f ba /1 */
    bad(DECODE_64, BYTES(0x05, 1, 2, 3, 4));    /* add eax, imm: no memory */
    bad(DECODE_64, BYTES(0xc5, 0xf8, 0x77));    /* vzeroupper */
    bad(DECODE_64, BYTES(0xc4, 0xe2, 0x79, 0x2a, 0x00));   /* vmovntdqa: map 0F38 */
    bad(DECODE_64, BYTES(0xa6));
    bad(DECODE_64, BYTES(0xac));
    bad(DECODE_64, BYTES(0x8c, 0x08));
    /* MMX moves */
    bad(DECODE_64, BYTES(0x0f, 0x6f, 0x00));
    bad(DECODE_64, BYTES(0x0f, 0x7e, 0x00));
    bad(DECODE_64, BYTES(0x0f, 0xe7, 0x00));
    /* outside 64-bit mode C4/C5 with a memory ModRM after them are LES/LDS */
    bad(DECODE_32, BYTES(0xc5, 0x7e, 0x6f, 0x00));
    bad(DECODE_16, BYTES(0xc4, 0x00));
    /* empty, prefixes only, bad mode, NULL */
    bad(DECODE_64, BYTES(0x89));
    bad(DECODE_64, BYTES(0x66, 0x67));
    bad(DECODE_64, BYTES(0x48));
    struct mem_insn i;
    assert_int_equal(decode_mem_insn((const uint8_t *)"\x89\x08", 0, DECODE_64, &i), -1);
    assert_int_equal(decode_mem_insn((const uint8_t *)"\x89\x08", 2, (enum decode_mode)3, &i), -1);
    assert_int_equal(decode_mem_insn(NULL, 2, DECODE_64, &i), -1);
}

static void check_alu(struct mem_insn i, enum mem_insn_kind kind, enum alu_op op, enum alu_source src,
                      unsigned size)
{
    assert_int_equal(i.kind, kind);
    assert_int_equal(i.alu_op, op);
    if (kind == MI_ALU_MEM)
        assert_int_equal(i.alu_src, src);
    assert_int_equal(i.mem_size, size);
    assert_int_equal(i.simd, SIMD_NONE);
}

static void test_alu_reg_forms(void **state)
{
    (void)state;
    /* 00-3B: op r/m8,r8 / op r/m,r / op r8,r/m8 / op r,r/m for each of the eight operations */
    for (unsigned op = 0; op < 8; op++) {
        uint8_t base = (uint8_t)(op << 3);
        uint8_t b[4];
        b[0] = base; b[1] = 0x08;
        struct mem_insn i = valid(DECODE_64, b, 2);
        check_alu(i, MI_ALU_MEM, (enum alu_op)op, ALU_SRC_REG, 1);
        assert_int_equal(i.reg, 1);
        b[0] = (uint8_t)(base + 1);
        check_alu(valid(DECODE_64, b, 2), MI_ALU_MEM, (enum alu_op)op, ALU_SRC_REG, 4);
        b[0] = (uint8_t)(base + 2);
        check_alu(valid(DECODE_64, b, 2), MI_ALU_REG, (enum alu_op)op, ALU_SRC_REG, 1);
        b[0] = (uint8_t)(base + 3);
        check_alu(valid(DECODE_64, b, 2), MI_ALU_REG, (enum alu_op)op, ALU_SRC_REG, 4);
        /* widths */
        b[0] = 0x66; b[1] = (uint8_t)(base + 1); b[2] = 0x08;
        check_alu(valid(DECODE_64, b, 3), MI_ALU_MEM, (enum alu_op)op, ALU_SRC_REG, 2);
        b[0] = 0x48;
        check_alu(valid(DECODE_64, b, 3), MI_ALU_MEM, (enum alu_op)op, ALU_SRC_REG, 8);
        b[0] = 0x4c; b[1] = (uint8_t)(base + 3);
        i = valid(DECODE_64, b, 3);
        check_alu(i, MI_ALU_REG, (enum alu_op)op, ALU_SRC_REG, 8);
        assert_int_equal(i.reg, 9);
        b[0] = (uint8_t)(base + 1); b[1] = 0x0f;
        check_alu(valid(DECODE_16, b, 2), MI_ALU_MEM, (enum alu_op)op, ALU_SRC_REG, 2);
        b[0] = 0x66; b[1] = (uint8_t)(base + 3); b[2] = 0x0f;
        check_alu(valid(DECODE_16, b, 3), MI_ALU_REG, (enum alu_op)op, ALU_SRC_REG, 4);
    }
    /* byte forms use AH..BH without REX, SPL..DIL with it */
    struct mem_insn i = valid(DECODE_64, BYTES(0x00, 0x20));
    assert_true(i.reg_high8);
    assert_int_equal(i.reg, 0);
    i = valid(DECODE_64, BYTES(0x40, 0x32, 0x38));
    assert_false(i.reg_high8);
    assert_int_equal(i.reg, 7);
    /* TEST r/m, r */
    check_alu(valid(DECODE_64, BYTES(0x84, 0x08)), MI_ALU_MEM, ALU_TEST, ALU_SRC_REG, 1);
    check_alu(valid(DECODE_64, BYTES(0x48, 0x85, 0x08)), MI_ALU_MEM, ALU_TEST, ALU_SRC_REG, 8);
}

static void test_alu_imm_forms(void **state)
{
    (void)state;
    struct mem_insn i = valid(DECODE_64, BYTES(0x80, 0x08, 0x81));   /* or byte [rax], 0x81 */
    check_alu(i, MI_ALU_MEM, ALU_OR, ALU_SRC_IMM, 1);
    assert_int_equal(i.imm, 0x81);
    i = valid(DECODE_64, BYTES(0x83, 0x00, 0x80));                    /* add dword [rax], -128 */
    check_alu(i, MI_ALU_MEM, ALU_ADD, ALU_SRC_IMM, 4);
    assert_int_equal(i.imm, 0xffffff80ull);
    i = valid(DECODE_64, BYTES(0x48, 0x83, 0x38, 0xff));              /* cmp qword [rax], -1 */
    check_alu(i, MI_ALU_MEM, ALU_CMP, ALU_SRC_IMM, 8);
    assert_int_equal(i.imm, ~0ull);
    i = valid(DECODE_64, BYTES(0x66, 0x83, 0x28, 0x7f));
    check_alu(i, MI_ALU_MEM, ALU_SUB, ALU_SRC_IMM, 2);
    assert_int_equal(i.imm, 0x7f);
    i = valid(DECODE_64, BYTES(0x66, 0x81, 0x30, 0x34, 0x92));
    check_alu(i, MI_ALU_MEM, ALU_XOR, ALU_SRC_IMM, 2);
    assert_int_equal(i.imm, 0x9234);
    i = valid(DECODE_64, BYTES(0x48, 0x81, 0x20, 0x00, 0x00, 0x00, 0x80));
    check_alu(i, MI_ALU_MEM, ALU_AND, ALU_SRC_IMM, 8);
    assert_int_equal(i.imm, 0xffffffff80000000ull);
    i = valid(DECODE_32, BYTES(0x81, 0x10, 1, 2, 3, 4));
    check_alu(i, MI_ALU_MEM, ALU_ADC, ALU_SRC_IMM, 4);
    assert_int_equal(i.imm, 0x04030201);
    i = valid(DECODE_16, BYTES(0x81, 0x1f, 1, 2));
    check_alu(i, MI_ALU_MEM, ALU_SBB, ALU_SRC_IMM, 2);
    assert_int_equal(i.length, 4);
    /* 82 is 80 outside 64-bit mode and #UD in it */
    check_alu(valid(DECODE_32, BYTES(0x82, 0x00, 1)), MI_ALU_MEM, ALU_ADD, ALU_SRC_IMM, 1);
    ud(DECODE_64, BYTES(0x82, 0x00, 1));
    /* the immediate follows displacement and SIB */
    i = valid(DECODE_64, BYTES(0x81, 0x84, 0x24, 1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd));
    assert_int_equal(i.imm, 0xddccbbaa);
    i = valid(DECODE_64, BYTES(0x83, 0x05, 1, 2, 3, 4, 0x10));
    assert_true(i.mem.rip_relative);
    assert_int_equal(i.imm, 0x10);
}

static void test_unary_and_test_imm(void **state)
{
    (void)state;
    struct mem_insn i = valid(DECODE_64, BYTES(0xf6, 0x00, 0x5a));
    check_alu(i, MI_ALU_MEM, ALU_TEST, ALU_SRC_IMM, 1);
    assert_int_equal(i.imm, 0x5a);
    i = valid(DECODE_64, BYTES(0xf6, 0x08, 0x5a));                   /* /1: TEST as well */
    check_alu(i, MI_ALU_MEM, ALU_TEST, ALU_SRC_IMM, 1);
    i = valid(DECODE_64, BYTES(0x48, 0xf7, 0x00, 0xff, 0xff, 0xff, 0xff));
    check_alu(i, MI_ALU_MEM, ALU_TEST, ALU_SRC_IMM, 8);
    assert_int_equal(i.imm, ~0ull);
    i = valid(DECODE_64, BYTES(0x66, 0xf7, 0x00, 0x34, 0x12));
    assert_int_equal(i.imm, 0x1234);
    assert_int_equal(i.length, 5);
    check_alu(valid(DECODE_64, BYTES(0xf6, 0x10)), MI_ALU_MEM, ALU_NOT, ALU_SRC_NONE, 1);
    check_alu(valid(DECODE_64, BYTES(0xf7, 0x18)), MI_ALU_MEM, ALU_NEG, ALU_SRC_NONE, 4);
    check_alu(valid(DECODE_64, BYTES(0x48, 0xf7, 0x18)), MI_ALU_MEM, ALU_NEG, ALU_SRC_NONE, 8);
    check_alu(valid(DECODE_64, BYTES(0xfe, 0x00)), MI_ALU_MEM, ALU_INC, ALU_SRC_NONE, 1);
    check_alu(valid(DECODE_64, BYTES(0xfe, 0x08)), MI_ALU_MEM, ALU_DEC, ALU_SRC_NONE, 1);
    check_alu(valid(DECODE_64, BYTES(0x66, 0xff, 0x00)), MI_ALU_MEM, ALU_INC, ALU_SRC_NONE, 2);
    check_alu(valid(DECODE_64, BYTES(0xff, 0x08)), MI_ALU_MEM, ALU_DEC, ALU_SRC_NONE, 4);
    check_alu(valid(DECODE_64, BYTES(0x49, 0xff, 0x00)), MI_ALU_MEM, ALU_INC, ALU_SRC_NONE, 8);
    check_alu(valid(DECODE_16, BYTES(0xff, 0x07)), MI_ALU_MEM, ALU_INC, ALU_SRC_NONE, 2);
}

static void test_xchg_cmpxchg_xadd(void **state)
{
    (void)state;
    struct mem_insn i = valid(DECODE_64, BYTES(0x86, 0x20));         /* xchg [rax], ah */
    assert_int_equal(i.kind, MI_XCHG);
    assert_int_equal(i.mem_size, 1);
    assert_true(i.reg_high8);
    i = valid(DECODE_64, BYTES(0x4c, 0x87, 0x38));
    assert_int_equal(i.kind, MI_XCHG);
    assert_int_equal(i.mem_size, 8);
    assert_int_equal(i.reg, 15);
    i = valid(DECODE_64, BYTES(0x0f, 0xb0, 0x08));
    assert_int_equal(i.kind, MI_CMPXCHG);
    assert_int_equal(i.mem_size, 1);
    assert_int_equal(i.reg, 1);
    assert_int_equal(valid(DECODE_64, BYTES(0x66, 0x0f, 0xb1, 0x08)).mem_size, 2);
    assert_int_equal(valid(DECODE_64, BYTES(0x0f, 0xb1, 0x08)).mem_size, 4);
    assert_int_equal(valid(DECODE_64, BYTES(0x48, 0x0f, 0xb1, 0x08)).mem_size, 8);
    i = valid(DECODE_64, BYTES(0x0f, 0xc0, 0x30));                   /* xadd [rax], dh */
    check_alu(i, MI_ALU_MEM, ALU_XADD, ALU_SRC_REG, 1);
    assert_true(i.reg_high8);
    assert_int_equal(i.reg, 2);
    check_alu(valid(DECODE_64, BYTES(0x48, 0x0f, 0xc1, 0x08)), MI_ALU_MEM, ALU_XADD, ALU_SRC_REG, 8);
    check_alu(valid(DECODE_16, BYTES(0x0f, 0xc1, 0x0f)), MI_ALU_MEM, ALU_XADD, ALU_SRC_REG, 2);
}

static void test_bit_tests(void **state)
{
    (void)state;
    static const struct { uint8_t op; enum alu_op alu; } reg_forms[] = {
        { 0xa3, ALU_BT }, { 0xab, ALU_BTS }, { 0xb3, ALU_BTR }, { 0xbb, ALU_BTC },
    };
    for (unsigned k = 0; k < 4; k++) {
        uint8_t b[4] = { 0x0f, reg_forms[k].op, 0x08 };
        check_alu(valid(DECODE_64, b, 3), MI_ALU_MEM, reg_forms[k].alu, ALU_SRC_REG, 4);
        uint8_t w[4] = { 0x48, 0x0f, reg_forms[k].op, 0x08 };
        check_alu(valid(DECODE_64, w, 4), MI_ALU_MEM, reg_forms[k].alu, ALU_SRC_REG, 8);
        uint8_t h[4] = { 0x66, 0x0f, reg_forms[k].op, 0x08 };
        check_alu(valid(DECODE_64, h, 4), MI_ALU_MEM, reg_forms[k].alu, ALU_SRC_REG, 2);
        /* 0f ba /4../7 ib: the immediate is reduced modulo the operand width */
        uint8_t imm[4] = { 0x0f, 0xba, (uint8_t)(0x20 + 8 * k), 0xff };
        struct mem_insn i = valid(DECODE_64, imm, 4);
        check_alu(i, MI_ALU_MEM, reg_forms[k].alu, ALU_SRC_IMM, 4);
        assert_int_equal(i.imm, 31);
        uint8_t imm16[5] = { 0x66, 0x0f, 0xba, (uint8_t)(0x20 + 8 * k), 0x35 };
        assert_int_equal(valid(DECODE_64, imm16, 5).imm, 5);
        uint8_t imm64[5] = { 0x48, 0x0f, 0xba, (uint8_t)(0x20 + 8 * k), 0x7f };
        assert_int_equal(valid(DECODE_64, imm64, 5).imm, 63);
    }
    bad(DECODE_64, BYTES(0x0f, 0xba, 0x00, 1));
    bad(DECODE_64, BYTES(0x0f, 0xba, 0x18, 1));
}

static void test_movnti(void **state)
{
    (void)state;
    struct mem_insn i = valid(DECODE_64, BYTES(0x0f, 0xc3, 0x08));
    check(i, MI_STORE_REG, 4, 4, 1, false);
    assert_int_equal(i.simd, SIMD_NONE);
    check(valid(DECODE_64, BYTES(0x4c, 0x0f, 0xc3, 0x08)), MI_STORE_REG, 8, 8, 9, false);
    check(valid(DECODE_32, BYTES(0x0f, 0xc3, 0x08)), MI_STORE_REG, 4, 4, 1, false);
    check(valid(DECODE_16, BYTES(0x0f, 0xc3, 0x0f)), MI_STORE_REG, 4, 4, 1, false);
    ud(DECODE_64, BYTES(0x66, 0x0f, 0xc3, 0x08));
    ud(DECODE_64, BYTES(0xf3, 0x0f, 0xc3, 0x08));
    ud(DECODE_64, BYTES(0xf2, 0x0f, 0xc3, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0x0f, 0xc3, 0x08));
    bad(DECODE_64, BYTES(0x0f, 0xc3, 0xc8));
}

static void check_vec(struct mem_insn i, enum mem_insn_kind kind, unsigned size, unsigned reg,
                      unsigned align, bool vex)
{
    assert_int_equal(i.kind, kind);
    assert_int_equal(i.mem_size, size);
    assert_int_equal(i.reg, reg);
    assert_int_equal(i.align, align);
    assert_int_equal(i.vex, vex);
    assert_int_equal(i.simd, vex ? SIMD_AVX : SIMD_SSE);
    assert_int_equal(i.reg_size, size == 32 ? 32 : 16);
}

static void test_sse_moves(void **state)
{
    (void)state;
    static const struct {
        uint8_t prefix, opcode;
        enum mem_insn_kind kind;
        unsigned size, align;
    } forms[] = {
        { 0x00, 0x10, MI_VEC_LOAD, 16, 0 }, { 0x00, 0x11, MI_VEC_STORE, 16, 0 },    /* movups */
        { 0x66, 0x10, MI_VEC_LOAD, 16, 0 }, { 0x66, 0x11, MI_VEC_STORE, 16, 0 },    /* movupd */
        { 0xf3, 0x10, MI_VEC_LOAD, 4, 0 },  { 0xf3, 0x11, MI_VEC_STORE, 4, 0 },     /* movss */
        { 0xf2, 0x10, MI_VEC_LOAD, 8, 0 },  { 0xf2, 0x11, MI_VEC_STORE, 8, 0 },     /* movsd */
        { 0x00, 0x28, MI_VEC_LOAD, 16, 16 }, { 0x00, 0x29, MI_VEC_STORE, 16, 16 },  /* movaps */
        { 0x66, 0x28, MI_VEC_LOAD, 16, 16 }, { 0x66, 0x29, MI_VEC_STORE, 16, 16 },  /* movapd */
        { 0x00, 0x2b, MI_VEC_STORE, 16, 16 }, { 0x66, 0x2b, MI_VEC_STORE, 16, 16 }, /* movntps/pd */
        { 0x66, 0x6e, MI_VEC_LOAD, 4, 0 },  { 0x66, 0x7e, MI_VEC_STORE, 4, 0 },     /* movd */
        { 0xf3, 0x7e, MI_VEC_LOAD, 8, 0 },  { 0x66, 0xd6, MI_VEC_STORE, 8, 0 },     /* movq */
        { 0x66, 0x6f, MI_VEC_LOAD, 16, 16 }, { 0x66, 0x7f, MI_VEC_STORE, 16, 16 },  /* movdqa */
        { 0xf3, 0x6f, MI_VEC_LOAD, 16, 0 }, { 0xf3, 0x7f, MI_VEC_STORE, 16, 0 },    /* movdqu */
        { 0x66, 0xe7, MI_VEC_STORE, 16, 16 },                                       /* movntdq */
    };
    for (unsigned k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
        uint8_t b[8];
        size_t n = 0;
        if (forms[k].prefix)
            b[n++] = forms[k].prefix;
        b[n++] = 0x0f;
        b[n++] = forms[k].opcode;
        b[n++] = 0x18;                                          /* xmm3, [rax] */
        check_vec(valid(DECODE_64, b, n), forms[k].kind, forms[k].size, 3, forms[k].align, false);
        check_vec(valid(DECODE_32, b, n), forms[k].kind, forms[k].size, 3, forms[k].align, false);
        /* REX.R selects xmm8-xmm15 */
        uint8_t r[8];
        size_t m = 0;
        if (forms[k].prefix)
            r[m++] = forms[k].prefix;
        r[m++] = 0x44;
        memcpy(r + m, b + n - 3, 3);
        check_vec(valid(DECODE_64, r, m + 3), forms[k].kind, forms[k].size, 11, forms[k].align, false);
        /* LOCK is #UD */
        uint8_t l[9] = { 0xf0 };
        memcpy(l + 1, b, n);
        ud(DECODE_64, l, n + 1);
    }
    /* MOVD/MOVQ with REX.W: 8 bytes */
    check_vec(valid(DECODE_64, BYTES(0x66, 0x48, 0x0f, 0x6e, 0x00)), MI_VEC_LOAD, 8, 0, 0, false);
    check_vec(valid(DECODE_64, BYTES(0x66, 0x4c, 0x0f, 0x7e, 0x00)), MI_VEC_STORE, 8, 8, 0, false);
    /* F2/F3 beat 66, and the last of F2/F3 counts */
    check_vec(valid(DECODE_64, BYTES(0x66, 0xf3, 0x0f, 0x6f, 0x00)), MI_VEC_LOAD, 16, 0, 0, false);
    check_vec(valid(DECODE_64, BYTES(0xf3, 0x66, 0x0f, 0x6f, 0x00)), MI_VEC_LOAD, 16, 0, 0, false);
    check_vec(valid(DECODE_64, BYTES(0xf2, 0xf3, 0x0f, 0x10, 0x00)), MI_VEC_LOAD, 4, 0, 0, false);
    check_vec(valid(DECODE_64, BYTES(0xf3, 0xf2, 0x0f, 0x10, 0x00)), MI_VEC_LOAD, 8, 0, 0, false);
    assert_false(valid(DECODE_64, BYTES(0xf3, 0x0f, 0x6f, 0x00)).rep);
    /* 16-bit addressing, segment override */
    struct mem_insn i = valid(DECODE_16, BYTES(0x26, 0x66, 0x0f, 0x6f, 0x47, 0x10));
    check_vec(i, MI_VEC_LOAD, 16, 0, 16, false);
    assert_int_equal(i.seg, SEG_ES);
}

static void test_vex_moves(void **state)
{
    (void)state;
    /* C5: R vvvv L pp; vmovdqu xmm0/ymm0, [rax] */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfa, 0x6f, 0x00)), MI_VEC_LOAD, 16, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfe, 0x6f, 0x00)), MI_VEC_LOAD, 32, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfe, 0x7f, 0x08)), MI_VEC_STORE, 32, 1, 0, true);
    /* VEX.R: ymm12 */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0x7e, 0x6f, 0x20)), MI_VEC_LOAD, 32, 12, 0, true);
    /* C4: RXB mmmmm, W vvvv L pp; base r8 through VEX.B, index r9 through VEX.X */
    struct mem_insn i = valid(DECODE_64, BYTES(0xc4, 0xc1, 0x7e, 0x6f, 0x00));
    check_vec(i, MI_VEC_LOAD, 32, 0, 0, true);
    assert_int_equal(i.mem.base, 8);
    i = valid(DECODE_64, BYTES(0xc4, 0x21, 0x7a, 0x6f, 0x04, 0x08));
    check_vec(i, MI_VEC_LOAD, 16, 8, 0, true);
    assert_int_equal(i.mem.base, 0);
    assert_int_equal(i.mem.index, 9);
    /* aligned forms demand the vector's own size */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfd, 0x6f, 0x00)), MI_VEC_LOAD, 32, 0, 32, true);  /* vmovdqa ymm */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xf9, 0x7f, 0x00)), MI_VEC_STORE, 16, 0, 16, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfc, 0x28, 0x00)), MI_VEC_LOAD, 32, 0, 32, true);  /* vmovaps */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfc, 0x10, 0x00)), MI_VEC_LOAD, 32, 0, 0, true);   /* vmovups */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfd, 0xe7, 0x00)), MI_VEC_STORE, 32, 0, 32, true); /* vmovntdq */
    /* vmovd/vmovq: VEX.W selects 8 bytes in 64-bit mode only; VEX.L=1 is #UD */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xf9, 0x6e, 0x00)), MI_VEC_LOAD, 4, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc4, 0xe1, 0xf9, 0x6e, 0x00)), MI_VEC_LOAD, 8, 0, 0, true);
    check_vec(valid(DECODE_32, BYTES(0xc4, 0xe1, 0xf9, 0x7e, 0x00)), MI_VEC_STORE, 4, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfa, 0x7e, 0x00)), MI_VEC_LOAD, 8, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xf9, 0xd6, 0x00)), MI_VEC_STORE, 8, 0, 0, true);
    ud(DECODE_64, BYTES(0xc5, 0xfd, 0x6e, 0x00));
    ud(DECODE_64, BYTES(0xc5, 0xfe, 0x7e, 0x00));
    /* vmovss/vmovsd ignore VEX.L */
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xfe, 0x10, 0x00)), MI_VEC_LOAD, 4, 0, 0, true);
    check_vec(valid(DECODE_64, BYTES(0xc5, 0xff, 0x11, 0x00)), MI_VEC_STORE, 8, 0, 0, true);
    /* VEX.vvvv must be 1111b, also its top bit outside 64-bit mode */
    ud(DECODE_64, BYTES(0xc5, 0xf2, 0x6f, 0x00));
    ud(DECODE_32, BYTES(0xc4, 0xe1, 0x3a, 0x6f, 0x00));
    /* 66, F2, F3, REX or LOCK before VEX are #UD */
    ud(DECODE_64, BYTES(0x66, 0xc5, 0xfa, 0x6f, 0x00));
    ud(DECODE_64, BYTES(0xf3, 0xc5, 0xfa, 0x6f, 0x00));
    ud(DECODE_64, BYTES(0xf2, 0xc5, 0xfa, 0x6f, 0x00));
    ud(DECODE_64, BYTES(0x48, 0xc5, 0xfa, 0x6f, 0x00));
    ud(DECODE_64, BYTES(0xf0, 0xc5, 0xfa, 0x6f, 0x00));
    /* segment and address-size prefixes are fine */
    i = valid(DECODE_64, BYTES(0x65, 0x67, 0xc5, 0xfa, 0x6f, 0x00));
    assert_int_equal(i.seg, SEG_GS);
    assert_int_equal(i.addr_size, 4);
    /* outside 64-bit mode: VEX only with bits 7:6 of the next byte set; R, X, B are not there */
    check_vec(valid(DECODE_32, BYTES(0xc5, 0xfe, 0x6f, 0x00)), MI_VEC_LOAD, 32, 0, 0, true);
    i = valid(DECODE_32, BYTES(0xc4, 0xc1, 0x7e, 0x6f, 0x00));  /* VEX.B ignored: base eax */
    assert_int_equal(i.mem.base, 0);
    check_vec(valid(DECODE_16, BYTES(0xc5, 0xfa, 0x6f, 0x07)), MI_VEC_LOAD, 16, 0, 0, true);
    /* RIP-relative and a displacement after the VEX prefix */
    i = valid(DECODE_64, BYTES(0xc5, 0xfe, 0x6f, 0x05, 1, 2, 3, 4));
    assert_true(i.mem.rip_relative);
    assert_int_equal(i.mem.disp, 0x04030201);
    assert_int_equal(i.length, 8);
}

static void check_mem(struct mem_insn i, unsigned base, unsigned index, unsigned scale, uint64_t disp,
                      unsigned default_seg)
{
    assert_int_equal(i.mem.base, base);
    assert_int_equal(i.mem.index, index);
    assert_int_equal(i.mem.scale, scale);
    assert_int_equal(i.mem.disp, disp);
    assert_int_equal(i.mem.default_seg, default_seg);
}

static void test_memory_operand(void **state)
{
    (void)state;
    const unsigned N = MEM_NO_REG;
    check_mem(valid(DECODE_64, BYTES(0x89, 0x08)), 0, N, 1, 0, SEG_DS);
    check_mem(valid(DECODE_64, BYTES(0x89, 0x0c, 0x24)), 4, N, 1, 0, SEG_SS);             /* [rsp] */
    check_mem(valid(DECODE_64, BYTES(0x89, 0x4d, 0xf8)), 5, N, 1, (uint64_t)-8, SEG_SS);  /* [rbp-8] */
    check_mem(valid(DECODE_64, BYTES(0x41, 0x89, 0x4d, 0x08)), 13, N, 1, 8, SEG_DS);      /* [r13+8] */
    check_mem(valid(DECODE_64, BYTES(0x41, 0x89, 0x0c, 0x24)), 12, N, 1, 0, SEG_DS);      /* [r12] */
    check_mem(valid(DECODE_64, BYTES(0x89, 0x4c, 0x88, 0x10)), 0, 1, 4, 0x10, SEG_DS);    /* [rax+rcx*4+16] */
    check_mem(valid(DECODE_64, BYTES(0x89, 0x8c, 0xc5, 0, 0, 0, 0x80)), 5, 0, 8, 0xffffffff80000000ull, SEG_SS);
    check_mem(valid(DECODE_64, BYTES(0x89, 0x0c, 0x4d, 1, 2, 3, 4)), N, 1, 2, 0x04030201, SEG_DS);  /* [rcx*2+d32] */
    check_mem(valid(DECODE_64, BYTES(0x42, 0x89, 0x0c, 0x20)), 0, 12, 1, 0, SEG_DS);      /* REX.X: r12 */
    check_mem(valid(DECODE_64, BYTES(0x89, 0x0c, 0x20)), 0, N, 1, 0, SEG_DS);             /* index 100b: none */
    check_mem(valid(DECODE_64, BYTES(0x43, 0x89, 0x0c, 0xe5, 1, 0, 0, 0)), N, 12, 8, 1, SEG_DS);
    struct mem_insn i = valid(DECODE_64, BYTES(0x89, 0x0d, 0xfc, 0xff, 0xff, 0xff));
    check_mem(i, N, N, 1, (uint64_t)-4, SEG_DS);
    assert_true(i.mem.rip_relative);
    i = valid(DECODE_64, BYTES(0x67, 0x89, 0x0d, 1, 0, 0, 0));
    assert_true(i.mem.rip_relative);
    i = valid(DECODE_32, BYTES(0x89, 0x0d, 1, 0, 0, 0));                                   /* absolute */
    check_mem(i, N, N, 1, 1, SEG_DS);
    assert_false(i.mem.rip_relative);
    check_mem(valid(DECODE_32, BYTES(0x89, 0x4c, 0x24, 0x04)), 4, N, 1, 4, SEG_SS);
    /* 16-bit forms */
    check_mem(valid(DECODE_16, BYTES(0x89, 0x08)), 3, 6, 1, 0, SEG_DS);                   /* [bx+si] */
    check_mem(valid(DECODE_16, BYTES(0x89, 0x4b, 0xff)), 5, 7, 1, (uint64_t)-1, SEG_SS);  /* [bp+di-1] */
    check_mem(valid(DECODE_16, BYTES(0x89, 0x0e, 0x34, 0x12)), N, N, 1, 0x1234, SEG_DS);  /* [1234] */
    check_mem(valid(DECODE_16, BYTES(0x89, 0x8e, 0x00, 0x80)), 5, N, 1, (uint64_t)-0x8000, SEG_SS);
    check_mem(valid(DECODE_16, BYTES(0x89, 0x0c)), N, 6, 1, 0, SEG_DS);                   /* [si] */
    check_mem(valid(DECODE_16, BYTES(0x89, 0x0f)), 3, N, 1, 0, SEG_DS);                   /* [bx] */
    /* moffs */
    check_mem(valid(DECODE_64, BYTES(0xa1, 1, 2, 3, 4, 5, 6, 7, 0x88)), N, N, 1, 0x8807060504030201ull, SEG_DS);
    check_mem(valid(DECODE_32, BYTES(0xa1, 0xfc, 0xff, 0xff, 0xff)), N, N, 1, 0xfffffffcull, SEG_DS);
}

static void test_lock_prefix(void **state)
{
    (void)state;
    /* allowed on read-modify-write forms with a memory destination */
    assert_true(valid(DECODE_64, BYTES(0xf0, 0x01, 0x08)).lock);
    assert_true(valid(DECODE_64, BYTES(0xf0, 0x48, 0x83, 0x00, 0x01)).lock);
    valid(DECODE_64, BYTES(0xf0, 0x80, 0x30, 0x01));            /* xor */
    valid(DECODE_64, BYTES(0xf0, 0x19, 0x08));                  /* sbb */
    valid(DECODE_64, BYTES(0xf0, 0x11, 0x08));                  /* adc */
    valid(DECODE_64, BYTES(0xf0, 0x66, 0x29, 0x08));            /* sub */
    valid(DECODE_64, BYTES(0xf0, 0x21, 0x08));                  /* and */
    valid(DECODE_64, BYTES(0xf0, 0x08, 0x08));                  /* or */
    valid(DECODE_64, BYTES(0xf0, 0xff, 0x00));                  /* inc */
    valid(DECODE_64, BYTES(0xf0, 0xfe, 0x08));                  /* dec */
    valid(DECODE_64, BYTES(0xf0, 0xf7, 0x10));                  /* not */
    valid(DECODE_64, BYTES(0xf0, 0xf6, 0x18));                  /* neg */
    valid(DECODE_64, BYTES(0xf0, 0x87, 0x08));                  /* xchg */
    valid(DECODE_64, BYTES(0xf0, 0x0f, 0xb1, 0x08));            /* cmpxchg */
    valid(DECODE_64, BYTES(0xf0, 0x0f, 0xc1, 0x08));            /* xadd */
    valid(DECODE_64, BYTES(0xf0, 0x0f, 0xab, 0x08));            /* bts */
    valid(DECODE_64, BYTES(0xf0, 0x0f, 0xba, 0x30, 3));         /* btr imm */
    valid(DECODE_64, BYTES(0xf2, 0xf0, 0x01, 0x08));            /* XACQUIRE hint: still add */
    /* #UD: a register destination, CMP, TEST, BT, moves and strings */
    ud(DECODE_64, BYTES(0xf0, 0x03, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0x39, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0x80, 0x38, 0x01));
    ud(DECODE_64, BYTES(0xf0, 0x85, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0xf6, 0x00, 0x01));
    ud(DECODE_64, BYTES(0xf0, 0x0f, 0xa3, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0x0f, 0xba, 0x20, 1));
    ud(DECODE_64, BYTES(0xf0, 0x89, 0x08));
    ud(DECODE_64, BYTES(0x66, 0xf0, 0x89, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0xc6, 0x00, 0x01));
    ud(DECODE_64, BYTES(0xf0, 0x8b, 0x08));
    ud(DECODE_64, BYTES(0xf0, 0x0f, 0xb6, 0x08));
    ud(DECODE_32, BYTES(0xf0, 0xab));
    ud(DECODE_64, BYTES(0xf0, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8));
    assert_false(valid(DECODE_64, BYTES(0x01, 0x08)).lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov_store_reg_widths),
        cmocka_unit_test(test_mov_load_widths),
        cmocka_unit_test(test_high_byte_registers),
        cmocka_unit_test(test_mov_store_imm),
        cmocka_unit_test(test_moffs),
        cmocka_unit_test(test_movzx_movsx),
        cmocka_unit_test(test_movsxd),
        cmocka_unit_test(test_string_forms),
        cmocka_unit_test(test_segment_prefixes),
        cmocka_unit_test(test_rex_rules),
        cmocka_unit_test(test_modrm_lengths_32_64),
        cmocka_unit_test(test_modrm_lengths_16),
        cmocka_unit_test(test_maximum_length),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_alu_reg_forms),
        cmocka_unit_test(test_alu_imm_forms),
        cmocka_unit_test(test_unary_and_test_imm),
        cmocka_unit_test(test_xchg_cmpxchg_xadd),
        cmocka_unit_test(test_bit_tests),
        cmocka_unit_test(test_movnti),
        cmocka_unit_test(test_sse_moves),
        cmocka_unit_test(test_vex_moves),
        cmocka_unit_test(test_memory_operand),
        cmocka_unit_test(test_lock_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
