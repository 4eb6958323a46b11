/* Tests for the emulated PCI configuration space (vmm/dev/pci_host.c) through the guest's port
 * space: mechanism #1 address/data ports at every width and offset, the enable bit, absent
 * functions, read-only bits, BAR sizing and moving on the guest-physical bus, the memory-decode
 * bit, the capability list; and gpa_remove_mmio. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "dev/pci_host.h"
#include "dev/ports.h"
#include "mem/gpa_bus.h"
#include "test_guest_helpers.h"

#define RAM_SIZE  0x100000ull
#define BAR_SIZE  0x4000ull
#define BAR_BASE  0xE0000000ull
#define TEST_SLOT 3

static struct vm *vm;
static struct vcpu *vcpu;
static struct pci_host host;
static struct pci_function fn;

/* The fake device behind the BAR: remembers the last access. */
struct dev_log {
    unsigned reads, writes;
    uint64_t last_offset, last_value;
};
static struct dev_log dev;

static uint64_t dev_read(void *d, uint64_t offset, unsigned size)
{
    struct dev_log *l = d;
    assert_true(offset < BAR_SIZE && size <= BAR_SIZE - offset);
    l->reads++;
    l->last_offset = offset;
    return 0x1122334455667788ull;
}

static void dev_write(void *d, uint64_t offset, unsigned size, uint64_t value)
{
    struct dev_log *l = d;
    assert_true(offset < BAR_SIZE && size <= BAR_SIZE - offset);
    l->writes++;
    l->last_offset = offset;
    l->last_value = value;
}

static const struct mmio_ops dev_ops = { dev_read, dev_write };

static uint32_t in(uint16_t port, unsigned size)
{
    uint32_t v = 0xDEADBEEF;
    assert_int_equal(port_in(vm, port, size, &v), EXIT_ADVANCE);
    return v;
}

static void out(uint16_t port, unsigned size, uint32_t v)
{
    assert_int_equal(port_out(vm, port, size, v), EXIT_ADVANCE);
}

static uint32_t cfg_addr(unsigned bus, unsigned devn, unsigned func, unsigned reg)
{
    return PCI_CONFIG_ENABLE | bus << 16 | devn << 11 | func << 8 | (reg & 0xFC);
}

/* Configuration read/write as a driver does it: latch the dword, access 0xCFC + (reg & 3). */
static uint32_t cfg_read(unsigned devn, unsigned reg, unsigned size)
{
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, devn, 0, reg));
    return in((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), size);
}

static void cfg_write(unsigned devn, unsigned reg, unsigned size, uint32_t v)
{
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, devn, 0, reg));
    out((uint16_t)(PCI_PORT_CONFIG_DATA + (reg & 3)), size, v);
}

