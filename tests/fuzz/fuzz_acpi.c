/* Fuzz the ACPI walker: the input becomes the DSDT or the MADT behind a valid RSDP/XSDT/FADT
 * chain. The first byte picks the target and whether the harness repairs the header's length and
 * checksum, so most inputs reach the AML/MADT parsing instead of dying at the checksum. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hw/acpi.h"

#define RSDP_ADDR  0xE0000ull
#define XSDT_ADDR  0x10000ull
#define FADT_ADDR  0x11000ull
#define FUZZ_ADDR  0x100000ull

#define MODE_MADT          0x01  /* else the input is the DSDT */
#define MODE_KEEP_LENGTH   0x02  /* else the length field is set to the input size */
#define MODE_KEEP_CHECKSUM 0x04  /* else the checksum is repaired */

static uint8_t rsdp[36], xsdt[36 + 16], fadt[244];
static uint8_t *fuzz_table;
static size_t fuzz_len;

static const void *map(uint64_t phys, uint64_t len)
{
    const struct { uint64_t phys; const uint8_t *buf; uint64_t size; } regions[] = {
        { RSDP_ADDR, rsdp, sizeof(rsdp) },
        { XSDT_ADDR, xsdt, sizeof(xsdt) },
        { FADT_ADDR, fadt, sizeof(fadt) },
        { FUZZ_ADDR, fuzz_table, fuzz_len },
    };
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        uint64_t off = phys - regions[i].phys;
        if (phys >= regions[i].phys && off < regions[i].size && len <= regions[i].size - off)
            return regions[i].buf + off;
    }
    return NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static void checksum(uint8_t *p, size_t len, size_t at)
{
    uint8_t sum = 0;
    p[at] = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    p[at] = (uint8_t)-sum;
}

static void header(uint8_t *t, const char *sig, uint32_t len)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    checksum(t, len, 9);
}

static void build_chain(int madt)
{
    memset(rsdp, 0, sizeof(rsdp));
    memcpy(rsdp, "RSD PTR ", 8);
    rsdp[15] = 2;
    put32(rsdp + 20, sizeof(rsdp));
    put64(rsdp + 24, XSDT_ADDR);
    checksum(rsdp, 20, 8);
    checksum(rsdp, sizeof(rsdp), 32);

    memset(xsdt, 0, sizeof(xsdt));
    put64(xsdt + 36, FADT_ADDR);
    put64(xsdt + 44, FUZZ_ADDR);   /* the MADT, when the input is one */
    header(xsdt, "XSDT", sizeof(xsdt));

    memset(fadt, 0, sizeof(fadt));
    put32(fadt + 64, 0xB004);
    put64(fadt + 140, madt ? 0 : FUZZ_ADDR);
    header(fadt, "FACP", sizeof(fadt));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    int madt = mode & MODE_MADT;
    build_chain(madt);

    /* An exactly-sized copy: any read past the table is an ASan report. */
    fuzz_len = size - 1;
    fuzz_table = malloc(fuzz_len ? fuzz_len : 1);
    if (!fuzz_table)
        return 0;
    memcpy(fuzz_table, data + 1, fuzz_len);
    if (fuzz_len >= 36) {
        memcpy(fuzz_table, madt ? "APIC" : "DSDT", 4);
        if (!(mode & MODE_KEEP_LENGTH))
            put32(fuzz_table + 4, (uint32_t)fuzz_len);
        if (!(mode & MODE_KEEP_CHECKSUM))
            checksum(fuzz_table, fuzz_len, 9);
    }

    struct acpi_poweroff p;
    if (acpi_find_poweroff(RSDP_ADDR, map, &p)) {
        if (!p.valid || p.pm1a_cnt != 0xB004 || p.slp_typa > 7 || p.slp_typb > 7)
            abort();
    } else if (p.valid) {
        abort();
    }

    uint32_t ids[64];
    uint64_t ioapics[8];
    unsigned ncpu = acpi_list_cpus(RSDP_ADDR, map, ids, 64);
    unsigned nio = acpi_list_ioapics(RSDP_ADDR, map, ioapics, 8);
    if (ncpu > 64 || nio > 8 || (!madt && (ncpu || nio)))
        abort();
    for (unsigned i = 0; i < ncpu; i++)
        for (unsigned k = 0; k < i; k++)
            if (ids[i] == ids[k])
                abort();

    free(fuzz_table);
    fuzz_table = NULL;
    return 0;
}
