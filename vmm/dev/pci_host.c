/* PCI configuration mechanism #1 and the configuration-space rules every emulated function
 * shares: write masks, 64-bit memory BARs that follow the guest's programming on the
 * guest-physical bus, memory-decode enable, and the capability list. */
#include "dev/pci_host.h"
#include "lib/log.h"
#include "lib/mem.h"
#include "mem/gpa_bus.h"

#define PCI_BAR_END (PCI_BAR0 + 4 * PCI_NUM_BARS)
#define DECODE_FAILURES_LOGGED 4    /* a guest can move a BAR in a loop: keep the log readable */

uint32_t pci_cfg_get(const struct pci_function *f, unsigned offset, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size && offset + i < PCI_CFG_SIZE; i++)
        v |= (uint32_t)f->cfg[offset + i] << (8 * i);
    return v;
}

void pci_cfg_set(struct pci_function *f, unsigned offset, unsigned size, uint32_t value)
{
    for (unsigned i = 0; i < size && offset + i < PCI_CFG_SIZE; i++)
        f->cfg[offset + i] = (uint8_t)(value >> (8 * i));
}

void pci_function_init(struct pci_function *f, uint16_t vendor, uint16_t device, uint32_t class_code,
                       uint8_t revision)
{
    memset(f, 0, sizeof(*f));
    pci_cfg_set(f, PCI_VENDOR_ID, 2, vendor);
    pci_cfg_set(f, PCI_DEVICE_ID, 2, device);
    pci_cfg_set(f, PCI_REVISION_ID, 1, revision);
    pci_cfg_set(f, PCI_CLASS_PROG, 3, class_code);
    pci_cfg_set(f, PCI_HEADER_TYPE, 1, 0);     /* type 0, single function */
    uint16_t cmd_mask = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE;
    f->wmask[PCI_COMMAND] = (uint8_t)cmd_mask;
    f->wmask[PCI_COMMAND + 1] = (uint8_t)(cmd_mask >> 8);
    f->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
    f->wmask[PCI_INTERRUPT_LINE] = 0xFF;
    f->cap_next_free = PCI_CAP_START;
}

/* Slot i is the upper half of the 64-bit BAR in slot i - 1. */
static bool bar_is_high_half(const struct pci_function *f, unsigned i)
{
    return i > 0 && i < PCI_NUM_BARS && f->bar[i - 1].size != 0;
}

uint64_t pci_function_bar_address(const struct pci_function *f, unsigned index)
{
    if (index + 1 >= PCI_NUM_BARS || f->bar[index].size == 0)
        return 0;
    uint64_t lo = pci_cfg_get(f, PCI_BAR0 + 4 * index, 4) & ~0xFu;
    uint64_t hi = pci_cfg_get(f, PCI_BAR0 + 4 * (index + 1), 4);
    return hi << 32 | lo;
}

/* Bring each BAR's bus registration in line with command.memory and the BAR's address. A
 * placement the bus refuses (over RAM or another device, e.g. mid-sizing) simply does not
 * decode: the guest sees the empty bus there, as with a real address conflict. */
static void update_decode(struct pci_function *f)
{
    if (!f->vm)
        return;
    bool memory_on = (pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY) != 0;
    for (unsigned i = 0; i + 1 < PCI_NUM_BARS; i++) {
        struct pci_bar *b = &f->bar[i];
        if (b->size == 0)
            continue;
        uint64_t want = pci_function_bar_address(f, i);
        if (b->mapped && (!memory_on || b->mapped_base != want)) {
            gpa_remove_mmio(f->vm, b->mapped_base);
            b->mapped = false;
        }
        if (!memory_on || b->mapped)
            continue;
        if (gpa_add_mmio(f->vm, want, b->size, b->ops, b->dev) == 0) {
            b->mapped = true;
            b->mapped_base = want;
        } else if (f->decode_failures++ < DECODE_FAILURES_LOGGED) {
            log_printf("tessera: guest %s: PCI %04x:%04x BAR%u at %#llx (size %#llx) overlaps RAM or "
                       "another device; not decoded\n", f->vm->name, pci_cfg_get(f, PCI_VENDOR_ID, 2),
                       pci_cfg_get(f, PCI_DEVICE_ID, 2), i, (unsigned long long)want,
                       (unsigned long long)b->size);
        }
    }
}

