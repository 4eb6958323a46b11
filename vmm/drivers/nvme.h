/* NVMe 1.4 data structures and their construction: capability decoding, doorbells, admin and
 * NVM commands, PRP lists, IDENTIFY parsing, completion status. Pure; nvme_hw.c drives the
 * controller. */
#ifndef TESSERA_DRIVERS_NVME_H
#define TESSERA_DRIVERS_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Controller registers (offsets from BAR 0). */
#define NVME_REG_CAP  0x00
#define NVME_REG_VS   0x08
#define NVME_REG_CC   0x14
#define NVME_REG_CSTS 0x1C
#define NVME_REG_AQA  0x24
#define NVME_REG_ASQ  0x28
#define NVME_REG_ACQ  0x30
#define NVME_CC_EN    (1u << 0)
#define NVME_CC_IOSQES_64 (6u << 16)
#define NVME_CC_IOCQES_16 (4u << 20)
#define NVME_CSTS_RDY (1u << 0)
#define NVME_CSTS_CFS (1u << 1)

#define NVME_ADMIN_CREATE_SQ 0x01
#define NVME_ADMIN_CREATE_CQ 0x05
#define NVME_ADMIN_IDENTIFY  0x06
#define NVME_CMD_FLUSH 0x00
#define NVME_CMD_WRITE 0x01
#define NVME_CMD_READ  0x02
#define NVME_CNS_NAMESPACE  0
#define NVME_CNS_CONTROLLER 1

#define NVME_PAGE_SIZE 4096u        /* CC.MPS = 0; every controller supports it (MPSMIN = 0) */
#define NVME_MAX_BLOCKS 65536u      /* NLB is 16 bits, 0-based */

struct nvme_sqe {
    uint32_t cdw0;          /* opcode 7:0, PRP data pointer (PSDT 0), command id 31:16 */
    uint32_t nsid;
    uint32_t cdw2, cdw3;
    uint64_t mptr;
    uint64_t prp1, prp2;
    uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_cqe {
    uint32_t dw0, dw1;
    uint16_t sq_head, sq_id;
    uint16_t cid;
    uint16_t status;        /* phase tag bit 0, status field 15:1 */
};

_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe submission entry is 64 bytes");
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe completion entry is 16 bytes");

struct nvme_cap {
    uint32_t max_queue_entries;     /* MQES + 1 */
    uint32_t timeout_ms;            /* CAP.TO: worst-case ready transition */
    uint32_t doorbell_stride;       /* bytes between doorbells: 4 << DSTRD */
    bool nvm_command_set;
    uint32_t min_page_size, max_page_size;
};

void nvme_decode_cap(uint64_t cap, struct nvme_cap *out);
/* Register offsets of queue qid's submission tail and completion head doorbells. */
uint64_t nvme_sq_doorbell(uint16_t qid, uint32_t stride);
uint64_t nvme_cq_doorbell(uint16_t qid, uint32_t stride);

void nvme_cmd_identify(struct nvme_sqe *c, uint32_t cns, uint32_t nsid, uint64_t buf);
void nvme_cmd_create_cq(struct nvme_sqe *c, uint16_t qid, uint16_t entries, uint64_t base);
void nvme_cmd_create_sq(struct nvme_sqe *c, uint16_t qid, uint16_t entries, uint16_t cqid, uint64_t base);
/* READ/WRITE of blocks (1..NVME_MAX_BLOCKS) at slba; PRPs are filled separately. */
bool nvme_cmd_rw(struct nvme_sqe *c, bool write, uint32_t nsid, uint64_t slba, uint32_t blocks);
void nvme_cmd_flush(struct nvme_sqe *c, uint32_t nsid);
static inline void nvme_set_cid(struct nvme_sqe *c, uint16_t cid) { c->cdw0 = (c->cdw0 & 0xFFFFu) | ((uint32_t)cid << 16); }

/* PRP1/PRP2 for the buffer [addr, addr + len) with NVME_PAGE_SIZE pages. addr must be dword
 * aligned. When more than two pages are touched, PRP2 points to list (whose bus address is
 * list_addr, page aligned) and list[0..] receives the page addresses after the first; list_max
 * entries fit (one list page, no chaining). Returns the list entries used (0 when PRP2 is a page
 * or 0), or -1 for an invalid or too large request. */
int nvme_build_prps(uint64_t addr, uint64_t len, uint64_t *list, uint64_t list_addr, unsigned list_max,
                    uint64_t *prp1, uint64_t *prp2);

struct nvme_ctrl_info {
    char model[41], serial[21];
    uint32_t max_transfer_bytes;    /* from MDTS and CAP.MPSMIN; 0 = no limit */
    uint32_t namespaces;            /* NN */
    bool volatile_cache;            /* VWC: FLUSH is meaningful */
};
struct nvme_ns_info {
    uint64_t blocks;                /* NSZE */
    uint32_t block_size;
};

/* data: the 4096-byte IDENTIFY result. */
void nvme_parse_id_ctrl(const uint8_t *data, uint32_t min_page_size, struct nvme_ctrl_info *out);
/* False (why set) for an inactive namespace (NSZE 0), a block size other than 512 or 4096, or
 * metadata in the LBA format. */
bool nvme_parse_id_ns(const uint8_t *data, struct nvme_ns_info *out, char *why, size_t why_len);

/* Status field of a completion (15 bits: SC 7:0, SCT 10:8, ...); 0 = success. */
static inline uint16_t nvme_cqe_status(const struct nvme_cqe *e) { return (uint16_t)(e->status >> 1); }
static inline bool nvme_cqe_ok(const struct nvme_cqe *e) { return (nvme_cqe_status(e) & 0x7FF) == 0; }

#endif
