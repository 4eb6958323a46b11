/* Tests for MMIO/empty-bus instruction emulation and the guest-physical bus beneath it: a guest
 * with malloc'd RAM, instruction bytes in RAM, state in the soft VMCS. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "dev/uart16550.h"
#include "emu/mmio_emulate.h"
#include "host_stubs.h"
#include "mem/gpa_bus.h"
#include "soft_vmcs.h"
#include "vmx/vmcs.h"

#define RAM_SIZE   0x200000ull
#define CODE       0x100000ull      /* gpa (and linear) of the instruction in every mode */
#define DATA       0x150000ull      /* scratch RAM */
#define HOLE       0x180000ull      /* RAM, but its linear page is not mapped in long mode */
#define EMPTY      0x40000000ull    /* mapped in long mode, nothing behind it */
#define DEV        0xfed00000ull    /* the test device */
#define PT_FIRST   0x1000ull        /* page tables live in [PT_FIRST, PT_END) */
#define PT_END     0x5000ull

#define RFLAGS_DF (1ull << 10)

static struct guest *g;

/* ---- a device that logs every access ---- */

struct dev_op { int write; uint64_t offset; unsigned size; uint64_t value; };
static struct dev_op dev_log[64];
static unsigned dev_ops;
static uint64_t dev_read_value;

static uint64_t dev_read(void *dev, uint64_t offset, unsigned size)
{
    assert_ptr_equal(dev, &dev_log);
    if (dev_ops < 64)
        dev_log[dev_ops++] = (struct dev_op){ 0, offset, size, 0 };
    return dev_read_value;
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

static void put64(uint64_t gpa, uint64_t v) { memcpy(g->ram + gpa, &v, 8); }
static uint64_t get64(uint64_t gpa) { uint64_t v; memcpy(&v, g->ram + gpa, 8); return v; }
static uint32_t get32(uint64_t gpa) { uint32_t v; memcpy(&v, g->ram + gpa, 4); return v; }

/* Identity map: 4 KiB pages for the first 2 MiB (HOLE left out), 2 MiB pages up to 1 GiB,
 * 1 GiB pages up to 4 GiB. */
static void build_page_tables(void)
{
    put64(0x1000, 0x2000 | 7);
    put64(0x2000, 0x3000 | 7);
    for (uint64_t i = 1; i < 4; i++)
        put64(0x2000 + i * 8, (i << 30) | 0x83);
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
    g = calloc(1, sizeof(*g));
    g->ram = calloc(1, RAM_SIZE);
    g->ram_size = RAM_SIZE;
    strcpy(g->name, "emu");
    uart_init(&g->uart, g->name);
    soft_vmcs_reset();
    host_console_reset();
    build_page_tables();
    assert_int_equal(gpa_add_mmio(g, DEV, 0x1000, &dev_mmio, &dev_log), 0);
    dev_ops = 0;
    dev_read_value = 0;
    long_mode();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g->ram);
    free(g);
    return 0;
}

#define BYTES(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void code(const uint8_t *b, size_t n)
{
    memcpy(g->ram + CODE, b, n);
    vmcs_write(VMCS_GUEST_RIP, code_rip);
}

static uint64_t reg(unsigned r) { return vcpu_gpr_read(&g->vcpu, r); }
static void set_reg(unsigned r, uint64_t v) { vcpu_gpr_write(&g->vcpu, r, v); }
static uint64_t rip(void) { return vmcs_read(VMCS_GUEST_RIP); }

/* Run one emulation that must complete: RIP advances by n, nothing injected. */
static void run_done(const uint8_t *b, size_t n, uint64_t gpa)
{
    code(b, n);
    assert_int_equal(mmio_emulate(g, gpa), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip + n);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(g->state, GUEST_RUNNABLE);
}

/* ---- loads ---- */

#define INIT 0x1122334455667788ull

struct load_case {
    uint8_t bytes[15];
    uint8_t len;
    unsigned reg;
    uint64_t expect;
};

static void run_load_cases(const struct load_case *c, size_t count, uint64_t gpa)
{
    for (size_t i = 0; i < count; i++) {
        for (unsigned r = 0; r < 16; r++)
            set_reg(r, INIT);
        run_done(c[i].bytes, c[i].len, gpa);
        assert_int_equal(reg(c[i].reg), c[i].expect);
        for (unsigned r = 0; r < 16; r++)
            if (r != c[i].reg)
                assert_int_equal(reg(r), INIT);
    }
}

