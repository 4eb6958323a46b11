/* Tests for MMIO/empty-bus instruction emulation and the guest-physical bus beneath it: a guest
 * with malloc'd RAM, instruction bytes in RAM, state in the soft VMCS, vector registers in the
 * fake of tests/unit/fake_simd_regs.c. Operand addresses come from the guest's registers and
 * paging, as on the CPU; the exit's guest-physical address only matters where the exit
 * qualification says it is the operand's translation. Flags of every ALU operation against the
 * host CPU: test_alu_reference.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dev/uart16550.h"
#include "emu/mmio_emulate.h"
#include "fake_simd_regs.h"
#include "host_stubs.h"
#include "mem/gpa_bus.h"
#include "soft_vmcs.h"
#include "test_guest_helpers.h"
#include "vmx/vmcs.h"
#include "x86.h"

#define RAM_SIZE   0x200000ull
#define CODE       0x100000ull      /* gpa (and linear) of the instruction in every mode */
#define DATA       0x150000ull      /* scratch RAM */
#define HOLE       0x180000ull      /* RAM, but its linear page is not mapped in long mode */
#define EMPTY      0x40000000ull    /* mapped in long mode, nothing behind it */
#define EMPTY_HIGH 0x7f00000000ull  /* likewise, above 4 GiB */
#define DEV        0xfed00000ull    /* the test device */
#define NEAR       0x300000ull      /* where tests that need one put a second device (RIP-relative reach) */
#define PT_FIRST   0x1000ull        /* page tables live in [PT_FIRST, PT_END) */
#define PT_END     0x5000ull

static struct vm *vm;
static struct vcpu *vcpu;

/* ---- a device that logs every access ---- */

struct dev_op { int write; uint64_t offset; unsigned size; uint64_t value; };
static struct dev_op dev_log[64];
static unsigned dev_ops;
static uint64_t dev_read_value;
static uint64_t dev_read_step;      /* reads return dev_read_value + offset * dev_read_step */

static uint64_t dev_read(void *dev, uint64_t offset, unsigned size)
{
    assert_ptr_equal(dev, &dev_log);
    if (dev_ops < 64)
        dev_log[dev_ops++] = (struct dev_op){ 0, offset, size, 0 };
    return dev_read_value + offset * dev_read_step;
}

static void dev_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
    assert_ptr_equal(dev, &dev_log);
    if (dev_ops < 64)
        dev_log[dev_ops++] = (struct dev_op){ 1, offset, size, value };
}

static const struct mmio_ops dev_mmio = { dev_read, dev_write };

static void expect_dev_op(unsigned i, int write, uint64_t offset, unsigned size, uint64_t value)
{
    assert_true(i < dev_ops);
    assert_int_equal(dev_log[i].write, write);
    assert_int_equal(dev_log[i].offset, offset);
    assert_int_equal(dev_log[i].size, size);
    assert_int_equal(dev_log[i].value, value);
}

/* ---- guest set-up ---- */

static void put64(uint64_t gpa, uint64_t v) { memcpy(vm->ram + gpa, &v, 8); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, vm->ram + gpa, 8); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, vm->ram + gpa, 4); return v; }

/* Identity map: 4 KiB pages for the first 2 MiB (HOLE left out), 2 MiB pages up to 1 GiB,
 * 1 GiB pages up to 4 GiB and for the GiB at EMPTY_HIGH. */
static void build_page_tables(void)
{
    put64(0x1000, 0x2000 | 7);
    put64(0x2000, 0x3000 | 7);
    for (uint64_t i = 1; i < 4; i++)
        put64(0x2000 + i * 8, (i << 30) | 0x83);
    put64(0x2000 + (EMPTY_HIGH >> 30) * 8, EMPTY_HIGH | 0x83);
    put64(0x3000, 0x4000 | 7);
    for (uint64_t i = 1; i < 512; i++)
        put64(0x3000 + i * 8, (i << 21) | 0x83);
    for (uint64_t i = 0; i < 512; i++)
        if (i << 12 != HOLE)
            put64(0x4000 + i * 8, (i << 12) | 3);
}

static uint64_t code_rip;

static void long_mode(void)
{
    vmcs_write(VMCS_GUEST_CR0, 0x80010031);          /* PG WP NE ET PE */
    vmcs_write(VMCS_GUEST_CR3, 0x1000);
    vmcs_write(VMCS_GUEST_CR4, 1u << 5);
    vmcs_write(VMCS_GUEST_EFER, (1u << 8) | (1u << 10));
    vmcs_write(VMCS_GUEST_CS_AR, 0xa09b);
    vmcs_write(VMCS_GUEST_SS_AR, 0xc093);
    vmcs_write(VMCS_GUEST_CS_BASE, 0x5000);          /* ignored in 64-bit mode */
    vmcs_write(VMCS_GUEST_DS_BASE, 0x7000);          /* likewise */
    vmcs_write(VMCS_GUEST_ES_BASE, 0x9000);          /* likewise */
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    code_rip = CODE;
    vmcs_write(VMCS_GUEST_RIP, code_rip);
}

static void prot32_mode(void)
{
    vmcs_write(VMCS_GUEST_CR0, 0x11);
    vmcs_write(VMCS_GUEST_CR4, 0);
    vmcs_write(VMCS_GUEST_EFER, 0);
    vmcs_write(VMCS_GUEST_CS_AR, 0xc09b);
    vmcs_write(VMCS_GUEST_SS_AR, 0xc093);
    vmcs_write(VMCS_GUEST_CS_BASE, CODE - 0x1000);
    vmcs_write(VMCS_GUEST_DS_BASE, 0);
    vmcs_write(VMCS_GUEST_ES_BASE, 0);
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    code_rip = 0x1000;
    vmcs_write(VMCS_GUEST_RIP, code_rip);
}

static void real_mode(void)
{
    vmcs_write(VMCS_GUEST_CR0, 0x10);
    vmcs_write(VMCS_GUEST_CR4, 0);
    vmcs_write(VMCS_GUEST_EFER, 0);
    vmcs_write(VMCS_GUEST_CS_AR, 0x9b);
    vmcs_write(VMCS_GUEST_SS_AR, 0x93);
    vmcs_write(VMCS_GUEST_CS_BASE, CODE - 0x100);
    vmcs_write(VMCS_GUEST_DS_BASE, 0);
    vmcs_write(VMCS_GUEST_ES_BASE, 0);
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    code_rip = 0x100;
    vmcs_write(VMCS_GUEST_RIP, code_rip);
}

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("emu", RAM_SIZE);
    vcpu = test_vcpu(vm);
    soft_vmcs_reset();
    host_console_reset();
    build_page_tables();
    assert_int_equal(gpa_add_mmio(vm, DEV, 0x1000, &dev_mmio, &dev_log), 0);
    dev_ops = 0;
    dev_read_value = 0;
    dev_read_step = 0;
    memset(&fake_simd, 0, sizeof(fake_simd));
    memset(host_debug_regs, 0, sizeof(host_debug_regs));
    long_mode();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void code(const uint8_t *b, size_t n)
{
    memcpy(vm->ram + CODE, b, n);
    vmcs_write(VMCS_GUEST_RIP, code_rip);
}

static uint64_t reg(unsigned r) { return vcpu_gpr_read(vcpu, r); }
static void set_reg(unsigned r, uint64_t v) { vcpu_gpr_write(vcpu, r, v); }
static uint64_t rip(void) { return vmcs_read(VMCS_GUEST_RIP); }

/* Run one emulation that must complete: RIP advances by n, nothing injected. exit_gpa is what
 * the exit reported; it is used only where the qualification says so (cpu_exit). */
static void run_done(const uint8_t *b, size_t n, uint64_t exit_gpa)
{
    code(b, n);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);        /* what an earlier case injected has been delivered */
    assert_int_equal(mmio_emulate(vcpu, exit_gpa), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip + n);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(vm->state, VM_RUNNING);
}

static void run(const uint8_t *b, size_t n)
{
    run_done(b, n, ~0ull);
}

/* Run one emulation that must raise an exception: RIP stays, nothing reaches the device. */
static void run_fault(const uint8_t *b, size_t n, uint8_t vector, bool has_error, uint32_t error)
{
    unsigned ops = dev_ops;
    code(b, n);
    vmcs_write(VMCS_ENTRY_INTR_INFO, 0);
    assert_int_equal(mmio_emulate(vcpu, ~0ull), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
    if (has_error)
        info |= INTR_INFO_DELIVER_ERROR;
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), info);
    if (has_error)
        assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), error);
    assert_int_equal(dev_ops, ops);
    assert_int_equal(vm->state, VM_RUNNING);
}

/* What the CPU reports with an EPT violation for a data access at linear. */
static void cpu_exit(uint64_t linear, bool write)
{
    vmcs_write(VMCS_EXIT_QUALIFICATION, (write ? EPT_QUAL_WRITE : EPT_QUAL_READ) | EPT_QUAL_LINEAR_VALID |
                                        EPT_QUAL_TRANSLATION);
    vmcs_write(VMCS_GUEST_LINEAR_ADDR, linear);
}

static uint64_t rflags(void) { return vmcs_read(VMCS_GUEST_RFLAGS); }

/* ---- loads ---- */

#define INIT 0x1122334455667788ull
#define NO_ADDR_REG 0xff

struct load_case {
    uint8_t bytes[15];
    uint8_t len;
    unsigned reg;           /* the destination */
    unsigned addr_reg;      /* the register holding the address, or NO_ADDR_REG */
    uint64_t expect;
};

/* Every register starts as INIT but addr_reg, which holds addr. */
static void run_load_cases(const struct load_case *c, size_t count, uint64_t addr)
{
    for (size_t i = 0; i < count; i++) {
        for (unsigned r = 0; r < 16; r++)
            set_reg(r, INIT);
        if (c[i].addr_reg != NO_ADDR_REG)
            set_reg(c[i].addr_reg, addr);
        run(c[i].bytes, c[i].len);
        assert_int_equal(reg(c[i].reg), c[i].expect);
        for (unsigned r = 0; r < 16; r++)
            if (r != c[i].reg && r != c[i].addr_reg)
                assert_int_equal(reg(r), INIT);
    }
}

