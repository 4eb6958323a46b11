/* Results and RFLAGS of the emulated ALU operations (see alu.h), following the SDM's
 * definitions operation by operation. Where the SDM leaves a flag undefined, the value is the
 * one current Intel CPUs produce (checked against the host CPU by tests/unit/test_alu_reference.c):
 * AND/OR/XOR/TEST clear AF; BT/BTS/BTR/BTC change only CF, leaving OF, SF, ZF, AF and PF as they
 * were. */
#include "emu/alu.h"
#include "x86.h"

static uint64_t mask_of(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sign_bit_of(unsigned size)
{
    return 1ull << (8 * size - 1);
}

/* PF: set when the low byte of the result has an even number of one bits. */
static uint64_t parity_flag(uint64_t result)
{
    uint8_t x = (uint8_t)result;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return (x & 1) ? 0 : RFLAGS_PF;
}

/* SF, ZF and PF: what every arithmetic and logic result sets. */
static uint64_t result_flags(uint64_t result, unsigned size)
{
    uint64_t f = parity_flag(result);
    if (result == 0)
        f |= RFLAGS_ZF;
    if (result & sign_bit_of(size))
        f |= RFLAGS_SF;
    return f;
}

/* d + s (+ carry in) = r, all already truncated. */
static uint64_t add_flags(uint64_t d, uint64_t s, uint64_t r, bool carry_out, unsigned size)
{
    uint64_t f = result_flags(r, size);
    if (carry_out)
        f |= RFLAGS_CF;
    if ((d ^ r) & (s ^ r) & sign_bit_of(size))
        f |= RFLAGS_OF;
    if ((d ^ s ^ r) & 0x10)
        f |= RFLAGS_AF;
    return f;
}

/* d - s (- borrow in) = r, all already truncated. */
static uint64_t sub_flags(uint64_t d, uint64_t s, uint64_t r, bool borrow_out, unsigned size)
{
    uint64_t f = result_flags(r, size);
    if (borrow_out)
        f |= RFLAGS_CF;
    if ((d ^ s) & (d ^ r) & sign_bit_of(size))
        f |= RFLAGS_OF;
    if ((d ^ s ^ r) & 0x10)
        f |= RFLAGS_AF;
    return f;
}

uint64_t alu_execute(enum alu_op op, unsigned size, uint64_t dst, uint64_t src, uint64_t *rflags)
{
    const uint64_t m = mask_of(size);
    const uint64_t d = dst & m, s = src & m;
    const bool cf = *rflags & RFLAGS_CF;
    uint64_t r, flags, written = RFLAGS_ARITH;

    switch (op) {
    case ALU_ADD:
    case ALU_XADD:
        r = (d + s) & m;
        flags = add_flags(d, s, r, r < d, size);
        break;
    case ALU_ADC:
        r = (d + s + cf) & m;
        flags = add_flags(d, s, r, cf ? r <= d : r < d, size);
        break;
    case ALU_SUB:
    case ALU_CMP:
        r = (d - s) & m;
        flags = sub_flags(d, s, r, d < s, size);
        break;
    case ALU_SBB:
        r = (d - s - cf) & m;
        flags = sub_flags(d, s, r, cf ? d <= s : d < s, size);
        break;
    case ALU_AND:
    case ALU_TEST:
        r = d & s;
        flags = result_flags(r, size);          /* CF, OF cleared; AF undefined: cleared */
        break;
    case ALU_OR:
        r = d | s;
        flags = result_flags(r, size);
        break;
    case ALU_XOR:
        r = d ^ s;
        flags = result_flags(r, size);
        break;
    case ALU_INC:
        r = (d + 1) & m;
        flags = add_flags(d, 1, r, false, size);
        written = RFLAGS_ARITH & ~RFLAGS_CF;     /* INC and DEC keep CF */
        break;
    case ALU_DEC:
        r = (d - 1) & m;
        flags = sub_flags(d, 1, r, false, size);
        written = RFLAGS_ARITH & ~RFLAGS_CF;
        break;
    case ALU_NOT:
        r = ~d & m;
        flags = 0;
        written = 0;
        break;
    case ALU_NEG:
        r = (0 - d) & m;
        flags = sub_flags(0, d, r, d != 0, size);
        break;
    case ALU_BT:
    case ALU_BTS:
    case ALU_BTR:
    case ALU_BTC: {
        uint64_t bit = 1ull << (s & (8 * size - 1));
        flags = (d & bit) ? RFLAGS_CF : 0;
        written = RFLAGS_CF;
        r = op == ALU_BT ? d : op == ALU_BTS ? d | bit : op == ALU_BTR ? d & ~bit : d ^ bit;
        break;
    }
    default:
        return d;
    }
    *rflags = (*rflags & ~written) | (flags & written);
    return r;
}

bool alu_writes_result(enum alu_op op)
{
    return op != ALU_CMP && op != ALU_TEST && op != ALU_BT;
}

bool alu_lockable(enum alu_op op)
{
    return op < ALU_OP_COUNT && alu_writes_result(op);
}
