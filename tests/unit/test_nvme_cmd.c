/* Tests for NVMe construction and parsing: CAP fields, doorbells, admin and I/O commands, PRP
 * entries and lists (page crossings, alignment, list capacity), IDENTIFY data, completion status. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/nvme.h"

#define PAGE 4096ull
#define LIST_ADDR 0x7700000ull

static void test_cap(void **state)
{
    (void)state;
    struct nvme_cap c;
    /* MQES 2047, CQR, TO 15 (7.5 s), DSTRD 2, CSS NVM, MPSMIN 0, MPSMAX 4. */
    uint64_t cap = 2047 | (1ull << 16) | (15ull << 24) | (2ull << 32) | (1ull << 37) | (4ull << 52);
    nvme_decode_cap(cap, &c);
    assert_int_equal(c.max_queue_entries, 2048);
    assert_int_equal(c.timeout_ms, 7500);
    assert_int_equal(c.doorbell_stride, 16);
    assert_true(c.nvm_command_set);
    assert_int_equal(c.min_page_size, 4096);
    assert_int_equal(c.max_page_size, 65536);
    nvme_decode_cap(1ull << 48, &c);
    assert_false(c.nvm_command_set);
    assert_int_equal(c.min_page_size, 8192);
    assert_int_equal(c.max_queue_entries, 1);

    assert_int_equal(nvme_sq_doorbell(0, 4), 0x1000);
    assert_int_equal(nvme_cq_doorbell(0, 4), 0x1004);
    assert_int_equal(nvme_sq_doorbell(1, 4), 0x1008);
    assert_int_equal(nvme_cq_doorbell(1, 4), 0x100C);
    assert_int_equal(nvme_sq_doorbell(1, 16), 0x1020);
    assert_int_equal(nvme_cq_doorbell(1, 16), 0x1030);
}

static void test_commands(void **state)
{
    (void)state;
    struct nvme_sqe c;
    assert_true(nvme_cmd_rw(&c, false, 1, 0x123456789Aull, 8));
    assert_int_equal(c.cdw0, NVME_CMD_READ);
    assert_int_equal(c.nsid, 1);
    assert_int_equal(c.cdw10, 0x3456789A);
    assert_int_equal(c.cdw11, 0x12);
    assert_int_equal(c.cdw12, 7);                   /* 0-based block count */
    assert_true(nvme_cmd_rw(&c, true, 3, 0, NVME_MAX_BLOCKS));
    assert_int_equal(c.cdw0, NVME_CMD_WRITE);
    assert_int_equal(c.cdw12, 0xFFFF);
    assert_false(nvme_cmd_rw(&c, true, 3, 0, 0));
    assert_false(nvme_cmd_rw(&c, true, 3, 0, NVME_MAX_BLOCKS + 1));

    assert_int_equal(c.cdw0, 0);                    /* a refused command is cleared, not half built */
    assert_true(nvme_cmd_rw(&c, true, 3, 0, 1));
    nvme_set_cid(&c, 0xBEEF);
    assert_int_equal(c.cdw0, 0xBEEF0000u | NVME_CMD_WRITE);   /* opcode kept */

    nvme_cmd_flush(&c, 2);
    assert_int_equal(c.cdw0, NVME_CMD_FLUSH);
    assert_int_equal(c.nsid, 2);
    assert_int_equal(c.prp1, 0);

    nvme_cmd_identify(&c, NVME_CNS_CONTROLLER, 0, 0x5000);
    assert_int_equal(c.cdw0, NVME_ADMIN_IDENTIFY);
    assert_int_equal(c.cdw10, 1);
    assert_int_equal(c.prp1, 0x5000);

    nvme_cmd_create_cq(&c, 1, 64, 0x6000);
    assert_int_equal(c.cdw0, NVME_ADMIN_CREATE_CQ);
    assert_int_equal(c.cdw10, (63u << 16) | 1);
    assert_int_equal(c.cdw11, 1);                   /* contiguous, no interrupts */
    assert_int_equal(c.prp1, 0x6000);
    nvme_cmd_create_sq(&c, 1, 32, 1, 0x7000);
    assert_int_equal(c.cdw0, NVME_ADMIN_CREATE_SQ);
    assert_int_equal(c.cdw10, (31u << 16) | 1);
    assert_int_equal(c.cdw11, (1u << 16) | 1);
}