static void test_loads_empty_bus_64(void **state)
{
    (void)state;
    /* EMPTY + 0x10: as a RIP-relative displacement from the end of a 6-byte instruction at CODE,
     * and as a moffs */
#define MOFFS 0x10, 0, 0, 0x40, 0, 0, 0, 0
    static const struct load_case cases[] = {
        { { 0x8a, 0x08 }, 2, REG_RCX, REG_RAX, 0x11223344556677ffull },        /* mov cl,[rax] */
        { { 0x8a, 0x23 }, 2, REG_RAX, REG_RBX, 0x112233445566ff88ull },        /* mov ah,[rbx] */
        { { 0x44, 0x8a, 0x08 }, 3, REG_R9, REG_RAX, 0x11223344556677ffull },   /* mov r9b */
        { { 0x40, 0x8a, 0x23 }, 3, REG_RSP, REG_RBX, 0x11223344556677ffull },  /* mov spl */
        { { 0x66, 0x8b, 0x08 }, 3, REG_RCX, REG_RAX, 0x112233445566ffffull },
        { { 0x8b, 0x08 }, 2, REG_RCX, REG_RAX, 0xffffffffull },
        { { 0x48, 0x8b, 0x08 }, 3, REG_RCX, REG_RAX, ~0ull },
        { { 0x4c, 0x8b, 0x38 }, 3, REG_R15, REG_RAX, ~0ull },
        { { 0x48, 0x8b, 0x23 }, 3, REG_RSP, REG_RBX, ~0ull },
        { { 0x8b, 0x05, 0x0a, 0x00, 0xf0, 0x3f }, 6, REG_RAX, NO_ADDR_REG, 0xffffffffull },  /* rip-relative */
        { { 0xa0, MOFFS }, 9, REG_RAX, NO_ADDR_REG, 0x11223344556677ffull },
        { { 0x66, 0xa1, MOFFS }, 10, REG_RAX, NO_ADDR_REG, 0x112233445566ffffull },
        { { 0xa1, MOFFS }, 9, REG_RAX, NO_ADDR_REG, 0xffffffffull },
        { { 0x48, 0xa1, MOFFS }, 10, REG_RAX, NO_ADDR_REG, ~0ull },
        { { 0x67, 0xa1, 0x10, 0, 0, 0x40 }, 6, REG_RAX, NO_ADDR_REG, 0xffffffffull },
        { { 0x0f, 0xb6, 0x08 }, 3, REG_RCX, REG_RAX, 0xffull },
        { { 0x0f, 0xb7, 0x08 }, 3, REG_RCX, REG_RAX, 0xffffull },
        { { 0x66, 0x0f, 0xb6, 0x08 }, 4, REG_RCX, REG_RAX, 0x11223344556600ffull },
        { { 0x48, 0x0f, 0xb7, 0x08 }, 4, REG_RCX, REG_RAX, 0xffffull },
        { { 0x0f, 0xbe, 0x08 }, 3, REG_RCX, REG_RAX, 0xffffffffull },
        { { 0x0f, 0xbf, 0x08 }, 3, REG_RCX, REG_RAX, 0xffffffffull },
        { { 0x66, 0x0f, 0xbe, 0x08 }, 4, REG_RCX, REG_RAX, 0x112233445566ffffull },
        { { 0x48, 0x0f, 0xbe, 0x08 }, 4, REG_RCX, REG_RAX, ~0ull },
        { { 0x4c, 0x0f, 0xbf, 0x10 }, 4, REG_R10, REG_RAX, ~0ull },
        { { 0x48, 0x63, 0x08 }, 3, REG_RCX, REG_RAX, ~0ull },
        { { 0x63, 0x08 }, 2, REG_RCX, REG_RAX, 0xffffffffull },
    };
#undef MOFFS
    run_load_cases(cases, sizeof(cases) / sizeof(cases[0]), EMPTY + 0x10);
    /* an address above 4 GiB that is not RAM reads the same */
    run_load_cases(cases, 4, EMPTY_HIGH + 0x10);
    /* the register is both the address and the destination */
    set_reg(REG_RBX, EMPTY + 0x10);
    run(BYTES(0x8a, 0x3b));                                              /* mov bh,[rbx] */
    assert_int_equal(reg(REG_RBX), EMPTY + 0xff10);
    assert_int_equal(dev_ops, 0);
}

static void test_loads_empty_bus_legacy(void **state)
{
    (void)state;
    static const struct load_case prot32[] = {
        { { 0x8b, 0x08 }, 2, REG_RCX, REG_RAX, 0xffffffffull },
        { { 0x66, 0x8b, 0x08 }, 3, REG_RCX, REG_RAX, 0x112233445566ffffull },
        { { 0x8a, 0x2b }, 2, REG_RCX, REG_RBX, 0x112233445566ff88ull },      /* mov ch,[ebx] */
        { { 0xa1, 1, 2, 3, 4 }, 5, REG_RAX, NO_ADDR_REG, 0xffffffffull },
        { { 0x0f, 0xbe, 0x08 }, 3, REG_RCX, REG_RAX, 0xffffffffull },
        { { 0x66, 0x0f, 0xb6, 0x08 }, 4, REG_RCX, REG_RAX, 0x11223344556600ffull },
    };
    prot32_mode();
    run_load_cases(prot32, sizeof(prot32) / sizeof(prot32[0]), 0xfee00000);

    static const struct load_case real[] = {
        { { 0x8b, 0x07 }, 2, REG_RAX, REG_RBX, 0x112233445566ffffull },      /* mov ax,[bx] */
        { { 0x66, 0x8b, 0x07 }, 3, REG_RAX, REG_RBX, 0xffffffffull },
        { { 0x8a, 0x26, 0x34, 0x12 }, 4, REG_RAX, NO_ADDR_REG, 0x112233445566ff88ull }, /* mov ah,[1234] */
        { { 0xa0, 0x34, 0x12 }, 3, REG_RAX, NO_ADDR_REG, 0x11223344556677ffull },
        { { 0x67, 0x66, 0xa1, 1, 2, 3, 4 }, 7, REG_RAX, NO_ADDR_REG, 0xffffffffull },
        { { 0x0f, 0xb6, 0x07 }, 3, REG_RAX, REG_RBX, 0x11223344556600ffull },
        { { 0x66, 0x0f, 0xbf, 0x07 }, 4, REG_RAX, REG_RBX, 0xffffffffull },
    };
    real_mode();
    vmcs_write(VMCS_GUEST_DS_BASE, RAM_SIZE);     /* DS:0x1000 and DS:0x1234 lie past RAM */
    run_load_cases(real, sizeof(real) / sizeof(real[0]), 0x1000);
    assert_int_equal(dev_ops, 0);
}

/* ---- stores ---- */

static void test_stores_dropped(void **state)
{
    (void)state;
    static const struct { uint8_t b[15]; uint8_t len; } stores[] = {
        { { 0x88, 0x08 }, 2 }, { { 0x88, 0x23 }, 2 }, { { 0x89, 0x08 }, 2 }, { { 0x66, 0x89, 0x08 }, 3 },
        { { 0x48, 0x89, 0x08 }, 3 }, { { 0xc6, 0x00, 0x5a }, 3 }, { { 0x66, 0xc7, 0x00, 1, 2 }, 5 },
        { { 0xc7, 0x00, 1, 2, 3, 4 }, 6 }, { { 0x48, 0xc7, 0x00, 1, 2, 3, 4 }, 7 },
        { { 0xa2, 0x40, 0, 0, 0x40, 0, 0, 0, 0 }, 9 }, { { 0x48, 0xa3, 0x40, 0, 0, 0x40, 0, 0, 0, 0 }, 10 },
        { { 0x0f, 0xc3, 0x08 }, 3 },
    };
    for (size_t i = 0; i < RAM_SIZE; i += 8)
        if (i < PT_FIRST || i >= PT_END)
            put64(i, i * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        code(stores[i].b, stores[i].len);
        uint8_t *before = malloc(RAM_SIZE);
        memcpy(before, vm->ram, RAM_SIZE);
        for (unsigned r = 0; r < 16; r++)
            set_reg(r, INIT);
        set_reg(REG_RAX, EMPTY + 0x40);
        set_reg(REG_RBX, EMPTY + 0x40);
        run_done(stores[i].b, stores[i].len, EMPTY + 0x40);
        /* Only accessed bits in the page tables may change */
        assert_memory_equal(before, vm->ram, PT_FIRST);
        assert_memory_equal(before + PT_END, vm->ram + PT_END, RAM_SIZE - PT_END);
        for (unsigned r = 0; r < 16; r++)
            assert_int_equal(reg(r), r == REG_RAX || r == REG_RBX ? EMPTY + 0x40 : INIT);
        free(before);
    }
    assert_int_equal(dev_ops, 0);
}

static void test_device_region(void **state)
{
    (void)state;
    set_reg(REG_RCX, 0x99887766deadbeefull);
    set_reg(REG_RAX, 0x1234);
    set_reg(REG_RSI, 0x77);
    set_reg(REG_RBX, DEV + 0x10);
    run(BYTES(0x89, 0x0b));                                  /* mov [rbx], ecx */
    expect_dev_op(0, 1, 0x10, 4, 0xdeadbeef);
    set_reg(REG_RBX, DEV + 0x11);
    run(BYTES(0x88, 0x23));                                  /* mov [rbx], ah */
    expect_dev_op(1, 1, 0x11, 1, 0x12);
    set_reg(REG_RBX, DEV + 0x12);
    run(BYTES(0x40, 0x88, 0x33));                            /* mov [rbx], sil */
    expect_dev_op(2, 1, 0x12, 1, 0x77);
    set_reg(REG_RBX, DEV + 0x14);
    run(BYTES(0x66, 0x89, 0x0b));
    expect_dev_op(3, 1, 0x14, 2, 0xbeef);
    set_reg(REG_RBX, DEV + 0x18);
    run(BYTES(0x48, 0x89, 0x0b));
    expect_dev_op(4, 1, 0x18, 8, 0x99887766deadbeefull);
    set_reg(REG_RBX, DEV + 0x20);
    run(BYTES(0xc6, 0x03, 0x5a));
    expect_dev_op(5, 1, 0x20, 1, 0x5a);
    set_reg(REG_RBX, DEV + 0x28);
    run(BYTES(0x48, 0xc7, 0x03, 0, 0, 0, 0x80));
    expect_dev_op(6, 1, 0x28, 8, 0xffffffff80000000ull);
    set_reg(REG_RBX, DEV + 0x30);
    run(BYTES(0x66, 0xc7, 0x03, 0x34, 0x12));
    expect_dev_op(7, 1, 0x30, 2, 0x1234);
    run(BYTES(0xa3, 0x10, 0, 0xd0, 0xfe, 0, 0, 0, 0));       /* mov [moffs], eax */
    expect_dev_op(8, 1, 0x10, 4, 0x1234);

    /* reads: what the device returns beyond the access size is dropped */
    dev_read_value = 0x8877665544338001ull;
    set_reg(REG_RBX, DEV + 0x40);
    run(BYTES(0x8b, 0x0b));
    expect_dev_op(9, 0, 0x40, 4, 0);
    assert_int_equal(reg(REG_RCX), 0x44338001);
    set_reg(REG_RBX, DEV + 0x42);
    run(BYTES(0x0f, 0xbf, 0x0b));
    expect_dev_op(10, 0, 0x42, 2, 0);
    assert_int_equal(reg(REG_RCX), 0xffff8001);
    set_reg(REG_RBX, DEV + 0x43);
    run(BYTES(0x8a, 0x3b));                                  /* mov bh, [rbx] */
    expect_dev_op(11, 0, 0x43, 1, 0);
    assert_int_equal(reg(REG_RBX), DEV + 0x0143);
    set_reg(REG_RBX, DEV + 0x48);
    run(BYTES(0x48, 0x8b, 0x0b));
    expect_dev_op(12, 0, 0x48, 8, 0);
    assert_int_equal(reg(REG_RCX), 0x8877665544338001ull);
    assert_int_equal(dev_ops, 13);
}

/* ---- the bus itself ---- */

static void test_gpa_bus(void **state)
{
    (void)state;
    /* empty bus: all ones of the access size */
    assert_int_equal(gpa_read(vm, EMPTY, 1), 0xff);
    assert_int_equal(gpa_read(vm, EMPTY, 2), 0xffff);
    assert_int_equal(gpa_read(vm, EMPTY, 4), 0xffffffffull);
    assert_int_equal(gpa_read(vm, EMPTY, 8), ~0ull);
    /* the top of the address space does not wrap around to RAM at 0 */
    vm->ram[0] = 0x3c;
    assert_int_equal(gpa_read(vm, ~0ull - 3, 8), ~0ull);
    gpa_write(vm, ~0ull, 8, 0x1111111111111111ull);
    assert_int_equal(vm->ram[0], 0x3c);
    assert_int_equal(vm->ram[1], 0);
    /* RAM */
    gpa_write(vm, DATA, 8, 0x0102030405060708ull);
    assert_int_equal(gpa_read(vm, DATA, 8), 0x0102030405060708ull);
    assert_int_equal(gpa_read(vm, DATA + 1, 2), 0x0607);
    /* straddling the end of RAM: byte by byte */
    gpa_write(vm, RAM_SIZE - 2, 4, 0xaabbccddull);
    assert_int_equal(vm->ram[RAM_SIZE - 2], 0xdd);
    assert_int_equal(vm->ram[RAM_SIZE - 1], 0xcc);
    assert_int_equal(gpa_read(vm, RAM_SIZE - 2, 4), 0xffffccddull);
    assert_int_equal(gpa_read(vm, RAM_SIZE - 1, 8), 0xffffffffffffffccull);
    /* straddling the start and end of a device: device sees byte accesses at its offsets */
    dev_read_value = 0x5a;
    assert_int_equal(gpa_read(vm, DEV - 2, 4), 0x5a5affffull);
    expect_dev_op(0, 0, 0, 1, 0);
    expect_dev_op(1, 0, 1, 1, 0);
    gpa_write(vm, DEV + 0xffe, 4, 0x11223344);
    expect_dev_op(2, 1, 0xffe, 1, 0x44);
    expect_dev_op(3, 1, 0xfff, 1, 0x33);
    assert_int_equal(dev_ops, 4);
    /* a wide device read is masked to the access size */
    dev_read_value = ~0ull;
    assert_int_equal(gpa_read(vm, DEV, 2), 0xffff);
    expect_dev_op(4, 0, 0, 2, 0);
    /* sizes outside 1..8 do nothing */
    gpa_write(vm, DATA, 0, 0);
    gpa_write(vm, DATA, 9, 0);
    assert_int_equal(gpa_read(vm, DATA, 8), 0x0102030405060708ull);
    assert_int_equal(dev_ops, 5);
}