static int setup(void **state)
{
    (void)state;
    vm = test_vm_new("pci", RAM_SIZE);
    vcpu = test_vcpu(vm);
    memset(&dev, 0, sizeof(dev));
    pci_host_init(&host, vm);
    pci_function_init(&fn, 0x1234, 0x5678, 0x018000, 0x07);
    pci_cfg_set(&fn, PCI_SUBSYSTEM_VENDOR, 2, 0xABCD);
    pci_cfg_set(&fn, PCI_INTERRUPT_PIN, 1, 1);
    pci_cfg_set(&fn, 0x3E, 2, 0x0201);                  /* min_gnt/max_lat: read-only */
    assert_int_equal(pci_function_add_bar64(&fn, 0, BAR_SIZE, BAR_BASE, &dev_ops, &dev), 0);
    pci_cfg_set(&fn, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(pci_host_add(&host, TEST_SLOT, &fn), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    test_vm_free(vm);
    return 0;
}

static void test_host_bridge_identity(void **state)
{
    (void)state;
    assert_ptr_equal(vm->pci, &host);
    assert_int_equal(cfg_read(0, PCI_VENDOR_ID, 4), 0x29C08086);
    assert_int_equal(cfg_read(0, PCI_REVISION_ID, 4), 0x06000000);     /* class 06/00/00, rev 0 */
    assert_int_equal(cfg_read(0, PCI_HEADER_TYPE, 1), 0);
    assert_int_equal(cfg_read(0, PCI_BAR0, 4), 0);
    /* Its command register is fixed. */
    cfg_write(0, PCI_COMMAND, 2, 0);
    assert_int_equal(cfg_read(0, PCI_COMMAND, 2), PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

static void test_absent_functions_read_all_ones(void **state)
{
    (void)state;
    static const struct { unsigned bus, dev, func; } absent[] = {
        { 0, 1, 0 }, { 0, 7, 0 }, { 0, 8, 0 }, { 0, 31, 0 }, { 0, TEST_SLOT, 1 }, { 0, 0, 7 },
        { 1, 0, 0 }, { 255, TEST_SLOT, 0 },
    };
    for (unsigned i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(absent[i].bus, absent[i].dev, absent[i].func, 0));
        assert_int_equal(in(PCI_PORT_CONFIG_DATA, 4), 0xFFFFFFFF);
        assert_int_equal(in(PCI_PORT_CONFIG_DATA + 2, 2), 0xFFFF);
        assert_int_equal(in(PCI_PORT_CONFIG_DATA + 3, 1), 0xFF);
        out(PCI_PORT_CONFIG_DATA, 4, 0);    /* goes nowhere */
    }
    assert_int_equal(cfg_read(TEST_SLOT, 0, 4), 0x56781234);
    assert_null(pci_host_function(&host, 0, 32, 0));
}

static void test_no_host_is_empty_bus(void **state)
{
    (void)state;
    vm->pci = NULL;
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, 0, 0, 0));
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 4), 0xFFFFFFFF);
    assert_int_equal(in(PCI_PORT_CONFIG_DATA, 4), 0xFFFFFFFF);
    vm->pci = &host;
    assert_int_equal(host.address, 0);     /* the write above went nowhere */
}

static void test_address_register(void **state)
{
    (void)state;
    out(PCI_PORT_CONFIG_ADDRESS, 4, 0xFFFFFFFF);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 4), 0x8FFFFFFC);   /* reserved bits read 0 */
    out(PCI_PORT_CONFIG_ADDRESS, 4, 0x12345678);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 4), 0x02345678);
    /* Narrower accesses and 0xCF9-0xCFB are not the address register. */
    out(PCI_PORT_CONFIG_ADDRESS, 2, 0xFFFF);
    out(PCI_PORT_CONFIG_ADDRESS, 1, 0xFF);
    out(PCI_PORT_CONFIG_ADDRESS + 1, 1, 0x06);  /* 0xCF9 reset control: not emulated */
    assert_int_equal(vm->state, VM_RUNNING);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 4), 0x02345678);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 2), 0xFFFF);
    /* Extended registers (bits 27:24, offsets 0x100 and up): none exist; the bridge's are absent. */
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, 0, 0, 0) | 1u << 24);
    assert_int_equal(in(PCI_PORT_CONFIG_DATA, 4), 0xFFFFFFFF);
    out(PCI_PORT_CONFIG_DATA, 4, 0);
    assert_int_equal(cfg_read(0, 0, 4), 0x29C08086);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS, 1), 0xFF);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS + 1, 1), 0xFF);
    assert_int_equal(in(PCI_PORT_CONFIG_ADDRESS + 2, 2), 0xFFFF);
}

static void test_enable_bit_clear(void **state)
{
    (void)state;
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, TEST_SLOT, 0, PCI_INTERRUPT_LINE) & ~PCI_CONFIG_ENABLE);
    assert_int_equal(in(PCI_PORT_CONFIG_DATA, 4), 0xFFFFFFFF);
    assert_int_equal(in(PCI_PORT_CONFIG_DATA + 1, 1), 0xFF);
    out(PCI_PORT_CONFIG_DATA, 1, 0x42);             /* dropped */
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_LINE, 1), 0);
    cfg_write(TEST_SLOT, PCI_INTERRUPT_LINE, 1, 0x42);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_LINE, 1), 0x42);
}

