/* AHCI command construction (see ahci.h). */
#include "drivers/ahci.h"
#include "lib/mem.h"

unsigned ahci_build_prdt(struct ahci_prd *prdt, unsigned max, uint64_t addr, uint64_t len, uint32_t entry_max)
{
    if (len == 0 || (addr & 1) || (len & 1) || entry_max < 2 || entry_max > AHCI_PRD_MAX_BYTES || (entry_max & 1))
        return 0;
    if (addr > UINT64_MAX - len)
        return 0;
    unsigned n = 0;
    while (len) {
        if (n == max)
            return 0;
        uint32_t piece = len < entry_max ? (uint32_t)len : entry_max;
        prdt[n].dba = (uint32_t)addr;
        prdt[n].dbau = (uint32_t)(addr >> 32);
        prdt[n].reserved = 0;
        prdt[n].dbc = piece - 1;
        addr += piece;
        len -= piece;
        n++;
    }
    return n;
}

void ahci_build_h2d_fis(uint8_t fis[AHCI_H2D_FIS_BYTES], const struct ata_taskfile *tf)
{
    memset(fis, 0, AHCI_H2D_FIS_BYTES);
    fis[0] = 0x27;                      /* register FIS, host to device */
    fis[1] = 0x80;                      /* C: this FIS updates the command register */
    fis[2] = tf->command;
    fis[3] = (uint8_t)tf->features;
    fis[4] = (uint8_t)tf->lba;
    fis[5] = (uint8_t)(tf->lba >> 8);
    fis[6] = (uint8_t)(tf->lba >> 16);
    fis[7] = tf->device;                /* for 28-bit commands it already holds LBA 27:24 */
    if (tf->lba48) {
        fis[8] = (uint8_t)(tf->lba >> 24);
        fis[9] = (uint8_t)(tf->lba >> 32);
        fis[10] = (uint8_t)(tf->lba >> 40);
        fis[11] = (uint8_t)(tf->features >> 8);
        fis[13] = (uint8_t)(tf->count >> 8);
    }
    fis[12] = (uint8_t)tf->count;
}

void ahci_build_cmd_header(struct ahci_cmd_header *h, uint64_t table, unsigned prdtl, bool write)
{
    memset(h, 0, sizeof(*h));
    h->flags = (AHCI_H2D_FIS_BYTES / 4) | (write ? (1u << 6) : 0) | ((uint32_t)(prdtl & 0xFFFF) << 16);
    h->ctba = (uint32_t)table;
    h->ctbau = (uint32_t)(table >> 32);
}

bool ahci_port_has_disk(uint32_t ssts, uint32_t sig)
{
    return (ssts & 0xF) == 3 && sig != AHCI_SIG_ATAPI;
}