static void test_gpa_add_mmio(void **state)
{
    (void)state;
    /* DEV [0xfed00000, +0x1000) is registered by setup */
    assert_int_equal(gpa_add_mmio(vm, RAM_SIZE - 0x1000, 0x1000, &dev_mmio, NULL), -1);  /* RAM */
    assert_int_equal(gpa_add_mmio(vm, 0, 1, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(vm, RAM_SIZE, 0, &dev_mmio, NULL), -1);               /* empty */
    assert_int_equal(gpa_add_mmio(vm, DEV + 0xfff, 1, &dev_mmio, NULL), -1);           /* overlap */
    assert_int_equal(gpa_add_mmio(vm, DEV - 1, 2, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(vm, DEV - 0x100, 0x10000, &dev_mmio, NULL), -1);     /* covers */
    assert_int_equal(gpa_add_mmio(vm, ~0ull - 0xff, 0x200, &dev_mmio, NULL), -1);      /* wraps */
    assert_int_equal(gpa_add_mmio(vm, 1ull << 40, ~0ull, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(vm, RAM_SIZE, 0x1000, NULL, NULL), -1);
    static const struct mmio_ops half = { dev_read, NULL };
    assert_int_equal(gpa_add_mmio(vm, RAM_SIZE, 0x1000, &half, NULL), -1);
    assert_int_equal(vm->bus.mmio.count, 1);
    /* adjacent regions and one ending at the very top are fine */
    assert_int_equal(gpa_add_mmio(vm, DEV + 0x1000, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(gpa_add_mmio(vm, RAM_SIZE, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(gpa_add_mmio(vm, ~0ull - 0xfff, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(vm->bus.mmio.count, 4);
    /* no fixed count: a fifth region is fine */
    assert_int_equal(gpa_add_mmio(vm, 0x100000000ull, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(vm->bus.mmio.count, 5);
    /* the top region works; a read running past its end (and the address space) gets the
     * region's bytes and empty-bus ones, never RAM at 0 */
    dev_read_value = 0x42;
    assert_int_equal(gpa_read(vm, ~0ull - 3, 4), 0x42);
    expect_dev_op(0, 0, 0xffc, 4, 0);
    assert_int_equal(gpa_read(vm, ~0ull - 1, 4), 0xffff4242ull);
    expect_dev_op(1, 0, 0xffe, 1, 0);
    expect_dev_op(2, 0, 0xfff, 1, 0);
    assert_int_equal(dev_ops, 3);
}

/* ---- string instructions ---- */

static void test_rep_stos_empty_bus_and_ram(void **state)
{
    (void)state;
    set_reg(REG_RAX, 0x0102030405060708ull);
    set_reg(REG_RCX, 10);
    set_reg(REG_RDI, EMPTY);
    run_done(BYTES(0xf3, 0x48, 0xab), EMPTY);
    assert_int_equal(reg(REG_RCX), 0);
    assert_int_equal(reg(REG_RDI), EMPTY + 80);
    assert_int_equal(reg(REG_RAX), 0x0102030405060708ull);

    /* across the end of RAM: the RAM part is written, the rest dropped */
    set_reg(REG_RCX, 4);
    set_reg(REG_RDI, RAM_SIZE - 16);
    run_done(BYTES(0xf3, 0x48, 0xab), RAM_SIZE);
    assert_int_equal(get64(RAM_SIZE - 16), 0x0102030405060708ull);
    assert_int_equal(get64(RAM_SIZE - 8), 0x0102030405060708ull);
    assert_int_equal(reg(REG_RDI), RAM_SIZE + 16);

    /* single STOS of each width into a device: RCX untouched */
    set_reg(REG_RCX, 0x77);
    set_reg(REG_RDI, DEV + 0x20);
    run_done(BYTES(0xaa), DEV + 0x20);
    run_done(BYTES(0x66, 0xab), DEV + 0x21);
    run_done(BYTES(0xab), DEV + 0x23);
    run_done(BYTES(0x48, 0xab), DEV + 0x27);
    expect_dev_op(0, 1, 0x20, 1, 0x08);
    expect_dev_op(1, 1, 0x21, 2, 0x0708);
    expect_dev_op(2, 1, 0x23, 4, 0x05060708);
    expect_dev_op(3, 1, 0x27, 8, 0x0102030405060708ull);
    assert_int_equal(reg(REG_RDI), DEV + 0x2f);
    assert_int_equal(reg(REG_RCX), 0x77);

    /* REP with RCX = 0 does nothing but move RIP */
    set_reg(REG_RCX, 0);
    run_done(BYTES(0xf3, 0xaa), DEV);
    assert_int_equal(reg(REG_RDI), DEV + 0x2f);
    assert_int_equal(dev_ops, 4);
}

static void test_rep_movs_both_directions(void **state)
{
    (void)state;
    /* empty bus -> RAM, forwards */
    memset(vm->ram + DATA, 0, 64);
    set_reg(REG_RSI, EMPTY);
    set_reg(REG_RDI, DATA);
    set_reg(REG_RCX, 8);
    run_done(BYTES(0xf3, 0xa4), EMPTY);
    assert_int_equal(get64(DATA), ~0ull);
    assert_int_equal(vm->ram[DATA + 8], 0);
    assert_int_equal(reg(REG_RSI), EMPTY + 8);
    assert_int_equal(reg(REG_RDI), DATA + 8);
    assert_int_equal(reg(REG_RCX), 0);

    /* DF=1: backwards, dwords */
    memset(vm->ram + DATA, 0, 64);
    vmcs_write(VMCS_GUEST_RFLAGS, 2 | RFLAGS_DF);
    set_reg(REG_RSI, EMPTY + 0x100);
    set_reg(REG_RDI, DATA + 0x10);
    set_reg(REG_RCX, 4);
    run_done(BYTES(0xf3, 0xa5), EMPTY + 0x100);
    assert_int_equal(get32(DATA), 0);
    assert_int_equal(get32(DATA + 4), 0xffffffff);
    assert_int_equal(get32(DATA + 0x10), 0xffffffff);
    assert_int_equal(get32(DATA + 0x14), 0);
    assert_int_equal(reg(REG_RSI), EMPTY + 0xf0);
    assert_int_equal(reg(REG_RDI), DATA);

    /* RAM -> device, backwards, words */
    for (unsigned i = 0; i < 16; i++)
        vm->ram[DATA + i] = (uint8_t)(0xa0 + i);
    set_reg(REG_RSI, DATA + 6);
    set_reg(REG_RDI, DEV + 0x106);
    set_reg(REG_RCX, 3);
    run_done(BYTES(0xf3, 0x66, 0xa5), DEV + 0x106);
    expect_dev_op(0, 1, 0x106, 2, 0xa7a6);
    expect_dev_op(1, 1, 0x104, 2, 0xa5a4);
    expect_dev_op(2, 1, 0x102, 2, 0xa3a2);
    assert_int_equal(reg(REG_RSI), DATA);
    assert_int_equal(reg(REG_RDI), DEV + 0x100);

    /* device -> device, forwards, one qword, no REP */
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    dev_read_value = 0xfeedfacecafebeefull;
    set_reg(REG_RSI, DEV + 0x200);
    set_reg(REG_RDI, DEV + 0x300);
    set_reg(REG_RCX, 5);
    run_done(BYTES(0x48, 0xa5), DEV + 0x200);
    expect_dev_op(3, 0, 0x200, 8, 0);
    expect_dev_op(4, 1, 0x300, 8, 0xfeedfacecafebeefull);
    assert_int_equal(reg(REG_RCX), 5);
    assert_int_equal(reg(REG_RSI), DEV + 0x208);
    assert_int_equal(reg(REG_RDI), DEV + 0x308);
}

static void test_string_address_size(void **state)
{
    (void)state;
    /* 64-bit code with a 32-bit address size: EDI/ECX, written back zero-extended */
    set_reg(REG_RDI, 0xab00000000ull | EMPTY);
    set_reg(REG_RCX, 0xff00000002ull);
    run_done(BYTES(0x67, 0xf3, 0xaa), EMPTY);
    assert_int_equal(reg(REG_RDI), EMPTY + 2);
    assert_int_equal(reg(REG_RCX), 0);

    /* real mode: DI wraps at 64 KiB inside ES, upper register bits kept */
    real_mode();
    vmcs_write(VMCS_GUEST_ES_BASE, 0x10000);
    set_reg(REG_RAX, 0x1234);
    set_reg(REG_RDI, 0xaaaa00000000fffeull);
    set_reg(REG_RCX, 0x5555000000000002ull);
    run_done(BYTES(0xf3, 0xab), 0x1fffe);
    assert_int_equal(vm->ram[0x1fffe], 0x34);
    assert_int_equal(vm->ram[0x1ffff], 0x12);
    assert_int_equal(vm->ram[0x10000], 0x34);
    assert_int_equal(vm->ram[0x10001], 0x12);
    assert_int_equal(reg(REG_RDI), 0xaaaa000000000002ull);
    assert_int_equal(reg(REG_RCX), 0x5555000000000000ull);
}

static void test_string_segments(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 16; i++)
        vm->ram[DATA + i] = (uint8_t)(0x10 + i);
    /* 32-bit: DS by default, an override replaces it, the destination is always ES */
    prot32_mode();
    vmcs_write(VMCS_GUEST_DS_BASE, DATA);
    vmcs_write(VMCS_GUEST_FS_BASE, DATA + 8);
    vmcs_write(VMCS_GUEST_ES_BASE, DEV);
    set_reg(REG_RSI, 1);
    set_reg(REG_RDI, 4);
    run_done(BYTES(0xa4), DEV + 4);
    expect_dev_op(0, 1, 4, 1, 0x11);
    run_done(BYTES(0x64, 0xa4), DEV + 5);
    expect_dev_op(1, 1, 5, 1, 0x1a);
    run_done(BYTES(0x26, 0xa4), DEV + 6);       /* ES source override: reads the device */
    expect_dev_op(2, 0, 3, 1, 0);
    expect_dev_op(3, 1, 6, 1, 0);
    /* ES base applies to STOS destination even with an override */
    set_reg(REG_RAX, 0x99);
    run_done(BYTES(0x64, 0xaa), DEV + 7);
    expect_dev_op(4, 1, 7, 1, 0x99);

    /* 64-bit: only FS/GS bases count, DS/ES ones are ignored */
    long_mode();
    vmcs_write(VMCS_GUEST_GS_BASE, DATA + 4);
    vmcs_write(VMCS_GUEST_DS_BASE, 0x12345000);
    vmcs_write(VMCS_GUEST_ES_BASE, 0x12345000);
    set_reg(REG_RSI, DATA);
    set_reg(REG_RDI, DEV + 0x10);
    run_done(BYTES(0x3e, 0xa4), DEV + 0x10);
    expect_dev_op(5, 1, 0x10, 1, 0x10);
    set_reg(REG_RSI, 0);
    run_done(BYTES(0x65, 0xa4), DEV + 0x11);
    expect_dev_op(6, 1, 0x11, 1, 0x14);
}

static void test_string_page_fault(void **state)
{
    (void)state;
    /* STOS: two elements land in RAM, the third hits the unmapped page */
    set_reg(REG_RAX, 0x5a5a5a5a5a5a5a5aull);
    set_reg(REG_RDI, HOLE - 16);
    set_reg(REG_RCX, 4);
    code(BYTES(0xf3, 0x48, 0xab));
    assert_int_equal(mmio_emulate(vcpu, HOLE - 16), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 2);
    assert_int_equal(reg(REG_RDI), HOLE);
    assert_int_equal(get64(HOLE - 16), 0x5a5a5a5a5a5a5a5aull);
    assert_int_equal(get64(HOLE), 0);
    assert_int_equal(vcpu->cr2, HOLE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_PF);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 2);    /* write, not present */

    /* MOVS with an unmapped source: a read fault, nothing written */
    soft_vmcs_reset();
    long_mode();
    set_reg(REG_RSI, HOLE + 8);
    set_reg(REG_RDI, DEV);
    set_reg(REG_RCX, 1);
    code(BYTES(0xf3, 0xa4));
    assert_int_equal(mmio_emulate(vcpu, DEV), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 1);
    assert_int_equal(vcpu->cr2, HOLE + 8);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(dev_ops, 0);

    /* a non-canonical destination is #GP(0), not #PF */
    soft_vmcs_reset();
    long_mode();
    set_reg(REG_RDI, 0x0000800000000000ull);
    code(BYTES(0xaa));
    assert_int_equal(mmio_emulate(vcpu, EMPTY), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
}

static void test_rep_cut_off(void **state)
{
    (void)state;
    const uint64_t n = MMIO_REP_ELEMENTS_PER_EXIT;
    assert_true(n <= 256);                              /* one exit: a small part of a slice */
    set_reg(REG_RDI, EMPTY);
    set_reg(REG_RCX, 2 * n + 100);
    code(BYTES(0xf3, 0xaa));
    for (uint64_t done = 0; done < 2 * n; done += n) {
        assert_int_equal(mmio_emulate(vcpu, EMPTY + done), EXIT_CONTINUE);
        assert_int_equal(rip(), code_rip);              /* re-executed by the CPU */
        assert_int_equal(reg(REG_RCX), 2 * n + 100 - done - n);
        assert_int_equal(reg(REG_RDI), EMPTY + done + n);
        vcpu_commit_events(vcpu);
        assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    }
    assert_int_equal(mmio_emulate(vcpu, EMPTY + 2 * n), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip + 2);
    assert_int_equal(reg(REG_RCX), 0);
    assert_int_equal(reg(REG_RDI), EMPTY + 2 * n + 100);
    /* exactly one batch finishes in one exit */
    set_reg(REG_RCX, n);
    run_done(BYTES(0xf3, 0xaa), EMPTY);
    assert_int_equal(reg(REG_RCX), 0);
}

/* ---- fetching and refusing ---- */

static void test_undecodable_stops_guest(void **state)
{
    (void)state;
    code(BYTES(0x90, 0x90, 0x0f, 0x0b));
    assert_int_equal(mmio_emulate(vcpu, EMPTY), EXIT_STOP);
    assert_int_equal(vm->state, VM_ENDED);
    assert_int_equal(vm->outcome, OUTCOME_STOPPED);
    assert_non_null(strstr(vm->stop_reason, "cannot emulate instruction at RIP 100000: bytes 90 90 0f 0b"));
    assert_non_null(strstr(host_console(), "cannot emulate instruction at RIP 100000"));
    assert_int_equal(rip(), code_rip);
}

static void test_lock_on_a_move_is_ud(void **state)
{
    (void)state;
    set_reg(REG_RAX, DEV);
    run_fault(BYTES(0xf0, 0x89, 0x08), VEC_UD, false, 0);
    assert_int_equal(vm->state, VM_RUNNING);
}

static void test_fetch_faults(void **state)
{
    (void)state;
    /* RIP itself unmapped: the fetch #PF (I/D with NXE) */
    vmcs_write(VMCS_GUEST_EFER, (1u << 8) | (1u << 10) | (1u << 11));
    vmcs_write(VMCS_GUEST_RIP, HOLE + 0x10);
    assert_int_equal(mmio_emulate(vcpu, EMPTY), EXIT_CONTINUE);
    assert_int_equal(vcpu->cr2, HOLE + 0x10);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x10);
    assert_int_equal(rip(), HOLE + 0x10);
    assert_int_equal(vm->state, VM_RUNNING);

    /* an instruction cut by the unmapped page after it: that page's #PF */
    soft_vmcs_reset();
    long_mode();
    memcpy(vm->ram + HOLE - 2, "\x48\x8b", 2);
    vmcs_write(VMCS_GUEST_RIP, HOLE - 2);
    assert_int_equal(mmio_emulate(vcpu, EMPTY), EXIT_CONTINUE);
    assert_int_equal(vcpu->cr2, HOLE);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(rip(), HOLE - 2);

    /* a complete instruction just before the unmapped page runs */
    soft_vmcs_reset();
    long_mode();
    memcpy(vm->ram + HOLE - 2, "\x89\x08", 2);
    set_reg(REG_RCX, 0xabcd);
    set_reg(REG_RAX, DEV);
    vmcs_write(VMCS_GUEST_RIP, HOLE - 2);
    assert_int_equal(mmio_emulate(vcpu, DEV), EXIT_CONTINUE);
    assert_int_equal(rip(), HOLE);
    expect_dev_op(0, 1, 0, 4, 0xabcd);
    vcpu_commit_events(vcpu);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);

    /* garbage just before the unmapped page is still garbage: stop, naming the bytes */
    soft_vmcs_reset();
    long_mode();
    vm->ram[HOLE - 1] = 0xcc;
    vmcs_write(VMCS_GUEST_RIP, HOLE - 1);
    assert_int_equal(mmio_emulate(vcpu, DEV), EXIT_STOP);
    assert_non_null(strstr(vm->stop_reason, "RIP 17ffff: bytes cc"));
}

static void test_instruction_across_pages(void **state)
{
    (void)state;
    /* 48 c7 00 imm32 split over two mapped pages that are not physically adjacent:
     * linear DATA+0xffe.. maps to DATA+0xffe and DATA+0x1000 here, so remap the second page */
    put64(0x4000 + ((DATA + 0x1000) >> 12) * 8, 0x60000 | 3);
    memcpy(vm->ram + DATA + 0xffe, "\x48\xc7\x00", 2);
    memcpy(vm->ram + 0x60000, "\x00\x78\x56\x34\x12", 5);
    set_reg(REG_RAX, DEV + 8);
    vmcs_write(VMCS_GUEST_RIP, DATA + 0xffe);
    assert_int_equal(mmio_emulate(vcpu, DEV + 8), EXIT_CONTINUE);
    assert_int_equal(rip(), DATA + 0xffe + 7);
    expect_dev_op(0, 1, 8, 8, 0x12345678);
}

/* ---- where the operand is: the exit's translation, the guest's paging, page boundaries ---- */

static void test_exit_translation_spares_the_walk(void **state)
{
    (void)state;
    /* HOLE is not mapped: a walk would fault. The exit says the CPU translated it to the device
     * (the CPU may hold a translation the page tables no longer have): that is what counts. */
    set_reg(REG_RAX, HOLE + 0x10);
    set_reg(REG_RCX, 0x55);
    cpu_exit(HOLE + 0x10, true);
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    expect_dev_op(0, 1, 0x10, 4, 0x55);
    cpu_exit(HOLE + 0x10, false);
    dev_read_value = 0x1234;
    run_done(BYTES(0x8b, 0x08), DEV + 0x10);
    expect_dev_op(1, 0, 0x10, 4, 0);
    assert_int_equal(reg(REG_RCX), 0x1234);

    /* Anything else is translated through the guest's paging, as the CPU would translate it. */
    set_reg(REG_RAX, EMPTY + 0x10);
    cpu_exit(EMPTY + 0x20, true);                    /* another linear address */
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    cpu_exit(EMPTY + 0x10, false);                   /* a read for a write */
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    cpu_exit(EMPTY + 0x10, true);                    /* a write for a read */
    run_done(BYTES(0x8b, 0x08), DEV + 0x10);
    assert_int_equal(reg(REG_RCX), 0xffffffff);
    vmcs_write(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE | EPT_QUAL_LINEAR_VALID);  /* a page walk's */
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    vmcs_write(VMCS_EXIT_QUALIFICATION, EPT_QUAL_WRITE | EPT_QUAL_TRANSLATION);   /* no linear address */
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    /* an access that crosses a page is never the exit's alone */
    set_reg(REG_RAX, EMPTY + 0xffe);
    cpu_exit(EMPTY + 0xffe, true);
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    assert_int_equal(dev_ops, 2);
}

static void test_operand_page_faults(void **state)
{
    (void)state;
    /* unmapped: #PF with the access's error code and CR2, nothing moved */
    set_reg(REG_RAX, HOLE + 8);
    run_fault(BYTES(0x89, 0x08), VEC_PF, true, 2);
    assert_int_equal(vcpu->cr2, HOLE + 8);
    run_fault(BYTES(0x8b, 0x08), VEC_PF, true, 0);
    run_fault(BYTES(0x39, 0x08), VEC_PF, true, 0);              /* cmp only reads */
    run_fault(BYTES(0x01, 0x08), VEC_PF, true, 2);              /* add writes */

    /* a read-only page: reads work, a read-modify-write faults before it reads the device */
    uint64_t ro = 0x1f0000;                                     /* linear, in the 4 KiB-mapped MiB */
    put64(0x4000 + (ro >> 12) * 8, DEV | 1);
    set_reg(REG_RAX, ro + 0x20);
    run_fault(BYTES(0x01, 0x08), VEC_PF, true, 3);
    run_fault(BYTES(0x0f, 0xab, 0x08), VEC_PF, true, 3);        /* bts */
    run_fault(BYTES(0x87, 0x08), VEC_PF, true, 3);              /* xchg */
    run_fault(BYTES(0x0f, 0xb1, 0x08), VEC_PF, true, 3);        /* cmpxchg writes even when unequal */
    run(BYTES(0x39, 0x08));
    run(BYTES(0x0f, 0xa3, 0x08));                               /* bt */
    expect_dev_op(0, 0, 0x20, 4, 0);
    expect_dev_op(1, 0, 0x20, 4, 0);
    assert_int_equal(dev_ops, 2);

    /* paging structures outside RAM read as all ones: reserved bits, #PF with RSVD */
    put64(0x3000 + 3 * 8, EMPTY | 7);                           /* the PDE for 6-8 MiB */
    set_reg(REG_RAX, 0x600010);
    run_fault(BYTES(0x89, 0x08), VEC_PF, true, 0xb);
    assert_int_equal(vcpu->cr2, 0x600010);
}

static void test_access_across_pages(void **state)
{
    (void)state;
    /* a dword over the end of a RAM page into a page mapped to the device */
    put64(0x4000 + ((DATA + 0x1000) >> 12) * 8, DEV | 3);
    memset(vm->ram + DATA + 0xff0, 0, 0x20);
    set_reg(REG_RAX, DATA + 0xffe);
    set_reg(REG_RCX, 0x44332211);
    run(BYTES(0x89, 0x08));
    assert_int_equal(vm->ram[DATA + 0xffe], 0x11);
    assert_int_equal(vm->ram[DATA + 0xfff], 0x22);
    expect_dev_op(0, 1, 0, 2, 0x4433);
    assert_int_equal(vm->ram[DATA + 0x1000], 0);                 /* RAM behind the device page untouched */
    /* and read back: RAM bytes, then the device's */
    dev_read_value = 0xbeef;
    run(BYTES(0x8b, 0x08));
    assert_int_equal(reg(REG_RCX), 0xbeef2211);
    /* a read-modify-write across: one read of each part, then one write of each */
    run(BYTES(0x83, 0x00, 0x01));                               /* add dword [rax], 1 */
    expect_dev_op(2, 0, 0, 2, 0);
    expect_dev_op(3, 1, 0, 2, 0xbeef);
    assert_int_equal(vm->ram[DATA + 0xffe], 0x12);
    assert_int_equal(dev_ops, 4);

    /* the second page unmapped: #PF for it (CR2 = its first byte), the first page untouched */
    memset(vm->ram + HOLE - 4, 0x5a, 4);
    set_reg(REG_RAX, HOLE - 2);
    run_fault(BYTES(0x89, 0x08), VEC_PF, true, 2);
    assert_int_equal(vcpu->cr2, HOLE);
    assert_int_equal(get32(HOLE - 4), 0x5a5a5a5a);
}

static void test_canonical_and_alignment_checks(void **state)
{
    (void)state;
    set_reg(REG_RAX, 0x0000800000000000ull);
    run_fault(BYTES(0x89, 0x08), VEC_GP, true, 0);
    set_reg(REG_RAX, 0x00007ffffffffffeull);                    /* the last two bytes are not */
    run_fault(BYTES(0x89, 0x08), VEC_GP, true, 0);
    set_reg(REG_RAX, 0xffff7fffffffffffull);
    run_fault(BYTES(0x8a, 0x08), VEC_GP, true, 0);
    /* stack references (RSP/RBP base) raise #SS instead; R12/R13 bases do not */
    vmcs_write(VMCS_GUEST_RSP, 0x8000000000000000ull);
    run_fault(BYTES(0x89, 0x0c, 0x24), VEC_SS, true, 0);        /* mov [rsp], ecx */
    set_reg(REG_RBP, 0x8000000000000000ull);
    run_fault(BYTES(0x89, 0x4d, 0x00), VEC_SS, true, 0);        /* mov [rbp+0], ecx */
    run_fault(BYTES(0x64, 0x89, 0x4d, 0x00), VEC_GP, true, 0);  /* fs:[rbp] is not a stack reference */
    set_reg(REG_R13, 0x8000000000000000ull);
    run_fault(BYTES(0x41, 0x89, 0x4d, 0x00), VEC_GP, true, 0);
    /* LA57 widens the canonical range (a PML5 table at 0x5000 over the same PML4) */
    put64(0x5000, 0x1000 | 7);
    vmcs_write(VMCS_GUEST_CR3, 0x5000);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_LA57);
    set_reg(REG_RAX, 0x0000800000000000ull);
    run_fault(BYTES(0x89, 0x08), VEC_PF, true, 2);              /* canonical now: not mapped */
    assert_int_equal(vcpu->cr2, 0x0000800000000000ull);
    set_reg(REG_RAX, 0x0100000000000000ull);
    run_fault(BYTES(0x89, 0x08), VEC_GP, true, 0);

    /* alignment checking: CPL 3 with CR0.AM and RFLAGS.AC, accesses up to 8 bytes */
    vmcs_write(VMCS_GUEST_CR3, 0x1000);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    put64(0x2000 + 3 * 8, (3ull << 30) | 0x87);                 /* the device's GiB, user pages */
    put64(0x4000 + (CODE >> 12) * 8, CODE | 7);                 /* and the code page */
    vmcs_write(VMCS_GUEST_CS_AR, 0xa0fb);
    vmcs_write(VMCS_GUEST_SS_AR, 0xc0f3);
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) | CR0_AM);
    vmcs_write(VMCS_GUEST_RFLAGS, 2 | RFLAGS_AC);
    set_reg(REG_RAX, DEV + 2);
    run_fault(BYTES(0x89, 0x08), VEC_AC, true, 0);
    run_fault(BYTES(0x66, 0x0f, 0x6e, 0x08), VEC_AC, true, 0);  /* movd: 4 bytes */
    run(BYTES(0x66, 0x89, 0x08));                               /* aligned for its size */
    run(BYTES(0x0f, 0x10, 0x08));                               /* movups: no #AC for 16 bytes */
    vmcs_write(VMCS_GUEST_RFLAGS, 2);
    run(BYTES(0x89, 0x08));
    assert_int_equal(dev_ops, 4);
}

/* ---- addressing ---- */

static void test_addressing_modes_64(void **state)
{
    (void)state;
    dev_read_value = 0x100;
    dev_read_step = 1;                          /* each read says where it landed */
    assert_int_equal(gpa_add_mmio(vm, NEAR, 0x1000, &dev_mmio, &dev_log), 0);

    set_reg(REG_RAX, DEV);
    set_reg(REG_RCX, 3);
    run(BYTES(0x8b, 0x54, 0x88, 0x10));                         /* mov edx,[rax+rcx*4+0x10] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x1c);
    set_reg(REG_R8, DEV + 0x100);
    set_reg(REG_R9, 2);
    run(BYTES(0x43, 0x8b, 0x54, 0xc8, 0xf8));                   /* mov edx,[r8+r9*8-8] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x108);
    set_reg(REG_R12, DEV + 0x200);
    run(BYTES(0x41, 0x8b, 0x14, 0x24));                         /* mov edx,[r12] (SIB) */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x200);
    set_reg(REG_R13, DEV + 0x300);
    run(BYTES(0x41, 0x8b, 0x95, 0x10, 0x01, 0, 0));             /* mov edx,[r13+0x110] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x410);
    vmcs_write(VMCS_GUEST_RSP, DEV + 0x500);
    run(BYTES(0x8b, 0x54, 0x24, 0x08));                         /* mov edx,[rsp+8] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x508);
    run(BYTES(0x8b, 0x15, 0x3a, 0x00, 0x20, 0x00));             /* mov edx,[rip+0x20003a]: NEAR+0x40 */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x40);
    run(BYTES(0x67, 0x8b, 0x14, 0x25, 0x30, 0x00, 0xd0, 0xfe)); /* disp32 only, 32-bit address */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x30);
    set_reg(REG_RAX, 0xabcd000000000000ull | DEV | 0x60);
    run(BYTES(0x67, 0x8b, 0x10));                               /* mov edx,[eax] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x60);
    /* FS and GS bases apply in 64-bit mode, DS and ES overrides do not */
    vmcs_write(VMCS_GUEST_FS_BASE, DEV + 0x700);
    vmcs_write(VMCS_GUEST_GS_BASE, DEV + 0x800);
    set_reg(REG_RAX, 0x20);
    run(BYTES(0x64, 0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x720);
    run(BYTES(0x65, 0x48, 0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x820);
    set_reg(REG_RAX, DEV + 0x20);
    run(BYTES(0x3e, 0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x20);
    /* RIP-relative with an immediate after the displacement counts from the instruction's end */
    run(BYTES(0xc7, 0x05, 0x36, 0x00, 0x20, 0x00, 0x78, 0x56, 0x34, 0x12));
    expect_dev_op(dev_ops - 1, 1, 0x40, 4, 0x12345678);
}

static void test_addressing_modes_legacy(void **state)
{
    (void)state;
    dev_read_value = 0x100;
    dev_read_step = 1;
    /* 32-bit: DS by default, SS with an EBP/ESP base, overrides, 4 GiB wrap */
    prot32_mode();
    vmcs_write(VMCS_GUEST_DS_BASE, DEV);
    vmcs_write(VMCS_GUEST_SS_BASE, DEV + 0x200);
    vmcs_write(VMCS_GUEST_ES_BASE, DEV + 0x300);
    set_reg(REG_RAX, 0x10);
    set_reg(REG_RBP, 0x10);
    run(BYTES(0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x10);
    run(BYTES(0x8b, 0x55, 0x04));                               /* mov edx,[ebp+4] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x214);
    vmcs_write(VMCS_GUEST_RSP, 0x20);
    run(BYTES(0x8b, 0x14, 0x24));                               /* mov edx,[esp] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x220);
    run(BYTES(0x26, 0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x310);
    run(BYTES(0x3e, 0x8b, 0x55, 0x04));                         /* ds:[ebp+4] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x14);
    vmcs_write(VMCS_GUEST_DS_BASE, 0xfff00000);
    set_reg(REG_RAX, DEV + 0x100000 + 0x40);                    /* wraps at 4 GiB to DEV + 0x40 */
    run(BYTES(0x8b, 0x10));
    assert_int_equal(reg(REG_RDX), 0x100 + 0x40);
    vmcs_write(VMCS_GUEST_DS_BASE, DEV);
    set_reg(REG_RBX, 0x10050);
    run(BYTES(0x67, 0x8b, 0x17));                               /* 16-bit addressing: [bx] */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x50);

    /* real mode: 16-bit forms, SS for BP, the 64 KiB wrap */
    real_mode();
    vmcs_write(VMCS_GUEST_DS_BASE, DEV);
    vmcs_write(VMCS_GUEST_SS_BASE, DEV + 0x400);
    set_reg(REG_RBX, 0x10);
    set_reg(REG_RSI, 0x20);
    run(BYTES(0x8b, 0x50, 0x04));                               /* mov dx,[bx+si+4] */
    assert_int_equal(reg(REG_RDX) & 0xffff, 0x100 + 0x34);
    set_reg(REG_RBP, 2);
    set_reg(REG_RDI, 4);
    run(BYTES(0x8b, 0x13));                                     /* mov dx,[bp+di] */
    assert_int_equal(reg(REG_RDX) & 0xffff, 0x100 + 0x406);
    set_reg(REG_RBX, 0xfff0);
    run(BYTES(0x66, 0x8b, 0x50, 0x20));                         /* mov edx,[bx+si+0x20]: wraps */
    assert_int_equal(reg(REG_RDX), 0x100 + 0x30);
    set_reg(REG_RBX, 0x40);
    run(BYTES(0x67, 0x8b, 0x14, 0x5e));                         /* 32-bit addressing: [esi+ebx*2] */
    assert_int_equal(reg(REG_RDX) & 0xffff, 0x100 + 0xa0);
    set_reg(REG_RSI, 0x10020);
    run(BYTES(0x67, 0x8b, 0x14, 0x5e));                         /* 0x100a0: past the device, no wrap */
    assert_int_equal(reg(REG_RDX) & 0xffff, 0xffff);
}

/* ---- ALU ---- */

#define ARITH_FLAGS(cf, pf, af, zf, sf, of) \
    (((cf) ? RFLAGS_CF : 0) | ((pf) ? RFLAGS_PF : 0) | ((af) ? RFLAGS_AF : 0) | ((zf) ? RFLAGS_ZF : 0) | \
     ((sf) ? RFLAGS_SF : 0) | ((of) ? RFLAGS_OF : 0))

static void test_alu_on_a_device(void **state)
{
    (void)state;
    const uint64_t keep = RFLAGS_FIXED1 | RFLAGS_IF | RFLAGS_DF;      /* not the ALU's to change */
    set_reg(REG_RBX, DEV + 0x40);
    set_reg(REG_RCX, 0xaaaaaaaa00000003ull);

    /* add [rbx], ecx: one read, one write of 4 bytes; CF and AF from 0xfffffffe + 3 */
    dev_read_value = 0xfffffffe;
    vmcs_write(VMCS_GUEST_RFLAGS, keep | RFLAGS_ZF | RFLAGS_OF);
    run(BYTES(0x01, 0x0b));
    expect_dev_op(0, 0, 0x40, 4, 0);
    expect_dev_op(1, 1, 0x40, 4, 1);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 0, 1, 0, 0, 0));
    /* or word [rbx], cx */
    dev_read_value = 0x8000;
    run(BYTES(0x66, 0x09, 0x0b));
    expect_dev_op(3, 1, 0x40, 2, 0x8003);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(0, 1, 0, 0, 1, 0));
    /* sub rcx, [rbx]: the register is the destination, the device is only read */
    dev_read_value = 0xaaaaaaaa00000004ull;
    run(BYTES(0x48, 0x2b, 0x0b));
    assert_int_equal(dev_ops, 5);
    expect_dev_op(4, 0, 0x40, 8, 0);
    assert_int_equal(reg(REG_RCX), ~0ull);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 1, 1, 0, 1, 0));
    /* add ecx, [rbx]: a 32-bit register result clears bits 63:32 */
    dev_read_value = 5;
    run(BYTES(0x03, 0x0b));
    assert_int_equal(reg(REG_RCX), 4);
    /* cmp [rbx], ecx and cmp cl, [rbx] and test [rbx], cl: reads only */
    dev_read_value = 4;
    run(BYTES(0x39, 0x0b));
    assert_int_equal(rflags(), keep | ARITH_FLAGS(0, 1, 0, 1, 0, 0));
    dev_read_value = 5;
    run(BYTES(0x3a, 0x0b));                                     /* 4 - 5 */
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 1, 1, 0, 1, 0));
    assert_int_equal(reg(REG_RCX), 4);
    run(BYTES(0x84, 0x0b));                                     /* 5 & 4 */
    assert_int_equal(rflags(), keep | ARITH_FLAGS(0, 0, 0, 0, 0, 0));
    run(BYTES(0xf6, 0x03, 0x02));                               /* test byte [rbx], 2 */
    assert_int_equal(rflags(), keep | ARITH_FLAGS(0, 1, 0, 1, 0, 0));
    run(BYTES(0x48, 0x83, 0x3b, 0x05));                         /* cmp qword [rbx], 5 */
    assert_int_equal(rflags(), keep | ARITH_FLAGS(0, 1, 0, 1, 0, 0));
    unsigned reads_only = dev_ops;
    for (unsigned i = 6; i < reads_only; i++)
        assert_int_equal(dev_log[i].write, 0);

    /* and byte [rbx], 0x0f; xor [rbx], ah; adc qword [rbx], -1 with CF; sbb word [rbx], imm16 */
    dev_read_value = 0x3c;
    run(BYTES(0x80, 0x23, 0x0f));
    expect_dev_op(dev_ops - 1, 1, 0x40, 1, 0x0c);
    set_reg(REG_RAX, 0x5a00);
    run(BYTES(0x30, 0x23));
    expect_dev_op(dev_ops - 1, 1, 0x40, 1, 0x66);
    vmcs_write(VMCS_GUEST_RFLAGS, keep | RFLAGS_CF);
    dev_read_value = 1;
    run(BYTES(0x48, 0x83, 0x13, 0xff));                         /* 1 + ~0 + 1 */
    expect_dev_op(dev_ops - 1, 1, 0x40, 8, 1);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 0, 1, 0, 0, 0));
    dev_read_value = 0x1234;
    run(BYTES(0x66, 0x81, 0x1b, 0x34, 0x12));                   /* 0x1234 - 0x1234 - 1 */
    expect_dev_op(dev_ops - 1, 1, 0x40, 2, 0xffff);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 1, 1, 0, 1, 0));
    /* inc keeps CF; neg; not changes no flag */
    dev_read_value = 0x7f;
    run(BYTES(0xfe, 0x03));
    expect_dev_op(dev_ops - 1, 1, 0x40, 1, 0x80);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 0, 1, 0, 1, 1));
    dev_read_value = 1;
    run(BYTES(0xf7, 0x1b));
    expect_dev_op(dev_ops - 1, 1, 0x40, 4, 0xffffffff);
    assert_int_equal(rflags(), keep | ARITH_FLAGS(1, 1, 1, 0, 1, 0));
    uint64_t before = rflags();
    dev_read_value = 0x00ff00ff00ff00ffull;
    run(BYTES(0x48, 0xf7, 0x13));
    expect_dev_op(dev_ops - 1, 1, 0x40, 8, 0xff00ff00ff00ff00ull);
    assert_int_equal(rflags(), before);
    dev_read_value = 0;
    run(BYTES(0xff, 0x0b));                                     /* dec dword */
    expect_dev_op(dev_ops - 1, 1, 0x40, 4, 0xffffffff);
    assert_int_equal(dev_log[dev_ops - 2].write, 0);

    /* on the empty bus: the read gives all ones, the write vanishes */
    set_reg(REG_RAX, EMPTY);
    unsigned ops = dev_ops;
    run(BYTES(0x83, 0x38, 0xff));                               /* cmp dword [rax], -1 */
    assert_int_equal(rflags() & RFLAGS_ARITH, ARITH_FLAGS(0, 1, 0, 1, 0, 0));
    run(BYTES(0x48, 0x83, 0x00, 0x01));                         /* add qword [rax], 1 */
    assert_int_equal(rflags() & RFLAGS_ARITH, ARITH_FLAGS(1, 1, 1, 1, 0, 0));
    assert_int_equal(dev_ops, ops);
}