int pci_function_add_bar64(struct pci_function *f, unsigned index, uint64_t size, uint64_t base,
                           const struct mmio_ops *ops, void *dev)
{
    if (index + 1 >= PCI_NUM_BARS || f->bar[index].size || f->bar[index + 1].size ||
        bar_is_high_half(f, index) || size < 16 || (size & (size - 1)) || (base & (size - 1)) || !ops)
        return -1;
    f->bar[index] = (struct pci_bar){ .size = size, .ops = ops, .dev = dev };
    pci_cfg_set(f, PCI_BAR0 + 4 * index, 4, (uint32_t)base | PCI_BAR_MEM_TYPE_64);
    pci_cfg_set(f, PCI_BAR0 + 4 * (index + 1), 4, (uint32_t)(base >> 32));
    update_decode(f);
    return 0;
}

unsigned pci_function_add_cap(struct pci_function *f, const uint8_t *body, unsigned len)
{
    unsigned at = f->cap_next_free;
    if (len < 2 || at < PCI_CAP_START || at >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - at)
        return 0;
    memcpy(&f->cfg[at], body, len);
    f->cfg[at + 1] = 0;
    if (f->cap_last)
        f->cfg[f->cap_last + 1] = (uint8_t)at;
    else
        f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)at;
    f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    f->cap_last = (uint8_t)at;
    f->cap_next_free = (uint8_t)(((at + len + 3) & ~3u) < PCI_CFG_SIZE ? (at + len + 3) & ~3u : 0);
    return at;
}

void pci_function_allow_write(struct pci_function *f, unsigned offset, unsigned len)
{
    for (unsigned i = 0; i < len && offset + i < PCI_CFG_SIZE; i++)
        f->wmask[offset + i] = 0xFF;
}

void pci_function_set_intx(struct pci_function *f, bool level)
{
    if (level)
        f->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        f->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
}