/* Dword 0 of the test function is 0x56781234: every width at every byte offset of 0xCFC-0xCFF,
 * with bytes beyond 0xCFF reading as the empty bus. */
static void test_reads_every_width_and_offset(void **state)
{
    (void)state;
    const uint8_t bytes[4] = { 0x34, 0x12, 0x78, 0x56 };
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, TEST_SLOT, 0, 0));
    for (unsigned off = 0; off < 4; off++) {
        for (unsigned size = 1; size <= 4; size *= 2) {
            uint32_t want = 0;
            for (unsigned i = 0; i < size; i++)
                want |= (uint32_t)(off + i < 4 ? bytes[off + i] : 0xFF) << (8 * i);
            assert_int_equal(in((uint16_t)(PCI_PORT_CONFIG_DATA + off), size), want);
        }
    }
    /* The register bits of the address pick the dword; its low two bits do not matter. */
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, TEST_SLOT, 0, PCI_SUBSYSTEM_VENDOR) | 3);
    assert_int_equal(in(PCI_PORT_CONFIG_DATA, 2), 0xABCD);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_REVISION_ID, 4), 0x01800007);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_CLASS_PROG + 1, 2), 0x0180);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_PIN, 1), 1);
}

static void test_writes_every_width_respect_masks(void **state)
{
    (void)state;
    /* Interrupt line is the only writable byte of dword 0x3C. */
    cfg_write(TEST_SLOT, PCI_INTERRUPT_LINE, 4, 0xAABBCCDD);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_LINE, 4), 0x020101DD);
    cfg_write(TEST_SLOT, PCI_INTERRUPT_LINE + 1, 2, 0x9999);
    cfg_write(TEST_SLOT, PCI_INTERRUPT_LINE + 3, 1, 0x99);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_LINE, 4), 0x020101DD);
    cfg_write(TEST_SLOT, PCI_INTERRUPT_LINE, 2, 0x7711);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_INTERRUPT_LINE, 4), 0x02010111);
    /* A write reaching past 0xCFF only writes the bytes inside. */
    out(PCI_PORT_CONFIG_ADDRESS, 4, cfg_addr(0, TEST_SLOT, 0, PCI_CACHE_LINE_SIZE));
    out(PCI_PORT_CONFIG_DATA + 3, 4, 0x11223344);   /* byte 0x0F = BIST: read-only */
    out(PCI_PORT_CONFIG_DATA, 2, 0x5510);           /* cache line 0x10, latency timer read-only */
    assert_int_equal(cfg_read(TEST_SLOT, PCI_CACHE_LINE_SIZE, 4), 0x00000010);
    out(PCI_PORT_CONFIG_DATA + 2, 4, 0xFFFFFFFF);   /* header type: read-only */
    assert_int_equal(cfg_read(TEST_SLOT, PCI_CACHE_LINE_SIZE, 4), 0x00000010);
}

static void test_read_only_registers(void **state)
{
    (void)state;
    cfg_write(TEST_SLOT, PCI_VENDOR_ID, 4, 0);
    cfg_write(TEST_SLOT, PCI_REVISION_ID, 4, 0xFFFFFFFF);
    cfg_write(TEST_SLOT, PCI_SUBSYSTEM_VENDOR, 4, 0);
    cfg_write(TEST_SLOT, PCI_CAPABILITY_LIST, 1, 0x80);
    cfg_write(TEST_SLOT, PCI_ROM_ADDRESS, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_VENDOR_ID, 4), 0x56781234);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_REVISION_ID, 4), 0x01800007);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_SUBSYSTEM_VENDOR, 2), 0xABCD);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_CAPABILITY_LIST, 1), 0);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_ROM_ADDRESS, 4), 0);  /* no expansion ROM */
    /* Command: memory, bus master, INTx disable are writable; the rest reads 0. Status is RO. */
    cfg_write(TEST_SLOT, PCI_COMMAND, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_COMMAND, 4), 0x00000406);
    cfg_write(TEST_SLOT, PCI_COMMAND + 1, 1, 0);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_COMMAND, 2), 0x0006);
    /* Unimplemented BARs read 0 even after a sizing write. */
    for (unsigned bar = 2; bar < PCI_NUM_BARS; bar++) {
        cfg_write(TEST_SLOT, PCI_BAR0 + 4 * bar, 4, 0xFFFFFFFF);
        assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0 + 4 * bar, 4), 0);
    }
}