static void test_xchg_cmpxchg_xadd(void **state)
{
    (void)state;
    set_reg(REG_RBX, DEV + 0x80);
    dev_read_value = 0x1111111122222222ull;
    /* xchg [rbx], ecx: RCX gets the old value zero-extended */
    set_reg(REG_RCX, 0xffffffff33333333ull);
    run(BYTES(0x87, 0x0b));
    expect_dev_op(0, 0, 0x80, 4, 0);
    expect_dev_op(1, 1, 0x80, 4, 0x33333333);
    assert_int_equal(reg(REG_RCX), 0x22222222);
    /* xchg [rbx], ah */
    set_reg(REG_RAX, 0x4455);
    run(BYTES(0xf0, 0x86, 0x23));
    expect_dev_op(3, 1, 0x80, 1, 0x44);
    assert_int_equal(reg(REG_RAX), 0x2255);
    assert_int_equal(dev_ops, 4);

    /* cmpxchg [rbx], ecx, equal: [rbx] <- ECX, ZF, RAX untouched (bits 63:32 too) */
    set_reg(REG_RAX, 0xdeadbeef22222222ull);
    set_reg(REG_RCX, 0x77);
    run(BYTES(0x0f, 0xb1, 0x0b));
    expect_dev_op(4, 0, 0x80, 4, 0);
    expect_dev_op(5, 1, 0x80, 4, 0x77);
    assert_int_equal(reg(REG_RAX), 0xdeadbeef22222222ull);
    assert_true(rflags() & RFLAGS_ZF);
    /* not equal: the old value is written back and loaded into EAX (zero-extended) */
    set_reg(REG_RAX, 0xdeadbeef22222223ull);
    run(BYTES(0xf0, 0x0f, 0xb1, 0x0b));
    expect_dev_op(6, 0, 0x80, 4, 0);
    expect_dev_op(7, 1, 0x80, 4, 0x22222222);
    assert_int_equal(reg(REG_RAX), 0x22222222);
    assert_int_equal(rflags() & RFLAGS_ARITH, ARITH_FLAGS(0, 0, 0, 0, 0, 0));
    /* byte and qword forms */
    set_reg(REG_RAX, 0x1234);
    run(BYTES(0x0f, 0xb0, 0x0b));
    expect_dev_op(9, 1, 0x80, 1, 0x22);
    assert_int_equal(reg(REG_RAX), 0x1222);
    set_reg(REG_RAX, 0x1111111122222222ull);
    run(BYTES(0x48, 0x0f, 0xb1, 0x0b));
    expect_dev_op(11, 1, 0x80, 8, 0x77);
    assert_int_equal(reg(REG_RAX), 0x1111111122222222ull);

    /* xadd [rbx], ecx: [rbx] <- sum, ECX <- old */
    set_reg(REG_RCX, 0xffffffff00000001ull);
    run(BYTES(0xf0, 0x0f, 0xc1, 0x0b));
    expect_dev_op(12, 0, 0x80, 4, 0);
    expect_dev_op(13, 1, 0x80, 4, 0x22222223);
    assert_int_equal(reg(REG_RCX), 0x22222222);
    set_reg(REG_RDX, 0xff00);
    run(BYTES(0x0f, 0xc0, 0x33));                               /* xadd [rbx], dh */
    expect_dev_op(15, 1, 0x80, 1, 0x21);
    assert_int_equal(reg(REG_RDX), 0x2200);
    assert_true(rflags() & RFLAGS_CF);
    assert_int_equal(dev_ops, 16);
}

