/* Reference check of the emulated ALU instructions against the host CPU: the same instruction
 * bytes run natively (from an executable buffer, called from inline asm, on ordinary memory) and
 * through mmio_emulate (on a device region), with random operands and random input flags, for
 * every operation, form and width. Result, registers and the arithmetic flags must agree, the
 * undefined ones included (AF after logic operations, OF/SF/ZF/AF/PF after BT*), and the device
 * must see one read, then one write for operations that write. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "dev/uart16550.h"
#include "emu/alu.h"
#include "emu/mmio_emulate.h"
#include "mem/gpa_bus.h"
#include "soft_vmcs.h"
#include "test_guest_helpers.h"
#include "vmx/vmcs.h"
#include "x86.h"

#define RAM_SIZE    0x200000ull
#define CODE        0x100000ull
#define DEV         0xfed00000ull
#define DEV_SIZE    0x1000u
#define OPERAND_AT  0x800u          /* RBX points here, in the device and in the host buffer */
#define ITERATIONS  600

static struct vm *vm;
static struct vcpu *vcpu;
static uint8_t *host_code;          /* executable: the instruction, then RET */

/* ---- the device: memory with an access log ---- */

static uint8_t dev_mem[DEV_SIZE];
static unsigned dev_reads, dev_writes, dev_last_size;
static int dev_order_ok;

static uint64_t dev_read(void *dev, uint64_t offset, unsigned size)
{
    (void)dev;
    uint64_t v = 0;
    if (dev_writes)
        dev_order_ok = 0;           /* a read after the write: not one read then one write */
    dev_reads++;
    dev_last_size = size;
    memcpy(&v, dev_mem + offset, size);
    return v;
}

static void dev_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    (void)dev;
    dev_writes++;
    if (size != dev_last_size)
        dev_order_ok = 0;
    memcpy(dev_mem + offset, &value, size);
}

static const struct mmio_ops dev_ops = { dev_read, dev_write };

/* ---- random numbers (fixed seed: failures reproduce) ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Operands biased towards the values where flags change: 0, 1, all ones, sign boundaries. */
static uint64_t operand(void)
{
    static const uint64_t edges[] = {
        0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
        0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x0f, 0x10,
    };
    uint64_t r = rnd();
    switch (r & 3) {
    case 0:  return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
    case 1:  return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))] + ((r >> 40) & 3) - 1;
    default: return rnd();
    }
}

/* ---- running one instruction both ways ---- */

struct regs {
    uint64_t rax, rcx, rdx, rflags;
};

static void run_on_host(const uint8_t *insn, size_t len, struct regs *r, uint8_t *memory)
{
    memcpy(host_code, insn, len);
    host_code[len] = 0xc3;                       /* ret */
    uint64_t rax = r->rax, rcx = r->rcx, rdx = r->rdx, rbx = (uint64_t)(memory + OPERAND_AT);
    uint64_t flags = r->rflags;
    /* Skip the red zone before pushing; the instruction sees RAX/RCX/RDX/RBX and RFLAGS. */
    __asm__ volatile("lea -128(%%rsp), %%rsp\n\t"
                     "push %[flags]\n\t"
                     "popfq\n\t"
                     "call *%[code]\n\t"
                     "pushfq\n\t"
                     "pop %[flags]\n\t"
                     "lea 128(%%rsp), %%rsp"
                     : "+a"(rax), "+c"(rcx), "+d"(rdx), "+b"(rbx), [flags] "+r"(flags)
                     : [code] "r"(host_code)
                     : "memory", "cc");
    r->rax = rax;
    r->rcx = rcx;
    r->rdx = rdx;
    r->rflags = flags;
}

