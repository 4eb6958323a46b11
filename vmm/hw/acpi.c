/* ACPI table walking for power-off (FADT + \_S5_ in the DSDT) and for the MADT's CPUs and
 * IOAPICs. Pure: every byte is read through phys_to_virt and checked against the table length,
 * so host tests and the fuzzer feed it synthetic tables. */
#include <stdbool.h>
#include <stdint.h>
#include "hw/acpi.h"
#include "lib/mem.h"

typedef const void *(*acpi_map_fn)(uint64_t phys, uint64_t len);

#define SDT_HEADER_LEN    36u
#define SDT_MAX_LEN       (1u << 20)  /* real tables are far smaller; anything bigger is garbage */
#define RSDP_V1_LEN       20u
#define RSDP_V2_MIN_LEN   36u
#define RSDP_MAX_LEN      4096u

/* FADT byte offsets (ACPI 6.x, table 5.9). */
#define FADT_DSDT         40u
#define FADT_PM1A_CNT     64u
#define FADT_PM1B_CNT     68u
#define FADT_X_DSDT       140u
#define FADT_X_PM1A_CNT   172u
#define FADT_X_PM1B_CNT   184u
#define GAS_LEN           12u
#define GAS_SPACE_IO      1u

/* MADT: local APIC address and flags precede the entries. */
#define MADT_ENTRIES      44u
#define MADT_LAPIC        0u
#define MADT_IOAPIC       1u
#define MADT_X2APIC       9u
#define MADT_CPU_USABLE   0x3u  /* enabled, or online-capable */

/* AML opcodes needed to read Name(_S5_, Package() { a, b, ... }). */
#define AML_ZERO          0x00u
#define AML_ONE           0x01u
#define AML_NAME          0x08u
#define AML_BYTE          0x0Au
#define AML_WORD          0x0Bu
#define AML_DWORD         0x0Cu
#define AML_QWORD         0x0Eu
#define AML_PACKAGE       0x12u
#define AML_ROOT          0x5Cu  /* '\' */
#define AML_ONES          0xFFu
#define SLP_TYP_MAX       7u     /* SLP_TYP is a 3-bit field of PM1 control */

struct acpi_table {
    const uint8_t *data;
    uint32_t len;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t byte_sum(const uint8_t *p, uint32_t n)
{
    uint8_t sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

/* Maps a whole system description table after checking its signature (when sig is given),
 * a sane length and the checksum. The length is read once, from the header mapping. */
static bool map_table(uint64_t phys, acpi_map_fn map, const char *sig, struct acpi_table *out)
{
    if (phys == 0)
        return false;
    const uint8_t *hdr = map(phys, SDT_HEADER_LEN);
    if (!hdr || (sig && memcmp(hdr, sig, 4) != 0))
        return false;
    uint32_t len = rd32(hdr + 4);
    if (len < SDT_HEADER_LEN || len > SDT_MAX_LEN)
        return false;
    const uint8_t *data = map(phys, len);
    if (!data || byte_sum(data, len) != 0)
        return false;
    out->data = data;
    out->len = len;
    return true;
}

/* The root table: the XSDT when the RSDP offers one that validates, else the RSDT. */
static bool load_root(uint64_t rsdp_phys, acpi_map_fn map, struct acpi_table *root,
                      unsigned *entry_size)
{
    if (rsdp_phys == 0)
        return false;
    const uint8_t *rsdp = map(rsdp_phys, RSDP_V1_LEN);
    if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) != 0 || byte_sum(rsdp, RSDP_V1_LEN) != 0)
        return false;
    uint8_t revision = rsdp[15];
    uint32_t rsdt = rd32(rsdp + 16);

    if (revision >= 2) {
        uint32_t len = rd32(rsdp + 20);
        if (len < RSDP_V2_MIN_LEN || len > RSDP_MAX_LEN)
            return false;
        const uint8_t *ext = map(rsdp_phys, len);
        if (!ext || byte_sum(ext, len) != 0)
            return false;
        if (map_table(rd64(ext + 24), map, "XSDT", root)) {
            *entry_size = 8;
            return true;
        }
        /* A broken XSDT with a good RSDT still lets us power off: use the RSDT. */
    }
    if (map_table(rsdt, map, "RSDT", root)) {
        *entry_size = 4;
        return true;
    }
    return false;
}

/* The first table with signature sig listed in the root table that validates. */
static bool find_table(uint64_t rsdp_phys, acpi_map_fn map, const char *sig, struct acpi_table *out)
{
    struct acpi_table root;
    unsigned entry_size;
    if (!load_root(rsdp_phys, map, &root, &entry_size))
        return false;
    uint32_t count = (root.len - SDT_HEADER_LEN) / entry_size;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *entry = root.data + SDT_HEADER_LEN + i * entry_size;
        uint64_t phys = entry_size == 8 ? rd64(entry) : rd32(entry);
        if (map_table(phys, map, sig, out))
            return true;
    }
    return false;
}