static void test_bit_tests_on_a_device(void **state)
{
    (void)state;
    const uint64_t others = RFLAGS_FIXED1 | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF;
    set_reg(REG_RBX, DEV + 0x800);
    dev_read_value = 0x8000000000000008ull;
    /* bt [rbx], ecx with ECX = 35: the dword at +4, bit 3; only CF changes, nothing written */
    vmcs_write(VMCS_GUEST_RFLAGS, others);
    set_reg(REG_RCX, 0xffffffff00000023ull);
    run(BYTES(0x0f, 0xa3, 0x0b));
    expect_dev_op(0, 0, 0x804, 4, 0);
    assert_int_equal(rflags(), others | RFLAGS_CF);
    assert_int_equal(dev_ops, 1);
    /* bts [rbx], ecx with ECX = -1: the dword at -4, bit 31 */
    set_reg(REG_RCX, 0xffffffff);
    run(BYTES(0x0f, 0xab, 0x0b));
    expect_dev_op(1, 0, 0x7fc, 4, 0);
    expect_dev_op(2, 1, 0x7fc, 4, 0x80000008);
    assert_int_equal(rflags(), others);
    /* btr [rbx], cx with CX = -17: the word at -4, bit 15 */
    set_reg(REG_RCX, 0x12340000ffefull);
    dev_read_value = 0xffff;
    run(BYTES(0x66, 0x0f, 0xb3, 0x0b));
    expect_dev_op(3, 0, 0x7fc, 2, 0);
    expect_dev_op(4, 1, 0x7fc, 2, 0x7fff);
    assert_int_equal(rflags(), others | RFLAGS_CF);
    /* btc [rbx], rcx with RCX = 3 * 64 + 5: the qword at +24, bit 5 */
    set_reg(REG_RCX, 3 * 64 + 5);
    dev_read_value = 0;
    run(BYTES(0x48, 0x0f, 0xbb, 0x0b));
    expect_dev_op(5, 0, 0x818, 8, 0);
    expect_dev_op(6, 1, 0x818, 8, 0x20);
    assert_int_equal(rflags(), others);
    /* the immediate form addresses the operand itself, the bit number taken modulo its width */
    run(BYTES(0x0f, 0xba, 0x2b, 0x21));                         /* bts dword [rbx], 33 */
    expect_dev_op(7, 0, 0x800, 4, 0);
    expect_dev_op(8, 1, 0x800, 4, 2);
    run(BYTES(0x66, 0x0f, 0xba, 0x33, 0x11));                   /* btr word [rbx], 17 */
    expect_dev_op(9, 0, 0x800, 2, 0);
    expect_dev_op(10, 1, 0x800, 2, 0);
    run(BYTES(0x48, 0x0f, 0xba, 0x23, 0x7f));                   /* bt qword [rbx], 63 */
    expect_dev_op(11, 0, 0x800, 8, 0);
    assert_int_equal(dev_ops, 12);
    /* with a 32-bit address size the displaced address wraps at 4 GiB like any other */
    set_reg(REG_RBX, 0xffffffff00000000ull | (DEV + 0x800));
    set_reg(REG_RCX, 8 * 0x10);
    run(BYTES(0x67, 0x0f, 0xa3, 0x0b));
    expect_dev_op(12, 0, 0x810, 4, 0);
}