static void run_emulated(const uint8_t *insn, size_t len, struct regs *r)
{
    memcpy(vm->ram + CODE, insn, len);
    vmcs_write(VMCS_GUEST_RIP, CODE);
    vmcs_write(VMCS_GUEST_RFLAGS, r->rflags);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    vcpu_gpr_write(vcpu, REG_RAX, r->rax);
    vcpu_gpr_write(vcpu, REG_RCX, r->rcx);
    vcpu_gpr_write(vcpu, REG_RDX, r->rdx);
    vcpu_gpr_write(vcpu, REG_RBX, DEV + OPERAND_AT);
    assert_int_equal(mmio_emulate(vcpu, DEV + OPERAND_AT), EXIT_CONTINUE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(vmcs_read(VMCS_GUEST_RIP), CODE + len);
    assert_int_equal(vcpu_gpr_read(vcpu, REG_RBX), DEV + OPERAND_AT);
    r->rax = vcpu_gpr_read(vcpu, REG_RAX);
    r->rcx = vcpu_gpr_read(vcpu, REG_RCX);
    r->rdx = vcpu_gpr_read(vcpu, REG_RDX);
    r->rflags = vmcs_read(VMCS_GUEST_RFLAGS);
}

static const char *hex(const uint8_t *b, size_t n)
{
    static char text[64];
    size_t len = 0;
    for (size_t i = 0; i < n && len + 4 < sizeof(text); i++)
        len += (size_t)snprintf(text + len, sizeof(text) - len, "%02x ", b[i]);
    return text;
}

/* One instruction, ITERATIONS times with fresh operands and flags. writes: whether the device
 * must see a write after its read. bit_offset_reg: RCX is a BT bit offset, kept small enough
 * that the addressed operand stays inside the buffer. */
static void compare(const uint8_t *insn, size_t len, bool writes, bool bit_offset_reg)
{
    static uint8_t host_mem[DEV_SIZE];
    for (unsigned it = 0; it < ITERATIONS; it++) {
        struct regs in = { operand(), operand(), operand(), 0 };
        in.rflags = RFLAGS_FIXED1 | RFLAGS_IF | (rnd() & RFLAGS_ARITH);
        if (bit_offset_reg)     /* -512..511 bits: within +-64 bytes of the operand */
            in.rcx = (uint64_t)((int64_t)(rnd() & 0x3ff) - 512);
        for (unsigned i = 0; i < DEV_SIZE; i += 8) {
            uint64_t v = (rnd() & 1) ? operand() : rnd();
            memcpy(host_mem + i, &v, 8);
        }
        memcpy(dev_mem, host_mem, DEV_SIZE);
        /* A CMPXCHG is as interesting when it succeeds. */
        if (len >= 2 && insn[len - 2] == 0xb1 && (rnd() & 1))
            memcpy(host_mem + OPERAND_AT, &in.rax, 8), memcpy(dev_mem + OPERAND_AT, &in.rax, 8);
        if (len >= 2 && insn[len - 2] == 0xb0 && (rnd() & 1))
            host_mem[OPERAND_AT] = dev_mem[OPERAND_AT] = (uint8_t)in.rax;

        struct regs native = in, emulated = in;
        run_on_host(insn, len, &native, host_mem);
        dev_reads = dev_writes = 0;
        dev_order_ok = 1;
        run_emulated(insn, len, &emulated);

        if (native.rax != emulated.rax || native.rcx != emulated.rcx || native.rdx != emulated.rdx ||
            ((native.rflags ^ emulated.rflags) & RFLAGS_ARITH) || memcmp(host_mem, dev_mem, DEV_SIZE)) {
            print_error("%s: in rax %llx rcx %llx rdx %llx flags %llx\n", hex(insn, len),
                        (unsigned long long)in.rax, (unsigned long long)in.rcx, (unsigned long long)in.rdx,
                        (unsigned long long)in.rflags);
            print_error("  cpu      rax %llx rcx %llx rdx %llx flags %llx\n", (unsigned long long)native.rax,
                        (unsigned long long)native.rcx, (unsigned long long)native.rdx,
                        (unsigned long long)native.rflags);
            print_error("  emulated rax %llx rcx %llx rdx %llx flags %llx memory %s\n",
                        (unsigned long long)emulated.rax, (unsigned long long)emulated.rcx,
                        (unsigned long long)emulated.rdx, (unsigned long long)emulated.rflags,
                        memcmp(host_mem, dev_mem, DEV_SIZE) ? "differs" : "same");
            fail();
        }
        /* Flags outside the arithmetic ones are the emulator's to keep. */
        assert_int_equal(emulated.rflags & ~RFLAGS_ARITH, in.rflags & ~RFLAGS_ARITH);
        assert_int_equal(dev_reads, 1);
        assert_int_equal(dev_writes, writes ? 1 : 0);
        assert_true(dev_order_ok);
    }
}

/* Encodings of op with [rbx] as the memory operand and CL/CX/ECX/RCX (or CH) as the register. */
static size_t with_size(uint8_t *b, unsigned size, bool lock)
{
    size_t n = 0;
    if (lock)
        b[n++] = 0xf0;
    if (size == 2)
        b[n++] = 0x66;
    if (size == 8)
        b[n++] = 0x48;
    return n;
}

static const unsigned sizes[] = { 1, 2, 4, 8 };

static void test_alu_register_forms(void **state)
{
    (void)state;
    for (unsigned op = 0; op < 8; op++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned form = 0; form < 3; form++) {
                unsigned size = sizes[s];
                bool lock = form == 2 && op != ALU_CMP;
                uint8_t b[8];
                size_t n = with_size(b, size, lock);
                bool reg_dest = form == 1;
                b[n++] = (uint8_t)((op << 3) | (reg_dest ? 2 : 0) | (size > 1 ? 1 : 0));
                b[n++] = (size == 1 && form == 2) ? 0x2b : 0x0b;     /* [rbx], cl (or ch) */
                compare(b, n, !reg_dest && op != ALU_CMP, false);
            }
}

static void test_alu_immediate_forms(void **state)
{
    (void)state;
    for (unsigned op = 0; op < 8; op++)
        for (unsigned s = 0; s < 4; s++)
            for (unsigned form = 0; form < 2; form++) {
                unsigned size = sizes[s];
                uint8_t b[16];
                size_t n = with_size(b, size, op != ALU_CMP && form == 1);
                bool imm8 = size == 1 || form == 1;
                b[n++] = size == 1 ? 0x80 : imm8 ? 0x83 : 0x81;
                b[n++] = (uint8_t)((op << 3) | 3);
                uint64_t imm = operand();
                unsigned imm_size = imm8 ? 1 : size == 2 ? 2 : 4;
                for (unsigned i = 0; i < imm_size; i++)
                    b[n++] = (uint8_t)(imm >> (8 * i));
                compare(b, n, op != ALU_CMP, false);
            }
}

static void test_test_and_unary_forms(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 4; s++) {
        unsigned size = sizes[s];
        uint8_t b[16];
        size_t n = with_size(b, size, false);
        b[n++] = size == 1 ? 0x84 : 0x85;                       /* test [rbx], reg */
        b[n++] = 0x0b;
        compare(b, n, false, false);

        for (unsigned reg = 0; reg < 2; reg++) {                /* test [rbx], imm (/0 and /1) */
            n = with_size(b, size, false);
            b[n++] = size == 1 ? 0xf6 : 0xf7;
            b[n++] = (uint8_t)((reg << 3) | 3);
            uint64_t imm = operand();
            for (unsigned i = 0; i < (size == 8 ? 4 : size); i++)
                b[n++] = (uint8_t)(imm >> (8 * i));
            compare(b, n, false, false);
        }
        static const struct { uint8_t op, reg; } unary[] = {
            { 0xf6, 2 }, { 0xf6, 3 }, { 0xfe, 0 }, { 0xfe, 1 },  /* not, neg, inc, dec */
        };
        for (unsigned u = 0; u < 4; u++)
            for (unsigned lock = 0; lock < 2; lock++) {
                n = with_size(b, size, lock);
                b[n++] = (uint8_t)(unary[u].op | (size > 1 ? 1 : 0));
                b[n++] = (uint8_t)((unary[u].reg << 3) | 3);
                compare(b, n, true, false);
            }
    }
}