bool pci_function_intx_asserted(const struct pci_function *f)
{
    return f->cfg[PCI_INTERRUPT_PIN] != 0 && (f->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT) &&
           !(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
}

static bool access_ok(unsigned offset, unsigned size)
{
    return size >= 1 && size <= 4 && offset < PCI_CFG_SIZE && (offset & 3) + size <= 4;
}

uint32_t pci_function_config_read(struct pci_function *f, unsigned offset, unsigned size)
{
    if (!access_ok(offset, size))
        return 0xFFFFFFFFu;
    if (f->hooks && f->hooks->before_read)
        f->hooks->before_read(f->hook_ctx, f, offset, size);
    return pci_cfg_get(f, offset, size);
}

/* The value a BAR dword takes when the guest writes v: address bits below the size read as
 * zero (which is what makes the all-ones sizing write return the size mask). */
static uint32_t bar_dword_value(const struct pci_function *f, unsigned i, uint32_t v)
{
    if (bar_is_high_half(f, i)) {
        uint64_t mask = ~(f->bar[i - 1].size - 1);
        return v & (uint32_t)(mask >> 32);
    }
    if (f->bar[i].size == 0)
        return 0;
    uint64_t mask = ~(f->bar[i].size - 1);
    return (v & (uint32_t)mask & ~0xFu) | PCI_BAR_MEM_TYPE_64;
}

void pci_function_config_write(struct pci_function *f, unsigned offset, unsigned size, uint32_t value)
{
    if (!access_ok(offset, size))
        return;
    unsigned dword = offset & ~3u;
    unsigned shift = 8 * (offset & 3);
    uint32_t span = (size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1) << shift;
    uint32_t old = pci_cfg_get(f, dword, 4);
    uint32_t merged = (old & ~span) | ((value << shift) & span);
    uint32_t next;
    if (dword >= PCI_BAR0 && dword < PCI_BAR_END) {
        next = bar_dword_value(f, (dword - PCI_BAR0) / 4, merged);
    } else {
        uint32_t wmask = 0;
        for (unsigned i = 0; i < 4; i++)
            wmask |= (uint32_t)f->wmask[dword + i] << (8 * i);
        wmask &= span;
        next = (old & ~wmask) | (merged & wmask);
    }
    pci_cfg_set(f, dword, 4, next);
    if (dword == PCI_COMMAND || (dword >= PCI_BAR0 && dword < PCI_BAR_END))
        update_decode(f);
    if (f->hooks && f->hooks->after_write)
        f->hooks->after_write(f->hook_ctx, f, offset, size);
}

void pci_host_init(struct pci_host *h, struct vm *vm)
{
    memset(h, 0, sizeof(*h));
    h->vm = vm;
    pci_function_init(&h->bridge, PCI_HOST_BRIDGE_VENDOR, PCI_HOST_BRIDGE_DEVICE, PCI_CLASS_HOST_BRIDGE, 0);
    /* The bridge forwards memory and bus-master cycles; nothing about it is programmable here. */
    pci_cfg_set(&h->bridge, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    h->bridge.wmask[PCI_COMMAND] = 0;
    h->bridge.wmask[PCI_COMMAND + 1] = 0;
    h->bridge.vm = vm;
    h->slot[0] = &h->bridge;
    vm->pci = h;
}

int pci_host_add(struct pci_host *h, unsigned slot, struct pci_function *f)
{
    if (slot == 0 || slot >= PCI_HOST_SLOTS || h->slot[slot])
        return -1;
    h->slot[slot] = f;
    f->vm = h->vm;
    update_decode(f);
    return 0;
}

struct pci_function *pci_host_function(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn)
{
    if (bus != 0 || fn != 0 || dev >= PCI_HOST_SLOTS)
        return NULL;
    return h->slot[dev];
}

static uint32_t ones(unsigned size)
{
    return size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
}

/* The function and register the latch selects, or NULL when disabled or absent. */
static struct pci_function *selected(struct pci_host *h, unsigned *reg)
{
    uint32_t a = h->address;
    /* Bits 27:24 are the AMD-style extended register number (offsets 0x100-0xFFF, as Linux's
     * conf1 accessors encode them): none of our functions has extended space. */
    if (!(a & PCI_CONFIG_ENABLE) || (a & 0x0F000000u))
        return NULL;
    *reg = a & 0xFC;
    return pci_host_function(h, (a >> 16) & 0xFF, (a >> 11) & 0x1F, (a >> 8) & 0x7);
}

/* Bytes of a data-port access that land on 0xCFC-0xCFF. */
static unsigned data_bytes(uint16_t port, unsigned size)
{
    unsigned room = PCI_PORT_CONFIG_DATA + 4 - port;
    return size < room ? size : room;
}

uint32_t pci_host_io_read(struct pci_host *h, uint16_t port, unsigned size)
{
    if (size != 1 && size != 2 && size != 4)
        size = 1;
    if (port == PCI_PORT_CONFIG_ADDRESS && size == 4)
        return h->address;
    if (port < PCI_PORT_CONFIG_DATA || port > PCI_PORT_CONFIG_DATA + 3)
        return ones(size);
    unsigned reg, n = data_bytes(port, size);
    struct pci_function *f = selected(h, &reg);
    if (!f)
        return ones(size);
    uint32_t v = pci_function_config_read(f, reg + (port - PCI_PORT_CONFIG_DATA), n);
    return (v & ones(n)) | (ones(size) & ~ones(n));
}

void pci_host_io_write(struct pci_host *h, uint16_t port, unsigned size, uint32_t value)
{
    if (size != 1 && size != 2 && size != 4)
        size = 1;
    if (port == PCI_PORT_CONFIG_ADDRESS && size == 4) {
        h->address = value & 0x8FFFFFFCu;   /* reserved bits 30:28 and 1:0 read as zero */
        return;
    }
    if (port < PCI_PORT_CONFIG_DATA || port > PCI_PORT_CONFIG_DATA + 3)
        return;
    unsigned reg, n = data_bytes(port, size);
    struct pci_function *f = selected(h, &reg);
    if (f)
        pci_function_config_write(f, reg + (port - PCI_PORT_CONFIG_DATA), n, value & ones(n));
}

static uint32_t config_port_read(void *dev, uint16_t port, unsigned size)
{
    struct vm *vm = dev;
    return vm->pci ? pci_host_io_read(vm->pci, port, size) : ones(size);
}

static void config_port_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct vm *vm = dev;
    if (vm->pci)
        pci_host_io_write(vm->pci, port, size, value);
}

static const struct port_ops config_port_ops = { config_port_read, config_port_write };

int pci_host_register_ports(struct vm *vm)
{
    return io_bus_add_ports(&vm->bus, PCI_PORT_CONFIG_ADDRESS, PCI_PORT_COUNT, &config_port_ops, vm);
}