static void test_bar_sizing(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0, 4), (uint32_t)BAR_BASE | PCI_BAR_MEM_TYPE_64);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0 + 4, 4), 0);
    /* As Linux does it: decode off, write all ones, read the mask, restore. */
    cfg_write(TEST_SLOT, PCI_COMMAND, 2, 0);
    cfg_write(TEST_SLOT, PCI_BAR0, 4, 0xFFFFFFFF);
    cfg_write(TEST_SLOT, PCI_BAR0 + 4, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0, 4), (uint32_t)~(BAR_SIZE - 1) | PCI_BAR_MEM_TYPE_64);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0 + 4, 4), 0xFFFFFFFF);
    assert_int_equal(vm->bus.mmio.count, 0);
    /* Sub-dword writes into the BAR are merged with the rest, then masked. */
    cfg_write(TEST_SLOT, PCI_BAR0, 2, 0x1234);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0, 4), 0xFFFF0004);
    cfg_write(TEST_SLOT, PCI_BAR0, 4, (uint32_t)BAR_BASE);
    cfg_write(TEST_SLOT, PCI_BAR0 + 4, 4, 0);
    assert_int_equal(pci_function_bar_address(&fn, 0), BAR_BASE);
    cfg_write(TEST_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(vm->bus.mmio.count, 1);
    assert_int_equal(io_range_at(&vm->bus.mmio, 0)->base, BAR_BASE);
    assert_int_equal(io_range_at(&vm->bus.mmio, 0)->size, BAR_SIZE);
}

static void test_bar_move(void **state)
{
    (void)state;
    assert_int_equal(gpa_read(vm, BAR_BASE + 0x10, 4), 0x55667788);
    assert_int_equal(dev.last_offset, 0x10);

    /* Low bits below the size are dropped: 0xD0001234 becomes 0xD0000000. */
    cfg_write(TEST_SLOT, PCI_BAR0, 4, 0xD0001234);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0, 4), 0xD0000004);
    assert_int_equal(gpa_read(vm, BAR_BASE + 0x10, 4), 0xFFFFFFFF);
    unsigned reads = dev.reads;
    gpa_write(vm, BAR_BASE, 4, 1);
    assert_int_equal(dev.writes, 0);
    gpa_write(vm, 0xD0000008, 4, 0xCAFE);
    assert_int_equal(dev.writes, 1);
    assert_int_equal(dev.last_offset, 8);
    assert_int_equal(dev.last_value, 0xCAFE);
    assert_int_equal(gpa_read(vm, 0xD0000000 + BAR_SIZE - 4, 4), 0x55667788);
    assert_int_equal(dev.reads, reads + 1);

    /* Above 4 GiB through the high dword. */
    cfg_write(TEST_SLOT, PCI_BAR0 + 4, 4, 0x10);
    assert_int_equal(pci_function_bar_address(&fn, 0), 0x10D0000000ull);
    assert_int_equal(gpa_read(vm, 0xD0000000, 4), 0xFFFFFFFF);
    assert_int_equal(gpa_read(vm, 0x10D0000000ull, 2), 0x7788);
    assert_int_equal(vm->bus.mmio.count, 1);

    /* Onto RAM: refused by the bus, so it does not decode; RAM stays RAM. */
    host_console_reset();
    vm->ram[0x8000] = 0x5A;
    cfg_write(TEST_SLOT, PCI_BAR0 + 4, 4, 0);
    cfg_write(TEST_SLOT, PCI_BAR0, 4, 0x8000);
    assert_int_equal(pci_function_bar_address(&fn, 0), 0x8000);
    assert_int_equal(vm->bus.mmio.count, 0);
    assert_int_equal(gpa_read(vm, 0x8000, 1), 0x5A);
    assert_true(fn.decode_failures >= 1);
    assert_non_null(strstr(host_console(), "BAR0 at 0x8000"));

    /* Back to a free place: decodes again. */
    cfg_write(TEST_SLOT, PCI_BAR0, 4, (uint32_t)BAR_BASE);
    assert_int_equal(vm->bus.mmio.count, 1);
    assert_int_equal(gpa_read(vm, BAR_BASE, 1), 0x88);
}