static void test_exchange_forms(void **state)
{
    (void)state;
    for (unsigned s = 0; s < 4; s++)
        for (unsigned lock = 0; lock < 2; lock++) {
            unsigned size = sizes[s];
            uint8_t b[8];
            size_t n = with_size(b, size, lock);
            b[n++] = size == 1 ? 0x86 : 0x87;                   /* xchg [rbx], reg */
            b[n++] = 0x0b;
            compare(b, n, true, false);

            n = with_size(b, size, lock);
            b[n++] = 0x0f;
            b[n++] = size == 1 ? 0xb0 : 0xb1;                   /* cmpxchg [rbx], reg */
            b[n++] = 0x0b;
            compare(b, n, true, false);

            n = with_size(b, size, lock);
            b[n++] = 0x0f;
            b[n++] = size == 1 ? 0xc0 : 0xc1;                   /* xadd [rbx], reg */
            b[n++] = 0x0b;
            compare(b, n, true, false);
        }
}

static void test_bit_test_forms(void **state)
{
    (void)state;
    static const uint8_t reg_ops[4] = { 0xa3, 0xab, 0xb3, 0xbb };
    for (unsigned s = 1; s < 4; s++)
        for (unsigned k = 0; k < 4; k++)
            for (unsigned lock = 0; lock < (k ? 2u : 1u); lock++) {
                unsigned size = sizes[s];
                uint8_t b[8];
                size_t n = with_size(b, size, lock);
                b[n++] = 0x0f;
                b[n++] = reg_ops[k];                            /* bt* [rbx], reg */
                b[n++] = 0x0b;
                compare(b, n, k != 0, true);

                n = with_size(b, size, lock);
                b[n++] = 0x0f;
                b[n++] = 0xba;                                  /* bt* [rbx], imm8 */
                b[n++] = (uint8_t)(((4 + k) << 3) | 3);
                b[n++] = (uint8_t)rnd();
                compare(b, n, k != 0, false);
            }
}

