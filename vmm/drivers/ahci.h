/* AHCI 1.3.1 data structures and their construction: command headers, command FIS, PRD tables,
 * port status decoding. Pure; ahci_hw.c drives the HBA. */
#ifndef TESSERA_DRIVERS_AHCI_H
#define TESSERA_DRIVERS_AHCI_H

#include <stdbool.h>
#include <stdint.h>
#include "drivers/ata.h"

/* HBA registers (offsets from ABAR, BAR 5). */
#define AHCI_CAP   0x00
#define AHCI_GHC   0x04
#define AHCI_IS    0x08
#define AHCI_PI    0x0C
#define AHCI_CAP2  0x24
#define AHCI_BOHC  0x28
#define AHCI_CAP_S64A   (1u << 31)
#define AHCI_CAP_SCLO   (1u << 24)
#define AHCI_GHC_IE     (1u << 1)
#define AHCI_GHC_AE     (1u << 31)
#define AHCI_CAP2_BOH   (1u << 0)
#define AHCI_BOHC_BOS   (1u << 0)
#define AHCI_BOHC_OOS   (1u << 1)
#define AHCI_BOHC_BB    (1u << 4)

/* Port registers (offsets from ABAR + 0x100 + port * 0x80). */
#define AHCI_PORT_BASE(p) (0x100u + (uint32_t)(p) * 0x80u)
#define AHCI_PxCLB  0x00
#define AHCI_PxCLBU 0x04
#define AHCI_PxFB   0x08
#define AHCI_PxFBU  0x0C
#define AHCI_PxIS   0x10
#define AHCI_PxIE   0x14
#define AHCI_PxCMD  0x18
#define AHCI_PxTFD  0x20
#define AHCI_PxSIG  0x24
#define AHCI_PxSSTS 0x28
#define AHCI_PxSCTL 0x2C
#define AHCI_PxSERR 0x30
#define AHCI_PxCI   0x38
#define AHCI_PxCMD_ST  (1u << 0)
#define AHCI_PxCMD_CLO (1u << 3)
#define AHCI_PxCMD_FRE (1u << 4)
#define AHCI_PxCMD_FR  (1u << 14)
#define AHCI_PxCMD_CR  (1u << 15)
/* PxIS bits that mean the command failed: task file error, host bus data/fatal error,
 * interface fatal/non-fatal error, overflow. */
#define AHCI_PxIS_ERRORS ((1u << 30) | (1u << 29) | (1u << 28) | (1u << 27) | (1u << 26) | (1u << 24))

#define AHCI_SIG_ATA   0x00000101u
#define AHCI_SIG_ATAPI 0xEB140101u

/* One entry of the command list (32 bytes). */
struct ahci_cmd_header {
    uint32_t flags;     /* CFL 4:0 (FIS dwords), W bit 6, PRDTL 31:16 */
    uint32_t prdbc;     /* bytes transferred, written by the HBA */
    uint32_t ctba, ctbau;
    uint32_t reserved[4];
};

/* One physical region descriptor (16 bytes). */
struct ahci_prd {
    uint32_t dba, dbau;
    uint32_t reserved;
    uint32_t dbc;       /* byte count - 1 in bits 21:0 (bit 0 always set: even counts), I bit 31 */
};

#define AHCI_CMD_TABLE_PRDT   0x80      /* PRDT offset inside a command table */
#define AHCI_PRD_MAX_BYTES    (4u << 20) /* 22-bit byte count */
#define AHCI_H2D_FIS_BYTES    20

/* Describe [addr, addr + len) in at most max entries of at most entry_max bytes each (entry_max
 * even, <= AHCI_PRD_MAX_BYTES). addr and len must be even (word-aligned DMA). Returns the number
 * of entries, 0 when the request is invalid or needs more than max entries. */
unsigned ahci_build_prdt(struct ahci_prd *prdt, unsigned max, uint64_t addr, uint64_t len, uint32_t entry_max);

/* Register host-to-device FIS (type 0x27, C bit set) carrying tf; device bits for drive 0. */
void ahci_build_h2d_fis(uint8_t fis[AHCI_H2D_FIS_BYTES], const struct ata_taskfile *tf);

void ahci_build_cmd_header(struct ahci_cmd_header *h, uint64_t table, unsigned prdtl, bool write);

/* PxSSTS says a device is present with the PHY up (DET 3), and PxSIG is not a packet device. */
bool ahci_port_has_disk(uint32_t ssts, uint32_t sig);

/* Command slots of the HBA (CAP.NCS + 1). */
static inline unsigned ahci_command_slots(uint32_t cap) { return ((cap >> 8) & 0x1F) + 1; }

#endif