/* A PM1 control port: the 64-bit generic address when the FADT is long enough to hold it and
 * it names I/O space, else the ACPI 1.0 32-bit field. 0 when neither is a usable port. */
static uint16_t fadt_pm1_port(const struct acpi_table *fadt, uint32_t legacy_off, uint32_t gas_off)
{
    if (fadt->len >= gas_off + GAS_LEN) {
        const uint8_t *gas = fadt->data + gas_off;
        uint64_t addr = rd64(gas + 4);
        if (gas[0] == GAS_SPACE_IO && addr != 0 && addr <= 0xFFFF)
            return (uint16_t)addr;
    }
    if (fadt->len >= legacy_off + 4) {
        uint32_t addr = rd32(fadt->data + legacy_off);
        if (addr <= 0xFFFF)
            return (uint16_t)addr;
    }
    return 0;
}

/* The DSDT: X_DSDT when present (ACPI 2.0+ says it wins), the 32-bit field otherwise or when
 * the X_DSDT table does not validate. */
static bool fadt_dsdt(const struct acpi_table *fadt, acpi_map_fn map, struct acpi_table *dsdt)
{
    if (fadt->len >= FADT_X_DSDT + 8 && map_table(rd64(fadt->data + FADT_X_DSDT), map, "DSDT", dsdt))
        return true;
    return map_table(rd32(fadt->data + FADT_DSDT), map, "DSDT", dsdt);
}

/* PkgLength: bits 7:6 of the lead byte count the bytes that follow; with followers, bits 3:0
 * are the low nibble and bits 5:4 must be zero. The value includes the encoding itself. */
static bool aml_pkg_length(const uint8_t *p, uint32_t avail, uint32_t *value, uint32_t *encoded)
{
    if (avail < 1)
        return false;
    uint32_t follow = p[0] >> 6;
    if (avail - 1 < follow)
        return false;
    uint32_t v;
    if (follow == 0) {
        v = p[0] & 0x3F;
    } else {
        if (p[0] & 0x30)
            return false;
        v = p[0] & 0x0F;
        for (uint32_t k = 1; k <= follow; k++)
            v |= (uint32_t)p[k] << (4 + 8 * (k - 1));
    }
    *value = v;
    *encoded = 1 + follow;
    return true;
}

/* One constant integer term of a package (ZeroOp, OneOp, OnesOp or a Byte/Word/DWord/QWord
 * prefix). Anything else (a name, a method call) is not something we evaluate. */
static bool aml_integer(const uint8_t *p, uint32_t avail, uint64_t *value, uint32_t *used)
{
    if (avail < 1)
        return false;
    uint32_t size;
    switch (p[0]) {
    case AML_ZERO: *value = 0; *used = 1; return true;
    case AML_ONE:  *value = 1; *used = 1; return true;
    case AML_ONES: *value = ~0ull; *used = 1; return true;
    case AML_BYTE:  size = 1; break;
    case AML_WORD:  size = 2; break;
    case AML_DWORD: size = 4; break;
    case AML_QWORD: size = 8; break;
    default: return false;
    }
    if (avail - 1 < size)
        return false;
    uint64_t v = 0;
    for (uint32_t k = 0; k < size; k++)
        v |= (uint64_t)p[1 + k] << (8 * k);
    *value = v;
    *used = 1 + size;
    return true;
}

/* Name(_S5_, Package(){ SLP_TYPa, SLP_TYPb, ... }) with the name at aml[name_off]; body is
 * where AML starts (after the table header), len the table length. */
static bool aml_parse_s5(const uint8_t *aml, uint32_t body, uint32_t len, uint32_t name_off,
                         uint16_t *typa, uint16_t *typb)
{
    bool named = name_off - body >= 1 && aml[name_off - 1] == AML_NAME;
    bool named_from_root = name_off - body >= 2 && aml[name_off - 1] == AML_ROOT &&
                           aml[name_off - 2] == AML_NAME;
    if (!named && !named_from_root)
        return false;

    uint32_t pos = name_off + 4;
    if (pos >= len || aml[pos] != AML_PACKAGE)
        return false;
    pos++;
    uint32_t pkg_start = pos, pkg_len, encoded;
    if (!aml_pkg_length(aml + pos, len - pos, &pkg_len, &encoded))
        return false;
    if (pkg_len < encoded || pkg_len > len - pkg_start)
        return false;
    uint32_t end = pkg_start + pkg_len;
    pos += encoded;
    if (pos >= end)
        return false;
    uint8_t elements = aml[pos++];
    if (elements == 0)
        return false;

    uint64_t a, b;
    uint32_t used;
    if (!aml_integer(aml + pos, end - pos, &a, &used))
        return false;
    if (elements == 1) {
        /* Some firmware packs both values into one integer (ACPICA accepts this form). */
        b = (a >> 8) & 0xFF;
        a &= 0xFF;
    } else {
        pos += used;
        if (!aml_integer(aml + pos, end - pos, &b, &used))
            return false;
    }
    if (a > SLP_TYP_MAX || b > SLP_TYP_MAX)
        return false;
    *typa = (uint16_t)a;
    *typb = (uint16_t)b;
    return true;
}

