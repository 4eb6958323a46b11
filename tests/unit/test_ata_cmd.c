/* Tests for the ATA command layer: IDENTIFY parsing (capacity, LBA48, sector size, strings,
 * integrity word, refusals), READ/WRITE task files across the 28/48-bit boundaries, IDE ports,
 * the classification of a failed PIO command from its status register. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/ata.h"

static void put_string(uint16_t *w, unsigned nwords, const char *s)
{
    char buf[80];
    memset(buf, ' ', sizeof(buf));
    memcpy(buf, s, strlen(s));
    for (unsigned i = 0; i < nwords; i++)
        w[i] = (uint16_t)(((uint8_t)buf[2 * i] << 8) | (uint8_t)buf[2 * i + 1]);
}

static void seal(uint16_t id[256])
{
    id[255] = 0xA5;
    uint8_t sum = 0;
    for (unsigned i = 0; i < 255; i++)
        sum = (uint8_t)(sum + (id[i] & 0xFF) + (id[i] >> 8));
    sum = (uint8_t)(sum + 0xA5);
    id[255] = (uint16_t)(0xA5 | ((uint8_t)-sum << 8));
}

/* A disk like QEMU's: LBA48, flush (EXT), 512-byte sectors. */
static void disk_identity(uint16_t id[256], uint64_t sectors)
{
    memset(id, 0, 512);
    id[0] = 0x0040;
    put_string(&id[10], 10, "QM00001");
    put_string(&id[27], 20, "QEMU HARDDISK");
    id[49] = 1u << 9;
    uint64_t s28 = sectors < (1ull << 28) ? sectors : (1ull << 28) - 1;
    id[60] = (uint16_t)s28;
    id[61] = (uint16_t)(s28 >> 16);
    id[82] = 1u << 5;
    id[83] = 0x4000 | (1u << 10) | (1u << 12) | (1u << 13);
    id[85] = 1u << 5;
    id[86] = (1u << 10) | (1u << 12) | (1u << 13);
    for (int i = 0; i < 4; i++)
        id[100 + i] = (uint16_t)(sectors >> (16 * i));
    seal(id);
}

static void test_identify_lba48_disk(void **state)
{
    (void)state;
    uint16_t id[256];
    struct ata_identity a;
    char why[80] = "";
    disk_identity(id, 419430400ull);   /* 200 GiB: beyond 28 bits */
    assert_true(ata_parse_identify(id, &a, why, sizeof(why)));
    assert_true(a.lba48);
    assert_int_equal(a.sectors, 419430400ull);
    assert_int_equal(a.sector_size, 512);
    assert_true(a.flush);
    assert_true(a.flush_ext);
    assert_true(a.write_cache);
    assert_string_equal(a.model, "QEMU HARDDISK");
    assert_string_equal(a.serial, "QM00001");
}

static void test_identify_lba28_disk(void **state)
{
    (void)state;
    uint16_t id[256];
    struct ata_identity a;
    disk_identity(id, 100000);
    id[83] &= (uint16_t)~(1u << 10);
    id[86] &= (uint16_t)~(1u << 10);
    id[100] = id[101] = 0;
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_false(a.lba48);
    assert_int_equal(a.sectors, 100000);

    /* Supported but not enabled (word 86): 28-bit only. */
    disk_identity(id, 100000);
    id[86] &= (uint16_t)~(1u << 10);
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_false(a.lba48);

    /* Word 83 without its validity signature: its bits are ignored. */
    disk_identity(id, 100000);
    id[83] = 0xFFFF;
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_false(a.lba48);
    assert_false(a.flush_ext);
}

static void test_identify_refusals(void **state)
{
    (void)state;
    uint16_t id[256];
    struct ata_identity a;
    char why[80];

    disk_identity(id, 1000);
    id[0] = 0x85C0;         /* ATAPI */
    seal(id);
    assert_false(ata_parse_identify(id, &a, why, sizeof(why)));
    assert_non_null(strstr(why, "ATAPI"));

    disk_identity(id, 1000);
    id[49] = 0;             /* CHS only */
    seal(id);
    assert_false(ata_parse_identify(id, &a, why, sizeof(why)));
    assert_non_null(strstr(why, "LBA"));

    disk_identity(id, 1000);
    id[60] ^= 1;            /* changed after sealing */
    assert_false(ata_parse_identify(id, &a, why, sizeof(why)));
    assert_non_null(strstr(why, "checksum"));

    disk_identity(id, 1000);
    id[60] ^= 1;
    id[255] = 0;            /* no integrity signature: the checksum is not checked */
    assert_true(ata_parse_identify(id, &a, why, sizeof(why)));

    disk_identity(id, 0);
    assert_false(ata_parse_identify(id, &a, why, sizeof(why)));
    assert_non_null(strstr(why, "no sectors"));

    disk_identity(id, 1000);
    id[103] = 0x0001;       /* 2^48 + ...: not addressable */
    seal(id);
    assert_false(ata_parse_identify(id, &a, why, sizeof(why)));
}