static void test_lock_prefix(void **state)
{
    (void)state;
    set_reg(REG_RBX, DEV + 0x40);
    dev_read_value = 1;
    /* a locked read-modify-write is one read and one write, as without LOCK */
    run(BYTES(0xf0, 0x01, 0x0b));
    run(BYTES(0xf0, 0x48, 0x0f, 0xba, 0x2b, 0x07));
    run(BYTES(0xf0, 0xf6, 0x13));
    run(BYTES(0xf0, 0xff, 0x03));
    assert_int_equal(dev_ops, 8);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(dev_log[i].write, i & 1);
    /* #UD where LOCK is not allowed, before any access */
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    run_fault(BYTES(0xf0, 0x39, 0x0b), VEC_UD, false, 0);           /* cmp */
    run_fault(BYTES(0xf0, 0x85, 0x0b), VEC_UD, false, 0);           /* test */
    run_fault(BYTES(0xf0, 0x0f, 0xa3, 0x0b), VEC_UD, false, 0);     /* bt */
    run_fault(BYTES(0xf0, 0x03, 0x0b), VEC_UD, false, 0);           /* add reg, [mem] */
    run_fault(BYTES(0xf0, 0x8b, 0x0b), VEC_UD, false, 0);           /* mov */
    run_fault(BYTES(0xf0, 0x0f, 0xc3, 0x0b), VEC_UD, false, 0);     /* movnti */
    run_fault(BYTES(0xf0, 0xf3, 0x0f, 0x6f, 0x03), VEC_UD, false, 0);
    run_fault(BYTES(0xf0, 0xaa), VEC_UD, false, 0);                 /* stos */
    assert_int_equal(dev_ops, 8);
}