static int setup(void **state)
{
    (void)state;
    host_code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (host_code == MAP_FAILED)
        return -1;
    vm = test_vm_new("ref", RAM_SIZE);
    vcpu = test_vcpu(vm);
    soft_vmcs_reset();
    if (gpa_add_mmio(vm, DEV, DEV_SIZE, &dev_ops, NULL) != 0)
        return -1;
    /* 64-bit mode, paging identity-maps the low 4 GiB with 1 GiB pages */
    uint64_t pml4 = 0x1000, pdpt = 0x2000;
    uint64_t e = pdpt | 7;
    memcpy(vm->ram + pml4, &e, 8);
    for (uint64_t i = 0; i < 4; i++) {
        e = (i << 30) | 0x83;
        memcpy(vm->ram + pdpt + i * 8, &e, 8);
    }
    vmcs_write(VMCS_GUEST_CR0, CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE);
    vmcs_write(VMCS_GUEST_CR3, pml4);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE);
    vmcs_write(VMCS_GUEST_EFER, EFER_LME | EFER_LMA);
    vmcs_write(VMCS_GUEST_CS_AR, 0xa09b);
    vmcs_write(VMCS_GUEST_SS_AR, 0xc093);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    munmap(host_code, 4096);
    test_vm_free(vm);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alu_register_forms),
        cmocka_unit_test(test_alu_immediate_forms),
        cmocka_unit_test(test_test_and_unary_forms),
        cmocka_unit_test(test_exchange_forms),
        cmocka_unit_test(test_bit_test_forms),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