static void test_identify_sector_sizes(void **state)
{
    (void)state;
    uint16_t id[256];
    struct ata_identity a;
    disk_identity(id, 1000);
    id[106] = 0x4000 | (1u << 12);
    id[117] = 2048;         /* words: 4096 bytes */
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_int_equal(a.sector_size, 4096);

    id[117] = 260;          /* 520-byte sectors */
    seal(id);
    assert_false(ata_parse_identify(id, &a, NULL, 0));

    id[106] = 0x8000 | (1u << 12);   /* word 106 not valid: 512 */
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_int_equal(a.sector_size, 512);
}

static void test_identify_strings(void **state)
{
    (void)state;
    uint16_t id[256];
    struct ata_identity a;
    disk_identity(id, 1000);
    put_string(&id[27], 20, "0123456789012345678901234567890123456789");
    id[10] = 0x0141;        /* control character, then 'A' */
    seal(id);
    assert_true(ata_parse_identify(id, &a, NULL, 0));
    assert_string_equal(a.model, "0123456789012345678901234567890123456789");
    assert_int_equal(a.serial[0], '?');
    assert_int_equal(a.serial[1], 'A');
}

static void test_rw_28_and_48(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    assert_true(ata_build_rw(&tf, 0x0ABCDEF1, 1, false, false, true));
    assert_false(tf.lba48);
    assert_int_equal(tf.command, ATA_CMD_READ_SECTORS);
    assert_int_equal(tf.device, 0x40 | 0x0A);
    assert_int_equal(tf.count, 1);
    assert_int_equal(tf.lba & 0xFFFFFF, 0xBCDEF1);

    assert_true(ata_build_rw(&tf, 0, 256, true, false, false));    /* 256 encodes as 0 */
    assert_int_equal(tf.command, ATA_CMD_WRITE_SECTORS);
    assert_int_equal(tf.count, 0);

    assert_true(ata_build_rw(&tf, (1ull << 28) - 1, 1, false, true, false));   /* last 28-bit sector */
    assert_int_equal(tf.command, ATA_CMD_READ_DMA);
    assert_false(ata_build_rw(&tf, (1ull << 28) - 1, 2, false, true, false));  /* crosses, no LBA48 */
    assert_true(ata_build_rw(&tf, (1ull << 28) - 1, 2, false, true, true));
    assert_true(tf.lba48);
    assert_int_equal(tf.command, ATA_CMD_READ_DMA_EXT);
    assert_int_equal(tf.device, 0x40);
    assert_int_equal(tf.lba, (1ull << 28) - 1);

    assert_false(ata_build_rw(&tf, 0, 257, false, false, false));
    assert_true(ata_build_rw(&tf, 0, 257, true, true, true));
    assert_int_equal(tf.command, ATA_CMD_WRITE_DMA_EXT);
    assert_int_equal(tf.count, 257);
    assert_true(ata_build_rw(&tf, 5, 65536, true, false, true));   /* 65536 encodes as 0 */
    assert_int_equal(tf.command, ATA_CMD_WRITE_SECTORS_EXT);
    assert_int_equal(tf.count, 0);
    assert_false(ata_build_rw(&tf, 5, 65537, true, false, true));
    assert_false(ata_build_rw(&tf, 0, 0, false, false, true));

    assert_true(ata_build_rw(&tf, (1ull << 48) - 1, 1, false, false, true));
    assert_false(ata_build_rw(&tf, (1ull << 48) - 1, 2, false, false, true));
    assert_false(ata_build_rw(&tf, UINT64_MAX, 1, false, false, true));
    assert_true(ata_build_rw(&tf, 0x123456789ABull, 8, false, false, true));
    assert_int_equal(tf.command, ATA_CMD_READ_SECTORS_EXT);
    assert_int_equal(tf.lba, 0x123456789ABull);
}