static void test_movnti(void **state)
{
    (void)state;
    set_reg(REG_RBX, DEV + 0x40);
    set_reg(REG_RCX, 0x1122334455667788ull);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE);                            /* not an SSE-state instruction */
    run(BYTES(0x0f, 0xc3, 0x0b));
    expect_dev_op(0, 1, 0x40, 4, 0x55667788);
    run(BYTES(0x48, 0x0f, 0xc3, 0x0b));
    expect_dev_op(1, 1, 0x40, 8, 0x1122334455667788ull);
    run_fault(BYTES(0x66, 0x0f, 0xc3, 0x0b), VEC_UD, false, 0);
    run_fault(BYTES(0xf3, 0x0f, 0xc3, 0x0b), VEC_UD, false, 0);
}

/* ---- vector moves ---- */

static void fill_vectors(void)
{
    for (unsigned r = 0; r < SIMD_REG_COUNT; r++)
        for (unsigned i = 0; i < SIMD_XMM_BYTES; i++) {
            fake_simd.xmm[r][i] = (uint8_t)(0x10 * r + i);
            fake_simd.ymm_high[r][i] = (uint8_t)(0x80 + 0x10 * r + i);
            fake_simd.zmm_high[r][i] = 0xee;
        }
}

static uint64_t xmm_qword(unsigned r, unsigned half)
{
    uint64_t v;
    memcpy(&v, fake_simd.xmm[r] + 8 * half, 8);
    return v;
}

static uint64_t ymm_high_qword(unsigned r, unsigned half)
{
    uint64_t v;
    memcpy(&v, fake_simd.ymm_high[r] + 8 * half, 8);
    return v;
}

static void avx_on(void)
{
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR | CR4_OSXSAVE);
    vcpu->xcr0 = XCR0_X87 | XCR0_SSE | XCR0_AVX;
}

static void test_sse_loads_and_stores(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    fill_vectors();
    dev_read_value = 0x1111111111111111ull;
    dev_read_step = 0x100;
    set_reg(REG_RBX, DEV + 0x800);
    uint64_t upper0 = ymm_high_qword(3, 0);

    /* movdqu xmm3, [rbx]: two 8-byte reads; legacy SSE keeps bits 255:128 */
    run(BYTES(0xf3, 0x0f, 0x6f, 0x1b));
    expect_dev_op(0, 0, 0x800, 8, 0);
    expect_dev_op(1, 0, 0x808, 8, 0);
    assert_int_equal(xmm_qword(3, 0), 0x1111111111191111ull);
    assert_int_equal(xmm_qword(3, 1), 0x1111111111191911ull);
    assert_int_equal(ymm_high_qword(3, 0), upper0);
    /* movdqu [rbx], xmm5: two 8-byte writes, ascending */
    run(BYTES(0xf3, 0x0f, 0x7f, 0x2b));
    expect_dev_op(2, 1, 0x800, 8, xmm_qword(5, 0));
    expect_dev_op(3, 1, 0x808, 8, xmm_qword(5, 1));
    /* movd / movq loads zero-extend into the XMM register */
    run(BYTES(0x66, 0x0f, 0x6e, 0x0b));                         /* movd xmm1, [rbx] */
    expect_dev_op(4, 0, 0x800, 4, 0);
    assert_int_equal(xmm_qword(1, 0), 0x11191111ull);
    assert_int_equal(xmm_qword(1, 1), 0);
    run(BYTES(0x66, 0x48, 0x0f, 0x6e, 0x0b));                   /* movq xmm1, [rbx] */
    expect_dev_op(5, 0, 0x800, 8, 0);
    assert_int_equal(xmm_qword(1, 0), 0x1111111111191111ull);
    run(BYTES(0xf3, 0x0f, 0x7e, 0x13));                         /* movq xmm2, [rbx] */
    expect_dev_op(6, 0, 0x800, 8, 0);
    assert_int_equal(xmm_qword(2, 1), 0);
    run(BYTES(0xf3, 0x0f, 0x10, 0x23));                         /* movss xmm4, [rbx] */
    assert_int_equal(xmm_qword(4, 0), 0x11191111ull);
    assert_int_equal(xmm_qword(4, 1), 0);
    run(BYTES(0xf2, 0x0f, 0x10, 0x23));                         /* movsd xmm4, [rbx] */
    assert_int_equal(xmm_qword(4, 0), 0x1111111111191111ull);
    /* stores write the low bytes only */
    run(BYTES(0x66, 0x0f, 0x7e, 0x33));                         /* movd [rbx], xmm6 */
    expect_dev_op(dev_ops - 1, 1, 0x800, 4, xmm_qword(6, 0) & 0xffffffff);
    run(BYTES(0x66, 0x0f, 0xd6, 0x33));                         /* movq [rbx], xmm6 */
    expect_dev_op(dev_ops - 1, 1, 0x800, 8, xmm_qword(6, 0));
    run(BYTES(0x66, 0x48, 0x0f, 0x7e, 0x33));
    expect_dev_op(dev_ops - 1, 1, 0x800, 8, xmm_qword(6, 0));
    run(BYTES(0xf3, 0x0f, 0x11, 0x33));                         /* movss [rbx], xmm6 */
    expect_dev_op(dev_ops - 1, 1, 0x800, 4, xmm_qword(6, 0) & 0xffffffff);
    run(BYTES(0xf2, 0x0f, 0x11, 0x33));
    expect_dev_op(dev_ops - 1, 1, 0x800, 8, xmm_qword(6, 0));
    /* REX.R reaches xmm8-xmm15; every 16-byte form, aligned */
    static const uint8_t loads[][2] = { { 0x00, 0x10 }, { 0x66, 0x10 }, { 0x00, 0x28 }, { 0x66, 0x28 },
                                        { 0x66, 0x6f }, { 0xf3, 0x6f } };
    for (unsigned k = 0; k < sizeof(loads) / sizeof(loads[0]); k++) {
        uint8_t b[6];
        size_t n = 0;
        if (loads[k][0])
            b[n++] = loads[k][0];
        b[n++] = 0x44;
        b[n++] = 0x0f;
        b[n++] = loads[k][1];
        b[n++] = 0x0b;                                          /* xmm9, [rbx] */
        memset(fake_simd.xmm[9], 0, 16);
        run(b, n);
        assert_int_equal(xmm_qword(9, 1), 0x1111111111191911ull);
    }
    static const uint8_t stores[][2] = { { 0x00, 0x11 }, { 0x66, 0x11 }, { 0x00, 0x29 }, { 0x66, 0x29 },
                                         { 0x00, 0x2b }, { 0x66, 0x2b }, { 0x66, 0x7f }, { 0x66, 0xe7 } };
    for (unsigned k = 0; k < sizeof(stores) / sizeof(stores[0]); k++) {
        uint8_t b[6];
        size_t n = 0;
        if (stores[k][0])
            b[n++] = stores[k][0];
        b[n++] = 0x44;
        b[n++] = 0x0f;
        b[n++] = stores[k][1];
        b[n++] = 0x3b;                                          /* [rbx], xmm15 */
        run(b, n);
        expect_dev_op(dev_ops - 2, 1, 0x800, 8, xmm_qword(15, 0));
        expect_dev_op(dev_ops - 1, 1, 0x808, 8, xmm_qword(15, 1));
    }
    /* the empty bus reads all ones */
    set_reg(REG_RAX, EMPTY);
    run(BYTES(0x0f, 0x10, 0x00));
    assert_int_equal(xmm_qword(0, 0), ~0ull);
    assert_int_equal(xmm_qword(0, 1), ~0ull);
}

static void test_sse_alignment_and_state(void **state)
{
    (void)state;
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    set_reg(REG_RBX, DEV + 0x808);
    /* aligned forms: #GP(0) unless the linear address is 16-byte aligned */
    run_fault(BYTES(0x0f, 0x28, 0x0b), VEC_GP, true, 0);                /* movaps */
    run_fault(BYTES(0x66, 0x0f, 0x6f, 0x0b), VEC_GP, true, 0);          /* movdqa */
    run_fault(BYTES(0x66, 0x0f, 0x7f, 0x0b), VEC_GP, true, 0);
    run_fault(BYTES(0x66, 0x0f, 0xe7, 0x0b), VEC_GP, true, 0);          /* movntdq */
    run_fault(BYTES(0x0f, 0x2b, 0x0b), VEC_GP, true, 0);                /* movntps */
    run(BYTES(0x0f, 0x10, 0x0b));                                       /* movups: fine */
    run(BYTES(0xf3, 0x0f, 0x6f, 0x0b));                                 /* movdqu: fine */
    /* the check is on the linear address: a segment base can misalign it (32-bit mode) */
    prot32_mode();
    vmcs_write(VMCS_GUEST_CR4, CR4_OSFXSR);
    vmcs_write(VMCS_GUEST_DS_BASE, 4);
    set_reg(REG_RBX, DEV + 0x800);
    run_fault(BYTES(0x0f, 0x28, 0x0b), VEC_GP, true, 0);
    vmcs_write(VMCS_GUEST_DS_BASE, 0);
    run(BYTES(0x0f, 0x28, 0x0b));
    /* real mode: #GP without an error code */
    real_mode();
    vmcs_write(VMCS_GUEST_CR4, CR4_OSFXSR);
    vmcs_write(VMCS_GUEST_DS_BASE, DEV);
    set_reg(REG_RBX, 0x808);
    run_fault(BYTES(0x66, 0x0f, 0x6f, 0x07), VEC_GP, false, 0);
    set_reg(REG_RBX, 0x810);
    run(BYTES(0x66, 0x0f, 0x6f, 0x07));

    /* SSE needs CR4.OSFXSR and CR0.EM clear (#UD), CR0.TS clear (#NM); #UD comes first */
    long_mode();
    set_reg(REG_RBX, DEV + 0x800);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE);
    unsigned ops = dev_ops;
    run_fault(BYTES(0xf3, 0x0f, 0x6f, 0x0b), VEC_UD, false, 0);
    run_fault(BYTES(0x66, 0x0f, 0x7e, 0x0b), VEC_UD, false, 0);
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) | CR0_EM | CR0_TS);
    run_fault(BYTES(0xf3, 0x0f, 0x6f, 0x0b), VEC_UD, false, 0);
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) & ~CR0_EM);
    run_fault(BYTES(0xf3, 0x0f, 0x6f, 0x0b), VEC_NM, false, 0);
    run_fault(BYTES(0x0f, 0x28, 0x0b), VEC_NM, false, 0);
    /* #NM before the alignment #GP */
    set_reg(REG_RBX, DEV + 0x808);
    run_fault(BYTES(0x0f, 0x28, 0x0b), VEC_NM, false, 0);
    assert_int_equal(dev_ops, ops);
    /* MOVNTI is not subject to any of these */
    run(BYTES(0x0f, 0xc3, 0x0b));
    assert_int_equal(fake_simd.accesses, 4);                            /* the four completed loads */
}