static bool dsdt_find_s5(const struct acpi_table *dsdt, uint16_t *typa, uint16_t *typb)
{
    /* "_S5_" also occurs where the name is only referenced; keep looking past those. */
    for (uint32_t i = SDT_HEADER_LEN; dsdt->len - i >= 4; i++)
        if (memcmp(dsdt->data + i, "_S5_", 4) == 0 &&
            aml_parse_s5(dsdt->data, SDT_HEADER_LEN, dsdt->len, i, typa, typb))
            return true;
    return false;
}

bool acpi_find_poweroff(uint64_t rsdp_phys, acpi_map_fn phys_to_virt, struct acpi_poweroff *out)
{
    memset(out, 0, sizeof(*out));
    struct acpi_table fadt, dsdt;
    if (!find_table(rsdp_phys, phys_to_virt, "FACP", &fadt) || fadt.len < FADT_PM1B_CNT + 4)
        return false;
    uint16_t pm1a = fadt_pm1_port(&fadt, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
    uint16_t pm1b = fadt_pm1_port(&fadt, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
    if (pm1a == 0)
        return false;
    uint16_t typa, typb;
    if (!fadt_dsdt(&fadt, phys_to_virt, &dsdt) || !dsdt_find_s5(&dsdt, &typa, &typb))
        return false;
    out->pm1a_cnt = pm1a;
    out->pm1b_cnt = pm1b;
    out->slp_typa = typa;
    out->slp_typb = typb;
    out->valid = true;
    return true;
}

/* MADT entries are (type, length, ...); iteration stops at the first entry whose length is
 * too small to advance or runs past the table. */
struct madt_cursor {
    struct acpi_table madt;
    uint32_t pos;
};

static bool madt_open(uint64_t rsdp_phys, acpi_map_fn map, struct madt_cursor *c)
{
    c->pos = MADT_ENTRIES;
    return find_table(rsdp_phys, map, "APIC", &c->madt) && c->madt.len >= MADT_ENTRIES;
}

static bool madt_next(struct madt_cursor *c, const uint8_t **entry, uint8_t *type, uint8_t *len)
{
    uint32_t left = c->madt.len - c->pos;
    if (left < 2)
        return false;
    const uint8_t *e = c->madt.data + c->pos;
    if (e[1] < 2 || e[1] > left)
        return false;
    *entry = e;
    *type = e[0];
    *len = e[1];
    c->pos += e[1];
    return true;
}

unsigned acpi_list_cpus(uint64_t rsdp_phys, acpi_map_fn phys_to_virt, uint32_t *apic_ids, unsigned max)
{
    struct madt_cursor c;
    if (max == 0 || !madt_open(rsdp_phys, phys_to_virt, &c))
        return 0;
    unsigned n = 0;
    const uint8_t *e;
    uint8_t type, len;
    while (n < max && madt_next(&c, &e, &type, &len)) {
        uint32_t id;
        if (type == MADT_LAPIC && len >= 8 && (rd32(e + 4) & MADT_CPU_USABLE) && e[3] != 0xFF)
            id = e[3];
        else if (type == MADT_X2APIC && len >= 16 && (rd32(e + 8) & MADT_CPU_USABLE) &&
                 rd32(e + 4) != 0xFFFFFFFFu)
            id = rd32(e + 4);
        else
            continue;
        /* Firmware may list a CPU both as local APIC and x2APIC: keep one. */
        bool seen = false;
        for (unsigned k = 0; k < n && !seen; k++)
            seen = apic_ids[k] == id;
        if (!seen)
            apic_ids[n++] = id;
    }
    return n;
}

unsigned acpi_list_ioapics(uint64_t rsdp_phys, acpi_map_fn phys_to_virt, uint64_t *addrs, unsigned max)
{
    struct madt_cursor c;
    if (max == 0 || !madt_open(rsdp_phys, phys_to_virt, &c))
        return 0;
    unsigned n = 0;
    const uint8_t *e;
    uint8_t type, len;
    while (n < max && madt_next(&c, &e, &type, &len)) {
        if (type != MADT_IOAPIC || len < 12 || rd32(e + 4) == 0)
            continue;
        uint64_t addr = rd32(e + 4);
        bool seen = false;
        for (unsigned k = 0; k < n && !seen; k++)
            seen = addrs[k] == addr;
        if (!seen)
            addrs[n++] = addr;
    }
    return n;
}