static void test_prp_one_or_two_pages(void **state)
{
    (void)state;
    uint64_t list[4] = { 0 }, p1, p2;
    assert_int_equal(nvme_build_prps(0x10000, 512, list, LIST_ADDR, 4, &p1, &p2), 0);
    assert_int_equal(p1, 0x10000);
    assert_int_equal(p2, 0);
    assert_int_equal(nvme_build_prps(0x10000, PAGE, list, LIST_ADDR, 4, &p1, &p2), 0);
    assert_int_equal(p2, 0);                        /* exactly one page */
    assert_int_equal(nvme_build_prps(0x10E00, 1024, list, LIST_ADDR, 4, &p1, &p2), 0);
    assert_int_equal(p1, 0x10E00);
    assert_int_equal(p2, 0x11000);                  /* crosses into the next page */
    assert_int_equal(nvme_build_prps(0x10000, 2 * PAGE, list, LIST_ADDR, 4, &p1, &p2), 0);
    assert_int_equal(p2, 0x11000);                  /* two aligned pages: PRP2 is a page */
    assert_int_equal(nvme_build_prps(0x10004, PAGE - 4, list, LIST_ADDR, 4, &p1, &p2), 0);
    assert_int_equal(p2, 0);                        /* ends exactly at the page end */
    assert_int_equal(list[0], 0);                   /* no list written */
}

static void test_prp_lists(void **state)
{
    (void)state;
    uint64_t list[8], p1, p2;
    memset(list, 0xEE, sizeof(list));
    assert_int_equal(nvme_build_prps(0x20000, 3 * PAGE, list, LIST_ADDR, 8, &p1, &p2), 2);
    assert_int_equal(p1, 0x20000);
    assert_int_equal(p2, LIST_ADDR);
    assert_int_equal(list[0], 0x21000);
    assert_int_equal(list[1], 0x22000);
    assert_int_equal(list[2], 0xEEEEEEEEEEEEEEEEull);

    /* Unaligned start: 8 KiB from offset 0x200 touches three pages. */
    assert_int_equal(nvme_build_prps(0x20200, 2 * PAGE, list, LIST_ADDR, 8, &p1, &p2), 2);
    assert_int_equal(p1, 0x20200);
    assert_int_equal(list[0], 0x21000);
    assert_int_equal(list[1], 0x22000);

    /* A 2 MiB transfer from an unaligned address needs 513 pages: PRP1 plus a full 512-entry list. */
    static uint64_t big[512];
    assert_int_equal(nvme_build_prps(0x100008, 512 * PAGE, big, LIST_ADDR, 512, &p1, &p2), 512);
    assert_int_equal(big[0], 0x101000);
    assert_int_equal(big[511], 0x101000 + 511 * PAGE);
    assert_int_equal(nvme_build_prps(0x100008, 512 * PAGE + PAGE, big, LIST_ADDR, 512, &p1, &p2), -1);
    assert_int_equal(nvme_build_prps(0x100000, 513 * PAGE, big, LIST_ADDR, 512, &p1, &p2), 512);
}