static void test_loads_empty_bus_64(void **state)
{
    (void)state;
    static const struct load_case cases[] = {
        { { 0x8a, 0x08 }, 2, REG_RCX, 0x11223344556677ffull },                 /* mov cl */
        { { 0x8a, 0x20 }, 2, REG_RAX, 0x112233445566ff88ull },                 /* mov ah */
        { { 0x8a, 0x3b }, 2, REG_RBX, 0x112233445566ff88ull },                 /* mov bh,[rbx] */
        { { 0x40, 0x8a, 0x20 }, 3, REG_RSP, 0x11223344556677ffull },           /* mov spl */
        { { 0x44, 0x8a, 0x08 }, 3, REG_R9, 0x11223344556677ffull },            /* mov r9b */
        { { 0x66, 0x8b, 0x08 }, 3, REG_RCX, 0x112233445566ffffull },
        { { 0x8b, 0x08 }, 2, REG_RCX, 0xffffffffull },
        { { 0x48, 0x8b, 0x08 }, 3, REG_RCX, ~0ull },
        { { 0x4c, 0x8b, 0x38 }, 3, REG_R15, ~0ull },
        { { 0x48, 0x8b, 0x20 }, 3, REG_RSP, ~0ull },
        { { 0x8b, 0x05, 1, 2, 3, 4 }, 6, REG_RAX, 0xffffffffull },             /* rip-relative */
        { { 0xa0, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, REG_RAX, 0x11223344556677ffull },
        { { 0x66, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, REG_RAX, 0x112233445566ffffull },
        { { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 9, REG_RAX, 0xffffffffull },
        { { 0x48, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 10, REG_RAX, ~0ull },
        { { 0x67, 0xa1, 1, 2, 3, 4 }, 6, REG_RAX, 0xffffffffull },
        { { 0x0f, 0xb6, 0x08 }, 3, REG_RCX, 0xffull },
        { { 0x0f, 0xb7, 0x08 }, 3, REG_RCX, 0xffffull },
        { { 0x66, 0x0f, 0xb6, 0x08 }, 4, REG_RCX, 0x11223344556600ffull },
        { { 0x48, 0x0f, 0xb7, 0x08 }, 4, REG_RCX, 0xffffull },
        { { 0x0f, 0xbe, 0x08 }, 3, REG_RCX, 0xffffffffull },
        { { 0x0f, 0xbf, 0x08 }, 3, REG_RCX, 0xffffffffull },
        { { 0x66, 0x0f, 0xbe, 0x08 }, 4, REG_RCX, 0x112233445566ffffull },
        { { 0x48, 0x0f, 0xbe, 0x08 }, 4, REG_RCX, ~0ull },
        { { 0x4c, 0x0f, 0xbf, 0x10 }, 4, REG_R10, ~0ull },
        { { 0x48, 0x63, 0x08 }, 3, REG_RCX, ~0ull },
        { { 0x63, 0x08 }, 2, REG_RCX, 0xffffffffull },
    };
    run_load_cases(cases, sizeof(cases) / sizeof(cases[0]), EMPTY + 0x10);
    /* an address above 4 GiB that is not RAM reads the same */
    run_load_cases(cases, 3, 0x7f00000000ull);
}

static void test_loads_empty_bus_legacy(void **state)
{
    (void)state;
    static const struct load_case prot32[] = {
        { { 0x8b, 0x08 }, 2, REG_RCX, 0xffffffffull },
        { { 0x66, 0x8b, 0x08 }, 3, REG_RCX, 0x112233445566ffffull },
        { { 0x8a, 0x2b }, 2, REG_RCX, 0x112233445566ff88ull },                 /* mov ch,[ebx] */
        { { 0xa1, 1, 2, 3, 4 }, 5, REG_RAX, 0xffffffffull },
        { { 0x0f, 0xbe, 0x08 }, 3, REG_RCX, 0xffffffffull },
        { { 0x66, 0x0f, 0xb6, 0x08 }, 4, REG_RCX, 0x11223344556600ffull },
    };
    prot32_mode();
    run_load_cases(prot32, sizeof(prot32) / sizeof(prot32[0]), 0xfee00000);

    static const struct load_case real[] = {
        { { 0x8b, 0x07 }, 2, REG_RAX, 0x112233445566ffffull },                 /* mov ax,[bx] */
        { { 0x66, 0x8b, 0x07 }, 3, REG_RAX, 0xffffffffull },
        { { 0x8a, 0x26, 0x34, 0x12 }, 4, REG_RAX, 0x112233445566ff88ull },     /* mov ah,[1234] */
        { { 0xa0, 0x34, 0x12 }, 3, REG_RAX, 0x11223344556677ffull },
        { { 0x67, 0x66, 0xa1, 1, 2, 3, 4 }, 7, REG_RAX, 0xffffffffull },
        { { 0x0f, 0xb6, 0x07 }, 3, REG_RAX, 0x11223344556600ffull },
        { { 0x66, 0x0f, 0xbf, 0x07 }, 4, REG_RAX, 0xffffffffull },
    };
    real_mode();
    run_load_cases(real, sizeof(real) / sizeof(real[0]), RAM_SIZE + 0x1000);
}

/* ---- stores ---- */

static void test_stores_dropped(void **state)
{
    (void)state;
    static const struct { uint8_t b[15]; uint8_t len; } stores[] = {
        { { 0x88, 0x08 }, 2 }, { { 0x88, 0x20 }, 2 }, { { 0x89, 0x08 }, 2 }, { { 0x66, 0x89, 0x08 }, 3 },
        { { 0x48, 0x89, 0x08 }, 3 }, { { 0xc6, 0x00, 0x5a }, 3 }, { { 0x66, 0xc7, 0x00, 1, 2 }, 5 },
        { { 0xc7, 0x00, 1, 2, 3, 4 }, 6 }, { { 0x48, 0xc7, 0x00, 1, 2, 3, 4 }, 7 },
        { { 0xa2, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 }, { { 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8 }, 10 },
    };
    for (size_t i = 0; i < RAM_SIZE; i += 8)
        if (i < PT_FIRST || i >= PT_END)
            put64(i, i * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++) {
        code(stores[i].b, stores[i].len);
        uint8_t *before = malloc(RAM_SIZE);
        memcpy(before, g->ram, RAM_SIZE);
        for (unsigned r = 0; r < 16; r++)
            set_reg(r, INIT);
        run_done(stores[i].b, stores[i].len, EMPTY + 0x40);
        /* Only accessed bits in the page tables may change */
        assert_memory_equal(before, g->ram, PT_FIRST);
        assert_memory_equal(before + PT_END, g->ram + PT_END, RAM_SIZE - PT_END);
        for (unsigned r = 0; r < 16; r++)
            assert_int_equal(reg(r), INIT);
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
    run_done(BYTES(0x89, 0x08), DEV + 0x10);
    expect_dev_op(0, 1, 0x10, 4, 0xdeadbeef);
    run_done(BYTES(0x88, 0x20), DEV + 0x11);                 /* mov [rax], ah */
    expect_dev_op(1, 1, 0x11, 1, 0x12);
    run_done(BYTES(0x40, 0x88, 0x30), DEV + 0x12);           /* mov [rax], sil */
    expect_dev_op(2, 1, 0x12, 1, 0x77);
    run_done(BYTES(0x66, 0x89, 0x08), DEV + 0x14);
    expect_dev_op(3, 1, 0x14, 2, 0xbeef);
    run_done(BYTES(0x48, 0x89, 0x08), DEV + 0x18);
    expect_dev_op(4, 1, 0x18, 8, 0x99887766deadbeefull);
    run_done(BYTES(0xc6, 0x00, 0x5a), DEV + 0x20);
    expect_dev_op(5, 1, 0x20, 1, 0x5a);
    run_done(BYTES(0x48, 0xc7, 0x00, 0, 0, 0, 0x80), DEV + 0x28);
    expect_dev_op(6, 1, 0x28, 8, 0xffffffff80000000ull);
    run_done(BYTES(0x66, 0xc7, 0x00, 0x34, 0x12), DEV + 0x30);
    expect_dev_op(7, 1, 0x30, 2, 0x1234);
    run_done(BYTES(0xa3, 0x10, 0, 0xd0, 0xfe, 0, 0, 0, 0), DEV + 0x10);
    expect_dev_op(8, 1, 0x10, 4, 0x1234);

    /* reads: what the device returns beyond the access size is dropped */
    dev_read_value = 0x8877665544338001ull;
    run_done(BYTES(0x8b, 0x08), DEV + 0x40);
    expect_dev_op(9, 0, 0x40, 4, 0);
    assert_int_equal(reg(REG_RCX), 0x44338001);
    run_done(BYTES(0x0f, 0xbf, 0x08), DEV + 0x42);
    expect_dev_op(10, 0, 0x42, 2, 0);
    assert_int_equal(reg(REG_RCX), 0xffff8001);
    run_done(BYTES(0x8a, 0x3b), DEV + 0x43);                 /* mov bh, [rbx] */
    expect_dev_op(11, 0, 0x43, 1, 0);
    assert_int_equal(reg(REG_RBX) & 0xff00, 0x0100);
    run_done(BYTES(0x48, 0x8b, 0x08), DEV + 0x48);
    expect_dev_op(12, 0, 0x48, 8, 0);
    assert_int_equal(reg(REG_RCX), 0x8877665544338001ull);
    assert_int_equal(dev_ops, 13);
}

/* ---- the bus itself ---- */

static void test_gpa_bus(void **state)
{
    (void)state;
    /* empty bus: all ones of the access size */
    assert_int_equal(gpa_read(g, EMPTY, 1), 0xff);
    assert_int_equal(gpa_read(g, EMPTY, 2), 0xffff);
    assert_int_equal(gpa_read(g, EMPTY, 4), 0xffffffffull);
    assert_int_equal(gpa_read(g, EMPTY, 8), ~0ull);
    /* the top of the address space does not wrap around to RAM at 0 */
    g->ram[0] = 0x3c;
    assert_int_equal(gpa_read(g, ~0ull - 3, 8), ~0ull);
    gpa_write(g, ~0ull, 8, 0x1111111111111111ull);
    assert_int_equal(g->ram[0], 0x3c);
    assert_int_equal(g->ram[1], 0);
    /* RAM */
    gpa_write(g, DATA, 8, 0x0102030405060708ull);
    assert_int_equal(gpa_read(g, DATA, 8), 0x0102030405060708ull);
    assert_int_equal(gpa_read(g, DATA + 1, 2), 0x0607);
    /* straddling the end of RAM: byte by byte */
    gpa_write(g, RAM_SIZE - 2, 4, 0xaabbccddull);
    assert_int_equal(g->ram[RAM_SIZE - 2], 0xdd);
    assert_int_equal(g->ram[RAM_SIZE - 1], 0xcc);
    assert_int_equal(gpa_read(g, RAM_SIZE - 2, 4), 0xffffccddull);
    assert_int_equal(gpa_read(g, RAM_SIZE - 1, 8), 0xffffffffffffffccull);
    /* straddling the start and end of a device: device sees byte accesses at its offsets */
    dev_read_value = 0x5a;
    assert_int_equal(gpa_read(g, DEV - 2, 4), 0x5a5affffull);
    expect_dev_op(0, 0, 0, 1, 0);
    expect_dev_op(1, 0, 1, 1, 0);
    gpa_write(g, DEV + 0xffe, 4, 0x11223344);
    expect_dev_op(2, 1, 0xffe, 1, 0x44);
    expect_dev_op(3, 1, 0xfff, 1, 0x33);
    assert_int_equal(dev_ops, 4);
    /* a wide device read is masked to the access size */
    dev_read_value = ~0ull;
    assert_int_equal(gpa_read(g, DEV, 2), 0xffff);
    expect_dev_op(4, 0, 0, 2, 0);
    /* sizes outside 1..8 do nothing */
    gpa_write(g, DATA, 0, 0);
    gpa_write(g, DATA, 9, 0);
    assert_int_equal(gpa_read(g, DATA, 8), 0x0102030405060708ull);
    assert_int_equal(dev_ops, 5);
}

static void test_gpa_add_mmio(void **state)
{
    (void)state;
    /* DEV [0xfed00000, +0x1000) is registered by setup */
    assert_int_equal(gpa_add_mmio(g, RAM_SIZE - 0x1000, 0x1000, &dev_mmio, NULL), -1);  /* RAM */
    assert_int_equal(gpa_add_mmio(g, 0, 1, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(g, RAM_SIZE, 0, &dev_mmio, NULL), -1);               /* empty */
    assert_int_equal(gpa_add_mmio(g, DEV + 0xfff, 1, &dev_mmio, NULL), -1);           /* overlap */
    assert_int_equal(gpa_add_mmio(g, DEV - 1, 2, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(g, DEV - 0x100, 0x10000, &dev_mmio, NULL), -1);     /* covers */
    assert_int_equal(gpa_add_mmio(g, ~0ull - 0xff, 0x200, &dev_mmio, NULL), -1);      /* wraps */
    assert_int_equal(gpa_add_mmio(g, 1ull << 40, ~0ull, &dev_mmio, NULL), -1);
    assert_int_equal(gpa_add_mmio(g, RAM_SIZE, 0x1000, NULL, NULL), -1);
    static const struct mmio_ops half = { dev_read, NULL };
    assert_int_equal(gpa_add_mmio(g, RAM_SIZE, 0x1000, &half, NULL), -1);
    assert_int_equal(g->mmio_count, 1);
    /* adjacent regions and one ending at the very top are fine */
    assert_int_equal(gpa_add_mmio(g, DEV + 0x1000, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(gpa_add_mmio(g, RAM_SIZE, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(gpa_add_mmio(g, ~0ull - 0xfff, 0x1000, &dev_mmio, &dev_log), 0);
    assert_int_equal(g->mmio_count, GUEST_MAX_MMIO);
    /* table full */
    assert_int_equal(gpa_add_mmio(g, 0x100000000ull, 0x1000, &dev_mmio, &dev_log), -1);
    /* the top region works; a read running past its end (and the address space) gets the
     * region's bytes and empty-bus ones, never RAM at 0 */
    dev_read_value = 0x42;
    assert_int_equal(gpa_read(g, ~0ull - 3, 4), 0x42);
    expect_dev_op(0, 0, 0xffc, 4, 0);
    assert_int_equal(gpa_read(g, ~0ull - 1, 4), 0xffff4242ull);
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
    memset(g->ram + DATA, 0, 64);
    set_reg(REG_RSI, EMPTY);
    set_reg(REG_RDI, DATA);
    set_reg(REG_RCX, 8);
    run_done(BYTES(0xf3, 0xa4), EMPTY);
    assert_int_equal(get64(DATA), ~0ull);
    assert_int_equal(g->ram[DATA + 8], 0);
    assert_int_equal(reg(REG_RSI), EMPTY + 8);
    assert_int_equal(reg(REG_RDI), DATA + 8);
    assert_int_equal(reg(REG_RCX), 0);

    /* DF=1: backwards, dwords */
    memset(g->ram + DATA, 0, 64);
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
        g->ram[DATA + i] = (uint8_t)(0xa0 + i);
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
    assert_int_equal(g->ram[0x1fffe], 0x34);
    assert_int_equal(g->ram[0x1ffff], 0x12);
    assert_int_equal(g->ram[0x10000], 0x34);
    assert_int_equal(g->ram[0x10001], 0x12);
    assert_int_equal(reg(REG_RDI), 0xaaaa000000000002ull);
    assert_int_equal(reg(REG_RCX), 0x5555000000000000ull);
}

static void test_string_segments(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 16; i++)
        g->ram[DATA + i] = (uint8_t)(0x10 + i);
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
    assert_int_equal(mmio_emulate(g, HOLE - 16), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 2);
    assert_int_equal(reg(REG_RDI), HOLE);
    assert_int_equal(get64(HOLE - 16), 0x5a5a5a5a5a5a5a5aull);
    assert_int_equal(get64(HOLE), 0);
    assert_int_equal(g->vcpu.cr2, HOLE);
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
    assert_int_equal(mmio_emulate(g, DEV), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(reg(REG_RCX), 1);
    assert_int_equal(g->vcpu.cr2, HOLE + 8);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(dev_ops, 0);

    /* a non-canonical destination is #GP(0), not #PF */
    soft_vmcs_reset();
    long_mode();
    set_reg(REG_RDI, 0x0000800000000000ull);
    code(BYTES(0xaa));
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO),
                     INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | INTR_INFO_DELIVER_ERROR | VEC_GP);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
}

static void test_rep_cut_off(void **state)
{
    (void)state;
    set_reg(REG_RDI, EMPTY);
    set_reg(REG_RCX, 5000);
    code(BYTES(0xf3, 0xaa));
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip);                  /* re-executed by the CPU */
    assert_int_equal(reg(REG_RCX), 5000 - 4096);
    assert_int_equal(reg(REG_RDI), EMPTY + 4096);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);
    assert_int_equal(mmio_emulate(g, EMPTY + 4096), EXIT_CONTINUE);
    assert_int_equal(rip(), code_rip + 2);
    assert_int_equal(reg(REG_RCX), 0);
    assert_int_equal(reg(REG_RDI), EMPTY + 5000);
    /* exactly 4096 finishes in one exit */
    set_reg(REG_RCX, 4096);
    run_done(BYTES(0xf3, 0xaa), EMPTY);
    assert_int_equal(reg(REG_RCX), 0);
}

/* ---- fetching and refusing ---- */

static void test_undecodable_stops_guest(void **state)
{
    (void)state;
    code(BYTES(0x90, 0x90, 0x0f, 0x0b));
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_STOP);
    assert_int_equal(g->state, GUEST_ENDED);
    assert_int_equal(g->outcome, OUTCOME_STOPPED);
    assert_non_null(strstr(g->stop_reason, "cannot emulate instruction at RIP 100000: bytes 90 90 0f 0b"));
    assert_non_null(strstr(host_console(), "cannot emulate instruction at RIP 100000"));
    assert_int_equal(rip(), code_rip);
}

static void test_lock_and_register_forms_stop(void **state)
{
    (void)state;
    code(BYTES(0xf0, 0x89, 0x08));
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_STOP);
    assert_non_null(strstr(g->stop_reason, "bytes f0 89 08"));
}

static void test_fetch_faults(void **state)
{
    (void)state;
    /* RIP itself unmapped: the fetch #PF (I/D with NXE) */
    vmcs_write(VMCS_GUEST_EFER, (1u << 8) | (1u << 10) | (1u << 11));
    vmcs_write(VMCS_GUEST_RIP, HOLE + 0x10);
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_CONTINUE);
    assert_int_equal(g->vcpu.cr2, HOLE + 0x10);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0x10);
    assert_int_equal(rip(), HOLE + 0x10);
    assert_int_equal(g->state, GUEST_RUNNABLE);

    /* an instruction cut by the unmapped page after it: that page's #PF */
    soft_vmcs_reset();
    long_mode();
    memcpy(g->ram + HOLE - 2, "\x48\x8b", 2);
    vmcs_write(VMCS_GUEST_RIP, HOLE - 2);
    assert_int_equal(mmio_emulate(g, EMPTY), EXIT_CONTINUE);
    assert_int_equal(g->vcpu.cr2, HOLE);
    assert_int_equal(vmcs_read(VMCS_ENTRY_EXCEPTION_ERROR), 0);
    assert_int_equal(rip(), HOLE - 2);

    /* a complete instruction just before the unmapped page runs */
    soft_vmcs_reset();
    long_mode();
    memcpy(g->ram + HOLE - 2, "\x89\x08", 2);
    set_reg(REG_RCX, 0xabcd);
    vmcs_write(VMCS_GUEST_RIP, HOLE - 2);
    assert_int_equal(mmio_emulate(g, DEV), EXIT_CONTINUE);
    assert_int_equal(rip(), HOLE);
    expect_dev_op(0, 1, 0, 4, 0xabcd);
    assert_int_equal(vmcs_read(VMCS_ENTRY_INTR_INFO), 0);

    /* garbage just before the unmapped page is still garbage: stop, naming the bytes */
    soft_vmcs_reset();
    long_mode();
    g->ram[HOLE - 1] = 0xcc;
    vmcs_write(VMCS_GUEST_RIP, HOLE - 1);
    assert_int_equal(mmio_emulate(g, DEV), EXIT_STOP);
    assert_non_null(strstr(g->stop_reason, "RIP 17ffff: bytes cc"));
}

static void test_instruction_across_pages(void **state)
{
    (void)state;
    /* 48 c7 00 imm32 split over two mapped pages that are not physically adjacent:
     * linear DATA+0xffe.. maps to DATA+0xffe and DATA+0x1000 here, so remap the second page */
    put64(0x4000 + ((DATA + 0x1000) >> 12) * 8, 0x60000 | 3);
    memcpy(g->ram + DATA + 0xffe, "\x48\xc7\x00", 2);
    memcpy(g->ram + 0x60000, "\x00\x78\x56\x34\x12", 5);
    vmcs_write(VMCS_GUEST_RIP, DATA + 0xffe);
    assert_int_equal(mmio_emulate(g, DEV + 8), EXIT_CONTINUE);
    assert_int_equal(rip(), DATA + 0xffe + 7);
    expect_dev_op(0, 1, 8, 8, 0x12345678);
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
        T(test_lock_and_register_forms_stop),
        T(test_fetch_faults),
        T(test_instruction_across_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