static void test_flush_identify(void **state)
{
    (void)state;
    struct ata_taskfile tf;
    ata_build_flush(&tf, true);
    assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE_EXT);
    ata_build_flush(&tf, false);
    assert_int_equal(tf.command, ATA_CMD_FLUSH_CACHE);
    ata_build_identify(&tf);
    assert_int_equal(tf.command, ATA_CMD_IDENTIFY);
    assert_int_equal(tf.count, 0);
}

static void test_channel_ports(void **state)
{
    (void)state;
    uint32_t bars[6] = { 0xC001, 0xC101, 0xC201, 0xC301, 0xC401, 0 };
    uint16_t cmd = 0, ctl = 0;
    assert_true(ata_channel_ports(0x80, bars, 0, &cmd, &ctl));      /* compatibility mode */
    assert_int_equal(cmd, 0x1F0);
    assert_int_equal(ctl, 0x3F6);
    assert_true(ata_channel_ports(0x80, bars, 1, &cmd, &ctl));
    assert_int_equal(cmd, 0x170);
    assert_int_equal(ctl, 0x376);
    assert_true(ata_channel_ports(0x8F, bars, 0, &cmd, &ctl));      /* native: BARs */
    assert_int_equal(cmd, 0xC000);
    assert_int_equal(ctl, 0xC102);
    assert_true(ata_channel_ports(0x8F, bars, 1, &cmd, &ctl));
    assert_int_equal(cmd, 0xC200);
    assert_int_equal(ctl, 0xC302);
    assert_true(ata_channel_ports(0x85, bars, 0, &cmd, &ctl));      /* primary native only */
    assert_int_equal(cmd, 0xC000);
    uint32_t mem_bars[6] = { 0xFEB00000, 0xC101, 0, 0, 0, 0 };
    assert_false(ata_channel_ports(0x8F, mem_bars, 0, &cmd, &ctl)); /* native but a memory BAR */
    assert_false(ata_channel_ports(0x8F, mem_bars, 1, &cmd, &ctl)); /* native but no BAR */
    assert_false(ata_channel_ports(0x80, bars, 2, &cmd, &ctl));
}

/* What the PIO driver logs when it gives up on a command: decided from the status register. */
static void test_failure_classification(void **state)
{
    (void)state;
    assert_int_equal(ata_classify_failure(0xFF), ATA_FAILURE_GONE);          /* floating bus */
    assert_int_equal(ata_classify_failure(0xD0), ATA_FAILURE_BUSY);          /* still busy: timeout */
    /* ERR and DF mean nothing while BSY is set. */
    assert_int_equal(ata_classify_failure(0x80 | ATA_SR_ERR | ATA_SR_DF), ATA_FAILURE_BUSY);
    assert_int_equal(ata_classify_failure(0x51), ATA_FAILURE_ERROR);         /* DRDY|DSC|ERR: aborted */
    assert_int_equal(ata_classify_failure(0x71), ATA_FAILURE_DEVICE_FAULT);  /* DF wins over ERR */
    assert_int_equal(ata_classify_failure(0x60), ATA_FAILURE_DEVICE_FAULT);
    assert_int_equal(ata_classify_failure(0x58), ATA_FAILURE_PROTOCOL);      /* DRQ left over */
    assert_int_equal(ata_classify_failure(0x50), ATA_FAILURE_PROTOCOL);      /* idle, no data */
    assert_int_equal(ata_classify_failure(0x00), ATA_FAILURE_PROTOCOL);
    assert_string_equal(ata_failure_text(ATA_FAILURE_BUSY), "timed out, device busy");
    assert_string_equal(ata_failure_text(ATA_FAILURE_ERROR), "device reported an error");
    const enum ata_failure all[] = { ATA_FAILURE_BUSY, ATA_FAILURE_GONE, ATA_FAILURE_DEVICE_FAULT, ATA_FAILURE_ERROR,
                                     ATA_FAILURE_PROTOCOL };
    for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        for (unsigned j = 0; j < i; j++)
            assert_string_not_equal(ata_failure_text(all[i]), ata_failure_text(all[j]));
    assert_string_equal(ata_failure_text((enum ata_failure)99), "unknown failure");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identify_lba48_disk), cmocka_unit_test(test_identify_lba28_disk),
        cmocka_unit_test(test_identify_refusals),   cmocka_unit_test(test_identify_sector_sizes),
        cmocka_unit_test(test_identify_strings),    cmocka_unit_test(test_rw_28_and_48),
        cmocka_unit_test(test_flush_identify),      cmocka_unit_test(test_channel_ports),
        cmocka_unit_test(test_failure_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
