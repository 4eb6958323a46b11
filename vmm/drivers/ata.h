/* The ATA command layer shared by the IDE (PIO) and AHCI drivers: IDENTIFY DEVICE parsing and
 * the task-file contents of READ/WRITE/FLUSH commands (ACS-3). Pure. */
#ifndef TESSERA_DRIVERS_ATA_H
#define TESSERA_DRIVERS_ATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drivers/pci.h"

#define ATA_CMD_READ_SECTORS       0x20
#define ATA_CMD_READ_SECTORS_EXT   0x24
#define ATA_CMD_READ_DMA_EXT       0x25
#define ATA_CMD_WRITE_SECTORS      0x30
#define ATA_CMD_WRITE_SECTORS_EXT  0x34
#define ATA_CMD_WRITE_DMA_EXT      0x35
#define ATA_CMD_READ_DMA           0xC8
#define ATA_CMD_WRITE_DMA          0xCA
#define ATA_CMD_FLUSH_CACHE        0xE7
#define ATA_CMD_FLUSH_CACHE_EXT    0xEA
#define ATA_CMD_IDENTIFY           0xEC

#define ATA_SR_ERR  0x01
#define ATA_SR_DRQ  0x08
#define ATA_SR_DF   0x20
#define ATA_SR_DRDY 0x40
#define ATA_SR_BSY  0x80

#define ATA_DEV_LBA 0x40        /* device register: LBA addressing */

#define ATA_LBA28_LIMIT (1ull << 28)
#define ATA_LBA48_LIMIT (1ull << 48)
#define ATA_MAX_COUNT28 256u
#define ATA_MAX_COUNT48 65536u

struct ata_identity {
    uint64_t sectors;           /* addressable logical sectors */
    uint32_t sector_size;       /* logical sector size in bytes */
    bool lba48;
    bool flush, flush_ext;      /* FLUSH CACHE (EXT) supported */
    bool write_cache;           /* volatile write cache enabled */
    char model[41];             /* trailing spaces removed */
    char serial[21];
};

/* Parse 256 IDENTIFY DEVICE words. Refuses (false, reason in why) an ATAPI device, one without
 * LBA, a bad integrity word (255), zero capacity, or an unusable logical sector size. */
bool ata_parse_identify(const uint16_t id[256], struct ata_identity *out, char *why, size_t why_len);

/* Register contents of one command; the 48-bit fields are used when lba48 is set. */
struct ata_taskfile {
    uint8_t command;
    uint8_t device;             /* LBA bit; the drive-select bit is the driver's */
    uint16_t features;
    uint16_t count;             /* 0 means 256 (28-bit) or 65536 (48-bit) */
    uint64_t lba;
    bool lba48;
};

/* READ/WRITE of count sectors at lba: 28-bit commands when the range fits, 48-bit otherwise
 * (only if the device has them). dma picks READ/WRITE DMA (AHCI) over PIO SECTORS. False when
 * count is 0, too large for one command, or the range is not addressable. */
bool ata_build_rw(struct ata_taskfile *tf, uint64_t lba, uint32_t count, bool write, bool dma, bool lba48);
void ata_build_flush(struct ata_taskfile *tf, bool lba48);
void ata_build_identify(struct ata_taskfile *tf);

/* Why a PIO command did not finish, judged from the status register read when the driver gave
 * up on it: the device stayed busy past the deadline, the bus floats (status 0xFF: the device is
 * gone), the device reported a fault or an error, or it is in a state the protocol does not
 * allow there (e.g. no DRQ for a data block). */
enum ata_failure {
    ATA_FAILURE_BUSY,
    ATA_FAILURE_GONE,
    ATA_FAILURE_DEVICE_FAULT,
    ATA_FAILURE_ERROR,
    ATA_FAILURE_PROTOCOL,
};
enum ata_failure ata_classify_failure(uint8_t status);
const char *ata_failure_text(enum ata_failure f);

/* The ports of IDE channel (0 primary, 1 secondary): the legacy ones unless the programming
 * interface says the channel is in native-PCI mode, then BAR 0/1 (primary) or 2/3 (secondary).
 * ctl is the port of the alternate-status/device-control register. False if a native channel's
 * BARs are missing or not I/O. */
bool ata_channel_ports(uint8_t prog_if, const uint32_t bar_raw[6], unsigned channel, uint16_t *cmd, uint16_t *ctl);

#endif
