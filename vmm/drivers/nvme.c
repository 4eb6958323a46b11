/* NVMe command construction and data-structure parsing (see nvme.h). */
#include "drivers/nvme.h"
#include "lib/le.h"
#include "lib/log.h"
#include "lib/mem.h"

void nvme_decode_cap(uint64_t cap, struct nvme_cap *out)
{
    out->max_queue_entries = (uint32_t)(cap & 0xFFFF) + 1;
    out->timeout_ms = (uint32_t)((cap >> 24) & 0xFF) * 500;
    out->doorbell_stride = 4u << ((cap >> 32) & 0xF);
    out->nvm_command_set = (cap >> 37) & 1;
    out->min_page_size = 1u << (12 + ((cap >> 48) & 0xF));
    out->max_page_size = 1u << (12 + ((cap >> 52) & 0xF));
}

uint64_t nvme_sq_doorbell(uint16_t qid, uint32_t stride) { return 0x1000 + (2ull * qid) * stride; }
uint64_t nvme_cq_doorbell(uint16_t qid, uint32_t stride) { return 0x1000 + (2ull * qid + 1) * stride; }

void nvme_cmd_identify(struct nvme_sqe *c, uint32_t cns, uint32_t nsid, uint64_t buf)
{
    memset(c, 0, sizeof(*c));
    c->cdw0 = NVME_ADMIN_IDENTIFY;
    c->nsid = nsid;
    c->prp1 = buf;
    c->cdw10 = cns;
}

void nvme_cmd_create_cq(struct nvme_sqe *c, uint16_t qid, uint16_t entries, uint64_t base)
{
    memset(c, 0, sizeof(*c));
    c->cdw0 = NVME_ADMIN_CREATE_CQ;
    c->prp1 = base;
    c->cdw10 = ((uint32_t)(entries - 1) << 16) | qid;
    c->cdw11 = 1;               /* physically contiguous, interrupts off: we poll */
}

void nvme_cmd_create_sq(struct nvme_sqe *c, uint16_t qid, uint16_t entries, uint16_t cqid, uint64_t base)
{
    memset(c, 0, sizeof(*c));
    c->cdw0 = NVME_ADMIN_CREATE_SQ;
    c->prp1 = base;
    c->cdw10 = ((uint32_t)(entries - 1) << 16) | qid;
    c->cdw11 = ((uint32_t)cqid << 16) | 1;     /* physically contiguous, medium priority */
}

bool nvme_cmd_rw(struct nvme_sqe *c, bool write, uint32_t nsid, uint64_t slba, uint32_t blocks)
{
    memset(c, 0, sizeof(*c));
    if (blocks == 0 || blocks > NVME_MAX_BLOCKS)
        return false;
    c->cdw0 = write ? NVME_CMD_WRITE : NVME_CMD_READ;
    c->nsid = nsid;
    c->cdw10 = (uint32_t)slba;
    c->cdw11 = (uint32_t)(slba >> 32);
    c->cdw12 = blocks - 1;
    return true;
}

void nvme_cmd_flush(struct nvme_sqe *c, uint32_t nsid)
{
    memset(c, 0, sizeof(*c));
    c->cdw0 = NVME_CMD_FLUSH;
    c->nsid = nsid;
}

int nvme_build_prps(uint64_t addr, uint64_t len, uint64_t *list, uint64_t list_addr, unsigned list_max,
                    uint64_t *prp1, uint64_t *prp2)
{
    const uint64_t page = NVME_PAGE_SIZE;
    if (len == 0 || (addr & 3) || addr > UINT64_MAX - len || (list_addr & (page - 1)))
        return -1;
    uint64_t first = page - (addr & (page - 1));    /* bytes PRP1 covers */
    *prp1 = addr;
    *prp2 = 0;
    if (len <= first)
        return 0;
    uint64_t next = addr + first;                   /* page aligned from here on */
    uint64_t rest = len - first;
    if (rest <= page) {
        *prp2 = next;
        return 0;
    }
    uint64_t pages = rest / page + (rest % page != 0);
    if (pages > list_max)
        return -1;
    for (uint64_t i = 0; i < pages; i++)
        list[i] = next + i * page;
    *prp2 = list_addr;
    return (int)pages;
}

static void id_string(const uint8_t *src, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        out[i] = (src[i] >= 0x20 && src[i] <= 0x7E) ? (char)src[i] : '?';
    out[n] = 0;
    while (n && (out[n - 1] == ' ' || out[n - 1] == '?' || out[n - 1] == 0))
        out[--n] = 0;
}

void nvme_parse_id_ctrl(const uint8_t *data, uint32_t min_page_size, struct nvme_ctrl_info *out)
{
    memset(out, 0, sizeof(*out));
    id_string(data + 4, 20, out->serial);
    id_string(data + 24, 40, out->model);
    uint8_t mdts = data[77];
    /* 2^MDTS pages; anything at or beyond 4 GiB is as good as unlimited for us. */
    if (mdts && (uint64_t)min_page_size << mdts < (1ull << 32))
        out->max_transfer_bytes = (uint32_t)((uint64_t)min_page_size << mdts);
    out->namespaces = read_le32(data + 516);
    out->volatile_cache = data[525] & 1;
}

bool nvme_parse_id_ns(const uint8_t *data, struct nvme_ns_info *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    out->blocks = read_le64(data);
    if (out->blocks == 0) {
        fmt_snprintf(why, why_len, "namespace inactive (size 0)");
        return false;
    }
    unsigned nlbaf = data[25], fmt = data[26] & 0xF;
    if (fmt > nlbaf) {
        fmt_snprintf(why, why_len, "LBA format %u beyond the %u listed", fmt, nlbaf + 1);
        return false;
    }
    uint32_t lbaf = read_le32(data + 128 + 4 * fmt);
    uint32_t metadata = lbaf & 0xFFFF, lbads = (lbaf >> 16) & 0xFF;
    if (metadata) {
        fmt_snprintf(why, why_len, "LBA format with %u bytes of metadata", metadata);
        return false;
    }
    if (lbads != 9 && lbads != 12) {
        fmt_snprintf(why, why_len, "block size 2^%u not supported", lbads);
        return false;
    }
    out->block_size = 1u << lbads;
    return true;
}
