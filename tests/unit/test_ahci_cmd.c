/* Tests for AHCI command construction: PRD table splitting (4 MiB, 22-bit counts, word
 * alignment, entry limit), the register H2D FIS for 28- and 48-bit commands, command headers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/ahci.h"

#define MIB (1ull << 20)

static void test_prdt_single(void **state)
{
    (void)state;
    struct ahci_prd p[4];
    memset(p, 0xEE, sizeof(p));
    assert_int_equal(ahci_build_prdt(p, 4, 0x123400, 512, AHCI_PRD_MAX_BYTES), 1);
    assert_int_equal(p[0].dba, 0x123400);
    assert_int_equal(p[0].dbau, 0);
    assert_int_equal(p[0].reserved, 0);
    assert_int_equal(p[0].dbc, 511);                /* count - 1, interrupt bit clear */
    assert_int_equal(p[1].dba, 0xEEEEEEEE);         /* nothing written past the entries used */

    assert_int_equal(ahci_build_prdt(p, 4, 0x1000, 4 * MIB, AHCI_PRD_MAX_BYTES), 1);
    assert_int_equal(p[0].dbc, 0x3FFFFF);           /* the 22-bit maximum */
}

static void test_prdt_split(void **state)
{
    (void)state;
    struct ahci_prd p[4];
    uint64_t base = 0x12345678AAull;                /* above 4 GiB, word aligned, not page aligned */
    assert_int_equal(ahci_build_prdt(p, 4, base, 9 * MIB + 1024, AHCI_PRD_MAX_BYTES), 3);
    uint64_t expect = base, total = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t a = ((uint64_t)p[i].dbau << 32) | p[i].dba;
        assert_int_equal(a, expect);                /* contiguous, in order */
        uint32_t bytes = (p[i].dbc & 0x3FFFFF) + 1;
        assert_true(bytes <= 4 * MIB);
        assert_int_equal(bytes % 2, 0);
        assert_int_equal(p[i].dbc & 0xFFC00000u, 0);    /* no stray bits above the count */
        expect += bytes;
        total += bytes;
    }
    assert_int_equal(total, 9 * MIB + 1024);
    assert_int_equal(p[2].dbc, 1 * MIB + 1024 - 1);

    /* Smaller pieces on request. */
    assert_int_equal(ahci_build_prdt(p, 4, 0x10000, 8192, 4096), 2);
    assert_int_equal(p[1].dba, 0x11000);
    assert_int_equal(p[1].dbc, 4095);
}

static void test_prdt_limits(void **state)
{
    (void)state;
    struct ahci_prd p[2];
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 8 * MIB, AHCI_PRD_MAX_BYTES), 2);      /* exactly fits */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 8 * MIB + 2, AHCI_PRD_MAX_BYTES), 0);  /* one too many */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1001, 512, AHCI_PRD_MAX_BYTES), 0);          /* odd address */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 511, AHCI_PRD_MAX_BYTES), 0);          /* odd length */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 0, AHCI_PRD_MAX_BYTES), 0);
    assert_int_equal(ahci_build_prdt(p, 2, UINT64_MAX - 511, 1024, AHCI_PRD_MAX_BYTES), 0);  /* wraps */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 512, AHCI_PRD_MAX_BYTES + 2), 0);     /* entry too big */
    assert_int_equal(ahci_build_prdt(p, 2, 0x1000, 512, 511), 0);                         /* odd entry size */
    assert_int_equal(ahci_build_prdt(p, 0, 0x1000, 512, AHCI_PRD_MAX_BYTES), 0);
}

static void test_h2d_fis(void **state)
{
    (void)state;
    uint8_t fis[AHCI_H2D_FIS_BYTES];
    struct ata_taskfile tf;
    assert_true(ata_build_rw(&tf, 0x0A123456, 8, false, true, true));
    ahci_build_h2d_fis(fis, &tf);
    uint8_t want28[AHCI_H2D_FIS_BYTES] = { 0x27, 0x80, ATA_CMD_READ_DMA, 0, 0x56, 0x34, 0x12, 0x4A, 0, 0, 0, 0, 8 };
    assert_memory_equal(fis, want28, sizeof(want28));

    assert_true(ata_build_rw(&tf, 0xBA9876543210ull, 0x1234, true, true, true));
    ahci_build_h2d_fis(fis, &tf);
    uint8_t want48[AHCI_H2D_FIS_BYTES] = { 0x27, 0x80, ATA_CMD_WRITE_DMA_EXT, 0, 0x10, 0x32, 0x54, 0x40,
                                           0x76, 0x98, 0xBA, 0, 0x34, 0x12 };
    assert_memory_equal(fis, want48, sizeof(want48));

    ata_build_flush(&tf, true);
    ahci_build_h2d_fis(fis, &tf);
    assert_int_equal(fis[2], ATA_CMD_FLUSH_CACHE_EXT);
    assert_int_equal(fis[12], 0);
}

static void test_cmd_header(void **state)
{
    (void)state;
    struct ahci_cmd_header h;
    memset(&h, 0xFF, sizeof(h));
    ahci_build_cmd_header(&h, 0x1234567880ull, 3, true);
    assert_int_equal(h.flags, 5u | (1u << 6) | (3u << 16));
    assert_int_equal(h.prdbc, 0);
    assert_int_equal(h.ctba, 0x34567880u);
    assert_int_equal(h.ctbau, 0x12);
    assert_int_equal(h.reserved[0] | h.reserved[1] | h.reserved[2] | h.reserved[3], 0);
    ahci_build_cmd_header(&h, 0x80, 0, false);
    assert_int_equal(h.flags, 5u);
    assert_int_equal(sizeof(struct ahci_cmd_header), 32);
    assert_int_equal(sizeof(struct ahci_prd), 16);
}

static void test_port_state(void **state)
{
    (void)state;
    assert_true(ahci_port_has_disk(0x123, AHCI_SIG_ATA));
    assert_false(ahci_port_has_disk(0x123, AHCI_SIG_ATAPI));
    assert_false(ahci_port_has_disk(0x001, AHCI_SIG_ATA));      /* device detected, no PHY link */
    assert_false(ahci_port_has_disk(0x004, AHCI_SIG_ATA));      /* PHY offline */
    assert_false(ahci_port_has_disk(0, 0xFFFFFFFF));
    assert_int_equal(ahci_command_slots(0x40141F05), 32);
    assert_int_equal(ahci_command_slots(0x00000000), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prdt_single), cmocka_unit_test(test_prdt_split), cmocka_unit_test(test_prdt_limits),
        cmocka_unit_test(test_h2d_fis),     cmocka_unit_test(test_cmd_header), cmocka_unit_test(test_port_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