static void test_bar_conflict_with_other_device(void **state)
{
    (void)state;
    static struct dev_log other;
    assert_int_equal(gpa_add_mmio(vm, 0xD0000000, 0x1000, &dev_ops, &other), 0);
    cfg_write(TEST_SLOT, PCI_BAR0, 4, 0xD0000000);
    assert_int_equal(vm->bus.mmio.count, 1);                 /* only the other device */
    assert_ptr_equal(io_range_at(&vm->bus.mmio, 0)->dev, &other);
    gpa_read(vm, 0xD0000000, 4);
    assert_int_equal(other.reads, 1);
    assert_int_equal(dev.reads, 0);
}

static void test_command_memory_decode(void **state)
{
    (void)state;
    assert_int_equal(gpa_read(vm, BAR_BASE, 8), 0x1122334455667788ull);
    cfg_write(TEST_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    assert_int_equal(gpa_read(vm, BAR_BASE, 8), ~0ull);
    assert_int_equal(gpa_read(vm, BAR_BASE + 3, 1), 0xFF);
    gpa_write(vm, BAR_BASE, 4, 0x1234);
    assert_int_equal(dev.writes, 0);
    assert_int_equal(dev.reads, 1);
    /* The BAR keeps its value while decode is off. */
    assert_int_equal(cfg_read(TEST_SLOT, PCI_BAR0, 4), (uint32_t)BAR_BASE | PCI_BAR_MEM_TYPE_64);
    cfg_write(TEST_SLOT, PCI_COMMAND, 1, PCI_COMMAND_MEMORY);
    gpa_write(vm, BAR_BASE + 4, 4, 0x1234);
    assert_int_equal(dev.writes, 1);
    assert_int_equal(dev.last_offset, 4);
    /* A function added with decode off does not appear until it is enabled. */
    static struct pci_function quiet;
    pci_function_init(&quiet, 0x1111, 0x2222, 0, 0);
    assert_int_equal(pci_function_add_bar64(&quiet, 2, 0x1000, 0xC0000000, &dev_ops, &dev), 0);
    assert_int_equal(pci_host_add(&host, 5, &quiet), 0);
    assert_int_equal(vm->bus.mmio.count, 1);
    assert_int_equal(cfg_read(5, PCI_BAR0 + 8, 4), 0xC0000004);
    assert_int_equal(cfg_read(5, PCI_BAR0, 4), 0);
    cfg_write(5, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_int_equal(vm->bus.mmio.count, 2);
    cfg_write(5, PCI_BAR0 + 8, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(5, PCI_BAR0 + 8, 4), 0xFFFFF004);
}

static void test_capability_list(void **state)
{
    (void)state;
    static struct pci_function f;
    pci_function_init(&f, 0x1111, 0x2222, 0, 0);
    assert_int_equal(pci_cfg_get(&f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    const uint8_t a[6] = { 0x09, 0xEE, 6, 'a', 'b', 'c' };
    const uint8_t b[4] = { 0x05, 0xEE, 0x12, 0x34 };
    assert_int_equal(pci_function_add_cap(&f, a, sizeof(a)), 0x40);
    assert_int_equal(pci_function_add_cap(&f, b, sizeof(b)), 0x48);     /* dword-aligned */
    pci_function_allow_write(&f, 0x4A, 1);
    assert_int_equal(pci_host_add(&host, 6, &f), 0);
    assert_int_equal(cfg_read(6, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    assert_int_equal(cfg_read(6, PCI_CAPABILITY_LIST, 1), 0x40);
    assert_int_equal(cfg_read(6, 0x40, 4), 0x61064809);   /* next pointer filled in */
    assert_int_equal(cfg_read(6, 0x48, 4), 0x34120005);   /* last: next 0 */
    cfg_write(6, 0x48, 4, 0xFFFFFFFF);
    assert_int_equal(cfg_read(6, 0x48, 4), 0x34FF0005);   /* only the allowed byte */
    /* A capability that does not fit is refused. */
    uint8_t big[200] = { 0x09 };
    assert_int_equal(pci_function_add_cap(&f, big, sizeof(big)), 0);
    assert_int_equal(pci_function_add_cap(&f, big, 1), 0);
    /* Reads past the image or across a dword through the function API: all ones / dropped. */
    assert_int_equal(pci_function_config_read(&f, 0xFE, 4), 0xFFFFFFFF);
    assert_int_equal(pci_function_config_read(&f, 256, 1), 0xFFFFFFFF);
    pci_function_config_write(&f, 0x3B, 2, 0xFFFF);
    assert_int_equal(pci_cfg_get(&f, PCI_INTERRUPT_LINE, 1), 0);
}

/* The INTx level: shown in status bit 3 regardless of command.INTx_disable, on the pin only
 * while not disabled, and never for a function without an interrupt pin. */
static void test_intx_level(void **state)
{
    (void)state;
    assert_int_equal(cfg_read(TEST_SLOT, PCI_STATUS, 2), 0);
    assert_false(pci_function_intx_asserted(&fn));
    pci_function_set_intx(&fn, true);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    assert_true(pci_function_intx_asserted(&fn));
    pci_function_set_intx(&fn, true);                   /* level, not a counter */
    cfg_write(TEST_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE);
    assert_false(pci_function_intx_asserted(&fn));
    assert_int_equal(cfg_read(TEST_SLOT, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    cfg_write(TEST_SLOT, PCI_STATUS, 2, PCI_STATUS_INTERRUPT);   /* read-only, not write-1-to-clear */
    assert_int_equal(cfg_read(TEST_SLOT, PCI_STATUS, 2), PCI_STATUS_INTERRUPT);
    cfg_write(TEST_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    assert_true(pci_function_intx_asserted(&fn));
    pci_function_set_intx(&fn, false);
    assert_int_equal(cfg_read(TEST_SLOT, PCI_STATUS, 2), 0);
    assert_false(pci_function_intx_asserted(&fn));
    /* The capability-list bit next to it is untouched either way. */
    static struct pci_function f;
    pci_function_init(&f, 0x1111, 0x2222, 0, 0);
    const uint8_t cap[4] = { 0x09, 0, 4, 0 };
    assert_int_equal(pci_function_add_cap(&f, cap, sizeof(cap)), 0x40);
    pci_function_set_intx(&f, true);
    assert_int_equal(pci_cfg_get(&f, PCI_STATUS, 2), PCI_STATUS_CAP_LIST | PCI_STATUS_INTERRUPT);
    assert_false(pci_function_intx_asserted(&f));      /* no interrupt pin */
    pci_function_set_intx(&f, false);
    assert_int_equal(pci_cfg_get(&f, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
}

static void test_add_rules(void **state)
{
    (void)state;
    static struct pci_function f;
    pci_function_init(&f, 1, 2, 0, 0);
    assert_int_equal(pci_host_add(&host, 0, &f), -1);
    assert_int_equal(pci_host_add(&host, TEST_SLOT, &f), -1);
    assert_int_equal(pci_host_add(&host, PCI_HOST_SLOTS, &f), -1);
    assert_int_equal(pci_function_add_bar64(&f, 5, 0x1000, 0, &dev_ops, NULL), -1);   /* needs 2 slots */
    assert_int_equal(pci_function_add_bar64(&f, 0, 0x1800, 0, &dev_ops, NULL), -1);   /* not 2^n */
    assert_int_equal(pci_function_add_bar64(&f, 0, 8, 0, &dev_ops, NULL), -1);
    assert_int_equal(pci_function_add_bar64(&f, 0, 0x1000, 0x800, &dev_ops, NULL), -1); /* misaligned */
    assert_int_equal(pci_function_add_bar64(&f, 0, 0x1000, 0, NULL, NULL), -1);
    assert_int_equal(pci_function_add_bar64(&f, 0, 0x1000, 0, &dev_ops, NULL), 0);
    assert_int_equal(pci_function_add_bar64(&f, 1, 0x1000, 0, &dev_ops, NULL), -1);   /* high half */
    assert_int_equal(pci_function_add_bar64(&f, 0, 0x1000, 0, &dev_ops, NULL), -1);
    assert_int_equal(pci_function_add_bar64(&f, 2, 1ull << 33, 1ull << 33, &dev_ops, NULL), 0);
    /* A BAR larger than 4 GiB: sizing shows it in the high dword too. */
    pci_function_config_write(&f, PCI_BAR0 + 8, 4, 0xFFFFFFFF);
    pci_function_config_write(&f, PCI_BAR0 + 12, 4, 0xFFFFFFFF);
    assert_int_equal(pci_cfg_get(&f, PCI_BAR0 + 8, 4), 0x00000004);
    assert_int_equal(pci_cfg_get(&f, PCI_BAR0 + 12, 4), 0xFFFFFFFE);
}

static void test_gpa_remove_mmio(void **state)
{
    (void)state;
    static struct dev_log a, b;
    while (vm->bus.mmio.count)      /* start from an empty bus, whatever setup decoded */
        assert_int_equal(gpa_remove_mmio(vm, io_range_at(&vm->bus.mmio, 0)->base), 0);
    assert_int_equal(gpa_add_mmio(vm, 0x200000, 0x1000, &dev_ops, &a), 0);
    assert_int_equal(gpa_add_mmio(vm, 0x300000, 0x1000, &dev_ops, &dev), 0);
    assert_int_equal(gpa_add_mmio(vm, 0x400000, 0x1000, &dev_ops, &b), 0);
    assert_int_equal(gpa_remove_mmio(vm, 0x300001), -1);
    assert_int_equal(gpa_remove_mmio(vm, 0x300000), 0);
    assert_int_equal(vm->bus.mmio.count, 2);
    assert_int_equal(io_range_at(&vm->bus.mmio, 0)->base, 0x200000);
    assert_int_equal(io_range_at(&vm->bus.mmio, 1)->base, 0x400000);
    assert_int_equal(gpa_read(vm, 0x300000, 4), 0xFFFFFFFF);
    assert_int_equal(gpa_read(vm, 0x400000, 1), 0x88);
    assert_int_equal(b.reads, 1);
    assert_int_equal(gpa_remove_mmio(vm, 0x300000), -1);
    /* The freed range can be claimed again, and goes back in address order. */
    assert_int_equal(gpa_add_mmio(vm, 0x500000, 0x1000, &dev_ops, &dev), 0);
    assert_int_equal(gpa_add_mmio(vm, 0x300000, 0x1000, &dev_ops, &dev), 0);
    assert_int_equal(io_range_at(&vm->bus.mmio, 1)->base, 0x300000);
    assert_int_equal(io_range_at(&vm->bus.mmio, 3)->base, 0x500000);
    assert_int_equal(gpa_add_mmio(vm, 0x600000, 0x1000, &dev_ops, &dev), 0);   /* no fixed count */
    assert_int_equal(gpa_remove_mmio(vm, 0x600000), 0);
    for (uint64_t base = 0x200000; base <= 0x500000; base += 0x100000)
        assert_int_equal(gpa_remove_mmio(vm, base), 0);
    assert_int_equal(vm->bus.mmio.count, 0);
    assert_int_equal(gpa_remove_mmio(vm, 0x200000), -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_host_bridge_identity),
        T(test_absent_functions_read_all_ones),
        T(test_no_host_is_empty_bus),
        T(test_address_register),
        T(test_enable_bit_clear),
        T(test_reads_every_width_and_offset),
        T(test_writes_every_width_respect_masks),
        T(test_read_only_registers),
        T(test_bar_sizing),
        T(test_bar_move),
        T(test_bar_conflict_with_other_device),
        T(test_command_memory_decode),
        T(test_capability_list),
        T(test_intx_level),
        T(test_add_rules),
        T(test_gpa_remove_mmio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
