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
    return insn;
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
    /* LOCK on a move is #UD */
    bad(DECODE_64, BYTES(0xf0, 0x89, 0x08));
    bad(DECODE_64, BYTES(0x66, 0xf0, 0x89, 0x08));
    bad(DECODE_32, BYTES(0xf0, 0xab));
    bad(DECODE_64, BYTES(0xf0, 0xc6, 0x00, 0x01));
    /* not one of ours */
    bad(DECODE_64, BYTES(0x90));
    bad(DECODE_64, BYTES(0x01, 0x08));
    bad(DECODE_64, BYTES(0xff, 0x00));
    bad(DECODE_64, BYTES(0xc5, 0xf8, 0x77));
    bad(DECODE_64, BYTES(0xa6));
    bad(DECODE_64, BYTES(0xac));
    bad(DECODE_64, BYTES(0x8c, 0x08));
    /* empty, prefixes only, bad mode, NULL */
    bad(DECODE_64, BYTES(0x89));
    bad(DECODE_64, BYTES(0x66, 0x67));
    bad(DECODE_64, BYTES(0x48));
    struct mem_insn i;
    assert_int_equal(decode_mem_insn((const uint8_t *)"\x89\x08", 0, DECODE_64, &i), -1);
    assert_int_equal(decode_mem_insn((const uint8_t *)"\x89\x08", 2, (enum decode_mode)3, &i), -1);
    assert_int_equal(decode_mem_insn(NULL, 2, DECODE_64, &i), -1);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