static void test_prp_refusals(void **state)
{
    (void)state;
    uint64_t list[4], p1, p2;
    assert_int_equal(nvme_build_prps(0x10001, 512, list, LIST_ADDR, 4, &p1, &p2), -1);   /* not dword aligned */
    assert_int_equal(nvme_build_prps(0x10002, 512, list, LIST_ADDR, 4, &p1, &p2), -1);
    assert_int_equal(nvme_build_prps(0x10000, 0, list, LIST_ADDR, 4, &p1, &p2), -1);
    assert_int_equal(nvme_build_prps(0x10000, 6 * PAGE, list, LIST_ADDR, 4, &p1, &p2), -1);  /* list too small */
    assert_int_equal(nvme_build_prps(0x10000, 5 * PAGE, list, LIST_ADDR, 4, &p1, &p2), 4);
    assert_int_equal(nvme_build_prps(0x10000, 3 * PAGE, list, LIST_ADDR + 8, 4, &p1, &p2), -1);  /* list unaligned */
    assert_int_equal(nvme_build_prps(UINT64_MAX - 4095, 8192, list, LIST_ADDR, 4, &p1, &p2), -1); /* wraps */
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static void test_identify_controller(void **state)
{
    (void)state;
    static uint8_t d[4096];
    memset(d, 0, sizeof(d));
    memcpy(d + 4, "tessera1            ", 20);
    memcpy(d + 24, "QEMU NVMe Ctrl                          ", 40);
    d[77] = 7;                  /* 2^7 pages */
    put32(d + 516, 1);
    d[525] = 1;
    struct nvme_ctrl_info c;
    nvme_parse_id_ctrl(d, 4096, &c);
    assert_string_equal(c.serial, "tessera1");
    assert_string_equal(c.model, "QEMU NVMe Ctrl");
    assert_int_equal(c.max_transfer_bytes, 512 * 1024);
    assert_int_equal(c.namespaces, 1);
    assert_true(c.volatile_cache);
    d[77] = 0;                  /* no limit */
    d[525] = 0;
    nvme_parse_id_ctrl(d, 4096, &c);
    assert_int_equal(c.max_transfer_bytes, 0);
    assert_false(c.volatile_cache);
    d[77] = 30;                 /* 2^30 pages: as good as no limit, not an overflow */
    nvme_parse_id_ctrl(d, 4096, &c);
    assert_int_equal(c.max_transfer_bytes, 0);
}

static void test_identify_namespace(void **state)
{
    (void)state;
    static uint8_t d[4096];
    struct nvme_ns_info ns;
    char why[80];
    memset(d, 0, sizeof(d));
    put32(d, 131072);
    d[25] = 1;                  /* two formats */
    put32(d + 128, 9u << 16);   /* format 0: 512 bytes */
    put32(d + 132, 12u << 16);  /* format 1: 4096 bytes */
    assert_true(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    assert_int_equal(ns.blocks, 131072);
    assert_int_equal(ns.block_size, 512);
    d[26] = 1;
    assert_true(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    assert_int_equal(ns.block_size, 4096);
    d[26] = 2;                  /* beyond NLBAF */
    assert_false(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    d[26] = 0;
    put32(d + 128, (9u << 16) | 8);     /* 8 bytes of metadata */
    assert_false(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    assert_non_null(strstr(why, "metadata"));
    put32(d + 128, 10u << 16);          /* 1 KiB blocks */
    assert_false(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    put32(d + 128, 9u << 16);
    memset(d, 0, 8);                    /* NSZE 0: inactive */
    assert_false(nvme_parse_id_ns(d, &ns, why, sizeof(why)));
    assert_non_null(strstr(why, "inactive"));
}

static void test_completion_status(void **state)
{
    (void)state;
    struct nvme_cqe e = { 0 };
    e.status = 1;               /* phase only */
    assert_true(nvme_cqe_ok(&e));
    e.status = (uint16_t)((0x02 << 1) | 1);   /* SC 2: invalid field */
    assert_false(nvme_cqe_ok(&e));
    assert_int_equal(nvme_cqe_status(&e), 2);
    e.status = (uint16_t)((0x2 << 9) | 0);    /* SCT 2 (media error), SC 0 */
    assert_false(nvme_cqe_ok(&e));
    e.status = (uint16_t)(1u << 15);          /* DNR alone: no error code */
    assert_true(nvme_cqe_ok(&e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),         cmocka_unit_test(test_commands),
        cmocka_unit_test(test_prp_one_or_two_pages), cmocka_unit_test(test_prp_lists),
        cmocka_unit_test(test_prp_refusals), cmocka_unit_test(test_identify_controller),
        cmocka_unit_test(test_identify_namespace), cmocka_unit_test(test_completion_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