static void test_avx_moves(void **state)
{
    (void)state;
    avx_on();
    fill_vectors();
    dev_read_value = 0x1111111111111111ull;
    dev_read_step = 0x100;
    set_reg(REG_RBX, DEV + 0x800);

    /* vmovdqu ymm2, [rbx]: four 8-byte reads; ZMM bits above 255 cleared */
    run(BYTES(0xc5, 0xfe, 0x6f, 0x13));
    for (unsigned i = 0; i < 4; i++)
        expect_dev_op(i, 0, 0x800 + 8 * i, 8, 0);
    assert_int_equal(xmm_qword(2, 0), 0x1111111111191111ull);
    assert_int_equal(ymm_high_qword(2, 1), 0x1111111111192911ull);
    assert_int_equal(fake_simd.zmm_high[2][0], 0);
    /* vmovdqu xmm3, [rbx]: VEX.128 clears bits 255:128 */
    run(BYTES(0xc5, 0xfa, 0x6f, 0x1b));
    assert_int_equal(dev_ops, 6);
    assert_int_equal(ymm_high_qword(3, 0), 0);
    assert_int_equal(ymm_high_qword(3, 1), 0);
    /* vmovd xmm4, [rbx]: the rest of the register cleared */
    run(BYTES(0xc5, 0xf9, 0x6e, 0x23));
    assert_int_equal(xmm_qword(4, 0), 0x11191111ull);
    assert_int_equal(xmm_qword(4, 1), 0);
    assert_int_equal(ymm_high_qword(4, 0), 0);
    /* vmovq xmm12, [rbx] via VEX.R, 8 bytes with VEX.W */
    run(BYTES(0xc4, 0x61, 0xf9, 0x6e, 0x23));
    expect_dev_op(dev_ops - 1, 0, 0x800, 8, 0);
    assert_int_equal(xmm_qword(12, 0), 0x1111111111191111ull);
    assert_int_equal(ymm_high_qword(12, 1), 0);
    /* stores: vmovdqu [rbx], ymm5 writes all 32 bytes; vmovups [rbx], xmm5 16 */
    fill_vectors();
    unsigned at = dev_ops;
    run(BYTES(0xc5, 0xfe, 0x7f, 0x2b));
    expect_dev_op(at, 1, 0x800, 8, xmm_qword(5, 0));
    expect_dev_op(at + 1, 1, 0x808, 8, xmm_qword(5, 1));
    expect_dev_op(at + 2, 1, 0x810, 8, ymm_high_qword(5, 0));
    expect_dev_op(at + 3, 1, 0x818, 8, ymm_high_qword(5, 1));
    run(BYTES(0xc5, 0xf8, 0x11, 0x2b));
    assert_int_equal(dev_ops, at + 6);
    run(BYTES(0xc5, 0xf9, 0xd6, 0x2b));                         /* vmovq [rbx], xmm5 */
    expect_dev_op(dev_ops - 1, 1, 0x800, 8, xmm_qword(5, 0));
    /* vmovdqa ymm: 32-byte alignment */
    set_reg(REG_RBX, DEV + 0x810);
    run_fault(BYTES(0xc5, 0xfd, 0x6f, 0x0b), VEC_GP, true, 0);
    run_fault(BYTES(0xc5, 0xfc, 0x29, 0x0b), VEC_GP, true, 0);   /* vmovaps [rbx], ymm1 */
    run(BYTES(0xc5, 0xf9, 0x6f, 0x0b));                         /* vmovdqa xmm: 16 is enough */
    run(BYTES(0xc5, 0xfe, 0x6f, 0x0b));                         /* vmovdqu ymm: none needed */

    /* AVX needs CR4.OSXSAVE and XCR0 with SSE and AVX state; CR0.EM does not matter; TS is #NM */
    set_reg(REG_RBX, DEV + 0x800);
    unsigned ops = dev_ops;
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    run_fault(BYTES(0xc5, 0xfe, 0x6f, 0x13), VEC_UD, false, 0);
    avx_on();
    vcpu->xcr0 = XCR0_X87 | XCR0_SSE;
    run_fault(BYTES(0xc5, 0xfe, 0x6f, 0x13), VEC_UD, false, 0);
    vcpu->xcr0 = XCR0_X87 | XCR0_AVX;
    run_fault(BYTES(0xc5, 0xfa, 0x6f, 0x13), VEC_UD, false, 0);
    avx_on();
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) | CR0_TS);
    run_fault(BYTES(0xc5, 0xfe, 0x6f, 0x13), VEC_NM, false, 0);
    /* encodings the CPU refuses */
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) & ~CR0_TS);
    run_fault(BYTES(0xc5, 0xf2, 0x6f, 0x13), VEC_UD, false, 0);        /* vvvv != 1111b */
    run_fault(BYTES(0x66, 0xc5, 0xfa, 0x6f, 0x13), VEC_UD, false, 0);
    run_fault(BYTES(0xc5, 0xfd, 0x6e, 0x13), VEC_UD, false, 0);        /* vmovd with L=1 */
    assert_int_equal(dev_ops, ops);
    vmcs_write(VMCS_GUEST_CR0, vmcs_read(VMCS_GUEST_CR0) | CR0_EM);
    run(BYTES(0xc5, 0xfe, 0x6f, 0x13));
    /* 32-bit protected mode has VEX too; real mode has LES/LDS there, #UD with a register */
    prot32_mode();
    avx_on();
    vmcs_write(VMCS_GUEST_CR4, CR4_OSFXSR | CR4_OSXSAVE);
    set_reg(REG_RBX, DEV + 0x800);
    run(BYTES(0xc5, 0xfe, 0x6f, 0x13));
    real_mode();
    vmcs_write(VMCS_GUEST_CR4, CR4_OSFXSR | CR4_OSXSAVE);
    vmcs_write(VMCS_GUEST_DS_BASE, DEV);
    set_reg(REG_RBX, 0x800);
    ops = dev_ops;
    run_fault(BYTES(0xc5, 0xfe, 0x6f, 0x17), VEC_UD, false, 0);
    assert_int_equal(dev_ops, ops);
}

/* ---- debug events ---- */

/* DR7 for breakpoint 0 on 4 bytes at linear, watching rw (1 writes, 3 reads and writes). */
static void data_breakpoint(uint64_t linear, unsigned rw)
{
    host_debug_regs[0] = linear;
    vmcs_write(VMCS_GUEST_DR7, DR7_INIT | DR7_L(0) | ((uint64_t)rw << 16) | (3ull << 18));
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
}

static bool breakpoint_pending(void)
{
    uint64_t p = vmcs_read(VMCS_GUEST_PENDING_DBG);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    return (p & DR6_B(0)) && (p & (1ull << 12));
}

static void test_data_breakpoints(void **state)
{
    (void)state;
    set_reg(REG_RBX, DEV + 0x800);
    data_breakpoint(DEV + 0x800, 3);
    run(BYTES(0x8b, 0x0b));                                     /* a read */
    assert_true(breakpoint_pending());
    run(BYTES(0x39, 0x0b));                                     /* cmp reads */
    assert_true(breakpoint_pending());
    set_reg(REG_RBX, DEV + 0x804);
    run(BYTES(0x8b, 0x0b));                                     /* next to it */
    assert_false(breakpoint_pending());
    set_reg(REG_RBX, DEV + 0x7fe);
    run(BYTES(0x8b, 0x0b));                                     /* overlapping it */
    assert_true(breakpoint_pending());
    /* a write breakpoint: reads pass, writes and read-modify-writes hit */
    data_breakpoint(DEV + 0x800, 1);
    set_reg(REG_RBX, DEV + 0x800);
    run(BYTES(0x8b, 0x0b));
    run(BYTES(0x39, 0x0b));
    run(BYTES(0x0f, 0xa3, 0x0b));
    assert_false(breakpoint_pending());
    run(BYTES(0x89, 0x0b));
    assert_true(breakpoint_pending());
    run(BYTES(0xf0, 0x01, 0x0b));
    assert_true(breakpoint_pending());
    vmcs_write(VMCS_GUEST_CR4, CR4_PAE | CR4_OSFXSR);
    set_reg(REG_RBX, DEV + 0x7f0);
    run(BYTES(0xf3, 0x0f, 0x7f, 0x0b));                         /* 16 bytes ending at it: no */
    assert_false(breakpoint_pending());
    set_reg(REG_RBX, DEV + 0x7f8);
    run(BYTES(0xf3, 0x0f, 0x7f, 0x0b));                         /* 16 bytes over it */
    assert_true(breakpoint_pending());
    /* BT with a bit offset: the breakpoint watches the operand actually accessed */
    data_breakpoint(DEV + 0x804, 3);
    set_reg(REG_RBX, DEV + 0x800);
    set_reg(REG_RCX, 40);
    run(BYTES(0x0f, 0xa3, 0x0b));
    assert_true(breakpoint_pending());
    /* a faulting access raises none */
    set_reg(REG_RBX, HOLE);
    host_debug_regs[0] = HOLE;
    run_fault(BYTES(0x89, 0x0b), VEC_PF, true, 2);
    assert_false(breakpoint_pending());
}

static void test_rep_stops_at_data_breakpoint(void **state)
{
    (void)state;
    /* rep stosd over 8 dwords, a write breakpoint on the third: three done, RIP stays */
    data_breakpoint(DEV + 0x108, 1);
    set_reg(REG_RDI, DEV + 0x100);
    set_reg(REG_RCX, 8);
    set_reg(REG_RAX, 0x5a);
    code(BYTES(0xf3, 0xab));
    assert_int_equal(mmio_emulate(vcpu, ~0ull), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 5);
    assert_int_equal(reg(REG_RDI), DEV + 0x10c);
    assert_int_equal(dev_ops, 3);
    assert_true(rflags() & RFLAGS_RF);
    assert_true(breakpoint_pending());
    /* resumed, it runs to the end */
    run(BYTES(0xf3, 0xab));
    assert_int_equal(reg(REG_RCX), 0);
    assert_int_equal(dev_ops, 8);
    assert_false(breakpoint_pending());
    /* MOVS: the source read hits a read/write breakpoint */
    data_breakpoint(EMPTY + 4, 3);
    set_reg(REG_RSI, EMPTY);
    set_reg(REG_RDI, DEV);
    set_reg(REG_RCX, 4);
    code(BYTES(0xf3, 0xa5));
    assert_int_equal(mmio_emulate(vcpu, ~0ull), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 2);
    assert_true(breakpoint_pending());
}

static void test_rep_single_step(void **state)
{
    (void)state;
    /* TF: one element per exit, each ending in a single-step trap; the last moves RIP */
    set_reg(REG_RDI, DEV);
    set_reg(REG_RCX, 2);
    vmcs_write(VMCS_GUEST_RFLAGS, 2 | RFLAGS_TF);
    code(BYTES(0xf3, 0xaa));
    assert_int_equal(mmio_emulate(vcpu, ~0ull), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 1);
    assert_int_equal(dev_ops, 1);
    assert_true(vmcs_read(VMCS_GUEST_PENDING_DBG) & DR6_BS);
    vmcs_write(VMCS_GUEST_PENDING_DBG, 0);
    assert_int_equal(mmio_emulate(vcpu, ~0ull), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip + 2);
    assert_int_equal(reg(REG_RCX), 0);
    assert_true(vmcs_read(VMCS_GUEST_PENDING_DBG) & DR6_BS);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_loads_empty_bus_64),
        T(test_loads_empty_bus_legacy),
        T(test_stores_dropped),
        T(test_device_region),
        T(test_gpa_bus),
        T(test_gpa_add_mmio),
        T(test_rep_stos_empty_bus_and_ram),
        T(test_rep_movs_both_directions),
        T(test_string_address_size),
        T(test_string_segments),
        T(test_string_page_fault),
        T(test_rep_cut_off),
        T(test_undecodable_stops_guest),
        T(test_lock_on_a_move_is_ud),
        T(test_fetch_faults),
        T(test_instruction_across_pages),
        T(test_exit_translation_spares_the_walk),
        T(test_operand_page_faults),
        T(test_access_across_pages),
        T(test_canonical_and_alignment_checks),
        T(test_addressing_modes_64),
        T(test_addressing_modes_legacy),
        T(test_alu_on_a_device),
        T(test_xchg_cmpxchg_xadd),
        T(test_bit_tests_on_a_device),
        T(test_lock_prefix),
        T(test_movnti),
        T(test_sse_loads_and_stores),
        T(test_sse_alignment_and_state),
        T(test_avx_moves),
        T(test_data_breakpoints),
        T(test_rep_stops_at_data_breakpoint),
        T(test_rep_single_step),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
